"""simgen-check on a real dataset (JPEG RGB, every export) damaged in ways a decoder or a loose reader lets through:
each is a problem in the report, never a pass and never a traceback; a bad option is one line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import cv2
import pytest

from conftest import SMALL, run_simgen
from tools_support import assert_one_line_error, run_tool

WRITERS = "writers=[images,coco,meta,yolo,bop,splits]"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("check")
    done = run_simgen([f"output_dir={root / 'ds'}", "num_frames=3", *SMALL, WRITERS, "writers.images.rgb_format=jpg"],
                      root)
    assert done.returncode == 0, done.stderr
    return root / "ds"


def truncate(path: Path) -> None:
    """Keep the first half of the file, as a copy cut short would."""
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def greyscale(path: Path) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY))


def bop_scene_gt(text: str):
    def damage(root: Path) -> None:
        for path in (root / "bop").glob("*/000000/scene_gt.json"):
            path.write_text(text)
    return damage


def shrink_a_silhouette(root: Path) -> None:
    """The first annotation's whole silhouette made smaller than its amodal mask."""
    coco = json.loads((root / "annotations.json").read_text())
    coco["annotations"][0]["silhouette_area"] = coco["annotations"][0]["amodal_area"] - 1
    (root / "annotations.json").write_text(json.dumps(coco))


def empty_segmentation(root: Path) -> None:
    """What simgen's polygon writer once wrote for a mask a pixel thin."""
    coco = json.loads((root / "annotations.json").read_text())
    coco["annotations"][0]["segmentation"] = []
    (root / "annotations.json").write_text(json.dumps(coco))


def nan_pose(root: Path) -> None:
    """A pose of NaNs (written by hand: json.dumps writes NaN), which the keypoint check compared false and passed."""
    coco = json.loads((root / "annotations.json").read_text())
    coco["annotations"][0]["cam_t_m2c"] = [float("nan")] * 3
    (root / "annotations.json").write_text(json.dumps(coco))


def swap_instance_masks(root: Path) -> None:
    """Frames 0 and 1 each with the other's instance mask: each annotation is checked against its own frame's."""
    first, second = root / "instance" / "000000.png", root / "instance" / "000001.png"
    data = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(data)


def split_again(root: Path) -> None:
    """The split files made again with other fractions than the YOLO and BOP exports were."""
    done = run_tool("export", root, "--format", "splits", "--splits", "train=0.34,val=0.33,test=0.33")
    assert done.returncode == 0, done.stderr


def test_passes_as_made(dataset):
    done = run_tool("check", dataset)
    assert done.returncode == 0 and "all checks passed" in done.stdout, done.stdout + done.stderr
    frames = len(list((dataset / "rgb").iterdir()))
    assert "checking: 100%" in done.stderr and f"{frames}/{frames}" in done.stderr  # the progress bar


@pytest.mark.parametrize("damage, report", [
    (lambda root: truncate(root / "rgb" / "000001.jpg"), "rgb/000001.jpg: truncated"),
    (lambda root: truncate(root / "depth" / "000001.png"), "depth/000001.png: truncated"),
    (lambda root: truncate(root / "instance" / "000002.png"), "instance/000002.png: truncated"),
    (lambda root: greyscale(root / "rgb" / "000000.jpg"), "rgb/000000.jpg: 160x120 8-bit, 1 channel, expected"),
    (bop_scene_gt("[]"), "scene_gt.json not a JSON object"),
    (bop_scene_gt("7"), "scene_gt.json not a JSON object"),
    (shrink_a_silhouette, "annotation 1: silhouette_area, silhouette_bbox or in_frame_fraction disagrees"),
    (empty_segmentation, "annotation 1: 'segmentation': expected one or more polygons"),
    (split_again, "its splits are not those of the split files (exports made with other --splits or --seed"),
    (swap_instance_masks, "annotation 1: segmentation disagrees with instance mask"),
    (nan_pose, "annotation 1: cam_R_m2c and cam_t_m2c: expected a rotation"),
], ids=["truncated-jpeg", "truncated-depth", "truncated-instance", "greyscale-rgb", "bop-gt-list", "bop-gt-number",
        "silhouette", "empty-segmentation", "splits-differ", "masks-swapped", "nan-pose"])
def test_damage_is_reported(dataset, tmp_path, damage, report):
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    damage(broken)
    done = run_tool("check", broken, "--no-progress")
    assert done.returncode == 1 and "FAIL" in done.stdout and report in done.stdout, done.stdout + done.stderr
    assert done.stderr == ""


def test_a_sample_checks_the_files_and_masks_of_that_many_images(dataset, tmp_path):
    """--sample 1 finds a damaged frame (or its export's files) only when it draws it; the JSON checks still see
    every image."""
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    for index in range(3):
        truncate(broken / "depth" / f"{index:06d}.png")
    for label in (broken / "yolo" / "detect" / "labels").glob("*/*.txt"):
        label.write_text(label.read_text() + "0 0.5 0.5 0.1 0.1\n")
    for mask in (broken / "bop").glob("*/*/mask_visib/*.png"):
        truncate(mask)
    done = run_tool("check", broken, "--sample", "1", "--no-progress")
    assert done.returncode == 1 and done.stdout.count(": truncated") == 1, done.stdout
    assert done.stdout.count("label lines for") == 1 and len(bop_images_named(done.stdout)) == 1, done.stdout
    assert "images (3 images, the files of 1 drawn at random checked): 1 problem(s)" in done.stdout
    assert "annotations, those of the drawn images checked against their masks)" in done.stdout
    assert "yolo/detect (3 label files, those of the 1 drawn images checked): 1 problem(s)" in done.stdout
    done = run_tool("check", broken, "--sample", "3", "--no-progress")
    assert done.returncode == 1 and done.stdout.count(": truncated") == 3 and "drawn" not in done.stdout
    assert done.stdout.count("label lines for") == 3 and len(bop_images_named(done.stdout)) == 3, done.stdout


def bop_images_named(report: str) -> set[str]:
    return set(re.findall(r"image (\d+) gt \d+: mask_visib missing", report))


@pytest.mark.parametrize("args, expected", [
    (["{good}", "--colour"], ["unrecognized arguments: --colour"]),
    ([], ["the following arguments are required: dataset"]),
    (["{good}", "{good}"], ["unrecognized arguments"]),
    (["{good}", "--sample", "0"], ["--sample: expected an integer >= 1, got 0"]),
])
def test_bad_options_are_one_line(dataset, args, expected):
    done = run_tool("check", *[a.format(good=dataset) for a in args])
    assert done.returncode == 2
    assert_one_line_error(done, "simgen-check: error:", *expected)
