"""Pictures of frames: an overlay beside a depth colormap, and contact sheets of many frames."""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from simgen.tools.dataset import Dataset
from simgen.tools.keypoints import draw_keypoints
from simgen.tools.overlay import draw_overlay

GAP = 4  # pixels between the tiles of a contact sheet


def colorize_depth(depth: np.ndarray) -> np.ndarray:
    """Depth as a BGR turbo colormap, near = warm, stretched over its 1-99th percentile; no depth = black."""
    valid = depth > 0
    out = np.zeros((*depth.shape, 3), np.uint8)
    if not valid.any():
        return out
    lo, hi = np.percentile(depth[valid], [1, 99])
    scaled = np.clip((depth.astype(np.float32) - lo) / max(hi - lo, 1.0) * 255, 0, 255).astype(np.uint8)
    out[valid] = cv2.applyColorMap(255 - scaled, cv2.COLORMAP_TURBO)[valid]
    return out


def frame_panel(dataset: Dataset, image: dict, depth: bool = True, keypoints: bool = True) -> np.ndarray:
    """One frame's overlay (masks, boxes, names, keypoints where labelled), with its depth beside it."""
    anns = dataset.annotations_of(image)
    picture = draw_overlay(dataset.rgb(image), anns, dataset.names)
    if keypoints:
        picture = draw_keypoints(picture, anns, {c["id"]: c for c in dataset.categories})
    depth_map = dataset.depth(image) if depth else None
    if depth_map is None:
        return picture
    return np.hstack([picture, cv2.resize(colorize_depth(depth_map), picture.shape[1::-1],
                                          interpolation=cv2.INTER_NEAREST)])


def caption(picture: np.ndarray, text: str) -> np.ndarray:
    """The picture with a white strip above it holding `text`."""
    scale = max(0.4, picture.shape[0] / 600)
    (_, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    strip = np.full((th + base + 6, picture.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (3, th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, picture])


def contact_sheet(tiles: Sequence[np.ndarray], columns: int, tile_width: int | None = None) -> np.ndarray:
    """The tiles in a grid of `columns`, each scaled to `tile_width` (the first tile's width by default)."""
    width = tile_width or tiles[0].shape[1]
    scaled = [cv2.resize(t, (width, round(t.shape[0] * width / t.shape[1])), interpolation=cv2.INTER_AREA)
              for t in tiles]
    columns = max(1, min(columns, len(scaled)))
    rows = math.ceil(len(scaled) / columns)
    cell_h = max(t.shape[0] for t in scaled)
    sheet = np.full((rows * (cell_h + GAP) + GAP, columns * (width + GAP) + GAP, 3), 255, np.uint8)
    for k, tile in enumerate(scaled):
        y, x = GAP + (k // columns) * (cell_h + GAP), GAP + (k % columns) * (width + GAP)
        sheet[y:y + tile.shape[0], x:x + width] = tile
    return sheet
