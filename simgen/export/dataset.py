"""A finished simgen dataset as exporters and the checker read it: annotations.json, files, config."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, TypeVar

import cv2
import numpy as np
import yaml
from pycocotools import mask as mask_utils

from simgen import annotations_file, splits, validate
from simgen.annotations_file import ANNOTATIONS, DatasetError, Schema, first_line, short
from simgen.errors import ConfigError
from simgen.writers.files import CONFIG_FILE, naming

# What the exporters and simgen-check require of each entry; simgen-check reports what else is wrong.
SCHEMA = Schema(required={"images": ("id", "file_name", "width", "height", "frame_index"),
                          "annotations": ("id", "image_id", "category_id"),
                          "categories": ("id", "name")})
T = TypeVar("T")


@dataclass
class Dataset:
    root: Path
    coco: dict
    config: dict = field(default_factory=dict)
    home: Optional[Path] = None  # where the dataset will lie once built (simgen-merge builds it in a hidden folder)
    streamed_from: Optional[int] = None  # where annotations.json's annotation lines start, where they are read as
    # needed (`coco` then has no "annotations"): see load()

    def final(self, path: Path) -> Path:
        """`path`, a file of the dataset, where it will lie once the dataset is in place (see home)."""
        return path if self.home is None else self.home / path.relative_to(self.root)

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
        for ann in sorted(self.annotations(), key=lambda a: a["id"]):
            index.setdefault(ann["image_id"], []).append(ann)
        return index

    def annotations(self) -> Iterator[dict]:
        """Every annotation, in the file's order."""
        if self.streamed_from is None:
            return iter(self.coco["annotations"])
        return annotations_file.streamed_annotations(self.annotations_file, self.streamed_from, SCHEMA)

    def by_image(self) -> Iterator[tuple[dict, list[dict]]]:
        """Each image, in the file's order, with its annotations in id order: read as they come where they are
        streamed (read_lines found them grouped by image, in the images' order)."""
        if self.streamed_from is None:
            yield from ((image, self.annotations_of(image["id"])) for image in self.images)
            return
        annotations = self.annotations()
        pending = next(annotations, None)
        for image in self.images:
            mine = []
            while pending is not None and pending["image_id"] == image["id"]:
                mine.append(pending)
                pending = next(annotations, None)
            yield image, mine

    @property
    def annotations_file(self) -> Path:
        return self.root / ANNOTATIONS

    def split_frames(self, ratios: Optional[dict] = None, seed: Optional[int] = None) -> dict[str, list[int]]:
        """Frame indices per split, from the given ratios and seed or else the dataset's own config (checked here,
        where it is used: a bad value there is a DatasetError naming config.yaml and the key). Drawn per scene, with
        the config's views_per_scene (default 1): all views of a scene land in one split."""
        fractions = splits.ratios(ratios) if ratios is not None else self._setting("splits", splits.ratios)
        seed = validate.integer("seed", seed, low=0) if seed is not None else \
            self._setting("seed", lambda v: validate.integer("seed", 0 if v is None else v, low=0))
        views = self._setting("views_per_scene",
                              lambda v: validate.integer("views_per_scene", 1 if v is None else v, low=1))
        return splits.assign([img["frame_index"] for img in self.images], fractions, seed, views)

    def _setting(self, key: str, check: Callable[[Any], T]) -> T:
        try:
            return check(self.config.get(key))
        except ConfigError as err:
            raise DatasetError(f"{self.root / CONFIG_FILE}: {err}") from None

    def split_images(self, ratios: Optional[dict] = None, seed: Optional[int] = None) -> dict[str, list[dict]]:
        by_frame: dict[int, dict] = {}
        for img in self.images:
            other = by_frame.setdefault(img["frame_index"], img)
            if other is not img:
                raise DatasetError(f"{self.annotations_file}: images {other['id']} and {img['id']} have the same "
                                   f"frame_index {img['frame_index']}")
        return {name: [by_frame[i] for i in frames] for name, frames in self.split_frames(ratios, seed).items()}

    def rgb_file(self, image: dict) -> Path:
        """The image's RGB file, which the exports place as it is: one that is not there is an OSError naming it,
        one that is empty (0 bytes) a DatasetError."""
        path = self.root / image["file_name"]
        if not path.stat().st_size:
            raise DatasetError(f"{path}: empty (0 bytes), not an image; simgen-check lists every damaged file")
        return path

    def instance_image(self, image: dict) -> Optional[np.ndarray]:
        """The image's instance PNG (each annotation's `instance_value` at its pixels), None where there is none."""
        path = self.root / "instance" / f"{Path(image['file_name']).stem}.png"
        return read_png(path, (image["height"], image["width"]), "instance") if path.is_file() else None

    def visible_mask(self, ann: dict, image: dict, instance: Optional[np.ndarray], exact_for: str = "") -> np.ndarray:
        """The annotation's visible pixels: its id in the image's `instance` map where there is one, else its
        segmentation; `exact_for` names a format that takes no simplified polygon, refused then."""
        if instance is not None:
            return instance == ann["instance_value"]
        if exact_for and isinstance(ann["segmentation"], list):
            raise DatasetError(f"{self.annotations_file}: annotation {ann['id']}: a polygon segmentation and no "
                               f"instance image; {exact_for} needs the exact visible masks: the instance images "
                               "(writers.images.masks=true) or RLE segmentations (writers.coco.segmentation=rle)")
        return decode(ann["segmentation"], image["height"], image["width"])

    @contextlib.contextmanager
    def entry(self, what: str) -> Iterator[None]:
        """A malformed field of an annotations.json entry (missing, of the wrong type or shape) as a DatasetError
        naming the file and the entry, e.g. `annotation 12`."""
        try:
            yield
        except KeyError as err:
            raise DatasetError(f"{self.annotations_file}: {what}: no {err.args[0]!r}") from None
        except (TypeError, ValueError, IndexError, AttributeError) as err:
            detail = ": ".join([type(err).__name__, *str(err).splitlines()[:1]])
            raise DatasetError(f"{self.annotations_file}: {what}: malformed ({detail})") from None


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        config = yaml.safe_load(path.read_bytes())
    except (yaml.YAMLError, ValueError, RecursionError) as err:
        raise DatasetError(f"{path}: not a readable YAML file ({first_line(err)})") from None
    if config is not None and not isinstance(config, dict):
        raise DatasetError(f"{path}: expected a mapping of settings, got {short(config)}")
    return config or {}


