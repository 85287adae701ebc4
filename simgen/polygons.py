"""Masks as polygons along their pixels' edges, as the COCO writer and the YOLO export write them."""

from __future__ import annotations

import cv2
import numpy as np

from simgen.annotate import mask_rect

POLYGON_UPSAMPLE = 4  # contours traced on the mask scaled up 4x run within 1/8 pixel of its pixels' edges


def mask_polygons(mask: np.ndarray, tolerance: float) -> list[list[float]]:
    """Outer contours of a binary mask as COCO polygons along its pixels' edges (pixel (x, y) spans [x, x + 1] x
    [y, y + 1], as pycocotools draws polygons), simplified by `tolerance` pixels, keeping its extreme points; a
    part too thin to simplify (a pixel wide, which simplifying flattens to a line) keeps its outline as traced."""
    x0, y0, w, h = mask_rect(mask)
    if w == 0:
        return []
    k = POLYGON_UPSAMPLE
    crop = mask[y0:y0 + h, x0:x0 + w].astype(np.uint8)
    scaled = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(scaled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        contour = contour.reshape(-1, 2)
        if tolerance > 0 and len(cv2.approxPolyDP(contour, tolerance * k, True)) >= 3:
            contour = simplified_keeping_extremes(contour, tolerance * k)
        if len(contour) >= 3:
            points = (contour + 0.5) / k + (x0, y0)
            polygons.append([float(v) for v in points.reshape(-1)])
    return polygons


def simplified_keeping_extremes(contour: np.ndarray, tolerance: float) -> np.ndarray:
    """A closed (N, 2) contour simplified by `tolerance` (Douglas-Peucker) between its leftmost, topmost, rightmost
    and bottommost points, which it keeps: the polygon's box stays the contour's, as a box taken from the polygon
    (Ultralytics' from a segment label) should."""
    corners = np.unique([contour[:, 0].argmin(), contour[:, 1].argmin(), contour[:, 0].argmax(),
                         contour[:, 1].argmax()])
    rolled = np.roll(contour, -corners[0], axis=0)
    ends = [*(corners - corners[0]), len(contour)]
    closed = np.vstack([rolled, rolled[:1]])
    chains = [cv2.approxPolyDP(closed[a:b + 1], tolerance, False).reshape(-1, 2)[:-1] for a, b in zip(ends, ends[1:])]
    return np.vstack(chains)
