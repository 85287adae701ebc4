"""A finished simgen dataset as exporters and the checker read it: annotations.json, files, config."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import yaml
from pycocotools import mask as mask_utils

from simgen import splits
from simgen.errors import SimgenError


class DatasetError(SimgenError):
    """The folder is not a finished simgen dataset, or lacks what an export needs."""


@dataclass
class Dataset:
    root: Path
    coco: dict
    config: dict = field(default_factory=dict)

    @property
    def images(self) -> list[dict]:
        return self.coco["images"]

    @property
    def categories(self) -> list[dict]:
        return sorted(self.coco["categories"], key=lambda c: c["id"])

    def annotations_of(self, image_id: int) -> list[dict]:
        """The image's annotations in id order."""
        return self._by_image.get(image_id, [])

    @cached_property
    def _by_image(self) -> dict[int, list[dict]]:
        index: dict[int, list[dict]] = {}
        for ann in sorted(self.coco["annotations"], key=lambda a: a["id"]):
            index.setdefault(ann["image_id"], []).append(ann)
        return index

    def split_frames(self, ratios: Optional[dict] = None, seed: Optional[int] = None) -> dict[str, list[int]]:
        """Frame indices per split, from the given ratios and seed or else the dataset's own config."""
        fractions = splits.ratios(ratios if ratios is not None else self.config.get("splits"))
        seed = int(seed if seed is not None else self.config.get("seed", 0))
        return splits.assign([img["frame_index"] for img in self.images], fractions, seed)

    def split_images(self, ratios: Optional[dict] = None, seed: Optional[int] = None) -> dict[str, list[dict]]:
        by_frame = {img["frame_index"]: img for img in self.images}
        return {name: [by_frame[i] for i in frames] for name, frames in self.split_frames(ratios, seed).items()}


def load(root: Path | str) -> Dataset:
    """Read a finished dataset; a DatasetError names what is missing."""
    root = Path(root)
    path = root / "annotations.json"
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset folder")
    if not path.is_file():
        raise DatasetError(f"{path}: missing; not a finished simgen dataset")
    try:
        coco = json.loads(path.read_text())
        config = yaml.safe_load((root / "config.yaml").read_text()) if (root / "config.yaml").is_file() else {}
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise DatasetError(f"{path.parent}: unreadable dataset file ({str(err).splitlines()[0]})") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(coco.get(key), list):
            raise DatasetError(f"{path}: expected a COCO file with a '{key}' list")
    return Dataset(root=root, coco=coco, config=config or {})


def decode(segmentation: Any, height: int, width: int) -> np.ndarray:
    """A COCO segmentation (RLE with str or bytes counts, or polygons) as an HxW boolean mask."""
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    else:
        counts = segmentation["counts"]
        rle = dict(segmentation, counts=counts.encode("ascii") if isinstance(counts, str) else counts)
    return mask_utils.decode(rle).astype(bool)


def link(source: Path, target: Path) -> None:
    """Place `source` at `target` as a hard link (a copy where links are impossible), replacing what is there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


@contextlib.contextmanager
def replacing(out: Path) -> Iterator[Path]:
    """A fresh folder to export into, put in place of `out` once the export is complete: an export that fails
    leaves `out` as it was, and no half-made one beside it."""
    stage = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    try:
        yield stage
        stage.mkdir(parents=True, exist_ok=True)
        if out.exists():
            shutil.rmtree(out)
        stage.rename(out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, separators=(",", ":")))
