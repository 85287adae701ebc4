"""Unlabeled clutter: primitives and meshes that are drawn and occlude targets but are never annotated.

Distractor groups run after the camera is placed, so floating distractors can sit on the line of sight.
"""

from __future__ import annotations

import colorsys
import glob
from typing import Any, Collection, Sequence, Union

import numpy as np

from simgen import camera as cam_math
from simgen import validate
from simgen.assets import resolve_path
from simgen.errors import ConfigError
from simgen.mesh_check import check_asset, mesh_bounds
from simgen.randomizers.objects import MAX_BODIES, inner_region, random_quaternion
from simgen.randomizers.texture import TextureRandomizer
from simgen.sampling import Bounded, Choice
from simgen.scene import Asset, ObjectSpec, Scene

SHAPES = ("box", "sphere", "cylinder", "capsule", "mesh")
DEFAULT_MESHES = ("pybullet_data/bunny.obj", "pybullet_data/torus/torus_textured.obj", "pybullet_data/toys/prism.obj",
                  "pybullet_data/tray/tray_textured.obj")  # unlike any built-in target (random_urdfs are blobs)


def mesh_extent(path: str) -> float:
    """The largest side of an OBJ mesh's bounding box, in its own units; a broken mesh is an AssetError."""
    check_asset(path)
    lo, hi = mesh_bounds(path)
    return float((hi - lo).max()) or 1.0


def mesh_files(key: str, patterns: Union[str, Sequence[str]]) -> list[str]:
    """OBJ files matching one or several globs (pybullet_data/ and scenes/ prefixes allowed)."""
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    found = sorted({f for pat in patterns for f in glob.glob(resolve_path(pat)) if f.lower().endswith(".obj")})
    if not found:
        raise ConfigError(key, f"no .obj mesh found at {patterns!r}")
    return found


class Distractors:
    """Common part: `count` bodies of `shapes`, largest side `size` metres, random colours and, with
    `texture_probability`, a random texture. Meshes come from `files` (OBJ globs), scaled to `size`."""

    def __init__(self, count: Any = (2, 6), shapes: Sequence[str] = SHAPES, size: Any = (0.03, 0.1),
                 files: Union[str, Sequence[str]] = DEFAULT_MESHES, texture_probability: float = 0.3):
        self.count = validate.int_range("count", count, low=0, high=MAX_BODIES)
        self.shapes = Choice(validate.choices("shapes", shapes, SHAPES))
        self.size = Bounded("size", size, 1e-3, 10.0)
        self.files = mesh_files("files", files) if "mesh" in shapes else []
        self.texture = TextureRandomizer(probability=validate.number("texture_probability", texture_probability, 0, 1))

    def leave_out(self, labeled_kinds: Collection[str]) -> None:
        """Draw no primitive of a kind that a labeled category of the run is (a sphere distractor beside labeled
        spheres would be an unlabeled target); a ConfigError where no shape is left."""
        kept = [s for s in self.shapes.values if s not in labeled_kinds]
        if not kept:
            raise ConfigError("shapes", f"every shape ({', '.join(self.shapes.values)}) is that of a labeled "
                              "category (objects.categories), and a distractor must not look like a target: add "
                              "mesh, or leave those categories out")
        self.shapes = Choice(kept)

    def asset(self, rng: np.random.Generator) -> tuple[Asset, float]:
        """A random asset and the scale that gives it a largest side of `size`."""
        kind = self.shapes.sample(rng)
        size = self.size.sample(rng)
        if kind == "mesh":
            path = self.files[int(rng.integers(len(self.files)))]
            return Asset("mesh", path=path, mass=0.05), size / mesh_extent(path)
        if kind == "box":
            return Asset("box", size=tuple(float(v) for v in size * rng.uniform(0.3, 1.0, size=3)), mass=0.05), 1.0
        if kind == "sphere":
            return Asset("sphere", size=(size / 2,), mass=0.05), 1.0
        return Asset(kind, size=(size / 2 * rng.uniform(0.3, 1.0), size * rng.uniform(0.3, 1.0)), mass=0.05), 1.0

    def body(self, rng: np.random.Generator, position: np.ndarray, static: bool) -> ObjectSpec:
        asset, scale = self.asset(rng)
        rgba = (*colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0, 1), rng.uniform(0.2, 1)), 1.0)
        texture = self.texture.sample(rng) if rng.uniform() < self.texture.probability else None
        return ObjectSpec(category="distractor", asset=asset, position=tuple(float(v) for v in position),
                          orientation=random_quaternion(rng), scale=scale, rgba=rgba, texture=texture,
                          labeled=False, static=static, collides=not static)

    def number(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.count[0], self.count[1] + 1))


class ClutterDistractors(Distractors):
    """Unlabeled objects dropped among the targets over the support region (less `margin`), from
    `drop_height` above it; they fall, collide and come to rest with the targets."""

    def __init__(self, drop_height: Any = (0.05, 0.25), margin: float = 0.03, **kwargs: Any):
        super().__init__(**kwargs)
        self.drop_height = Bounded("drop_height", drop_height, 0, 10)
        self.margin = validate.number("margin", margin, low=0)

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        low, high = inner_region(scene, self.margin)
        for _ in range(self.number(rng)):
            xy = rng.uniform(low, high)
            z = scene.support.height + self.drop_height.sample(rng)
            scene.objects.append(self.body(rng, np.array([*xy, z]), static=False))


class FloatingDistractors(Distractors):
    """Unlabeled bodies floating between the camera and its target: at `depth` (fraction of the way from
    the camera) and up to `spread` (fraction of the half field of view) off the line of sight. They are
    static and collide with nothing, so they occlude targets without disturbing the physics."""

    def __init__(self, depth: Any = (0.25, 0.6), spread: Any = (0.0, 0.8), **kwargs: Any):
        kwargs.setdefault("count", (0, 2))
        super().__init__(**kwargs)
        self.depth = Bounded("depth", depth, 0, 1)
        self.spread = Bounded("spread", spread, 0, 10)

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        cam = scene.camera
        pose = cam_math.world_to_camera(cam)
        right, down = pose[0, :3], pose[1, :3]
        eye, target = np.asarray(cam.position), np.asarray(cam.target)
        distance = float(np.linalg.norm(target - eye))
        for _ in range(self.number(rng)):
            t = self.depth.sample(rng)
            half_h = t * distance * np.tan(np.radians(cam.fov) / 2)
            offset = rng.uniform(-1, 1, size=2) * self.spread.sample(rng) * half_h
            position = eye + t * (target - eye) + right * offset[0] * cam.width / cam.height + down * offset[1]
            scene.objects.append(self.body(rng, position, static=True))
