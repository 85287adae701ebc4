"""Train/val/test splits of a dataset's frames: by ratio, deterministic by seed."""

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


def assign(frames: list[int], fractions: Mapping[str, float], seed: int) -> dict[str, list[int]]:
    """{split: sorted frame indices}: a seeded shuffle cut by the fractions (largest remainder), every
    split with a positive fraction getting at least one frame where there are enough frames."""
    seed = validate.integer("seed", seed, low=0)  # numpy seeds its generators with non-negative integers only
    n = len(frames)
    exact = np.array([fractions[name] * n for name in SPLIT_NAMES])
    counts = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    wanted = [k for k, name in enumerate(SPLIT_NAMES) if fractions[name] > 0]
    for k in wanted:
        if counts[k] == 0 and n >= len(wanted):
            counts[k] = 1
            counts[int(np.argmax(counts))] -= 1
    order = np.random.default_rng([_STREAM, seed]).permutation(sorted(frames))
    cuts = np.cumsum(counts)[:-1]
    return {name: sorted(int(i) for i in part) for name, part in zip(SPLIT_NAMES, np.split(order, cuts))}
