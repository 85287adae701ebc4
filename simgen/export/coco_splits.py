"""COCO split files: annotations_train.json, annotations_val.json, annotations_test.json beside annotations.json."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from simgen.export.dataset import Dataset
from simgen.splits import SPLIT_NAMES
from simgen.writers.files import temporary_path


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
    staged: dict[Path, Path] = {}
    try:
        for split, images in parts.items():
            ids = {img["id"] for img in images}
            coco = {**data.coco, "info": {**info, "split": split}, "images": images,
                    "annotations": [a for a in data.coco["annotations"] if a["image_id"] in ids]}
            target = split_file(data.root, split)
            staged[target] = temporary_path(target)
            try:
                staged[target].write_text(json.dumps(coco, separators=(",", ":")))
            except OSError as err:
                raise OSError(err.errno, err.strerror, str(target)) from None
        for target, tmp in staged.items():
            os.replace(tmp, target)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    for split in SPLIT_NAMES:
        if split not in parts:
            split_file(data.root, split).unlink(missing_ok=True)
    return list(staged)
