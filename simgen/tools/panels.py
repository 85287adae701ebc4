"""Pictures of frames: an overlay beside a depth colormap, and contact sheets of many frames."""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from simgen.tools.cli import UsageError
from simgen.tools.dataset import ANNOTATIONS, Dataset, DatasetError
from simgen.tools.keypoints import draw_keypoints
from simgen.tools.overlay import draw_overlay

GAP = 4  # pixels between the tiles of a contact sheet
MAX_SHEET_PIXELS = 1 << 27  # a contact sheet larger than this (400 MB as BGR) is refused


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
    try:
        picture = draw_overlay(dataset.rgb(image), anns, dataset.names)
    except ValueError as err:  # a segmentation that passed the load's checks and still does not decode
        raise DatasetError(f"{dataset.root / ANNOTATIONS}: image {image['id']}: {err}") from None
    if keypoints:
        picture = draw_keypoints(picture, anns, {c["id"]: c for c in dataset.categories})
    depth_map = dataset.depth(image) if depth else None
    if depth_map is None:
        return picture
    return np.hstack([picture, cv2.resize(colorize_depth(depth_map), picture.shape[1::-1],
                                          interpolation=cv2.INTER_NEAREST)])


def _caption_size(picture_height: int, text: str) -> tuple[float, int, int]:
    """Font scale, text height and strip height of the caption of a picture this high."""
    scale = max(0.4, picture_height / 600)
    (_, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    return scale, th, th + base + 6


def caption(picture: np.ndarray, text: str) -> np.ndarray:
    """The picture with a white strip above it holding `text`."""
    scale, th, strip_height = _caption_size(picture.shape[0], text)
    strip = np.full((strip_height, picture.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (3, th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, picture])


def scaled_height(height: int, width: int, tile_width: int) -> int:
    return max(1, round(height * tile_width / width))


def scale_tile(tile: np.ndarray, tile_width: int) -> np.ndarray:
    """The tile scaled to `tile_width` pixels wide."""
    if tile.shape[1] == tile_width:
        return tile
    size = (tile_width, scaled_height(tile.shape[0], tile.shape[1], tile_width))
    return cv2.resize(tile, size, interpolation=cv2.INTER_AREA)


def sheet_shape(tiles: Sequence[tuple[int, int]], columns: int, tile_width: int) -> tuple[int, int]:
    """(height, width) of the contact sheet of tiles of these (height, width)s."""
    columns = max(1, min(columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    cell_h = max((scaled_height(h, w, tile_width) for h, w in tiles), default=0)
    return rows * (cell_h + GAP) + GAP, columns * (tile_width + GAP) + GAP


def check_sheet(dataset: Dataset, images: Sequence[dict], columns: int, tile_width: int, depth: bool,
                option: str) -> None:
    """A UsageError naming `option` when the contact sheet of these frames' captioned panels would be too large."""
    tiles = []
    for image in images:
        panels = 2 if depth and dataset.depth_path(image).is_file() else 1
        tiles.append((image["height"] + _caption_size(image["height"], "frame 0")[2], image["width"] * panels))
    height, width = sheet_shape(tiles, columns, tile_width)
    if height * width > MAX_SHEET_PIXELS:
        raise UsageError(f"{option}: a contact sheet of {len(images)} frames {tile_width} pixels wide would be "
                         f"{width}x{height} pixels, over the limit of {MAX_SHEET_PIXELS // 10 ** 6} million; "
                         "draw fewer frames or narrower tiles")


def contact_sheet(tiles: Sequence[np.ndarray], columns: int, tile_width: int | None = None) -> np.ndarray:
    """The tiles in a grid of `columns`, each scaled to `tile_width` (the first tile's width by default)."""
    width = tile_width or tiles[0].shape[1]
    scaled = [scale_tile(t, width) for t in tiles]
    columns = max(1, min(columns, len(scaled)))
    height, sheet_width = sheet_shape([t.shape[:2] for t in scaled], columns, width)
    cell_h = max(t.shape[0] for t in scaled)
    sheet = np.full((height, sheet_width, 3), 255, np.uint8)
    for k, tile in enumerate(scaled):
        y, x = GAP + (k // columns) * (cell_h + GAP), GAP + (k % columns) * (width + GAP)
        sheet[y:y + tile.shape[0], x:x + width] = tile
    return sheet
