"""Contact properties: friction and restitution of objects, distractors or fixtures."""

from __future__ import annotations

from typing import Any

import numpy as np

from simgen.randomizers.targets import check_targets, select
from simgen.sampling import Bounded
from simgen.scene import Scene


class PhysicsRandomizer:
    """Gives each body named by `targets` a lateral `friction` and a `restitution` (bounciness, 0-1)."""

    def __init__(self, targets: Any = ("objects", "distractors"), friction: Any = (0.3, 1.0),
                 restitution: Any = (0.0, 0.3)):
        self.targets = check_targets("targets", targets)
        self.friction = Bounded("friction", friction, 0, 10)
        self.restitution = Bounded("restitution", restitution, 0, 1)

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        for body in select(scene, self.targets):
            body.friction = self.friction.sample(rng)
            body.restitution = self.restitution.sample(rng)
