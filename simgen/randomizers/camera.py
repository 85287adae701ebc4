"""The camera: a look-at pose on a sphere around the scene target, field of view and resolution."""

from __future__ import annotations

from typing import Any

import numpy as np

from simgen import validate
from simgen.errors import ConfigError
from simgen.sampling import Bounded, as_sampler, check_extent
from simgen.scene import CameraSpec, Scene


def rolled_up(forward: np.ndarray, roll: float) -> tuple:
    """The camera's up vector turned by `roll` radians about `forward` from the world-up view."""
    forward = forward / np.linalg.norm(forward)
    up = np.array([0.0, 0.0, 1.0]) - forward[2] * forward
    if np.linalg.norm(up) < 1e-9:  # looking straight up or down
        up = np.array([0.0, 1.0, 0.0])
    up /= np.linalg.norm(up)
    right = np.cross(forward, up)
    return tuple(float(v) for v in np.cos(roll) * up - np.sin(roll) * right)


class CameraRandomizer:
    """Places the camera at `distance` (m), `azimuth` and `elevation` (degrees) from the scene target
    moved by `target_jitter` (m, per axis), looking at it, turned by `roll` (degrees) about its axis.
    `resolution`, a sampler of [width, height] pairs (say a Choice), replaces width and height per frame."""

    def __init__(self, distance: Any = (0.7, 1.3), azimuth: Any = (0.0, 360.0), elevation: Any = (30.0, 75.0),
                 target_jitter: Any = 0.05, fov: Any = 50.0, width: int = 640, height: int = 480,
                 near: float = 0.05, far: float = 10.0, roll: Any = 0.0, resolution: Any = None):
        self.near = validate.number("near", near, low=0, low_open=True)
        self.far = validate.number("far", far, low=self.near, low_open=True)
        self.distance = Bounded("distance", distance, low=self.near, low_open=True)
        self.azimuth = as_sampler("azimuth", azimuth)
        self.elevation = Bounded("elevation", elevation, -90, 90)
        self.jitter = validate.number("target_jitter", target_jitter, low=0)
        self.fov = Bounded("fov", fov, 1, 179)
        self.width = validate.integer("width", width, low=1, high=8192)
        self.height = validate.integer("height", height, low=1, high=8192)
        self.roll = Bounded("roll", roll, -180, 180)
        self.resolution = None if resolution is None else as_sampler("resolution", resolution)
        if self.resolution is not None:
            check_extent("resolution", self.resolution, 2, 1, 8192)

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        distance = self.distance.sample(rng)
        if distance >= self.far:
            raise ConfigError("camera.distance", f"{distance} m puts the target beyond camera.far={self.far}")
        az = np.radians(self.azimuth.sample(rng))
        el = np.radians(self.elevation.sample(rng))
        target = np.asarray(scene.target) + rng.uniform(-self.jitter, self.jitter, size=3)
        offset = distance * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
        scene.camera = CameraSpec(
            position=tuple(float(v) for v in target + offset),
            target=tuple(float(v) for v in target),
            fov=self.fov.sample(rng),
            width=self.width, height=self.height, near=self.near, far=self.far,
        )
        if self.resolution is not None:
            size = self.resolution.sample(rng)
            if not isinstance(size, (list, tuple)) or len(size) != 2:
                raise ConfigError("camera.resolution", f"expected a [width, height] pair, got {size!r}")
            scene.camera.width, scene.camera.height = (validate.integer(f"camera.resolution[{i}]", v, 1, 8192)
                                                       for i, v in enumerate(size))
        roll = self.roll.sample(rng)
        if roll != 0:
            scene.camera.up = rolled_up(-offset, np.radians(roll))
