"""simgen-check on a real dataset (JPEG RGB, every export) damaged in ways a decoder or a loose reader lets through:
each is a problem in the report, never a pass and never a traceback; a bad option is one line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from conftest import SMALL, run_simgen
from simgen.annotations_file import read_lines
from simgen.export import dataset as export_dataset
from simgen.tools.check_splits import SplitFile
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


def first_annotation(root: Path, name: str = "annotations.json", **fields) -> None:
    """The first annotation of the COCO file `name` given these fields, its line layout kept."""
    annotation_line(root, name, lambda line: json.dumps({**json.loads(line.removesuffix(b",")), **fields},
                                                        separators=(",", ":")).encode() + b"," * line.endswith(b","))


def first_image(root: Path, name: str, **fields) -> None:
    """The first image of the COCO file `name` given these fields, its line layout kept."""
    lines = (root / name).read_bytes().split(b"\n")
    lines[1] = json.dumps({**json.loads(lines[1].removesuffix(b",")), **fields},
                          separators=(",", ":")).encode() + b"," * lines[1].endswith(b",")
    (root / name).write_bytes(b"\n".join(lines))


def move_keypoints(coco: dict, k: int) -> None:
    """Annotation k's keypoints 5 pixels to the right."""
    kps = coco["annotations"][k]["keypoints"]
    kps[0::3] = [u + 5 for u in kps[0::3]]


def bad_box_and_moved_keypoints(root: Path) -> None:
    """Annotation 1 with a 3D box that cannot be projected, annotation 2 (of the same image) with its keypoints moved:
    the one is named, the other still checked."""
    coco = json.loads((root / "annotations.json").read_text())
    assert coco["annotations"][0]["image_id"] == coco["annotations"][1]["image_id"]
    coco["annotations"][0]["bbox_3d"] = "x"
    move_keypoints(coco, 1)
    (root / "annotations.json").write_text(json.dumps(coco))


def yolo_pair_of_no_image(root: Path) -> None:
    """A label file and its image for a frame annotations.json does not have."""
    label = next((root / "yolo" / "detect" / "labels").glob("*/*.txt"))
    shutil.copy(label, label.with_name("999999.txt"))
    image = next((root / "yolo" / "detect" / "images" / label.parent.name).glob(f"{label.stem}.*"))
    shutil.copy(image, image.with_name(f"999999{image.suffix}"))


def yolo_image_in_two_splits(root: Path) -> None:
    """A training image copied into val: a leak from train to val."""
    image = next((root / "yolo" / "detect" / "images" / "train").iterdir())
    (root / "yolo" / "detect" / "images" / "val").mkdir(exist_ok=True)
    shutil.copy(image, root / "yolo" / "detect" / "images" / "val" / image.name)


