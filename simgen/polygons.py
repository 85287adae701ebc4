"""Masks as polygons along their pixels' edges, as the COCO writer and the YOLO export write them."""

from __future__ import annotations

import cv2
import numpy as np

POLYGON_UPSAMPLE = 4  # contours traced on the mask scaled up 4x run within 1/8 pixel of its pixels' edges


def mask_polygons(mask: np.ndarray, tolerance: float) -> list[list[float]]:
    """Outer contours of a binary mask as COCO polygons along its pixels' edges (pixel (x, y) spans [x, x + 1] x
    [y, y + 1], as pycocotools draws polygons), simplified by `tolerance` pixels; a part too thin to simplify
    (a pixel wide, which simplifying flattens to a line) keeps its outline as traced."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return []
    x0, y0, k = xs.min(), ys.min(), POLYGON_UPSAMPLE
    crop = mask[y0:ys.max() + 1, x0:xs.max() + 1].astype(np.uint8)
    scaled = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(scaled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        simplified = cv2.approxPolyDP(contour, tolerance * k, True) if tolerance > 0 else contour
        contour = simplified if len(simplified) >= 3 else contour
        if len(contour) >= 3:
            points = (contour.reshape(-1, 2) + 0.5) / k + (x0, y0)
            polygons.append([float(v) for v in points.reshape(-1)])
    return polygons
