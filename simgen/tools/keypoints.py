"""Draw COCO keypoints (`[x, y, v] * n`) and their category's skeleton over an image."""

from __future__ import annotations

import cv2
import numpy as np

from simgen.tools.overlay import instance_color


def _points(ann: dict) -> list[tuple[int, int, int]]:
    """The annotation's keypoints as integer (x, y, visibility) triples."""
    values = ann.get("keypoints") or []
    return [(int(round(x)), int(round(y)), int(v)) for x, y, v in zip(values[0::3], values[1::3], values[2::3])]


def draw_keypoints(bgr: np.ndarray, annotations: list[dict], categories: dict[int, dict]) -> np.ndarray:
    """The image with labelled keypoints as dots (filled: visible, hollow: occluded) and skeleton lines."""
    out = bgr.copy()
    radius = max(2, bgr.shape[0] // 160)
    for k, ann in enumerate(annotations):
        points = _points(ann)
        color = instance_color(k)
        for a, b in categories.get(ann["category_id"], {}).get("skeleton", []):
            if 0 < a <= len(points) and 0 < b <= len(points) and points[a - 1][2] > 0 and points[b - 1][2] > 0:
                cv2.line(out, points[a - 1][:2], points[b - 1][:2], color, 1, cv2.LINE_AA)
        for x, y, v in points:
            if v > 0:
                cv2.circle(out, (x, y), radius + 1, (0, 0, 0), -1, cv2.LINE_AA)
                cv2.circle(out, (x, y), radius, color, -1 if v == 2 else 1, cv2.LINE_AA)
    return out

