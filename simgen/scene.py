"""The scene spec: plain, JSON-serialisable dataclasses that randomizers edit and the world realises."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Optional

from simgen import validate
from simgen.errors import AssetError, ConfigError

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]  # x, y, z, w (PyBullet's order)

ASSET_KINDS = ("urdf", "mesh", "box", "cylinder", "sphere", "capsule")


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
    state: str = "placed"  # after settling: resting, moving, fell (fell objects are removed)
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


def _asset(key: str, cfg: dict) -> Asset:
    kind = validate.choice(f"{key}.kind", cfg.get("kind"), ASSET_KINDS)
    size = tuple(validate.number(f"{key}.size", s, low=0, low_open=True) for s in cfg.get("size", ()))
    path = cfg.get("path")
    if kind in ("urdf", "mesh"):
        from simgen.assets import resolve_path

        if not path or not os.path.isfile(resolve_path(path)):
            raise AssetError(f"{key}.path: asset file not found: {path!r}")
        path = resolve_path(path)
    return Asset(kind=kind, path=path, size=size, mass=float(cfg.get("mass", 0.0)))


def _fixture(key: str, cfg: dict) -> ObjectSpec:
    unknown = set(cfg) - {"asset", "position", "orientation", "rgba", "scale"}
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}",
                          "unknown key (expected asset, position, orientation, rgba, scale)")
    if "asset" not in cfg:
        raise ConfigError(f"{key}.asset", "missing")
    return ObjectSpec(
        category=key.rsplit(".", 1)[-1],
        asset=_asset(f"{key}.asset", cfg["asset"]),
        position=validate.vector(f"{key}.position", cfg.get("position", (0, 0, 0)), 3),
        orientation=validate.vector(f"{key}.orientation", cfg.get("orientation", (0, 0, 0, 1)), 4),
        rgba=validate.vector(f"{key}.rgba", cfg["rgba"], 4) if cfg.get("rgba") is not None else None,
        scale=validate.number(f"{key}.scale", cfg.get("scale", 1.0), low=0, low_open=True),
        labeled=False,
        static=True,
    )


def make_scene(name: str, support_height: float, region: list, target: list,
               fixtures: Optional[dict] = None) -> Scene:
    """Build the base Scene from its config entry (conf/scene/*.yaml)."""
    (x0, y0), (x1, y1) = (validate.vector(f"region[{i}]", r, 2) for i, r in enumerate(region))
    if not (x0 < x1 and y0 < y1):
        raise ConfigError("region", f"expected [[xmin, ymin], [xmax, ymax]] with min < max, got {region!r}")
    return Scene(
        name=name,
        support=Support(height=validate.number("support_height", support_height), region=((x0, y0), (x1, y1))),
        target=validate.vector("target", target, 3),
        fixtures=[_fixture(f"fixtures.{k}", dict(v)) for k, v in (fixtures or {}).items() if v is not None],
    )
