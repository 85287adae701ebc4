"""simgen-check's checks of the exports found in a dataset: COCO splits, YOLO and BOP against annotations.json.

Each is started on its own files, then given every image with its annotations as simgen-check's one pass over
annotations.json reads them, then finished; it returns the split of each frame in it, which the exports must agree on.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Protocol

import numpy as np
import yaml

from simgen.annotations_file import Schema, read_json, read_lines_of, streamed_annotations
from simgen.export.bop import SCENE, SCENE_FILES, NotAnObject, object_entries
from simgen.export.coco_splits import split_file
from simgen.export.dataset import Dataset, DatasetError
from simgen.export.yolo import TASKS, class_indices
from simgen.splits import SPLIT_NAMES
from simgen.tools.check_report import Report, read_image

Membership = dict[int, str]  # the split of each frame (by frame index) in an export
# What the split check reads of a split file's entries; the rest is annotations.json's, which it must agree with.
SPLIT_SCHEMA = Schema(required={"images": ("id", "frame_index"), "annotations": ("id",), "categories": ()})
STOPPED = (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, OSError, yaml.YAMLError,
           DatasetError)  # what a malformed export raises in its check


class ExportCheck(Protocol):
    name: str

    def image(self, image: dict, anns: list[dict], drawn: bool) -> None:
        """An image with its annotations (every one in turn); `drawn`: its files are to be checked (see --sample)."""

    def finish(self) -> dict[str, Membership]:
        """The checks that need every image, once all went by; the split of each frame in the export."""


class ExportChecks:
    """The exports found in a dataset, checked together an image at a time: one whose files turn out malformed stops
    with a problem, and the others go on."""

    def __init__(self, data: Dataset, chosen: list[dict], report: Report):
        self.report = report
        starts: list[tuple[str, Callable[[], Optional[ExportCheck]]]] = [
            ("splits", lambda: SplitsCheck.found(data, report)),
            *((f"yolo/{task}", lambda task=task: YoloCheck.found(data, task, chosen, report)) for task in TASKS),
            ("bop", lambda: BopCheck.found(data, chosen, report))]
        self.checks = [check for name, start in starts if (check := self._stopping(name, start)) is not None]

    def _stopping(self, name: str, step: Callable[[], object]) -> object:
        """step(); where the export's files are malformed, a problem of its check and None."""
        try:
            return step()
        except STOPPED as err:
            self.report.problem(name, f"malformed export, check stopped ({type(err).__name__}: {err})")
            return None

    def image(self, image: dict, anns: list[dict], drawn: bool) -> None:
        self.checks = [check for check in self.checks
                       if self._stopping(check.name, lambda: check.image(image, anns, drawn) or True)]

    def finish(self, complete: bool) -> None:
        """The checks that need every image, where the pass over them went through (`complete`); then whether the
        exports agree on the splits (those whose check stopped left out)."""
        found: dict[str, Membership] = {}
        for check in self.checks:
            if not complete:
                self.report.problem(check.name, "not checked to the end: the annotations check stopped")
                continue
            found.update(self._stopping(check.name, check.finish) or {})
        if found:
            check_same_splits(found, self.report)


def split_files(root: Path) -> dict[str, Path]:
    """The COCO split files the dataset holds, by split."""
    paths = {split: split_file(root, split) for split in SPLIT_NAMES}
    return {split: path for split, path in paths.items() if path.is_file()}


@dataclass
class SplitFile:
    """A COCO split file: its entries but the annotations where they are read a line at a time (`start`, as
    annotations.json's), else all of them."""

    path: Path
    coco: dict
    start: Optional[int]

    @classmethod
    def read(cls, path: Path) -> SplitFile:
        lines = read_lines_of(path, SPLIT_SCHEMA)
        return cls(path, *lines) if lines is not None else cls(path, read_json(path), None)

    def annotation_ids(self) -> np.ndarray:
        """Its annotations' ids, sorted."""
        anns = self.coco["annotations"] if self.start is None else \
            streamed_annotations(self.path, self.start, SPLIT_SCHEMA)
        return np.sort(np.fromiter((a["id"] for a in anns), dtype=np.int64))


