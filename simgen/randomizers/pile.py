"""Piles: labeled objects dropped close together, so that physics stacks them on one another."""

from __future__ import annotations

from typing import Any

import numpy as np

from simgen import validate
from simgen.sampling import Bounded
from simgen.scene import Scene


class PileRandomizer:
    """With `probability`, moves the labeled objects' drop points to within `spread` metres (standard
    deviation) of one random point of the support region. The world lifts overlapping drops above one
    another and the physics settles them into a pile: the stacking comes from simulation, not from rules."""

    def __init__(self, probability: float = 0.5, spread: Any = (0.02, 0.06)):
        self.probability = validate.number("probability", probability, 0, 1)
        self.spread = Bounded("spread", spread, 0, 10)

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        if rng.uniform() >= self.probability:
            return
        (x0, y0), (x1, y1) = scene.support.region
        mid, half = np.array([x0 + x1, y0 + y1]) / 2, np.array([x1 - x0, y1 - y0]) / 2
        centre = mid + rng.uniform(-0.6, 0.6, size=2) * half  # keep piles off the edges
        spread = self.spread.sample(rng)
        for obj in scene.objects:
            if obj.labeled:
                xy = np.clip(centre + rng.normal(0, spread, size=2), (x0, y0), (x1, y1))
                obj.position = (float(xy[0]), float(xy[1]), obj.position[2])
