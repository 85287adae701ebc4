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


class Annotator:
    """Annotates every labeled object with at least `min_visible_pixels` visible pixels."""

    def __init__(self, min_visible_pixels: int = 50):
        self.min_visible_pixels = validate.integer("min_visible_pixels", min_visible_pixels, low=1)

    def __call__(self, frame: Frame, scene: Scene) -> list[Instance]:
        counts = np.bincount(frame.instance.ravel(), minlength=len(scene.objects) + 1)
        ids = np.flatnonzero(counts[1:] >= self.min_visible_pixels) + 1
        if len(ids) == 0:
            return []
        masks = np.asfortranarray((frame.instance[:, :, None] == ids[None, None, :]).astype(np.uint8))
        rles = mask_utils.encode(masks)
        boxes = mask_utils.toBbox(rles)
        instances = []
        for inst_id, rle, box in zip(ids.tolist(), rles, boxes):
            rle["counts"] = rle["counts"].decode("ascii")
            obj = scene.objects[inst_id - 1]
            instances.append(Instance(
                object_index=inst_id - 1, instance_id=inst_id, category_id=obj.category_id,
                bbox=[float(v) for v in box], area=int(counts[inst_id]), rle=rle,
            ))
        return instances
