"""A finished simgen (or any COCO instances) dataset on disk, read and checked for the tools."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np

from simgen.errors import SimgenError

ANNOTATIONS = "annotations.json"
REQUIRED_KEYS = ("images", "annotations", "categories")
ENTRY_KEYS = {"images": ("id", "file_name", "width", "height"),
              "annotations": ("image_id", "category_id", "bbox", "area", "segmentation"),
              "categories": ("id", "name")}
PNG_SIGNATURE, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"  # the IEND chunk's type and CRC end a PNG
JPEG_START, JPEG_SCAN, JPEG_END = b"\xff\xd8", b"\xff\xda", b"\xff\xd9"
MAX_COORDINATE = 1e7  # pixels: boxes and keypoints beyond this are not coordinates of an image


class DatasetError(SimgenError):
    """A dataset directory is missing, unreadable or not a COCO instances dataset."""


@dataclass
class Dataset:
    """The annotations file of a dataset, indexed for the tools."""

    root: Path
    images: list[dict]
    annotations: list[dict]
    categories: list[dict]
    by_image: dict[int, list[dict]] = field(default_factory=dict)

    @property
    def names(self) -> dict[int, str]:
        return {c["id"]: c["name"] for c in self.categories}

    @property
    def name(self) -> str:
        return self.root.resolve().name

    def annotations_of(self, image: dict) -> list[dict]:
        return self.by_image.get(image["id"], [])

    def rgb(self, image: dict) -> np.ndarray:
        """The image's RGB as 8-bit BGR, of the size annotations.json gives it."""
        path = self.root / image["file_name"]
        bgr = _read(path, cv2.IMREAD_COLOR)
        if bgr.shape[:2] != (image["height"], image["width"]):
            raise DatasetError(f"{path}: {bgr.shape[1]}x{bgr.shape[0]} pixels, but {ANNOTATIONS} gives image "
                               f"{image['id']} as {image['width']}x{image['height']}")
        return bgr

    def depth_path(self, image: dict) -> Path:
        return self.root / "depth" / f"{Path(image['file_name']).stem}.png"

    def depth(self, image: dict) -> np.ndarray | None:
        """The image's depth in depth-PNG units (0 = no depth), or None where the dataset has none."""
        path = self.depth_path(image)
        if not path.is_file():
            return None
        depth = _read(path, cv2.IMREAD_UNCHANGED)
        if depth.ndim != 2 or depth.dtype not in (np.uint8, np.uint16):
            raise DatasetError(f"{path}: not a single-channel 8- or 16-bit depth image")
        return depth

    def depth_scale(self, image: dict) -> float:
        """Metres per depth-PNG unit."""
        return float(image.get("depth_scale", 0.001))


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence what C libraries (libpng, libjpeg, OpenCV's log) write to stderr meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def truncated(data: bytes) -> bool:
    """A PNG without its IEND chunk, or a JPEG whose last scan has no end-of-image marker after it."""
    if data.startswith(PNG_SIGNATURE):
        return PNG_END not in data[-64:]
    if data.startswith(JPEG_START):
        return data.rfind(JPEG_END) < data.rfind(JPEG_SCAN)
    return False


def decode_file(path: Path, flags: int = cv2.IMREAD_UNCHANGED) -> tuple[np.ndarray | None, str]:
    """(the image, "") or (None, why not): "missing", "unreadable (...)", "truncated" or "not an image".
    Nothing is printed, whatever the file holds."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, "missing"
    except OSError as err:
        return None, f"unreadable ({err.strerror or err.__class__.__name__})"
    if truncated(data):
        return None, "truncated"
    image = None
    if data:
        with quiet_stderr():
            with contextlib.suppress(cv2.error):
                image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    return (image, "") if image is not None else (None, "not an image")


def _read(path: Path, flags: int) -> np.ndarray:
    image, problem = decode_file(path, flags)
    if image is None:
        raise DatasetError(f"{path}: {problem}")
    return image


def _load_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise DatasetError(f"{path}: not a readable JSON file ({err.__class__.__name__})") from None
    missing = [k for k in REQUIRED_KEYS if not isinstance(data, dict) or not isinstance(data.get(k), list)]
    if missing:
        raise DatasetError(f"{path}: not a COCO instances file (no {', '.join(missing)} list)")
    return data


# ---- what the tools read of each entry, and what it must be ----

def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any, low: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (low is None or value >= low)


def _coordinate(value: Any) -> bool:
    """A finite pixel coordinate that drawing can take (OpenCV's are 32-bit)."""
    return _number(value) and abs(value) <= MAX_COORDINATE


def _box(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 4 and all(map(_coordinate, value)) and min(value[2:]) >= 0


def _numbers(value: Any, multiple: int, valid: Callable[[Any], bool] = _number) -> bool:
    return isinstance(value, list) and len(value) % multiple == 0 and all(map(valid, value))


def _skeleton(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(e, list) and len(e) == 2 and all(_integer(v) for v in e)
                                           for e in value)


Rule = tuple[Callable[[Any], bool], str]
RULES: dict[str, dict[str, Rule]] = {
    "images": {
        "id": (_integer, "an integer"),
        "file_name": (lambda v: isinstance(v, str) and bool(v), "a file name"),
        "width": (lambda v: _integer(v, 1), "a positive integer"),
        "height": (lambda v: _integer(v, 1), "a positive integer"),
        "frame_index": (lambda v: _integer(v, 0), "an integer >= 0"),
        "depth_scale": (lambda v: _number(v) and v > 0, "a positive number"),
    },
    "annotations": {
        "image_id": (_integer, "an integer"),
        "category_id": (_integer, "an integer"),
        "bbox": (_box, "[x, y, width, height] in pixels (finite, width and height >= 0)"),
        "area": (lambda v: _number(v) and v >= 0, "a number >= 0"),
        "keypoints": (lambda v: _numbers(v, 3, _coordinate), "a list of [x, y, v] triples of finite numbers"),
        "visible_fraction": (_number, "a finite number"),
    },
    "categories": {
        "id": (_integer, "an integer"),
        "name": (lambda v: isinstance(v, str), "a string"),
        "skeleton": (_skeleton, "a list of [a, b] keypoint numbers"),
    },
}


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def segmentation_problem(segmentation: Any, height: int, width: int) -> str | None:
    """Why a COCO segmentation cannot be a mask of a `height` x `width` image; None when it can."""
    if isinstance(segmentation, list):
        if all(_numbers(p, 2, _coordinate) and len(p) >= 6 for p in segmentation):
            return None
        return "expected polygons [x1, y1, x2, y2, x3, y3, ...] of at least 3 points of finite numbers"
    if not isinstance(segmentation, dict) or "counts" not in segmentation:
        return "expected polygons or an RLE {size, counts}"
    if segmentation.get("size") != [height, width]:
        return f"RLE size {_short(segmentation.get('size'))} is not the image's [{height}, {width}]"
    counts = segmentation["counts"]
    if isinstance(counts, str) and counts:
        return None
    if isinstance(counts, list) and all(_integer(c, 0) for c in counts) and sum(counts) == height * width:
        return None
    return "RLE counts are neither an RLE string nor run lengths adding up to the image's pixels"


def _check_entries(path: Path, data: dict) -> None:
    """Every entry has the keys the tools read, each of the type they need, and every annotation names an image
    of the file; a DatasetError names the file and the entry."""
    for kind, keys in ENTRY_KEYS.items():
        for k, entry in enumerate(data[kind]):
            missing = [key for key in keys if not isinstance(entry, dict) or key not in entry]
            if missing:
                raise DatasetError(f"{path}: {kind}[{k}] has no {missing[0]!r}")
            for key, (valid, expected) in RULES[kind].items():
                if key in entry and not valid(entry[key]):
                    raise DatasetError(f"{path}: {kind}[{k}] has a bad {key!r} ({_short(entry[key])}): "
                                       f"expected {expected}")
    images: dict[int, dict] = {}
    for k, image in enumerate(data["images"]):
        if image["id"] in images:
            raise DatasetError(f"{path}: images[{k}] repeats image id {image['id']}")
        images[image["id"]] = image
    for k, ann in enumerate(data["annotations"]):
        image = images.get(ann["image_id"])
        if image is None:
            raise DatasetError(f"{path}: annotations[{k}] refers to image_id {ann['image_id']}, which is not in images")
        problem = segmentation_problem(ann["segmentation"], image["height"], image["width"])
        if problem:
            raise DatasetError(f"{path}: annotations[{k}] has a bad 'segmentation': {problem}")


def load(root: Path | str) -> Dataset:
    """The dataset in `root`; DatasetError with one line naming the path when it is not one."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset directory")
    path = root / ANNOTATIONS
    if not path.is_file():
        raise DatasetError(f"{root}: not a finished simgen dataset (no {ANNOTATIONS})")
    data = _load_json(path)
    _check_entries(path, data)
    by_image: dict[int, list[dict]] = defaultdict(list)
    for ann in data["annotations"]:
        by_image[ann["image_id"]].append(ann)
    images = sorted(data["images"], key=lambda im: (im.get("frame_index", im["id"]), im["id"]))
    return Dataset(root, images, data["annotations"], data["categories"], dict(by_image))
