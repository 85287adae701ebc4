"""Frame + Scene -> instances: visible masks, tight boxes, areas and RLE. Pure numpy and pycocotools."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils

from simgen import validate
from simgen.frame import Frame
from simgen.scene import Scene


@dataclass
class Instance:
    """One annotated object: `instance_id` is its value in the instance mask (object index + 1)."""

    object_index: int
    instance_id: int
    category_id: int
    bbox: list  # [x, y, width, height] in pixels, tight around the visible mask
    area: int  # visible pixels
    rle: dict  # COCO compressed RLE of the visible mask, counts as str


def instance_rles(instance: np.ndarray) -> dict[int, dict]:
    """Compressed COCO RLE of every non-zero id of an instance map, from one pass over its runs.

    COCO RLE runs down the columns (Fortran order) and alternates 0-runs and 1-runs, starting with 0s.
    """
    h, w = instance.shape
    flat = instance.T.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts, ends = np.r_[0, change], np.r_[change, flat.size]
    values = flat[starts]
    rles = {}
    for inst_id in np.unique(values[values > 0]).tolist():
        s, e = starts[values == inst_id], ends[values == inst_id]
        counts = np.empty(2 * len(s), dtype=np.int64)
        counts[0::2] = s - np.r_[0, e[:-1]]
        counts[1::2] = e - s
        if e[-1] < flat.size:
            counts = np.r_[counts, flat.size - e[-1]]
        rles[inst_id] = mask_utils.frPyObjects({"size": [h, w], "counts": counts.tolist()}, h, w)
    return rles


class Annotator:
    """Annotates every labeled object with at least `min_visible_pixels` visible pixels."""

    def __init__(self, min_visible_pixels: int = 50):
        self.min_visible_pixels = validate.integer("min_visible_pixels", min_visible_pixels, low=1)

    def __call__(self, frame: Frame, scene: Scene) -> list[Instance]:
        counts = np.bincount(frame.instance.ravel(), minlength=len(scene.objects) + 1)
        if not np.any(counts[1:] >= self.min_visible_pixels):
            return []
        instances = []
        for inst_id, rle in instance_rles(frame.instance).items():
            if counts[inst_id] < self.min_visible_pixels:
                continue
            bbox = mask_utils.toBbox(rle).tolist()
            rle["counts"] = rle["counts"].decode("ascii")
            instances.append(Instance(
                object_index=inst_id - 1, instance_id=inst_id, category_id=scene.objects[inst_id - 1].category_id,
                bbox=[float(v) for v in bbox], area=int(counts[inst_id]), rle=rle,
            ))
        return instances
