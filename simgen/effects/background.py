"""A random background image where the camera saw nothing (depth 0), composited after rendering.
Labels and depth are untouched: only pixels that belong to no body change."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from simgen import validate
from simgen.frame import Frame
from simgen.sampling import Bounded, Choice
from simgen.textures import PATTERNS, list_images, make_image


class BackgroundImage:
    """With `probability`, fills the empty background with a crop of a random image from `folder`, or,
    without a folder, with a procedural pattern of one of `kinds` (`scale` cells across)."""

    def __init__(self, probability: float = 1.0, folder: Optional[str] = None,
                 kinds: Sequence[str] = PATTERNS, scale: Any = (2.0, 12.0)):
        self.probability = validate.number("probability", probability, 0, 1)
        self.photos = list_images("folder", folder) if folder else []
        self.kinds = Choice(validate.choices("kinds", kinds, PATTERNS))
        self.scale = Bounded("scale", scale, low=0, low_open=True)

    def image(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """One background image of `shape` (height, width)."""
        if self.photos:
            return make_image("photo", rng, shape, 1.0, self.photos[int(rng.integers(len(self.photos)))])
        return make_image(self.kinds.sample(rng), rng, shape, self.scale.sample(rng))

    def __call__(self, frame: Frame, rng: np.random.Generator) -> None:
        if rng.uniform() >= self.probability:
            return
        empty = frame.depth == 0
        if empty.any():
            rgb = frame.rgb.copy()
            rgb[empty] = self.image(rng, empty.shape)[empty]
            frame.rgb = rgb
