"""Train/val/test splits: validated ratios, a deterministic partition by seed."""

import pytest

from simgen import splits
from simgen.errors import ConfigError


@pytest.mark.parametrize("value, key", [
    ({"train": 0.8, "val": 0.3}, r"splits: expected train \+ val \+ test = 1"),
    ({"train": 1.2, "val": -0.2}, "splits.train"),
    ({"train": 0.5, "valid": 0.5}, "splits.valid: unknown split"),
    ({"train": "most", "val": 0.2}, "splits.train"),
])
def test_bad_ratios_name_the_key(value, key):
    with pytest.raises(ConfigError, match=key):
        splits.ratios(value)


@pytest.mark.parametrize("n, fractions, counts", [
    (10, {"train": 0.8, "val": 0.2, "test": 0.0}, (8, 2, 0)),
    (10, {"train": 0.7, "val": 0.2, "test": 0.1}, (7, 2, 1)),
    (3, {"train": 0.8, "val": 0.1, "test": 0.1}, (1, 1, 1)),   # every asked-for split gets a frame
    (1, {"train": 0.8, "val": 0.2, "test": 0.0}, (1, 0, 0)),
    (7, {"train": 1.0, "val": 0.0, "test": 0.0}, (7, 0, 0)),
])
def test_splits_partition_the_frames_by_ratio(n, fractions, counts):
    parts = splits.assign(list(range(n)), fractions, seed=0)
    assert tuple(len(parts[name]) for name in splits.SPLIT_NAMES) == counts
    assert sorted(i for part in parts.values() for i in part) == list(range(n))


def test_splits_are_deterministic_by_seed():
    fractions = splits.ratios({"train": 0.6, "val": 0.2, "test": 0.2})
    frames = list(range(50))
    assert splits.assign(frames, fractions, 3) == splits.assign(frames, fractions, 3)
    assert splits.assign(frames, fractions, 3) != splits.assign(frames, fractions, 4)
    assert splits.assign(frames[::-1], fractions, 3) == splits.assign(frames, fractions, 3)