def yolo_image_of_another_frame(root: Path) -> None:
    """A YOLO image that is a copy of another frame's RGB (copytree made the export's links copies)."""
    images = sorted((root / "yolo" / "detect" / "images").glob("*/*"))
    shutil.copy(root / "rgb" / images[1].name, images[0])


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
    (split_again, "1 problem(s)\n     - its splits are not those of yolo/detect (exports made with other --splits or "
                  "--seed"),  # the split files, the one export made otherwise, are named; not the others
    (swap_instance_masks, "annotation 1: segmentation disagrees with instance mask"),
    (nan_pose, "annotation 1: cam_R_m2c and cam_t_m2c: expected a rotation"),
    (lambda root: first_annotation(root, amodal_segmentation=[[1, 2]]),
     "annotation 1: malformed (ValueError: not a COCO segmentation of a 160x120 image"),
    (lambda root: first_annotation(root, "annotations_train.json", category_id=999),
     "annotations_train.json: 1 annotation(s) of its images missing or not as annotations.json has them"),
    (lambda root: first_image(root, "annotations_train.json", width=7),
     "annotations_train.json: 1 image(s) not as annotations.json has them"),
    (lambda root: (root / "bop" / "camera.json").write_text("x"), "camera.json: expected the camera of an image"),
    (lambda root: (root / "yolo" / "detect" / "data.yaml").write_text("names: [a\nb: ]"),
     "yolo/detect: 1 problem(s)\n     - malformed export, check stopped (ParserError: while parsing a flow sequence)"),
    (lambda root: first_annotation(root, num_keypoints=-1), "annotation 1: keypoints disagree with the pose"),
    (lambda root: annotation_line(root, "annotations.json", lambda line: re.sub(rb'"keypoints":\[[^]]*\],', b"", line)),
     "annotation 1: no keypoints, though its category names them"),
    (bad_box_and_moved_keypoints, "annotation 1: malformed (ValueError: could not convert string to float: 'x')\n"
                                  "     - annotation 2: keypoints disagree with the pose, 3D box and intrinsics"),
    (lambda root: first_image(root, "annotations.json", frame_index=2), "frame_index is not unique"),
    (lambda root: first_annotation(root, amodal_segmentation={"size": [10, 10], "counts": "abc"}),
     "annotation 1: 'amodal_segmentation': expected an RLE of the image's size [120, 160], got size [10, 10]"),
    (lambda root: shutil.rmtree(root / "depth"), "depth/: missing, though config.yaml says the run wrote it"),
    (lambda root: (root / "coco" / "000001.json").write_text("{nope"), "coco/000001.json: not a frame's COCO record"),
    (lambda root: (root / "coco" / "000000.json").write_bytes(re.sub(rb'"bbox":\[[\d.]+', b'"bbox":[77', (
        root / "coco" / "000000.json").read_bytes(), count=1)),
     "coco/000000.json: its image or annotations are not those of annotations.json"),
    (yolo_pair_of_no_image, "yolo/detect (4 label files): 1 problem(s)\n     - 1 label or image file(s) of no image"),
    (yolo_image_in_two_splits, "without one label file and one image file in one split"),
    (yolo_image_of_another_frame, "its image is not rgb/"),
    (lambda root: next(root.glob("bop/*/000000/rgb/*")).unlink(), "unknown image, other cam_K or depth_scale, or no "
                                                                 "rgb or depth file"),
    (lambda root: shutil.copytree(next(root.glob("bop/*/000000")), next(root.glob("bop/*/000000")).parent / "000001"),
     "/000001: a scene simgen does not write"),
    (lambda root: [path.write_text(re.sub(r'"visib_fract":[\d.e-]+', '"visib_fract":0.123', path.read_text()))
                   for path in root.glob("bop/*/000000/scene_gt_info.json")], "pixel count or box disagrees"),
    (lambda root: [path.write_text(re.sub(r'"bbox_visib":\[(\d+)', r'"bbox_visib":[1\1', path.read_text(), count=1))
                   for path in root.glob("bop/*/000000/scene_gt_info.json")], "pixel count or box disagrees"),
], ids=["truncated-jpeg", "truncated-depth", "truncated-instance", "greyscale-rgb", "bop-gt-list", "bop-gt-number",
        "silhouette", "empty-segmentation", "splits-differ", "masks-swapped", "nan-pose", "amodal-not-rle",
        "split-annotation-changed", "split-image-changed", "bop-camera-json", "data-yaml-broken", "keypoint-count",
        "no-keypoints", "keypoints-moved", "frame-twice", "amodal-size", "depth-folder", "coco-record",
        "coco-record-edited", "yolo-extra", "yolo-leak", "yolo-image",
        "bop-rgb", "bop-scene-copy", "bop-visib-fract", "bop-bbox-visib"])
def test_damage_is_reported(dataset, tmp_path, damage, report):
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    damage(broken)
    done = run_tool("check", broken, "--no-progress")
    assert done.returncode == 1 and "FAIL" in done.stdout and report in done.stdout, done.stdout + done.stderr
    assert done.stderr == "" and "Traceback" not in done.stdout


def uncompressed_rle(root: Path) -> None:
    """The first annotation's RLE as run lengths (valid COCO), in annotations.json and the frame's record, with the
    split files that copy it removed."""
    for path in root.glob("annotations_*.json"):
        path.unlink()
    coco = json.loads((root / "annotations.json").read_text())
    ann, image = coco["annotations"][0], coco["images"][0]
    mask = mask_utils.decode(dict(ann["segmentation"], counts=ann["segmentation"]["counts"].encode()))
    values = mask.ravel(order="F")
    changes = [0, *(np.flatnonzero(np.diff(values)) + 1), values.size]
    runs = [int(b - a) for a, b in zip(changes, changes[1:])]
    ann["segmentation"] = {"size": [image["height"], image["width"]], "counts": [0, *runs] if values[0] else runs}
    (root / "annotations.json").write_text(json.dumps(coco))
    record_path = root / "coco" / f"{Path(image['file_name']).stem}.json"
    record = json.loads(record_path.read_text())
    record["annotations"][0]["segmentation"] = ann["segmentation"]  # the frame's record says the same
    record_path.write_text(json.dumps(record))


@pytest.mark.parametrize("change", [
    lambda root: (root / "rgb" / ".DS_Store").write_bytes(b"\0"),
    uncompressed_rle,
], ids=["hidden file", "uncompressed rle"])
def test_what_is_valid_passes(dataset, tmp_path, change):
    check_a_copy(dataset, tmp_path, change, None)


