"""Which frames a tool looks at: named by frame index (`0,3,10-12`) or N sampled over the dataset."""

from __future__ import annotations

import numpy as np

from simgen.tools.cli import UsageError


def parse_indices(spec: str, option: str = "--images") -> list[int]:
    """Frame indices from `0,3,10-12`, in the given order, without repeats."""
    indices: dict[int, None] = {}  # ordered, without repeats
    for token in filter(None, (t.strip() for t in spec.split(","))):
        low, _, high = token.partition("-")
        if not low.isdigit() or (high and not high.isdigit()) or (high and int(high) < int(low)):
            raise UsageError(f"{option}: expected frame indices like 0,3,10-12, got {token!r}")
        indices.update(dict.fromkeys(range(int(low), int(high or low) + 1)))
    if not indices:
        raise UsageError(f"{option}: no frame index given")
    return list(indices)


def frame_index(image: dict) -> int:
    return int(image.get("frame_index", image["id"] - 1))


def pick(images: list[dict], indices: list[int], option: str = "--images") -> list[dict]:
    """The images with these frame indices, in that order; a UsageError names any the dataset lacks."""
    by_index = {frame_index(im): im for im in images}
    missing = [i for i in indices if i not in by_index]
    if missing:
        known = f"{min(by_index)}-{max(by_index)}" if by_index else "none"
        raise UsageError(f"{option}: frame {missing[0]} is not in the dataset (frames {known})")
    return [by_index[i] for i in indices]


def sample(images: list[dict], count: int, seed: int | None = None) -> list[dict]:
    """`count` images: evenly spread over the dataset, or drawn at random with `seed`; in dataset order."""
    if count < 1:
        raise UsageError(f"--num: expected a positive number of frames, got {count}")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed: expected an integer >= 0, got {seed}")
    if count >= len(images):
        return list(images)
    if seed is None:
        chosen = np.linspace(0, len(images) - 1, count).round().astype(int)
    else:
        chosen = np.sort(np.random.default_rng(seed).choice(len(images), count, replace=False))
    return [images[k] for k in chosen]
