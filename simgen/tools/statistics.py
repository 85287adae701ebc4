"""The numbers of a dataset: counts, box sizes and shapes, visibility, object centres, depth range."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

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
    ignore_regions: int = 0  # annotations with iscrowd 1, left out of every other number
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


@dataclass
class _Tally:
    """What annotation_stats gathers in one pass over the annotations (each read once, none held)."""

    boxes: array = field(default_factory=lambda: array("d"))
    sizes: array = field(default_factory=lambda: array("d"))  # the image's width and height, per annotation
    area: array = field(default_factory=lambda: array("d"))
    visible: array = field(default_factory=lambda: array("d"))
    categories: Counter = field(default_factory=Counter)
    per_image: Counter = field(default_factory=Counter)
    truncated: Optional[int] = None
    keypoints: Optional[dict[str, int]] = None
    ignore_regions: int = 0

    def add(self, ann: dict, size: tuple[int, int], name: str) -> None:
        if ann.get("iscrowd"):  # an ignore region (annotator.below=ignore, or a crowd): no instance to learn from
            self.ignore_regions += 1
            return
        self.boxes.extend(ann["bbox"])
        self.sizes.extend(size)
        self.area.append(ann["area"])
        self.categories[name] += 1
        self.per_image[ann["image_id"]] += 1
        if "visible_fraction" in ann:
            self.visible.append(ann["visible_fraction"])
        if "truncated" in ann:
            self.truncated = (self.truncated or 0) + bool(ann["truncated"])
        if "keypoints" in ann or self.keypoints is not None:
            self.keypoints = self.keypoints or dict.fromkeys(("labelled", "visible", "instances_with_keypoints"), 0)
            flags = (ann.get("keypoints") or [])[2::3]
            self.keypoints["labelled"] += sum(v > 0 for v in flags)
            self.keypoints["visible"] += sum(v == 2 for v in flags)
            self.keypoints["instances_with_keypoints"] += any(v > 0 for v in flags)


def annotation_stats(data: Dataset) -> DatasetStats:
    """Everything that comes from annotations.json alone."""
    size, names, tally = {im["id"]: (im["width"], im["height"]) for im in data.images}, data.names, _Tally()
    for ann in data.every_annotation():
        tally.add(ann, size[ann["image_id"]], names.get(ann["category_id"], str(ann["category_id"])))
    boxes, wh = np.array(tally.boxes).reshape(-1, 4), np.array(tally.sizes).reshape(-1, 2)
    counted = tally.categories
    return DatasetStats(
        name=data.name, frames=len(data.images), category_names=list(names.values()),
        per_category={n: counted.get(n, 0) for n in [*names.values(), *sorted(set(counted) - set(names.values()))]},
        per_image=np.array([tally.per_image[im["id"]] for im in data.images], dtype=int),
        box_width=boxes[:, 2], box_height=boxes[:, 3], area=np.array(tally.area),
        centres=(boxes[:, :2] + boxes[:, 2:] / 2) / wh if len(boxes) else np.zeros((0, 2)),
        image_sizes=dict(Counter(f"{im['width']}x{im['height']}" for im in data.images)),
        visible_fraction=np.array(tally.visible) if tally.visible else None,
        truncated=tally.truncated, keypoints=tally.keypoints, ignore_regions=tally.ignore_regions)


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
