"""simgen-check's check of the BOP export: its scenes hold every image once, each with its camera, RGB and depth, a
gt and gt_info entry per annotation with its object, pose and pixel counts, and for the drawn images the masks."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from simgen.annotations_file import finite_number, first_line, read_json
from simgen.export.bop import DEPTH_SCALE, SCENE, SCENE_FILES, NotAnObject, bop_box, camera_file, object_entries
from simgen.export.dataset import Dataset, DatasetError
from simgen.tools.check_report import MALFORMED, Cursor, Maps, Membership, Report, drawn_note, read_image

NAME = "bop"


def check_gt_entries(split: str, image: dict, anns: list[dict], gts: list, infos: list, report: Report) -> bool:
    """The image's gt and gt_info entries, one each per annotation in its order, against it; whether there are
    as many."""
    im_id = image["frame_index"]
    if len(gts) != len(anns) or len(infos) != len(anns):
        report.problem(NAME, f"{split} image {im_id}: {len(gts)} gt and {len(infos)} gt_info entries for {len(anns)} "
                             "annotations")
        return False
    if not anns:
        return True
    # the image's poses compared at once (numpy's cost is per call); BOP's rotation row-major, its translation in mm
    theirs = np.array([[*gt["cam_R_m2c"], *gt["cam_t_m2c"]] for gt in gts], dtype=float)
    ours = np.array([[*np.ravel(ann["cam_R_m2c"]), *np.multiply(ann["cam_t_m2c"], 1000)] for ann in anns], dtype=float)
    same_poses = np.isclose(theirs, ours, rtol=1e-5, atol=1e-6).all(axis=1)
    for gt_id, (gt, info, ann, same_pose) in enumerate(zip(gts, infos, anns, same_poses)):
        if gt["obj_id"] != ann["category_id"] or not same_pose or not _info_holds(info, ann):
            report.problem(NAME, f"image {im_id} gt {gt_id}: obj_id, pose, pixel count or box disagrees with "
                                 f"annotation {ann['id']}")
    return True


def _info_holds(info: dict, ann: dict) -> bool:
    """gt_info's visible pixels are the annotation's area, all its pixels the whole silhouette's (the amodal mask's
    where there is no silhouette_area), visib_fract their ratio, and its boxes the annotation's in BOP's convention
    (widths one less than COCO's)."""
    whole = ann.get("silhouette_area", ann.get("amodal_area"))
    fraction = info["px_count_visib"] / info["px_count_all"] if info["px_count_all"] else 0.0
    whole_box = ann.get("silhouette_bbox", ann.get("amodal_bbox"))
    return info["px_count_visib"] == ann["area"] and (whole is None or info["px_count_all"] == whole) and \
        abs(info["visib_fract"] - fraction) <= 1e-6 and 0 <= info["px_count_valid"] <= info["px_count_all"] and \
        info["bbox_visib"] == bop_box(ann["bbox"]) and (whole_box is None or info["bbox_obj"] == bop_box(whole_box))


def check_bop_masks(data: Dataset, scene: Path, image: dict, anns: list[dict], maps: Maps, report: Report) -> None:
    """The image's mask_visib PNGs are its annotations' visible masks (from the instance map simgen-check read, where
    the image has a sound one), and its mask PNGs are there."""
    im_id, instance = image["frame_index"], maps.get("instance")
    for gt_id, ann in enumerate(anns):
        visib = read_image(scene / "mask_visib" / f"{im_id:06d}_{gt_id:06d}.png")
        amodal = read_image(scene / "mask" / f"{im_id:06d}_{gt_id:06d}.png")
        if visib is None or amodal is None or not np.array_equal(visib > 0, data.visible_mask(ann, image, instance)):
            report.problem(NAME, f"image {im_id} gt {gt_id}: mask_visib missing or not the annotation's mask, "
                                 "or mask missing")


class BopCheck:
    """Each scene's cameras and camera.json when it starts; the gt and gt_info entries of every image as it comes,
    read a line at a time in the images' order where the export laid the files out so, and the drawn images' masks;
    at the end, entries of no image."""

    name = NAME

    def __init__(self, data: Dataset, chosen: list[dict], report: Report):
        self.data, self.chosen, self.report = data, chosen, report
        self.membership: Membership = {}
        self.held: list[int] = []  # the frames of every scene, a frame held twice twice
        self.unchecked: dict[int, str] = {}  # frames whose camera entry is wrong, by split: their entries are not read
        self.scenes: dict[str, tuple[Path, Cursor, Cursor]] = {}  # by split: the scene, its gt and gt_info entries
        by_frame = {img["frame_index"]: img for img in data.images}
        for scene in sorted((data.root / "bop").glob(f"*/{SCENE}")):
            self._read_scene(scene, by_frame)
        self._check_scene_folders()
        self._check_camera_file()

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
            if image is None or not _camera_holds(cam, image, scene, int(key)):
                self.report.problem(self.name, f"{split} image {key}: unknown image, other cam_K or depth_scale, or "
                                               "no rgb or depth file")
                self.unchecked[int(key)] = split
        self.scenes[split] = (scene, Cursor(gts), Cursor(infos))

    def _check_scene_folders(self) -> None:
        """The export writes one scene per split, 000000: another is no part of it (a copy?)."""
        for folder in sorted((self.data.root / "bop").glob("*/*")):
            if folder.is_dir() and folder.name != SCENE:
                self.report.problem(self.name, f"bop/{folder.parent.name}/{folder.name}: a scene simgen does not "
                                               f"write (it writes {SCENE} in each split); not checked")

    def _check_camera_file(self) -> None:
        path = self.data.root / "bop" / "camera.json"
        if not self.data.images:
            return
        try:
            camera = read_json(path) if path.is_file() else None
        except DatasetError:
            camera = None
        if type(camera) is not dict or not any(_same_numbers(camera, expected) for expected in self._cameras()):
            self.report.problem(self.name, f"camera.json: expected the camera of an image, such as "
                                           f"{camera_file(self.data.images[0])}")

    def _cameras(self) -> Iterator[dict]:
        """camera.json as it would be for each image, one per distinct camera (the export writes the first's)."""
        seen = set()
        for image in self.data.images:
            with contextlib.suppress(*MALFORMED):
                expected = camera_file(image)
                if tuple(expected.values()) not in seen:
                    seen.add(tuple(expected.values()))
                    yield expected

    def image(self, image: dict, anns: list[dict], maps: Optional[Maps]) -> None:
        frame = image["frame_index"]
        split = self.membership.get(frame)
        if split is None or frame in self.unchecked or split not in self.scenes:
            return
        scene, gts, infos = self.scenes[split]
        key = str(frame)
        gt, info = gts.pop(key, []), infos.pop(key, [])  # every image's: the files are read in the images' order
        try:
            if check_gt_entries(split, image, anns, gt, info, self.report) and maps is not None:
                check_bop_masks(self.data, scene, image, anns, maps, self.report)
        except MALFORMED as err:
            self.report.problem(self.name, f"{split} image {frame}: gt or gt_info entries malformed "
                                           f"({type(err).__name__}: {first_line(err)})")

    def finish(self) -> dict[str, Membership]:
        """Every image held once; no gt or gt_info entry left over (of no image of scene_camera.json, or twice)."""
        if sorted(self.held) != sorted({img["frame_index"] for img in self.data.images}):
            self.report.problem(self.name, "the BOP scenes do not hold every image exactly once")
        for frame, split in self.unchecked.items():
            if split in self.scenes:
                for cursor in self.scenes[split][1:]:
                    cursor.pop(str(frame), None)
        for split, (scene, *cursors) in self.scenes.items():
            for name, cursor in zip(SCENE_FILES[1:], cursors):
                extra, first = cursor.rest()
                if extra:
                    self.report.problem(self.name, f"{split}/{scene.name}/{name}: {extra} entries of no image of "
                                                   f"scene_camera.json, or given twice (the first: {first})")
        self.report.counts[self.name] = f"{len(self.held)} images{drawn_note(len(self.chosen), len(self.data.images))}"
        return {self.name: self.membership}


def _camera_holds(cam: dict, image: dict, scene: Path, frame: int) -> bool:
    """A scene_camera entry is the image's camera and its rgb and depth files are there."""
    rgb = scene / "rgb" / f"{frame:06d}{Path(image['file_name']).suffix}"
    try:
        same = np.allclose(cam["cam_K"], np.ravel(image["intrinsics"])) and cam["depth_scale"] == DEPTH_SCALE
    except MALFORMED:  # a malformed intrinsics is the image's own problem
        same = False
    return same and rgb.is_file() and (scene / "depth" / f"{frame:06d}.png").is_file()


def _same_numbers(found: dict, expected: dict) -> bool:
    return set(found) == set(expected) and all(
        finite_number(found[key]) and math.isclose(found[key], value, abs_tol=1e-9) for key, value in expected.items())
