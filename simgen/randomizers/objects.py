"""Which objects a frame holds and how they are dropped: category, count, position, orientation, scale."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from simgen import validate
from simgen.assets import Catalog
from simgen.errors import ConfigError
from simgen.sampling import as_sampler
from simgen.scene import ObjectSpec, Scene

# Bodies of one kind per frame: placing each costs more the more there are (500 objects took a minute a frame),
# and the instance PNG holds ids up to 65535.
MAX_BODIES = 1000


def inner_region(scene: Scene, margin: float) -> tuple:
    """The support region less `margin` on every side; a ConfigError (key `margin`) where that leaves no room."""
    (x0, y0), (x1, y1) = scene.support.region
    if x1 - x0 <= 2 * margin or y1 - y0 <= 2 * margin:
        raise ConfigError("margin", f"{margin} leaves no room in the support region "
                                    f"{[[x0, y0], [x1, y1]]} of scene {scene.name!r}")
    return (x0 + margin, y0 + margin), (x1 - margin, y1 - margin)


def random_quaternion(rng: np.random.Generator) -> tuple:
    """A rotation uniform over SO(3), as (x, y, z, w)."""
    q = rng.normal(size=4)
    return tuple(float(v) for v in q / np.linalg.norm(q))


def yaw_quaternion(yaw: float) -> tuple:
    return (0.0, 0.0, float(np.sin(yaw / 2)), float(np.cos(yaw / 2)))


class ObjectsRandomizer:
    """Adds `count` objects drawn from `categories`, dropped from `drop_height` above the support.

    Positions are uniform over the scene's support region less `margin`; objects that overlap are
    lifted by the world until free, so they land on each other and pile up under real physics.
    """

    def __init__(self, catalog: Catalog, categories: Optional[Sequence[str]] = None, count: Any = (3, 8),
                 scale: Any = (0.8, 1.2), drop_height: Any = (0.02, 0.15), orientation: str = "random",
                 margin: float = 0.05, weights: Optional[Sequence[float]] = None):
        self.catalog = catalog
        if isinstance(categories, str) or not isinstance(categories, (Sequence, type(None))):
            raise ConfigError("categories", f"expected a list of category names, got {categories!r}")
        if categories is not None and not categories:
            raise ConfigError("categories", "expected at least one category; null means every category")
        self.categories = [catalog[name].name for name in (catalog.categories if categories is None else categories)]
        if not self.categories:
            raise ConfigError("categories", "expected at least one category")
        self.weights = None
        if weights is not None:
            w = np.asarray([validate.number(f"weights[{i}]", v, low=0) for i, v in enumerate(weights)])
            if len(w) != len(self.categories) or w.sum() <= 0:
                raise ConfigError("weights", f"expected {len(self.categories)} non-negative weights, not all 0")
            self.weights = w / w.sum()
        self.count = validate.int_range("count", count, low=0, high=MAX_BODIES)
        if self.count[1] < 1:
            raise ConfigError("count", f"expected at least one object per frame, got {count!r}")
        self.scale = as_sampler("scale", scale, low=0, low_open=True)
        self.drop_height = as_sampler("drop_height", drop_height, low=0)
        self.orientation = validate.choice("orientation", orientation, ("random", "upright"))
        self.margin = validate.number("margin", margin, low=0)

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        (x0, y0), (x1, y1) = inner_region(scene, self.margin)
        for _ in range(int(rng.integers(self.count[0], self.count[1] + 1))):
            name = self.categories[int(rng.choice(len(self.categories), p=self.weights))]
            category = self.catalog[name]
            x = rng.uniform(x0, x1)
            y = rng.uniform(y0, y1)
            z = scene.support.height + validate.number("objects.drop_height", self.drop_height.sample(rng), low=0)
            rot = random_quaternion(rng) if self.orientation == "random" else yaw_quaternion(rng.uniform(0, 2 * np.pi))
            scale = validate.number("objects.scale", self.scale.sample(rng), low=0, low_open=True)
            scene.objects.append(ObjectSpec(
                category=name, category_id=category.id, asset=category.sample(rng),
                position=(float(x), float(y), float(z)), orientation=rot, scale=category.scale * scale,
            ))
