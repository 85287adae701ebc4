"""A finished simgen (or any COCO instances) dataset on disk, read and checked for the tools."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from simgen.errors import SimgenError

ANNOTATIONS = "annotations.json"
REQUIRED_KEYS = ("images", "annotations", "categories")
ENTRY_KEYS = {"images": ("id", "file_name", "width", "height"), "annotations": ("image_id", "category_id", "bbox"),
              "categories": ("id", "name")}


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
        """The image's RGB as 8-bit BGR."""
        return _read(self.root / image["file_name"], cv2.IMREAD_COLOR)

    def depth_path(self, image: dict) -> Path:
        return self.root / "depth" / f"{Path(image['file_name']).stem}.png"

    def depth(self, image: dict) -> np.ndarray | None:
        """The image's depth in depth-PNG units (0 = no depth), or None where the dataset has none."""
        path = self.depth_path(image)
        return _read(path, cv2.IMREAD_UNCHANGED) if path.is_file() else None

    def depth_scale(self, image: dict) -> float:
        """Metres per depth-PNG unit."""
        return float(image.get("depth_scale", 0.001))


def _read(path: Path, flags: int) -> np.ndarray:
    image = cv2.imread(str(path), flags)
    if image is None:
        raise DatasetError(f"{path}: missing or not an image")
    return image


def _load_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path}: not a readable JSON file ({err.__class__.__name__})") from None
    missing = [k for k in REQUIRED_KEYS if not isinstance(data, dict) or not isinstance(data.get(k), list)]
    if missing:
        raise DatasetError(f"{path}: not a COCO instances file (no {', '.join(missing)} list)")
    return data


def _check_entries(path: Path, data: dict) -> None:
    """Every entry has the keys the tools read, and every annotation names an image of the file."""
    for kind, keys in ENTRY_KEYS.items():
        for k, entry in enumerate(data[kind]):
            missing = [key for key in keys if not isinstance(entry, dict) or key not in entry]
            if missing:
                raise DatasetError(f"{path}: {kind}[{k}] has no {missing[0]!r}")
    ids = {image["id"] for image in data["images"]}
    for k, ann in enumerate(data["annotations"]):
        if ann["image_id"] not in ids:
            raise DatasetError(f"{path}: annotations[{k}] refers to image_id {ann['image_id']}, which is not in images")


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
