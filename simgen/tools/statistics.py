"""The numbers of a dataset: counts, box sizes and shapes, visibility, object centres, depth range."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from simgen.tools.cli import progress
from simgen.tools.dataset import Dataset
from simgen.tools.selection import sample

HEATMAP_CELLS = (12, 16)  # rows, columns of the object-centre heatmap over the image
VISIBILITY_BINS = 10  # equal bins over [0, 1]
DEPTH_LEVELS = 1 << 16  # every value a 16-bit depth PNG can hold


@dataclass
class DatasetStats:
    """Per-instance arrays and per-dataset totals, from which the plots and the JSON are made."""

    name: str
    frames: int
    category_names: list[str]
    per_category: dict[str, int]
    per_image: np.ndarray
    box_width: np.ndarray
    box_height: np.ndarray
    area: np.ndarray
    centres: np.ndarray  # (n, 2) box centres as fractions of the image's width and height
    image_sizes: dict[str, int]
    visible_fraction: np.ndarray | None = None
    truncated: int | None = None
    keypoints: dict[str, int] | None = None
    depth_counts: np.ndarray = field(default_factory=lambda: np.zeros(DEPTH_LEVELS, np.int64))
    depth_scale: float = 0.001
    depth_pixels: int = 0
    depth_frames: int = 0  # the frames whose depth was counted (a sample of a large dataset)

    @property
    def box_size(self) -> np.ndarray:
        """sqrt(width * height) of each box, in pixels."""
        return np.sqrt(self.box_width * self.box_height)

    @property
    def aspect_ratio(self) -> np.ndarray:
        """width / height of each box with both sides positive."""
        valid = (self.box_width > 0) & (self.box_height > 0)
        return self.box_width[valid] / self.box_height[valid]

    def heatmap(self) -> np.ndarray:
        """Counts of box centres in a grid of HEATMAP_CELLS over the image (row 0 at the top); a centre outside the
        image counts in the nearest cell."""
        rows, cols = HEATMAP_CELLS
        grid = np.zeros(HEATMAP_CELLS, np.int64)
        if len(self.centres):
            c = np.clip(np.floor(self.centres[:, 0] * cols), 0, cols - 1).astype(int)
            r = np.clip(np.floor(self.centres[:, 1] * rows), 0, rows - 1).astype(int)
            np.add.at(grid, (r, c), 1)
        return grid


def visibility_histogram(values: np.ndarray) -> np.ndarray:
    """Counts in VISIBILITY_BINS bins [k/n, (k+1)/n) over [0, 1], 1 in the last; exact at the bin edges."""
    bins = np.clip(np.floor(np.asarray(values) * VISIBILITY_BINS + 1e-9), 0, VISIBILITY_BINS - 1).astype(int)
    return np.bincount(bins, minlength=VISIBILITY_BINS)


def _optional(anns: list[dict], key: str) -> list | None:
    """The values of an optional per-annotation field, or None when no annotation has it."""
    values = [a[key] for a in anns if key in a]
    return values if values else None


def _keypoint_counts(anns: list[dict]) -> dict[str, int] | None:
    """Labelled (v > 0) and visible (v = 2) keypoints, and instances with any labelled; None without keypoints."""
    if not any("keypoints" in a for a in anns):
        return None
    flags = [(a.get("keypoints") or [])[2::3] for a in anns]
    return {"labelled": sum(v > 0 for f in flags for v in f), "visible": sum(v == 2 for f in flags for v in f),
            "instances_with_keypoints": sum(any(v > 0 for v in f) for f in flags)}


def annotation_stats(data: Dataset) -> DatasetStats:
    """Everything that comes from annotations.json alone."""
    anns, size = data.annotations, {im["id"]: (im["width"], im["height"]) for im in data.images}
    names = data.names
    boxes = np.array([a["bbox"] for a in anns], dtype=float).reshape(-1, 4)
    wh = np.array([size[a["image_id"]] for a in anns], dtype=float).reshape(-1, 2)
    counted = Counter(names.get(a["category_id"], str(a["category_id"])) for a in anns)
    visible = _optional(anns, "visible_fraction")
    truncated = _optional(anns, "truncated")
    return DatasetStats(
        name=data.name, frames=len(data.images), category_names=list(names.values()),
        per_category={n: counted.get(n, 0) for n in [*names.values(), *sorted(set(counted) - set(names.values()))]},
        per_image=np.array([len(data.annotations_of(im)) for im in data.images], dtype=int),
        box_width=boxes[:, 2], box_height=boxes[:, 3], area=np.array([a["area"] for a in anns], dtype=float),
        centres=(boxes[:, :2] + boxes[:, 2:] / 2) / wh if len(anns) else np.zeros((0, 2)),
        image_sizes=dict(Counter(f"{im['width']}x{im['height']}" for im in data.images)),
        visible_fraction=np.array(visible, dtype=float) if visible is not None else None,
        truncated=sum(bool(t) for t in truncated) if truncated is not None else None,
        keypoints=_keypoint_counts(anns))


def add_depth(stats: DatasetStats, data: Dataset, show_progress: bool = True, frames: int = 0) -> DatasetStats:
    """Count every depth value of the depth PNGs of `frames` frames spread evenly over the dataset (0: of every
    frame) into `stats`."""
    images = sample(data.images, frames) if frames else data.images
    for image in progress(images, f"depth {data.name}", show_progress):
        depth = data.depth(image)
        if depth is None:
            continue
        stats.depth_frames += 1
        stats.depth_scale = data.depth_scale(image)
        stats.depth_pixels += depth.size
        stats.depth_counts += np.bincount(depth.ravel(), minlength=DEPTH_LEVELS)[:DEPTH_LEVELS]
    return stats


def compute(data: Dataset, show_progress: bool = True, depth_frames: int = 0) -> DatasetStats:
    return add_depth(annotation_stats(data), data, show_progress, depth_frames)
