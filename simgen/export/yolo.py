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


def export_tasks(data: Dataset, root: Path, stages: dict[str, Path], parts: dict[str, list[dict]],
                 tolerance: float) -> None:
    """Each task's export made anew in its stage (a re-export with other splits must not leave stale labels
    behind), in one pass over the images and their annotations, read as they come."""
    classes = class_indices(data.categories)
    split_of = {id(image): split for split, images in parts.items() for image in images}
    for stage in stages.values():
        for kind in ("images", "labels"):  # data.yaml names train even where it has no images (val only)
            (stage / kind / "train").mkdir(parents=True, exist_ok=True)
    for image, anns in data.by_image():
        split, source = split_of[id(image)], data.rgb_file(image)
        labelled = [ann for ann in anns if not ann.get("iscrowd")]
        for ann in labelled:
            if ann["category_id"] not in classes:
                raise DatasetError(f"{data.annotations_file}: annotation {ann['id']}: category_id "
                                   f"{ann['category_id']} is not among the categories")
        instance = data.instance_image(image) if "segment" in stages else None
        for task, stage in stages.items():
            link(source, stage / "images" / split / source.name)
            lines = []
            for ann in labelled:
                with data.entry(f"annotation {ann['id']}"):
                    mask = data.visible_mask(ann, image, instance) if task == "segment" else None
                    lines.append(label_line(ann, image, classes[ann["category_id"]], mask, tolerance))
            write_text(stage / "labels" / split / f"{source.stem}.txt", "".join(f"{line}\n" for line in lines))
    names = [c["name"] for c in data.categories]
    for task, stage in stages.items():
        write_text(stage / "data.yaml", data_yaml(data.final(root / task), names, parts))


def check_tasks(tasks: Sequence[str], key: str = "tasks") -> list[str]:
    """The tasks, at least one, each detect or segment, without repeats; a ConfigError names `key`."""
    if isinstance(tasks, str) or not tasks:
        raise ConfigError(key, f"expected a list of one or both of detect, segment, got {tasks!r}")
    for task in tasks:
        if task not in TASKS:
            raise ConfigError(key, f"expected detect or segment, got {task!r}")
    return list(dict.fromkeys(tasks))


def export_yolo(data: Dataset, tasks: Sequence[str] = TASKS, ratios: Optional[dict] = None,
                seed: Optional[int] = None, polygon_tolerance: float = 1.0) -> list[Path]:
    """DATASET/yolo/{task}/ for each task: a dataset Ultralytics trains on as it is. The tasks are put in place
    once all are complete, one after the other: a failure while they are made leaves yolo/ as it was (and makes no
    yolo/ where there was none). A dataset without images exports nothing."""
    tasks = check_tasks(tasks)
    polygon_tolerance = validate.number("polygon_tolerance", polygon_tolerance, low=0)
    if not data.images:
        return []
    parts = data.split_images(ratios, seed)
    root = data.root / "yolo"
    existed = root.exists()
    try:
        with contextlib.ExitStack() as stack:
            stages = {task: stack.enter_context(replacing(root / task)) for task in tasks}
            export_tasks(data, root, stages, parts, polygon_tolerance)
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                root.rmdir()  # only where the failed export left it empty
        raise
    return [root / task / "data.yaml" for task in tasks]
