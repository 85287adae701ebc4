"""Ultralytics YOLO: images/{split}/ and labels/{split}/ with one txt line per instance, and data.yaml.

detect: `class cx cy w h`; segment: `class x1 y1 x2 y2 ...`; all normalised by the image size to [0, 1].
Ignore regions (iscrowd 1) are left out: YOLO labels have no ignore semantics.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np
import yaml

from simgen import validate
from simgen.errors import ConfigError
from simgen.export.dataset import Dataset, DatasetError, write_text
from simgen.polygons import mask_polygons
from simgen.writers.files import link, replacing

TASKS = ("detect", "segment")


def class_indices(categories: list[dict]) -> dict[int, int]:
    """COCO category id -> YOLO class index: the categories sorted by id, counted from 0."""
    return {c["id"]: k for k, c in enumerate(sorted(categories, key=lambda c: c["id"]))}


def bridge(pieces: list[np.ndarray]) -> np.ndarray:
    """Several closed polygons as one, each joined to the growing outline at its nearest point and back
    (a zero-width bridge), the way YOLO segmentation labels hold a mask in several pieces."""
    out = pieces[0]
    for piece in pieces[1:]:
        dist = ((out[:, None, :] - piece[None, :, :]) ** 2).sum(axis=-1)
        i, j = np.unravel_index(int(np.argmin(dist)), dist.shape)
        out = np.concatenate([out[: i + 1], np.roll(piece, -j, axis=0), piece[j: j + 1], out[i:]])
    return out


def mask_polygon(mask: np.ndarray, tolerance: float) -> np.ndarray:
    """(N >= 3, 2) outline of a non-empty mask along its pixels' edges: the COCO writer's polygons, simplified by
    `tolerance` pixels, largest first and bridged."""
    pieces = [np.reshape(p, (-1, 2)) for p in mask_polygons(mask, tolerance)]
    return bridge(sorted(pieces, key=lambda p: -cv2.contourArea(p.astype(np.float32))))


def label_line(ann: dict, image: dict, cls: int, mask: Optional[np.ndarray], tolerance: float) -> str:
    """A detect label (box) where `mask` is None, else a segment label (the mask's outline)."""
    w, h = image["width"], image["height"]
    if mask is None:
        x, y, bw, bh = ann["bbox"]
        values = [(x + bw / 2) / w, (y + bh / 2) / h, bw / w, bh / h]
    else:
        values = (np.clip(mask_polygon(mask, tolerance) / [w, h], 0.0, 1.0)).ravel().tolist()
    return " ".join([str(cls), *(f"{v:.6f}" for v in values)])


def data_yaml(out: Path, names: list[str], splits: dict[str, list]) -> str:
    """data.yaml as Ultralytics reads it: absolute root, split image folders, index -> name."""
    doc = {"path": str(out.resolve()), "train": "images/train",
           "val": "images/val" if splits.get("val") else "images/train"}
    if splits.get("test"):
        doc["test"] = "images/test"
    doc["names"] = dict(enumerate(names))
    return yaml.safe_dump(doc, sort_keys=False)


def export_task(data: Dataset, out: Path, stage: Path, task: str, parts: dict[str, list[dict]],
                tolerance: float) -> None:
    """`out` made anew in `stage`: a re-export with other splits must not leave stale labels behind."""
    classes = class_indices(data.categories)
    for kind in ("images", "labels"):  # data.yaml names train even where it has no images (val only, to evaluate)
        (stage / kind / "train").mkdir(parents=True, exist_ok=True)
    for split, images in parts.items():
        for image in images:
            source = data.rgb_file(image)
            link(source, stage / "images" / split / source.name)
            lines = []
            instance = data.instance_image(image) if task == "segment" else None
            for ann in data.annotations_of(image["id"]):
                if not ann.get("iscrowd"):
                    with data.entry(f"annotation {ann['id']}"):
                        mask = data.visible_mask(ann, image, instance) if task == "segment" else None
                        lines.append(label_line(ann, image, classes[ann["category_id"]], mask, tolerance))
            write_text(stage / "labels" / split / f"{source.stem}.txt", "".join(f"{line}\n" for line in lines))
    write_text(stage / "data.yaml", data_yaml(data.final(out), [c["name"] for c in data.categories], parts))


def check_tasks(tasks: Sequence[str], key: str = "tasks") -> list[str]:
    """The tasks, at least one, each detect or segment, without repeats; a ConfigError names `key`."""
    if isinstance(tasks, str) or not tasks:
        raise ConfigError(key, f"expected a list of one or both of detect, segment, got {tasks!r}")
    for task in tasks:
        if task not in TASKS:
            raise ConfigError(key, f"expected detect or segment, got {task!r}")
    return list(dict.fromkeys(tasks))


def check_categories(data: Dataset) -> None:
    """Every labelled annotation's category is one of the categories (its YOLO class)."""
    known = {c["id"] for c in data.coco["categories"]}
    for ann in data.coco["annotations"]:
        if ann["category_id"] not in known and not ann.get("iscrowd"):
            raise DatasetError(f"{data.annotations_file}: annotation {ann['id']}: category_id "
                               f"{ann['category_id']} is not among the categories")


def export_yolo(data: Dataset, tasks: Sequence[str] = TASKS, ratios: Optional[dict] = None,
                seed: Optional[int] = None, polygon_tolerance: float = 1.0) -> list[Path]:
    """DATASET/yolo/{task}/ for each task: a dataset Ultralytics trains on as it is. The tasks are replaced
    together once all are complete: a failure leaves yolo/ as it was (and makes no yolo/ where there was none).
    A dataset without images exports nothing."""
    tasks = check_tasks(tasks)
    polygon_tolerance = validate.number("polygon_tolerance", polygon_tolerance, low=0)
    if not data.images:
        return []
    check_categories(data)
    parts = data.split_images(ratios, seed)
    root = data.root / "yolo"
    existed = root.exists()
    try:
        with contextlib.ExitStack() as stack:
            for task in tasks:
                stage = stack.enter_context(replacing(root / task))
                export_task(data, root / task, stage, task, parts, polygon_tolerance)
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                root.rmdir()  # only where the failed export left it empty
        raise
    return [root / task / "data.yaml" for task in tasks]
