"""Draw a frame's annotations over its RGB: masks in distinct colours, boxes and category names."""

from __future__ import annotations

import colorsys

import cv2
import numpy as np
from pycocotools import mask as mask_utils


def instance_color(index: int) -> tuple[int, int, int]:
    """A distinct, saturated BGR colour for the index-th instance (golden-ratio hue steps)."""
    r, g, b = colorsys.hsv_to_rgb((index * 0.618033988749895) % 1.0, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def decode_mask(segmentation, height: int, width: int) -> np.ndarray:
    """A COCO segmentation (compressed RLE or polygons) as a boolean mask."""
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    else:
        rle = dict(segmentation, counts=segmentation["counts"].encode() if isinstance(segmentation["counts"], str)
                   else segmentation["counts"])
    return mask_utils.decode(rle).astype(bool)


def draw_overlay(bgr: np.ndarray, annotations: list[dict], names: dict[int, str], alpha: float = 0.45) -> np.ndarray:
    """The image with each annotation's mask tinted, its box drawn and its category written above it."""
    out = bgr.copy()
    h, w = bgr.shape[:2]
    scale = max(0.35, h / 1000)
    for k, ann in enumerate(annotations):
        color = np.array(instance_color(k), dtype=np.float32)
        mask = decode_mask(ann["segmentation"], h, w)
        out[mask] = (out[mask] * (1 - alpha) + color * alpha).astype(np.uint8)
    for k, ann in enumerate(annotations):
        x, y, bw, bh = (int(round(v)) for v in ann["bbox"])
        color = instance_color(k)
        cv2.rectangle(out, (x, y), (x + bw - 1, y + bh - 1), color, max(1, h // 400))
        label = names.get(ann["category_id"], str(ann["category_id"]))
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = y - 3 if y - th - 4 >= 0 else y + th + 3
        cv2.rectangle(out, (x, ty - th - 2), (x + tw + 2, ty + base - 1), color, -1)
        cv2.putText(out, label, (x + 1, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return out
