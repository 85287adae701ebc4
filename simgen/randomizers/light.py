"""One directional light: direction, colour, distance, ambient/diffuse/specular coefficients, shadows."""

from __future__ import annotations

from typing import Any

import numpy as np

from simgen import validate
from simgen.errors import ConfigError
from simgen.sampling import Bounded, Constant, OnSphere, check_extent, vector_sampler
from simgen.scene import LightSpec, Scene


class LightRandomizer:
    def __init__(self, direction: Any = None, color: Any = ((0.85, 0.85, 0.85), (1.0, 1.0, 1.0)),
                 distance: Any = 2.0, ambient: Any = (0.45, 0.7), diffuse: Any = (0.25, 0.5),
                 specular: Any = (0.0, 0.2), shadow_probability: float = 0.0):
        self.direction = vector_sampler("direction", OnSphere(elevation=(35, 85)) if direction is None
                                        else direction, 3)
        self.color = vector_sampler("color", color, 3)
        self.distance = Bounded("distance", distance, low=0, low_open=True)
        self.coefficients = {k: Bounded(k, v, 0, 10) for k, v in
                             (("ambient", ambient), ("diffuse", diffuse), ("specular", specular))}
        self.shadow_probability = validate.number("shadow_probability", shadow_probability, 0, 1)
        if isinstance(self.direction, Constant):
            _unit("direction", self.direction.value)
        check_extent("color", self.color, 3, 0, 1)

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        direction = _unit("light.direction", validate.vector("light.direction", self.direction.sample(rng), 3))
        color = _rgb("light.color", validate.vector("light.color", self.color.sample(rng), 3))
        scene.light = LightSpec(
            direction=direction,
            color=color,
            distance=self.distance.sample(rng),
            **{k: s.sample(rng) for k, s in self.coefficients.items()},
            shadow=bool(rng.uniform() < self.shadow_probability),
        )


def _unit(key: str, vector: Any) -> tuple[float, ...]:
    """`vector` scaled to length 1; a zero vector, which points nowhere, is a ConfigError."""
    length = float(np.linalg.norm(vector))
    if length < 1e-9:
        raise ConfigError(key, f"expected a direction, got the zero vector {list(vector)}")
    return tuple(float(v) / length for v in vector)


def _rgb(key: str, color: Any) -> tuple[float, ...]:
    """A colour of three values in [0, 1]."""
    return tuple(validate.number(f"{key}[{i}]", c, 0, 1) for i, c in enumerate(color))
