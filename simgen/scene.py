"""The scene spec: plain, JSON-serialisable dataclasses that randomizers edit and the world realises."""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field, fields, is_dataclass
from numbers import Real
from typing import Any, Mapping, Optional, Sequence

from simgen import validate
from simgen.errors import ConfigError

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]  # x, y, z, w (PyBullet's order)

ASSET_KINDS = ("urdf", "mesh", "box", "cylinder", "sphere", "capsule")
# What a primitive's sizes are, in metres and in order, for the catalog's primitives and the scenes' fixtures
PRIMITIVE_SIZES = {"box": ("x", "y", "z"), "sphere": ("radius",), "cylinder": ("radius", "length"),
                   "capsule": ("radius", "length")}
FILE_SUFFIXES = {"urdf": (".urdf",), "mesh": (".obj", ".stl")}  # the files an asset of each kind is read from
ASSET_KEYS = ("kind", "path", "size")  # a fixture's: fixtures do not move, so they take no mass
FIXTURE_KEYS = ("asset", "position", "orientation", "rgba", "scale")


@dataclass
class Asset:
    """How to build one body: a URDF, a mesh file (OBJ/STL) or a primitive.

    size in metres: box -> edge lengths (x, y, z); sphere -> (radius,); cylinder, capsule -> (radius, length).
    """

    kind: str
    path: Optional[str] = None
    size: tuple = ()
    mass: Optional[float] = 0.1  # kg; None: a URDF's own


@dataclass
class TextureSpec:
    """A texture image, fully determined by these fields: a procedural pattern drawn from `seed`
    (`scale` pattern cells across the image) or, for kind `photo`, a crop of the image at `path`."""

    kind: str
    seed: int = 0
    scale: float = 8.0
    size: int = 256
    path: Optional[str] = None


@dataclass
class ObjectSpec:
    """One body in the scene: a labeled target, an unlabeled fixture or a distractor."""

    category: str
    asset: Asset
    category_id: int = 0
    position: Vec3 = (0.0, 0.0, 0.0)
    orientation: Quat = (0.0, 0.0, 0.0, 1.0)
    scale: float = 1.0
    rgba: Optional[tuple] = None
    labeled: bool = True
    static: bool = False
    texture: Optional[TextureSpec] = None
    friction: Optional[float] = None  # lateral friction; None keeps the world's default
    restitution: Optional[float] = None  # bounciness in [0, 1]; None keeps PyBullet's default
    collides: bool = True  # False: drawn and seen by the camera, but nothing touches it
    state: str = "placed"  # after settling: resting, moving, fell; no_room where a full shelf left none under its
    # upper board (fell and no_room objects are removed)
    bbox_3d: Optional[tuple] = None  # set by the world: ((xmin, ymin, zmin), (xmax, ymax, zmax)), m, object frame
    # set by the world: (position, orientation) of the object frame in the asset's own frame, scaled, m
    frame_in_asset: Optional[tuple] = None


@dataclass
class Support:
    """The surface objects are dropped on: its top height and the xy region to drop over."""

    height: float
    region: tuple  # ((xmin, ymin), (xmax, ymax))


@dataclass
class LightSpec:
    direction: Vec3 = (-0.4, 0.25, 0.88)
    color: Vec3 = (1.0, 1.0, 1.0)
    distance: float = 2.0
    ambient: float = 0.6
    diffuse: float = 0.35
    specular: float = 0.05
    shadow: bool = False


@dataclass
class CameraSpec:
    """A pinhole camera looking from `position` at `target`; fov is vertical, in degrees."""

    position: Vec3 = (1.0, 0.0, 1.5)
    target: Vec3 = (0.0, 0.0, 0.75)
    up: Vec3 = (0.0, 0.0, 1.0)
    fov: float = 50.0
    width: int = 640
    height: int = 480
    near: float = 0.05
    far: float = 10.0


@dataclass
class Scene:
    name: str
    support: Support
    target: Vec3
    fixtures: list[ObjectSpec] = field(default_factory=list)
    objects: list[ObjectSpec] = field(default_factory=list)
    light: LightSpec = field(default_factory=LightSpec)
    camera: CameraSpec = field(default_factory=CameraSpec)

    def copy(self) -> "Scene":
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


def plain(value: Any) -> Any:
    """A tree of dataclasses as dicts, lists and scalars: dataclasses.asdict without its deep copies."""
    if is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def primitive_size(key: str, kind: str, value: Any) -> tuple:
    """A primitive's sizes in metres, each > 0, as many as PRIMITIVE_SIZES names (a sphere's radius may be a number)."""
    names = PRIMITIVE_SIZES[kind]
    if len(names) == 1 and isinstance(value, Real) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != len(names):
        raise ConfigError(key, f"a {kind} needs {len(names)} size{'s' * (len(names) > 1)} in metres "
                          f"[{', '.join(names)}], got {value!r}")
    return tuple(validate.number(f"{key}[{i}]", s, low=0, low_open=True) for i, s in enumerate(value))