class SplitsCheck:
    """The split files partition the images, each with exactly its images' annotations and the categories."""

    name = "splits"

    def __init__(self, data: Dataset, files: dict[str, SplitFile], report: Report):
        self.data, self.files, self.report = data, files, report
        self.split_of = {img["id"]: split for split, file in files.items() for img in file.coco["images"]}
        self.expected = {split: array("q") for split in files}  # their annotations' ids, as annotations.json has them

    @classmethod
    def found(cls, data: Dataset, report: Report) -> Optional[SplitsCheck]:
        files = {split: SplitFile.read(path) for split, path in split_files(data.root).items()}
        if not files:
            return None
        report.start(cls.name)
        return cls(data, files, report)

    def image(self, image: dict, anns: list[dict], drawn: bool) -> None:
        split = self.split_of.get(image["id"])
        if split is not None:
            self.expected[split].extend(a["id"] for a in anns)

    def finish(self) -> dict[str, Membership]:
        for split, file in self.files.items():
            expected = np.sort(np.frombuffer(self.expected[split], dtype=np.int64))
            if not np.array_equal(file.annotation_ids(), expected) or \
                    file.coco["categories"] != self.data.coco["categories"]:
                self.report.problem(self.name, f"{file.path.name}: annotations or categories disagree with "
                                               "annotations.json")
        held = [img["id"] for file in self.files.values() for img in file.coco["images"]]
        if sorted(held) != sorted(img["id"] for img in self.data.images):
            self.report.problem(self.name, "the split files do not hold every image exactly once")
        self.report.counts[self.name] = ", ".join(f"{split}: {len(file.coco['images'])}"
                                                  for split, file in self.files.items())
        return {"the split files": {img["frame_index"]: split for split, file in self.files.items()
                                    for img in file.coco["images"]}}


def yolo_rows(path: Path) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]


def check_yolo_image(out: Path, task: str, image: dict, anns: list[dict], classes: dict, report: Report) -> None:
    name, stem = f"yolo/{task}", Path(image["file_name"]).stem
    found = [s for s in SPLIT_NAMES if (out / "labels" / s / f"{stem}.txt").is_file()]
    if len(found) != 1 or not (out / "images" / found[0] / Path(image["file_name"]).name).is_file():
        report.problem(name, f"{stem}: expected one image and one label file, in one split")
        return
    rows = yolo_rows(out / "labels" / found[0] / f"{stem}.txt")
    anns = [a for a in anns if not a.get("iscrowd")]
    if len(rows) != len(anns):
        report.problem(name, f"{stem}: {len(rows)} label lines for {len(anns)} annotations")
        return
    size = np.array([image["width"], image["height"]], dtype=float)
    for row, ann in zip(rows, anns):
        values = np.asarray(row[1:])
        x, y, w, h = ann["bbox"]
        if row[0] != classes.get(ann["category_id"]) or np.any(values < 0) or np.any(values > 1):
            report.problem(name, f"{stem}: line for annotation {ann['id']} has another class or values outside [0, 1]")
        elif task == "detect" and not np.allclose(values * np.tile(size, 2), [x + w / 2, y + h / 2, w, h], atol=1e-3):
            report.problem(name, f"{stem}: box of annotation {ann['id']} disagrees with its COCO bbox")
        elif task == "segment":
            pts = values.reshape(-1, 2) * size
            inside = np.all(pts.min(0) >= [x - 1e-3, y - 1e-3]) and np.all(pts.max(0) <= [x + w + 1e-3, y + h + 1e-3])
            if len(pts) < 3 or not inside:
                report.problem(name, f"{stem}: outline of annotation {ann['id']} leaves its COCO bbox")


def drawn(data: Dataset, images: list[dict]) -> str:
    """What a count adds where only the files of the images drawn (--sample) were checked."""
    return f", those of the {len(images)} drawn images checked" if len(images) < len(data.images) else ""


class YoloCheck:
    """A YOLO task's data.yaml, and the label files of the drawn images against their annotations."""

    def __init__(self, data: Dataset, task: str, chosen: list[dict], report: Report):
        self.data, self.task, self.chosen, self.report = data, task, chosen, report
        self.name, self.out = f"yolo/{task}", data.root / "yolo" / task
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

    def image(self, image: dict, anns: list[dict], drawn: bool) -> None:
        if drawn:
            check_yolo_image(self.out, self.task, image, anns, self.classes, self.report)

    def finish(self) -> dict[str, Membership]:
        """Its splits, from its label files' folders."""
        self.report.counts[self.name] = f"{len(self.data.images)} label files{drawn(self.data, self.chosen)}"
        frame_of = {Path(img["file_name"]).stem: img["frame_index"] for img in self.data.images}
        return {self.name: {frame_of.get(f.stem, -1): f.parent.name for f in (self.out / "labels").glob("*/*.txt")}}


