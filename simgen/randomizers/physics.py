"""Contact properties: friction and restitution of objects, distractors or fixtures."""

from __future__ import annotations

from typing import Any

import numpy as np

from simgen.randomizers.targets import check_targets, select
from simgen.sampling import as_sampler, sample_in
from simgen.scene import Scene


class PhysicsRandomizer:
    """Gives each body named by `targets` a lateral `friction` and a `restitution` (bounciness, 0-1)."""

    def __init__(self, targets: Any = ("objects", "distractors"), friction: Any = (0.3, 1.0),
                 restitution: Any = (0.0, 0.3)):
        self.targets = check_targets("targets", targets)
        self.friction = as_sampler("friction", friction)
        self.restitution = as_sampler("restitution", restitution)

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        for body in select(scene, self.targets):
            body.friction = sample_in("friction", self.friction, rng, 0, 10)
            body.restitution = sample_in("restitution", self.restitution, rng, 0, 1)
