"""COCO split files: annotations_train.json, annotations_val.json, annotations_test.json beside annotations.json."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Optional

from simgen.annotations_file import ANNOTATIONS_START, IMAGES_START, LIST_END, SEPARATOR
from simgen.export.dataset import Dataset
from simgen.splits import SPLIT_NAMES
from simgen.writers.files import NamedFile, json_bytes, temporary_path


def split_file(root: Path, split: str) -> Path:
    return Path(root) / f"annotations_{split}.json"


def export_splits(data: Dataset, ratios: Optional[dict] = None, seed: Optional[int] = None) -> list[Path]:
    """One COCO file per non-empty split, each with the same info and categories and its own images and
    annotations (ids kept as in annotations.json); the files of empty splits are removed, so the files
    present are always one partition.

    Written as a set: every file goes to a temporary name first, and only once all are complete are they
    renamed into place and the stale ones removed; a failure before that leaves the earlier set as it was."""
    if not data.images:
        return []
    parts = {split: images for split, images in data.split_images(ratios, seed).items() if images}
    with data.entry("info"):
        info = {**data.coco.get("info", {})}
    head = {key: value for key, value in data.coco.items() if key not in ("images", "annotations")}
    targets = {split: split_file(data.root, split) for split in parts}
    staged = {split: temporary_path(target) for split, target in targets.items()}
    try:
        with contextlib.ExitStack() as stack:
            files = {split: stack.enter_context(NamedFile(targets[split], staged[split])) for split in parts}
            _write_splits(data, head, info, parts, files)
        for split, target in targets.items():
            os.replace(staged[split], target)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    for split in SPLIT_NAMES:
        if split not in parts:
            split_file(data.root, split).unlink(missing_ok=True)
    return list(targets.values())


def _write_splits(data: Dataset, head: dict, info: dict, parts: dict[str, list[dict]],
                  files: dict[str, NamedFile]) -> None:
    """Each split's COCO file: the head with the split in its info, its images, then its annotations, routed to it
    as they are read; laid out as annotations.json is, an entry per line (annotations_file.IMAGES_START)."""
    split_of = {image["id"]: split for split, images in parts.items() for image in images}
    for split, file in files.items():
        entries = SEPARATOR.join(json_bytes(image) for image in parts[split])
        file.write(json_bytes({**head, "info": {**info, "split": split}})[:-1] + IMAGES_START + entries +
                   ANNOTATIONS_START)
    written = dict.fromkeys(files, 0)
    for ann in data.annotations():
        split = split_of.get(ann["image_id"])
        if split is not None:
            files[split].write(SEPARATOR * (written[split] > 0) + json_bytes(ann))
            written[split] += 1
    for file in files.values():
        file.write(LIST_END)
