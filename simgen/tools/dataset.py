"""A finished simgen (or any COCO instances) dataset on disk, read and checked for the tools."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import cv2
import numpy as np

from simgen import annotations_file
from simgen.annotations_file import ANNOTATIONS, DatasetError, Schema
from simgen.quiet import c_output_silenced

# What the viewing tools require of each entry; any other field RULES knows is checked where present, so any COCO
# instances file (frame_index optional) can be drawn and counted.
SCHEMA = Schema(required={"images": ("id", "file_name", "width", "height"),
                          "annotations": ("image_id", "category_id", "bbox", "area", "segmentation"),
                          "categories": ("id", "name")},
                check_present=True)
PNG_SIGNATURE, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"  # the IEND chunk's type and CRC end a PNG
JPEG_START, JPEG_SCAN, JPEG_END = b"\xff\xd8", b"\xff\xda", b"\xff\xd9"


@dataclass
class Dataset:
    """The annotations file of a dataset, indexed for the tools."""

    root: Path
    images: list[dict]
    annotations: list[dict]
    categories: list[dict]
    by_image: dict[int, list[dict]] = field(default_factory=dict)
    streamed_from: Optional[int] = None  # where annotations.json's annotation lines start, where load kept only some

    def every_annotation(self) -> Iterator[dict]:
        """Every annotation: those held, or where load kept only some, all of them read again a line at a time."""
        if self.streamed_from is None:
            return iter(self.annotations)
        return annotations_file.streamed_annotations(self.root / ANNOTATIONS, self.streamed_from, SCHEMA)

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
        with c_output_silenced((2,)):  # libpng and libjpeg complain of a broken file
            with contextlib.suppress(cv2.error):
                image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    return (image, "") if image is not None else (None, "not an image")


def _read(path: Path, flags: int) -> np.ndarray:
    image, problem = decode_file(path, flags)
    if image is None:
        raise DatasetError(f"{path}: {problem}")
    return image


def load(root: Path | str, keep: Optional[Callable[[list[dict]], list[dict]]] = None) -> Dataset:
    """The dataset in `root`; DatasetError with one line naming the file and the entry when it is not one. `keep`:
    given the images (in frame order), those whose annotations are wanted; where annotations.json is laid out as
    simgen writes it, it is read a line at a time and the others' annotations are checked but not held (drawing a
    few frames of a million-frame dataset; every_annotation() reads them all again)."""
    root = Path(root)
    lines = annotations_file.read_lines(root, SCHEMA) if keep else None
    coco = annotations_file.read(root, SCHEMA) if lines is None else lines[0]
    images = sorted(coco["images"], key=lambda im: (im.get("frame_index", im["id"]), im["id"]))
    if lines is not None:
        kept = {image["id"] for image in keep(images)}
        streamed = annotations_file.streamed_annotations(root / ANNOTATIONS, lines[1], SCHEMA)
        coco = {**coco, "annotations": [ann for ann in streamed if ann["image_id"] in kept]}
    annotations_file.check_references(root / ANNOTATIONS, coco)
    by_image: dict[int, list[dict]] = defaultdict(list)
    for ann in coco["annotations"]:
        by_image[ann["image_id"]].append(ann)
    return Dataset(root, images, coco["annotations"], coco["categories"], dict(by_image),
                   streamed_from=lines[1] if lines is not None else None)