def load(root: Path | str, streamed: bool = False) -> Dataset:
    """Read a finished dataset; a DatasetError names what is missing or the first malformed entry. `streamed`: its
    annotations are read a line at a time as they are asked for (annotations(), by_image()), where annotations.json
    is laid out as simgen writes it, so that an export of a million frames does not hold them all (they are
    checked as they are read then)."""
    root = Path(root)
    lines = annotations_file.read_lines(root, SCHEMA) if streamed else None
    coco, start = lines if lines is not None else (annotations_file.read(root, SCHEMA), None)
    return Dataset(root=root, coco=coco, config=_read_yaml(root / CONFIG_FILE), streamed_from=start)


def decode(segmentation: Any, height: int, width: int) -> np.ndarray:
    """A COCO segmentation (RLE with str or bytes counts, or polygons) as an HxW boolean mask; a ValueError for
    anything else."""
    try:
        if isinstance(segmentation, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
        elif isinstance(segmentation["counts"], list):  # an uncompressed RLE: run lengths
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            counts = segmentation["counts"]
            rle = dict(segmentation, counts=counts.encode("ascii") if isinstance(counts, str) else counts)
        return mask_utils.decode(rle).astype(bool)
    except Exception as err:  # pycocotools raises plain Exceptions ("input type is not supported"), IndexErrors...
        raise ValueError(f"not a COCO segmentation of a {width}x{height} image ({first_line(err)})") from None


def read_png(path: Path, shape: tuple[int, int], what: str) -> np.ndarray:
    """A single-channel PNG of the image's size, as stored; a DatasetError names the file otherwise."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DatasetError(f"{path}: unreadable; not a PNG image, or a truncated one")
    if image.shape != shape:
        raise DatasetError(f"{path}: an image of shape {image.shape}, expected a {shape[1]}x{shape[0]} "
                           f"single-channel {what} image")
    return image


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with naming(path):
        path.write_text(text)


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, separators=(",", ":")))
