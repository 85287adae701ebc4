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
    """A COCO segmentation (polygons, or compressed or uncompressed RLE) as a boolean mask; a ValueError says
    why one does not decode."""
    if isinstance(segmentation, list) and not segmentation:
        return np.zeros((height, width), bool)
    try:
        if isinstance(segmentation, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
        elif isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, *segmentation["size"])
        else:
            counts = segmentation["counts"]
            rle = dict(segmentation, counts=counts.encode() if isinstance(counts, str) else counts)
        mask = mask_utils.decode(rle).astype(bool)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as err:
        raise ValueError(f"segmentation does not decode ({err})") from None
    if mask.shape != (height, width):
        raise ValueError(f"segmentation is {mask.shape[1]}x{mask.shape[0]}, not the image's {width}x{height}")
    return mask


def draw_overlay(bgr: np.ndarray, annotations: list[dict], names: dict[int, str], alpha: float = 0.45) -> np.ndarray:
    """The image with each annotation's mask tinted, its box drawn and its category written above it."""
    out = bgr.copy()
    h, w = bgr.shape[:2]
    scale = max(0.35, h / 1000)
    for k, ann in enumerate(annotations):
        color = np.array(instance_color(k), dtype=np.float32)
        try:
            mask = decode_mask(ann["segmentation"], h, w)
        except ValueError as err:
            raise ValueError(f"annotation {ann.get('id', k)}: {err}") from None
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
