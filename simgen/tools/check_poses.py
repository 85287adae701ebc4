"""simgen-check's check of the annotations' poses and keypoints: each pose a rotation and a finite translation, each
keypoint its 3D box's corner (or centre) projected with the pose and the image's K. An image's keypoints are
projected at once: numpy's cost is per call, and --sample checks every annotation's."""

from __future__ import annotations

from typing import Any

import numpy as np

from simgen import geometry
from simgen.annotations_file import finite_number, first_line
from simgen.tools.check_report import MALFORMED, Report

NAME = "annotations"
KEYPOINTS = len(geometry.KEYPOINT_NAMES)


def check_poses(anns: list[dict], image: dict, keyed: set, report: Report) -> None:
    """Each annotation's pose sound and its keypoints where its pose puts them; one of a category in `keyed` (those
    that name keypoints) has them, as COCO's keypoint tools expect."""
    posed = []
    for ann in anns:
        if ("cam_R_m2c" in ann or "cam_t_m2c" in ann) and not pose_is_sound(ann):
            report.problem(NAME, f"annotation {ann['id']}: cam_R_m2c and cam_t_m2c: expected a rotation (3x3, "
                                 "orthonormal) and a translation (3 finite numbers)")
        elif "keypoints" in ann and not keypoints_shaped(ann["keypoints"]):
            report.problem(NAME, f"annotation {ann['id']}: expected {KEYPOINTS} [u, v, flag] keypoints")
        elif "keypoints" in ann:
            posed.append(ann)
        elif ann.get("category_id") in keyed:
            report.problem(NAME, f"annotation {ann['id']}: no keypoints, though its category names them")
    for ann in disagreeing(posed, image, report):
        report.problem(NAME, f"annotation {ann['id']}: keypoints disagree with the pose, 3D box and intrinsics")


def pose_is_sound(ann: dict) -> bool:
    """The pose is a rotation and a finite translation (NaN passed the keypoint check: it compares false)."""
    rot, trans = ann.get("cam_R_m2c"), ann.get("cam_t_m2c")
    if not (_numbers(trans, 3) and type(rot) is list and len(rot) == 3 and all(_numbers(row, 3) for row in rot)):
        return False
    (a, b, c), (d, e, f), (g, h, i) = rot
    orthonormal = all(abs(sum(x * y for x, y in zip(rot[r], rot[s])) - (r == s)) <= 1e-4
                      for r in range(3) for s in range(r, 3))
    return orthonormal and abs(a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g) - 1) < 1e-4


def _numbers(value: Any, size: int) -> bool:
    """A list of `size` finite numbers."""
    return type(value) is list and len(value) == size and all(map(finite_number, value))


def keypoints_shaped(keypoints: Any) -> bool:
    """KEYPOINTS [u, v, flag] triples, each flag 0, 1 or 2."""
    return type(keypoints) is list and len(keypoints) == 3 * KEYPOINTS and \
        all(flag in (0, 1, 2) for flag in keypoints[2::3])


def disagreeing(anns: list[dict], image: dict, report: Report) -> list[dict]:
    """The annotations whose shown keypoints are not where their pose puts their 3D box's, or whose num_keypoints
    does not count them; one that cannot be projected is a problem of its own."""
    if not anns:
        return []
    try:
        return _disagreeing(anns, image)
    except MALFORMED:  # one of them, which each alone names
        wrong = []
        for ann in anns:
            try:
                wrong += _disagreeing([ann], image)
            except MALFORMED as err:
                report.problem(NAME, f"annotation {ann.get('id')}: malformed ({type(err).__name__}: {first_line(err)})")
        return wrong


def _disagreeing(anns: list[dict], image: dict) -> list[dict]:
    kps = np.array([a["keypoints"] for a in anns], dtype=float).reshape(len(anns), KEYPOINTS, 3)
    rot = np.array([a["cam_R_m2c"] for a in anns], dtype=float).reshape(len(anns), 3, 3)
    trans = np.array([a["cam_t_m2c"] for a in anns], dtype=float).reshape(len(anns), 1, 3)
    points = geometry.boxes_keypoints_3d([a["bbox_3d"] for a in anns]) @ rot.transpose(0, 2, 1) + trans
    with np.errstate(divide="ignore", invalid="ignore"):  # a point in the camera's plane: never where it is shown
        uv = geometry.project_camera_points(points.reshape(-1, 3), np.asarray(image["intrinsics"], dtype=float))
    shown = kps[..., 2] > 0
    off = ((np.abs(uv.reshape(len(anns), KEYPOINTS, 2) - kps[..., :2]) > 0.01).any(axis=2) & shown).any(axis=1)
    return [ann for ann, moved, count in zip(anns, off, shown.sum(axis=1))
            if moved or int(count) != ann.get("num_keypoints")]
