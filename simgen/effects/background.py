"""A random background image where the camera saw nothing (depth 0), composited after rendering.
Labels and depth are untouched: only pixels that belong to no body change."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from simgen import validate
from simgen.frame import Frame
from simgen.sampling import Bounded, Choice
from simgen.textures import PATTERNS, MAX_SCALE, list_images, make_image


class BackgroundImage:
    """With `probability`, fills the empty background with a crop of a random image from `folder`, or,
    without a folder, with a procedural pattern of one of `kinds` (`scale` cells across)."""

    def __init__(self, probability: float = 1.0, folder: Optional[str] = None,
                 kinds: Sequence[str] = PATTERNS, scale: Any = (2.0, 12.0)):
        self.probability = validate.number("probability", probability, 0, 1)
        self.photos = list_images("folder", folder) if folder else []
        self.kinds = Choice(validate.choices("kinds", kinds, PATTERNS))
        self.scale = Bounded("scale", scale, low=0, high=MAX_SCALE, low_open=True)

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        """Which image: a photo's path, or a pattern's kind and scale."""
        if self.photos:
            return {"photo": self.photos[int(rng.integers(len(self.photos)))]}
        return {"kind": self.kinds.sample(rng), "scale": float(self.scale.sample(rng))}

    def image(self, rng: np.random.Generator, shape: tuple[int, int], drawn: dict[str, Any]) -> np.ndarray:
        """The background image `drawn` names, of `shape` (height, width)."""
        if "photo" in drawn:
            return make_image("photo", rng, shape, 1.0, drawn["photo"])
        return make_image(drawn["kind"], rng, shape, drawn["scale"])

    def __call__(self, frame: Frame, rng: np.random.Generator) -> Optional[dict]:
        empty = frame.depth == 0
        if rng.uniform() >= self.probability or not empty.any():
            return None
        drawn = self.draw(rng)
        rgb = frame.rgb.copy()
        rgb[empty] = self.image(rng, empty.shape, drawn)[empty]
        frame.rgb = rgb
        return drawn
