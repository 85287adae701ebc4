"""A dataset's statistics as plain JSON numbers (what `stats.json` holds)."""

from __future__ import annotations

import numpy as np

from simgen.tools.statistics import VISIBILITY_BINS, DatasetStats, visibility_histogram


def describe(values: np.ndarray) -> dict[str, float] | None:
    """min, median, mean and max of the values; None when there are none."""
    if len(values) == 0:
        return None
    return {"min": float(np.min(values)), "median": float(np.median(values)), "mean": float(np.mean(values)),
            "max": float(np.max(values))}


def visibility(values: np.ndarray | None) -> dict | None:
    """Summary and a histogram of VISIBILITY_BINS equal bins over [0, 1] (the last includes 1)."""
    if values is None:
        return None
    edges = [k / VISIBILITY_BINS for k in range(VISIBILITY_BINS + 1)]
    return {**(describe(values) or {}), "bin_edges": edges, "histogram": visibility_histogram(values).tolist()}


def depth(stats: DatasetStats) -> dict | None:
    """Range and mean of the valid depth in metres, the fraction of pixels with depth, and the frames they are
    counted over."""
    levels = np.nonzero(stats.depth_counts[1:])[0] + 1
    if not len(levels):
        return None
    counts = stats.depth_counts[levels]
    return {"min": float(levels[0] * stats.depth_scale), "max": float(levels[-1] * stats.depth_scale),
            "mean": float((levels * counts).sum() / counts.sum() * stats.depth_scale),
            "valid_fraction": float(counts.sum() / stats.depth_pixels), "frames": stats.depth_frames}


def per_image_counts(per_image: np.ndarray) -> dict | None:
    """Summary of the instances per image and how many images have each count; None without images."""
    if not len(per_image):
        return None
    return {**describe(per_image), "histogram": {str(k): int(n) for k, n in enumerate(np.bincount(per_image)) if n}}


def to_json(stats: DatasetStats) -> dict:
    """The numbers of the report, keyed as documented in the README."""
    per_image = stats.per_image
    return {
        "dataset": stats.name,
        "frames": stats.frames,
        "instances": int(per_image.sum()),
        "ignore_regions": stats.ignore_regions,
        "categories": len(stats.category_names),
        "categories_present": sum(n > 0 for n in stats.per_category.values()),
        "image_sizes": stats.image_sizes,
        "instances_per_category": stats.per_category,
        "instances_per_image": per_image_counts(per_image),
        "box_width_px": describe(stats.box_width),
        "box_height_px": describe(stats.box_height),
        "box_size_px": describe(stats.box_size),
        "aspect_ratio": describe(stats.aspect_ratio),
        "area_px": describe(stats.area),
        "visible_fraction": visibility(stats.visible_fraction),
        "truncated": stats.truncated,
        "keypoints": stats.keypoints,
        "centre_heatmap": stats.heatmap().tolist(),
        "depth_m": depth(stats),
    }
