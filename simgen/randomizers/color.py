"""Random RGBA colour for labeled objects (it multiplies any texture the asset has)."""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np

from simgen import validate
from simgen.sampling import as_sampler
from simgen.scene import Scene


class ColorRandomizer:
    """With `probability`, gives each labeled object a colour drawn in HSV space."""

    def __init__(self, probability: float = 0.5, hue: Any = (0.0, 1.0), saturation: Any = (0.3, 1.0),
                 value: Any = (0.4, 1.0), alpha: Any = 1.0):
        self.probability = validate.number("probability", probability, 0, 1)
        self.hue = as_sampler("hue", hue)
        self.saturation = as_sampler("saturation", saturation)
        self.value = as_sampler("value", value)
        self.alpha = as_sampler("alpha", alpha)

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        for obj in scene.objects:
            if obj.labeled and rng.uniform() < self.probability:
                h, s, v = (float(np.clip(x.sample(rng), 0, 1)) for x in (self.hue, self.saturation, self.value))
                obj.rgba = (*colorsys.hsv_to_rgb(h % 1.0, s, v), float(np.clip(self.alpha.sample(rng), 0, 1)))
