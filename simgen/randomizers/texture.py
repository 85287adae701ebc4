"""Random textures on objects, distractors or fixtures: procedural patterns or photos from a folder."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from simgen import validate
from simgen.randomizers.targets import check_targets, select
from simgen.sampling import Bounded, Choice
from simgen.scene import Scene, TextureSpec
from simgen.textures import KINDS, MAX_SCALE, list_images


class TextureRandomizer:
    """With `probability`, gives each body named by `targets` a texture of one of `kinds` (weighted by
    `weights`) with `scale` pattern cells across. Seeds are drawn from `variants` values (null: unbounded),
    which bounds how many distinct textures a run makes; `photos` is a folder of images for kind `photo`."""

    def __init__(self, targets: Any = ("objects",), probability: float = 0.5,
                 kinds: Sequence[str] = ("noise", "checker", "stripes", "gradient", "blotches"),
                 weights: Optional[Sequence[float]] = None, scale: Any = (2.0, 16.0), size: int = 256,
                 variants: Optional[int] = None, photos: Optional[str] = None):
        self.targets = check_targets("targets", targets)
        self.probability = validate.number("probability", probability, 0, 1)
        self.kinds = Choice(validate.choices("kinds", kinds, KINDS), weights)
        self.scale = Bounded("scale", scale, low=0, high=MAX_SCALE, low_open=True)
        self.size = validate.integer("size", size, low=4, high=4096)
        self.variants = 2**31 - 1 if variants is None else validate.integer("variants", variants, low=1)
        self.photos = list_images("photos", photos) if "photo" in kinds else []

    def sample(self, rng: np.random.Generator) -> TextureSpec:
        """One texture spec."""
        kind = self.kinds.sample(rng)
        seed = int(rng.integers(self.variants))
        scale = self.scale.sample(rng)
        path = self.photos[int(rng.integers(len(self.photos)))] if kind == "photo" else None
        return TextureSpec(kind=kind, seed=seed, scale=scale, size=self.size, path=path)

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        for body in select(scene, self.targets):
            if rng.uniform() < self.probability:
                body.texture = self.sample(rng)