def check_bop_image(data: Dataset, scene: Path, image: dict, anns: list[dict], gts: list, infos: list,
                    report: Report) -> None:
    name, im_id = "bop", image["frame_index"]
    if len(gts) != len(anns) or len(infos) != len(anns):
        report.problem(name, f"{scene.parent.name} image {im_id}: {len(gts)} gt entries for {len(anns)} annotations")
        return
    try:
        instance = data.instance_image(image)
    except DatasetError:  # the frame's own checks report the file
        instance = None
    for gt_id, (gt, info, ann) in enumerate(zip(gts, infos, anns)):
        visib = read_image(scene / "mask_visib" / f"{im_id:06d}_{gt_id:06d}.png")
        truth = data.visible_mask(ann, image, instance)
        same_pose = np.allclose(gt["cam_t_m2c"], np.asarray(ann["cam_t_m2c"]) * 1000, atol=1e-6) and \
            np.allclose(gt["cam_R_m2c"], np.ravel(ann["cam_R_m2c"]), atol=1e-9)
        if gt["obj_id"] != ann["category_id"] or not same_pose or info["px_count_visib"] != ann["area"]:
            report.problem(name, f"image {im_id} gt {gt_id}: obj_id, pose or pixel count disagrees with "
                                 f"annotation {ann['id']}")
        amodal = read_image(scene / "mask" / f"{im_id:06d}_{gt_id:06d}.png")
        if visib is None or amodal is None or not np.array_equal(visib > 0, truth):
            report.problem(name, f"image {im_id} gt {gt_id}: mask_visib missing or not the annotation's mask, "
                                 "or mask missing")


class Cursor:
    """The entries of a JSON object file taken by key, read in the file's order (a line at a time where it is laid out
    so): those passed over on the way to a key are kept until asked for, none where the keys are asked for in the
    file's order."""

    def __init__(self, entries: Iterable[tuple[str, Any]]):
        self.entries, self.passed = iter(entries), {}

    def pop(self, key: str, default: Any) -> Any:
        if key in self.passed:
            return self.passed.pop(key)
        for found, value in self.entries:
            if found == key:
                return value
            self.passed[found] = value
        return default


class BopCheck:
    """The BOP scenes hold every image once, each with its camera and depth; the drawn images' gt entries and masks
    against their annotations. The scene files are read a line at a time, in the images' order, where the export laid
    them out an entry per line."""

    name = "bop"

    def __init__(self, data: Dataset, chosen: list[dict], report: Report):
        self.data, self.chosen, self.report = data, chosen, report
        self.membership: Membership = {}
        self.unchecked: set[int] = set()  # frames whose camera entry is wrong: their gt entries are not looked at
        self.held: list[int] = []  # the frames of every scene, a frame held twice twice
        self.entries: dict[str, tuple[Path, Cursor, Cursor]] = {}  # by split: the scene, its gt and gt_info entries
        by_frame = {img["frame_index"]: img for img in data.images}
        for scene in sorted((data.root / "bop").glob(f"*/{SCENE}")):
            self._read_scene(scene, by_frame)

    @classmethod
    def found(cls, data: Dataset, chosen: list[dict], report: Report) -> Optional[BopCheck]:
        if not (data.root / "bop").is_dir():
            return None
        report.start(cls.name)
        return cls(data, chosen, report)

    def _read_scene(self, scene: Path, by_frame: dict[int, dict]) -> None:
        files = [scene / name for name in SCENE_FILES]
        if not all(p.is_file() for p in files):
            self.report.problem(self.name, f"{scene}: scene_camera.json, scene_gt.json or scene_gt_info.json missing")
            return
        try:
            cams, gts, infos = (object_entries(path) for path in files)
        except NotAnObject as err:
            self.report.problem(self.name, f"{scene.parent.name}/{scene.name}: {err}")
            return
        split = scene.parent.name
        for key, cam in cams:
            self.held.append(int(key))
            self.membership[int(key)] = split
            image = by_frame.get(int(key))
            if image is None or not np.allclose(cam["cam_K"], np.ravel(image["intrinsics"])) \
                    or not (scene / "depth" / f"{int(key):06d}.png").is_file():
                self.report.problem(self.name, f"{split} image {key}: unknown image, other cam_K or no depth")
                self.unchecked.add(int(key))
        self.entries[split] = (scene, Cursor(gts), Cursor(infos))

    def image(self, image: dict, anns: list[dict], drawn: bool) -> None:
        split = self.membership.get(image["frame_index"])
        if split is None:
            return
        scene, gts, infos = self.entries[split]
        key = str(image["frame_index"])
        gt, info = gts.pop(key, []), infos.pop(key, [])  # every image's: the files are read in the images' order
        if drawn and image["frame_index"] not in self.unchecked:
            check_bop_image(self.data, scene, image, anns, gt, info, self.report)

    def finish(self) -> dict[str, Membership]:
        if sorted(self.held) != sorted({img["frame_index"] for img in self.data.images}):
            self.report.problem(self.name, "the BOP scenes do not hold every image exactly once")
        self.report.counts[self.name] = f"{len(self.held)} images{drawn(self.data, self.chosen)}"
        return {self.name: self.membership}


def check_same_splits(found: dict[str, Membership], report: Report) -> None:
    """Every export puts each frame in the same split (each made with the same --splits and --seed)."""
    (first, reference), *others = found.items()
    for name, membership in others:
        if membership != reference:
            report.problem(name, f"its splits are not those of {first} (exports made with other --splits or "
                                 "--seed: make them again with the same ones)")