def test_a_missing_split_file_is_the_one_problem_reported(dataset, tmp_path):
    """Not also every other export's, as if their splits were not those of the split files."""
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    next(broken.glob("annotations_*.json")).unlink()
    done = run_tool("check", broken, "--no-progress")
    assert done.returncode == 1 and done.stdout.count("FAIL") == 1, done.stdout
    assert "simgen-check: 1 problem(s)" in done.stdout and "do not hold every image exactly once" in done.stdout


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


def test_a_sample_still_checks_every_annotation_and_export_entry(dataset, tmp_path):
    """Only the drawn images' files and masks are left out: every annotation's own fields and every BOP gt entry are
    checked (JSON, as annotations.json is read anyway)."""
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    for path in (broken / "bop").glob("*/000000/scene_gt.json"):
        path.write_text(re.sub(r'"obj_id":\d+', '"obj_id":999', path.read_text()))
    text = (broken / "annotations.json").read_bytes()
    (broken / "annotations.json").write_bytes(re.sub(rb'"iscrowd":\d', b'"iscrowd":5', text))  # layout kept
    gts = sum(len(gt) for path in (broken / "bop").glob("*/000000/scene_gt.json")
              for gt in json.loads(path.read_text()).values())
    anns = len(json.loads(text)["annotations"])
    done = run_tool("check", broken, "--sample", "1", "--no-progress")
    assert done.returncode == 1 and "iscrowd must be 0 or 1" in done.stdout, done.stdout
    assert f"FAIL annotations ({anns} annotations, those of the drawn images checked against their masks): {anns} " \
           "problem(s)" in done.stdout, done.stdout
    assert f"FAIL bop (3 images, those of the 1 drawn images checked): {gts} problem(s)" in done.stdout


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


def check_a_copy(dataset: Path, tmp_path: Path, damage, report: str | None) -> None:
    """simgen-check of a copy of the dataset changed by `damage`: passed where `report` is None, else failed with it."""
    root = tmp_path / "copy"
    shutil.copytree(dataset, root)
    damage(root)
    done = run_tool("check", root, "--no-progress")
    if report is None:
        assert done.returncode == 0 and "all checks passed" in done.stdout, done.stdout + done.stderr
    else:
        assert done.returncode == 1 and report in done.stdout, done.stdout + done.stderr


def relaid(path: Path) -> None:
    """The JSON file saved again indented, as an editor would: no longer simgen's line layout, so read whole."""
    path.write_text(json.dumps(json.loads(path.read_text()), indent=1))


def annotation_line(root: Path, name: str, change) -> None:
    """The first annotation line of the COCO file `name` changed in place, or taken out where `change` gives None
    (simgen's line layout kept, where it has other annotations)."""
    lines = (root / name).read_bytes().split(b"\n")
    at = next(k for k, line in enumerate(lines) if line.startswith(b'],"annotations":[')) + 1
    lines[at:at + 1] = [line for line in [change(lines[at])] if line is not None]
    (root / name).write_bytes(b"\n".join(lines))


def other_category(line: bytes) -> bytes:
    return re.sub(rb'"category_id":\d+', b'"category_id":99', line, count=1)


def other_bbox(line: bytes) -> bytes:
    return re.sub(rb'"bbox":\[[\d.]+', b'"bbox":[1', line, count=1)


def no_category_in_the_last(root: Path) -> None:
    lines = (root / "annotations.json").read_bytes().split(b"\n")
    lines[-2] = re.sub(rb'"category_id":\d+,', b"", lines[-2])
    (root / "annotations.json").write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("damage, status, report", [
    (lambda root: None, 0, "all checks passed"),
    (lambda root: annotation_line(root, "annotations.json", other_category), 1,
     "category_id 99 is used by annotations but not defined"),
    (lambda root: annotation_line(root, "annotations.json", other_bbox), 1,
     "annotation 1: bbox or area disagrees with its mask"),
    (lambda root: (first_annotation(root, amodal_segmentation=[]), no_category_in_the_last(root)), 2,
     "no 'category_id'"),  # the first annotation's problem does not stop the pass before the last one's
], ids=["as made", "unknown category", "bbox moved", "two malformed"])
def test_a_streamed_annotations_json_is_checked_as_one_read_whole(dataset, tmp_path, damage, status, report):
    """simgen's annotations.json (an entry per line) is checked a line at a time; the same file laid out otherwise is
    read whole: the same report either way."""
    reports = []
    for layout in ("streamed", "whole"):
        root = tmp_path / layout
        shutil.copytree(dataset, root)
        damage(root)
        if layout == "whole":
            relaid(root / "annotations.json")
        assert (read_lines(root, export_dataset.SCHEMA) is not None) == (layout == "streamed")
        done = run_tool("check", root, "--no-progress")
        assert report in done.stdout + done.stderr and done.returncode == status, done.stdout + done.stderr
        reports.append((done.stdout + done.stderr).replace(str(root), "ROOT"))
    assert reports[0] == reports[1]


