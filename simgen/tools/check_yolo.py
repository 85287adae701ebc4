"""simgen-check's check of a YOLO task (yolo/detect, yolo/segment): data.yaml names the categories, every image has
its label file, and each drawn image's label lines are its annotations' classes, boxes and outlines."""

from __future__ import annotations

import filecmp
from pathlib import Path
from typing import Optional

import numpy as np
import yaml

from simgen.annotations_file import first_line
from simgen.export.dataset import Dataset
from simgen.export.yolo import class_indices
from simgen.splits import SPLIT_NAMES
from simgen.tools.check_report import MALFORMED, Maps, Membership, Report, drawn_note


def yolo_rows(path: Path) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]


def _same_file(copy: Path, original: Path) -> bool:
    """The export's image is the dataset's: a link to it (as the export makes where it can) or a copy of its bytes
    (a missing original is the images check's to report)."""
    return not original.is_file() or copy.samefile(original) or filecmp.cmp(copy, original, shallow=False)


class YoloCheck:
    """A YOLO task's data.yaml when it starts, the drawn images' label files as they come, and at the end the label
    files of all."""

    def __init__(self, data: Dataset, task: str, chosen: list[dict], report: Report):
        self.data, self.task, self.chosen, self.report = data, task, chosen, report
        self.name, self.out = f"yolo/{task}", data.root / "yolo" / task
        self.unlabelled: set[str] = set()  # the drawn images reported without their files
        spec = yaml.safe_load((self.out / "data.yaml").read_text()) if (self.out / "data.yaml").is_file() else None
        names = {k: c["name"] for k, c in enumerate(data.categories)}
        if not isinstance(spec, dict) or spec.get("names") != names or not {"path", "train", "val"} <= set(spec):
            report.problem(self.name, "data.yaml is missing, lacks path/train/val, or its names are not the categories")
        self.classes = class_indices(data.categories)

    @classmethod
    def found(cls, data: Dataset, task: str, chosen: list[dict], report: Report) -> Optional[YoloCheck]:
        if not (data.root / "yolo" / task).is_dir():
            return None
        report.start(f"yolo/{task}")
        return cls(data, task, chosen, report)

    def image(self, image: dict, anns: list[dict], maps: Optional[Maps]) -> None:
        if maps is None:  # not drawn
            return
        stem = Path(image["file_name"]).stem
        try:
            self._check_labels(image, stem, [a for a in anns if not a.get("iscrowd")])
        except (*MALFORMED, OSError) as err:
            self.report.problem(self.name, f"{stem}: label file or annotations malformed ({type(err).__name__}: "
                                           f"{first_line(err)})")

    def _check_labels(self, image: dict, stem: str, anns: list[dict]) -> None:
        """The image's one label file (beside its image, in one split): a line per annotation, in their order."""
        found = [s for s in SPLIT_NAMES if (self.out / "labels" / s / f"{stem}.txt").is_file()]
        if len(found) != 1 or not (self.out / "images" / found[0] / Path(image["file_name"]).name).is_file():
            self.unlabelled.add(stem)
            self.report.problem(self.name, f"{stem}: expected one image and one label file, in one split")
            return
        if not _same_file(self.out / "images" / found[0] / Path(image["file_name"]).name,
                          self.data.root / image["file_name"]):
            self.report.problem(self.name, f"{stem}: its image is not {image['file_name']}")
        rows = yolo_rows(self.out / "labels" / found[0] / f"{stem}.txt")
        if len(rows) != len(anns):
            self.report.problem(self.name, f"{stem}: {len(rows)} label lines for {len(anns)} annotations")
            return
        size = np.array([image["width"], image["height"]], dtype=float)
        for row, ann in zip(rows, anns):
            self._check_row(stem, np.asarray(row[1:]), row[0], ann, size)

    def _check_row(self, stem: str, values: np.ndarray, cls: float, ann: dict, size: np.ndarray) -> None:
        x, y, w, h = ann["bbox"]
        if cls != self.classes.get(ann["category_id"]) or np.any(values < 0) or np.any(values > 1):
            self.report.problem(self.name, f"{stem}: line for annotation {ann['id']} has another class or values "
                                           "outside [0, 1]")
        elif self.task == "detect" and not np.allclose(values * np.tile(size, 2), [x + w / 2, y + h / 2, w, h],
                                                       atol=1e-3):
            self.report.problem(self.name, f"{stem}: box of annotation {ann['id']} disagrees with its COCO bbox")
        elif self.task == "segment":
            pts = values.reshape(-1, 2) * size
            inside = np.all(pts.min(0) >= [x - 1e-3, y - 1e-3]) and np.all(pts.max(0) <= [x + w + 1e-3, y + h + 1e-3])
            if len(pts) < 3 or not inside:
                self.report.problem(self.name, f"{stem}: outline of annotation {ann['id']} leaves its COCO bbox")

    def finish(self) -> dict[str, Membership]:
        """Every image has one label file and one image file, in one split (those of the drawn ones reported
        already), and there are no others; the split of each."""
        labels = {f.stem: f.parent.name for f in (self.out / "labels").glob("*/*.txt")}
        files: dict[str, list[str]] = {}
        for path in (self.out / "images").glob("*/[!.]*"):
            files.setdefault(path.stem, []).append(path.parent.name)
        frame_of = {Path(img["file_name"]).stem: img["frame_index"] for img in self.data.images}
        stems = set(frame_of)
        missing = sorted(stem for stem in stems - self.unlabelled
                         if stem not in labels or files.get(stem) != [labels[stem]])
        if missing:
            self.report.problem(self.name, f"{len(missing)} image(s) without one label file and one image file in "
                                           f"one split (the first: {missing[0]})")
        extra = sorted((set(labels) | set(files)) - stems)
        if extra:
            self.report.problem(self.name, f"{len(extra)} label or image file(s) of no image of annotations.json "
                                           f"(the first: {extra[0]})")
        note = drawn_note(len(self.chosen), len(self.data.images))
        self.report.counts[self.name] = f"{len(labels)} label files{note}"
        return {self.name: {frame_of.get(stem, -1): split for stem, split in labels.items()}}
