"""Randomizers: `__call__(scene, rng) -> None` edits the scene spec; none touches PyBullet or global random state."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from simgen.scene import Scene


class Randomizer(Protocol):
    def __call__(self, scene: Scene, rng: np.random.Generator) -> None: ...
