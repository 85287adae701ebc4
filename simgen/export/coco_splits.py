"""COCO split files: annotations_train.json, annotations_val.json, annotations_test.json beside annotations.json."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from simgen.export.dataset import Dataset, write_json


def split_file(root: Path, split: str) -> Path:
    return Path(root) / f"annotations_{split}.json"


def export_splits(data: Dataset, ratios: Optional[dict] = None, seed: Optional[int] = None) -> list[Path]:
    """One COCO file per non-empty split, each with the same info and categories and its own images and
    annotations (ids kept as in annotations.json)."""
    written = []
    for split, images in data.split_images(ratios, seed).items():
        if not images:
            continue
        ids = {img["id"] for img in images}
        coco = {**data.coco, "info": {**data.coco.get("info", {}), "split": split}, "images": images,
                "annotations": [a for a in data.coco["annotations"] if a["image_id"] in ids]}
        write_json(split_file(data.root, split), coco)
        written.append(split_file(data.root, split))
    return written