@pytest.mark.parametrize("damage, report", [
    (lambda root: relaid(root / "annotations_train.json"), None),
    (lambda root: annotation_line(root, "annotations_train.json", lambda line: None), "annotations_train.json: "
                                                                                     "1 annotation(s) of its images"),
    (lambda root: (annotation_line(root, "annotations_train.json", lambda line: None),
                   relaid(root / "annotations_train.json")), "annotations_train.json: 1 annotation(s) of its images"),
], ids=["relaid", "annotation dropped", "annotation dropped, relaid"])
def test_split_files_are_checked_streamed_or_read_whole(dataset, tmp_path, damage, report):
    assert SplitFile.read(dataset / "annotations_train.json").start is not None  # simgen's layout: streamed
    check_a_copy(dataset, tmp_path, damage, report)


def shown(stderr: str) -> list[str]:
    """The lines a terminal shows of `stderr`: each line as its last carriage return left it, blank ones left out."""
    return [line.rsplit("\r", 1)[-1] for line in stderr.split("\n") if line.rsplit("\r", 1)[-1].strip()]


def test_a_malformed_annotation_line_met_while_checking_is_one_line(dataset, tmp_path):
    """A streamed annotations.json is checked as it is read: the progress bar gives way to the one line."""
    root = tmp_path / "malformed"
    shutil.copytree(dataset, root)
    lines = (root / "annotations.json").read_bytes().split(b"\n")
    lines[-2] = re.sub(rb'"category_id":\d+', b'"category_id":true', lines[-2], count=1)
    (root / "annotations.json").write_bytes(b"\n".join(lines))
    done = subprocess.run([sys.executable, "-m", "simgen.tools.check", str(root)], capture_output=True, timeout=300)
    stderr = done.stderr.decode()  # as it came, carriage returns and all
    assert done.returncode == 2 and "checking:" in stderr and done.stdout == b"", stderr
    assert len(shown(stderr)) == 1 and re.fullmatch(r"simgen-check: error: .*/annotations\.json: annotations\[\d+\] "
                                                    r"\(id \d+\): 'category_id': expected an integer, got true",
                                                    shown(stderr)[0]), stderr


def bop_scene_lines(change):
    """The scene_gt.json with the most entries, its lines changed (simgen's layout: `{`, an entry per line, `}`)."""
    def damage(root: Path) -> None:
        path = max((root / "bop").glob("*/000000/scene_gt.json"), key=lambda p: len(p.read_bytes().split(b"\n")))
        lines = path.read_bytes().split(b"\n")
        assert len(lines) >= 4 and lines[0] == b"{" and lines[-1] == b"}"  # two entries at least
        entries = [line.removesuffix(b",") for line in lines[1:-1]]
        change(entries)
        path.write_bytes(b"\n".join([b"{", b",\n".join(entries), b"}"]))
    return damage


@pytest.mark.parametrize("damage, report", [
    (bop_scene_lines(lambda entries: entries.reverse()), None),  # another order: kept until asked for
    (bop_scene_lines(lambda entries: entries.__setitem__(slice(None), [b",".join(entries)])), None),  # read whole
    (bop_scene_lines(lambda entries: entries.__setitem__(0, re.sub(rb'"obj_id":\d+', b'"obj_id":99', entries[0]))),
     "obj_id, pose, pixel count or box disagrees"),
    (bop_scene_lines(lambda entries: entries.pop()), "0 gt and "),
    (bop_scene_lines(lambda entries: entries.append(b'"777":[]')), "scene_gt.json: 1 entries of no image"),
    (bop_scene_lines(lambda entries: entries.append(entries[0])), "scene_gt.json: 1 entries of no image of "
                                                                  "scene_camera.json, or given twice"),
    (bop_scene_lines(lambda entries: (entries.append(entries[0]), entries.__setitem__(slice(None),
                                                                                      [b",".join(entries)]))),
     "scene_gt.json: 1 entries of no image of scene_camera.json, or given twice"),  # read whole: the same
], ids=["reordered", "one line", "obj_id", "entry missing", "entry of no image", "key twice", "key twice, one line"])
def test_bop_scene_files_are_checked_in_any_order_or_layout(dataset, tmp_path, damage, report):
    check_a_copy(dataset, tmp_path, damage, report)
