"""simgen-check's check of the COCO split files: together they hold each image of annotations.json once, each image
and annotation as annotations.json has it, and its categories."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from simgen.annotations_file import Schema, read_file, read_lines_of, streamed_annotations
from simgen.export.coco_splits import split_file
from simgen.export.dataset import Dataset
from simgen.splits import SPLIT_NAMES
from simgen.tools.check_report import Cursor, Maps, Membership, Report

# What the split check reads of a split file's entries; the rest is compared with annotations.json's.
SPLIT_SCHEMA = Schema(required={"images": ("id", "frame_index"), "annotations": ("id", "image_id"),
                                "categories": ()})


def split_files(root: Path) -> dict[str, Path]:
    """The COCO split files the dataset holds, by split."""
    paths = {split: split_file(root, split) for split in SPLIT_NAMES}
    return {split: path for split, path in paths.items() if path.is_file()}


@dataclass
class SplitFile:
    """A COCO split file: its entries but the annotations where they are read a line at a time (from `start`, as
    annotations.json's are), else all of them."""

    path: Path
    coco: dict
    start: Optional[int]

    @classmethod
    def read(cls, path: Path) -> SplitFile:
        lines = read_lines_of(path, SPLIT_SCHEMA)
        return cls(path, *lines) if lines is not None else cls(path, read_file(path, SPLIT_SCHEMA), None)

    def annotations(self) -> Iterable[dict]:
        if self.start is None:
            return self.coco["annotations"]
        return streamed_annotations(self.path, self.start, SPLIT_SCHEMA)


class SplitsCheck:
    """The split files' images and categories when it starts; their annotations an image at a time, each taken by
    id as annotations.json gives it (both files in the same order: nothing held)."""

    name = "splits"

    def __init__(self, data: Dataset, files: dict[str, SplitFile], report: Report):
        self.report, self.names = report, {split: file.path.name for split, file in files.items()}
        self.split_of: dict[int, str] = {}  # by image id
        self.membership: Membership = {}
        by_id = {img["id"]: img for img in data.images}
        for split, file in files.items():
            if file.coco["categories"] != data.coco["categories"]:
                report.problem(self.name, f"{file.path.name}: its categories are not those of annotations.json")
            other = [img["id"] for img in file.coco["images"] if by_id.get(img["id"]) != img]
            if other:
                report.problem(self.name, f"{file.path.name}: {len(other)} image(s) not as annotations.json has them "
                                          f"(the first: image {other[0]})")
            self.split_of.update((img["id"], split) for img in file.coco["images"])
            self.membership.update((img["frame_index"], split) for img in file.coco["images"])
        held = sorted(img["id"] for file in files.values() for img in file.coco["images"])
        if held != sorted(img["id"] for img in data.images):
            report.problem(self.name, "the split files do not hold every image exactly once")
        report.counts[self.name] = ", ".join(f"{split}: {len(file.coco['images'])}" for split, file in files.items())
        self.cursors = {split: Cursor((ann["id"], ann) for ann in file.annotations()) for split, file in files.items()}
        self.wrong: Counter[str] = Counter()  # by split: annotations missing or not as annotations.json has them
        self.first_wrong: dict[str, int] = {}

    @classmethod
    def found(cls, data: Dataset, report: Report) -> Optional[SplitsCheck]:
        files = {split: SplitFile.read(path) for split, path in split_files(data.root).items()}
        if not files:
            return None
        report.start(cls.name)
        return cls(data, files, report)

    def image(self, image: dict, anns: list[dict], maps: Optional[Maps]) -> None:
        split = self.split_of.get(image["id"])
        if split is None:  # in no split file: reported when it starts
            return
        for ann in anns:
            if self.cursors[split].pop(ann["id"], None) != ann:
                self.wrong[split] += 1
                self.first_wrong.setdefault(split, ann["id"])

    def finish(self) -> dict[str, Membership]:
        for split, cursor in self.cursors.items():
            name = self.names[split]
            if self.wrong[split]:
                self.report.problem(self.name, f"{name}: {self.wrong[split]} annotation(s) of its images missing or "
                                               "not as annotations.json has them (the first: annotation "
                                               f"{self.first_wrong[split]})")
            extra, first = cursor.rest()
            if extra:
                self.report.problem(self.name, f"{name}: {extra} annotation(s) of none of its images in "
                                               f"annotations.json, or given twice (the first: annotation {first})")
        return {self.name: self.membership}