def _asset_path(key: str, kind: str, path: Any) -> str:
    """The file of a URDF or mesh asset, resolved (see assets.resolve_path), that exists and is of its kind."""
    from simgen.assets import resolve_path

    files = " or ".join(s[1:].upper() for s in FILE_SUFFIXES[kind])
    if path is None or path == "":
        raise ConfigError(key, f"missing: a {kind} asset needs the path of its {files} file")
    if not isinstance(path, str):
        raise ConfigError(key, f"expected the path of a {files} file, got {path!r}")
    resolved = resolve_path(path)
    if not os.path.isfile(resolved):
        raise ConfigError(key, f"asset file not found: {path!r} (looked for {resolved})")
    if not resolved.lower().endswith(FILE_SUFFIXES[kind]):
        raise ConfigError(key, f"expected a {' or '.join(FILE_SUFFIXES[kind])} file for a {kind} asset, got {path!r}")
    return resolved


def _unused(key: str, cfg: Mapping, name: str, kind: str) -> None:
    """A value an asset of `kind` does not read is refused rather than ignored."""
    if cfg.get(name) is not None:
        made = "from its file (scale it with the fixture's scale)" if kind in FILE_SUFFIXES else "from its size"
        raise ConfigError(f"{key}.{name}", f"a {kind} asset takes no {name}: it is made {made}")


def _asset(key: str, value: Any) -> Asset:
    """A fixture's asset: a URDF or mesh file at `path`, or a primitive of `size`."""
    shape = "{kind: urdf|mesh, path: FILE} or {kind: box|sphere|cylinder|capsule, size: [...]}"
    cfg = validate.mapping(key, value, shape)
    if "mass" in cfg:
        raise ConfigError(f"{key}.mass", "a fixture takes no mass: fixtures stay where they are put")
    validate.known_keys(key, cfg, ASSET_KEYS)
    kind = validate.choice(f"{key}.kind", cfg.get("kind"), ASSET_KINDS)
    if kind in FILE_SUFFIXES:
        _unused(key, cfg, "size", kind)
        return Asset(kind=kind, path=_asset_path(f"{key}.path", kind, cfg.get("path")), mass=0.0)
    _unused(key, cfg, "path", kind)
    return Asset(kind=kind, size=primitive_size(f"{key}.size", kind, cfg.get("size")), mass=0.0)


def _rgba(key: str, value: Any) -> tuple:
    """A colour: 4 numbers in [0, 1]."""
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 4:
        raise ConfigError(key, f"expected [r, g, b, a], 4 numbers in [0, 1], got {value!r}")
    return tuple(validate.number(f"{key}[{i}]", v, low=0, high=1) for i, v in enumerate(value))


def _quaternion(key: str, value: Any) -> Quat:
    """A rotation quaternion [x, y, z, w], normalised as the poses it gives are (geometry.quaternion_matrix)."""
    q = validate.vector(key, value, 4)
    norm = math.hypot(*q)
    if not norm > 0:
        raise ConfigError(key, f"expected a rotation quaternion [x, y, z, w], not all 0, got {value!r}")
    return tuple(v / norm for v in q)


def _fixture(key: str, value: Any) -> ObjectSpec:
    cfg = validate.mapping(key, value, "{asset: {kind: ..., path: ... | size: ...}, position: [x, y, z], ...}")
    validate.known_keys(key, cfg, FIXTURE_KEYS)
    if "asset" not in cfg:
        raise ConfigError(f"{key}.asset", "missing")
    return ObjectSpec(
        category=key.rsplit(".", 1)[-1],
        asset=_asset(f"{key}.asset", cfg["asset"]),
        position=validate.vector(f"{key}.position", cfg.get("position", (0, 0, 0)), 3),
        orientation=_quaternion(f"{key}.orientation", cfg.get("orientation", (0, 0, 0, 1))),
        rgba=_rgba(f"{key}.rgba", cfg["rgba"]) if cfg.get("rgba") is not None else None,
        scale=validate.number(f"{key}.scale", cfg.get("scale", 1.0), low=0, low_open=True),
        labeled=False,
        static=True,
    )


def _fixtures(value: Any) -> list[ObjectSpec]:
    """The scene's fixtures, {NAME: {asset: ..., ...}}; a null entry is left out."""
    cfg = validate.mapping("fixtures", value or {}, "{NAME: {asset: {...}, position: [x, y, z], ...}}")
    return [_fixture(f"fixtures.{name}", v) for name, v in cfg.items() if v is not None]


def make_scene(name: str, support_height: float, region: list, target: list,
               fixtures: Optional[dict] = None) -> Scene:
    """Build the base Scene from its config entry (conf/scene/*.yaml)."""
    if isinstance(region, str) or not isinstance(region, Sequence) or len(region) != 2:
        raise ConfigError("region", f"expected [[xmin, ymin], [xmax, ymax]], got {region!r}")
    (x0, y0), (x1, y1) = (validate.vector(f"region[{i}]", r, 2) for i, r in enumerate(region))
    if not (x0 < x1 and y0 < y1):
        raise ConfigError("region", f"expected [[xmin, ymin], [xmax, ymax]] with min < max, got {region!r}")
    return Scene(
        name=name,
        support=Support(height=validate.number("support_height", support_height), region=((x0, y0), (x1, y1))),
        target=validate.vector("target", target, 3),
        fixtures=_fixtures(fixtures),
    )
