"""Random RGBA colour for labeled objects, distractors or fixtures (it multiplies any texture the body has)."""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np

from simgen import validate
from simgen.randomizers.targets import check_targets, select
from simgen.sampling import as_sampler
from simgen.scene import Scene


class ColorRandomizer:
    """With `probability`, gives each body named by `targets` (default: the labeled objects) a colour
    drawn in HSV space."""

    def __init__(self, probability: float = 0.5, hue: Any = (0.0, 1.0), saturation: Any = (0.3, 1.0),
                 value: Any = (0.4, 1.0), alpha: Any = 1.0, targets: Any = ("objects",)):
        self.targets = check_targets("targets", targets)
        self.probability = validate.number("probability", probability, 0, 1)
        self.hue = as_sampler("hue", hue)  # wraps around: [-0.1, 0.1] are the reds
        self.saturation = as_sampler("saturation", saturation, 0, 1)
        self.value = as_sampler("value", value, 0, 1)
        self.alpha = as_sampler("alpha", alpha, 0, 1, low_open=True)  # an invisible object would still be labeled

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        for obj in select(scene, self.targets):
            if rng.uniform() < self.probability:
                h, s, v = (float(np.clip(x.sample(rng), 0, 1)) for x in (self.hue, self.saturation, self.value))
                obj.rgba = (*colorsys.hsv_to_rgb(h % 1.0, s, v), float(np.clip(self.alpha.sample(rng), 0, 1)))
