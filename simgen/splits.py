"""Train/val/test splits of a dataset's frames, drawn per scene (all views of a scene in one split): by ratio,
deterministic by seed."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np

from simgen import validate
from simgen.errors import ConfigError

SPLIT_NAMES = ("train", "val", "test")
DEFAULT_RATIOS = {"train": 0.8, "val": 0.2, "test": 0.0}
_STREAM = 0x53504C54  # keeps the split's random stream apart from the frames' (seed, i) streams


def ratios(value: Optional[Mapping[str, Any]], key: str = "splits") -> dict[str, float]:
    """{train, val, test} fractions, each in [0, 1], summing to 1; missing names count as 0."""
    if value is not None and not isinstance(value, Mapping):
        raise ConfigError(key, f"expected train/val/test fractions like {{train: 0.8, val: 0.2}}, got {value!r}")
    value = dict(DEFAULT_RATIOS if value is None else value)
    unknown = set(value) - set(SPLIT_NAMES)
    if unknown:
        raise ConfigError(f"{key}.{sorted(map(str, unknown))[0]}", f"unknown split (expected {', '.join(SPLIT_NAMES)})")
    out = {name: validate.number(f"{key}.{name}", value.get(name, 0.0), 0, 1) for name in SPLIT_NAMES}
    if abs(sum(out.values()) - 1.0) > 1e-6:
        raise ConfigError(key, f"expected train + val + test = 1, got {sum(out.values()):g}")
    return out


def assign(frames: list[int], fractions: Mapping[str, float], seed: int,
           views_per_scene: int = 1) -> dict[str, list[int]]:
    """{split: sorted frame indices}, drawn per scene so that all views of a scene (frame i views scene
    i // views_per_scene) land in one split: a seeded shuffle of the scenes cut by the fractions (largest
    remainder), every split with a positive fraction getting at least one scene where there are enough scenes.
    With views_per_scene=1 each frame is its own scene."""
    views_per_scene = validate.integer("views_per_scene", views_per_scene, low=1)
    scenes: dict[int, list[int]] = {}
    for i in frames:
        scenes.setdefault(int(i) // views_per_scene, []).append(int(i))
    parts = _cut(list(scenes), fractions, seed)
    return {name: sorted(i for scene in part for i in scenes[scene]) for name, part in parts.items()}


def _cut(items: list[int], fractions: Mapping[str, float], seed: int) -> dict[str, list[int]]:
    """{split: sorted items}: a seeded shuffle of the items cut by the fractions (largest remainder), every
    split with a positive fraction getting at least one item where there are enough items."""
    seed = validate.integer("seed", seed, low=0)  # numpy seeds its generators with non-negative integers only
    n = len(items)
    exact = np.array([fractions[name] * n for name in SPLIT_NAMES])
    counts = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    wanted = [k for k, name in enumerate(SPLIT_NAMES) if fractions[name] > 0]
    for k in wanted:
        if counts[k] == 0 and n >= len(wanted):
            counts[k] = 1
            counts[int(np.argmax(counts))] -= 1
    order = np.random.default_rng([_STREAM, seed]).permutation(sorted(items))
    cuts = np.cumsum(counts)[:-1]
    return {name: sorted(int(i) for i in part) for name, part in zip(SPLIT_NAMES, np.split(order, cuts))}
