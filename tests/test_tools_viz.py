"""simgen-viz on a real dataset: overlays, depth beside them, keypoints, contact sheets, frame choice, bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import SMALL, run_simgen
from tools_support import assert_one_line_error, read_png, run_tool, with_optional_fields

FRAMES, WIDTH, HEIGHT = 5, 160, 120


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("viz")
    done = run_simgen([f"output_dir={root / 'ds'}", f"num_frames={FRAMES}", *SMALL], root)
    assert done.returncode == 0, done.stderr
    return root / "ds"


def viz(dataset: Path, out: Path, *args: str) -> Path:
    done = run_tool("viz", dataset, "--out", out, "--no-progress", *args)
    assert done.returncode == 0, done.stderr
    return out


def annotations(dataset: Path, frame: int) -> list[dict]:
    coco = json.loads((dataset / "annotations.json").read_text())
    return [a for a in coco["annotations"] if a["image_id"] == frame + 1]


def near_boxes(anns: list[dict], margin: int) -> np.ndarray:
    """Pixels within `margin` of any annotation's box."""
    near = np.zeros((HEIGHT, WIDTH), bool)
    for x, y, w, h in (map(int, a["bbox"]) for a in anns):
        near[max(0, y - margin):y + h + margin, max(0, x - margin):x + w + margin] = True
    return near


def test_overlay_tints_every_instance_and_puts_depth_beside_it(dataset, tmp_path):
    out = viz(dataset, tmp_path / "v", "--images", "1,3")
    assert sorted(p.name for p in (out / "overlays").iterdir()) == ["000001.png", "000003.png"]
    for frame in (1, 3):
        panel = read_png(out / "overlays" / f"{frame:06d}.png").astype(int)
        rgb = read_png(dataset / "rgb" / f"{frame:06d}.png").astype(int)
        depth = read_png(dataset / "depth" / f"{frame:06d}.png")
        instance = read_png(dataset / "instance" / f"{frame:06d}.png")
        assert panel.shape == (HEIGHT, 2 * WIDTH, 3)
        overlay, depth_view = panel[:, :WIDTH], panel[:, WIDTH:]
        anns = annotations(dataset, frame)
        assert anns
        for ann in anns:
            mask = instance == ann["instance_value"]
            assert np.abs(overlay[mask] - rgb[mask]).mean() > 5, ann["id"]
        far = ~near_boxes(anns, margin=25)
        assert far.sum() > 100
        assert np.array_equal(overlay[far], rgb[far])
        assert not depth_view[depth == 0].any()
        assert (depth_view[depth > 0].sum(axis=1) > 0).mean() > 0.99


def test_no_depth_leaves_the_overlay_alone(dataset, tmp_path):
    out = viz(dataset, tmp_path / "v", "--images", "0", "--no-depth")
    assert read_png(out / "overlays" / "000000.png").shape == (HEIGHT, WIDTH, 3)


def test_contact_sheet_of_evenly_sampled_frames(dataset, tmp_path):
    out = viz(dataset, tmp_path / "v", "--num", "3", "--columns", "2", "--tile-width", "100")
    assert sorted(p.name for p in (out / "overlays").iterdir()) == ["000000.png", "000002.png", "000004.png"]
    sheet = read_png(out / "contact_sheet.png")
    assert sheet.shape[1] == 2 * (100 + 4) + 4
    tile_height = HEIGHT * 100 / (2 * WIDTH)  # a panel is the overlay and the depth side by side
    assert 2 * tile_height < sheet.shape[0] < 3 * tile_height  # two rows
    assert (sheet[sheet.shape[0] // 2 + 2:, -100:] == 255).all()  # the fourth cell of the 2x2 grid is empty


def test_random_sample_is_reproducible(dataset, tmp_path):
    picked = [sorted(p.name for p in (viz(dataset, tmp_path / f"v{k}", "--num", "2", "--seed", "7") / "overlays")
                     .iterdir()) for k in range(2)]
    assert picked[0] == picked[1] and len(picked[0]) == 2


def test_keypoints_are_drawn_where_labelled(dataset, tmp_path):
    extra = with_optional_fields(dataset, tmp_path / "extra")
    with_points = read_png(viz(extra, tmp_path / "a", "--images", "0", "--no-depth") / "overlays" / "000000.png")
    without = read_png(viz(extra, tmp_path / "b", "--images", "0", "--no-depth", "--no-keypoints")
                       / "overlays" / "000000.png")
    changed = (with_points != without).any(axis=2)
    labelled = [a for a in annotations(extra, 0) if "keypoints" in a]
    assert labelled and changed.any()
    assert not (changed & ~near_boxes(labelled, margin=4)).any()
    for ann in labelled:
        for x, y, v in np.array(ann["keypoints"]).reshape(-1, 3).astype(int):
            assert v == 0 or changed[max(0, y - 3):y + 4, max(0, x - 3):x + 4].any()


def test_logs_in_hydras_format_and_shows_progress(dataset, tmp_path):
    done = run_tool("viz", dataset, "--out", tmp_path / "v", "--num", "2")
    assert done.returncode == 0
    assert re.search(r"^\[[\d :,-]+\]\[simgen-viz\]\[INFO\] - drawing 2 of 5 frames", done.stdout, re.M)
    assert "2/2" in done.stderr
    assert "drawing 2 of 5 frames" in (tmp_path / "v" / "simgen-viz.log").read_text()


@pytest.mark.parametrize("args, expected", [
    (["{missing}"], ["missing", "no such dataset directory"]),
    (["{empty}"], ["empty/annotations.json: missing; not a finished simgen dataset"]),
    (["{good}", "--images", "2,99"], ["--images", "frame 99"]),
    (["{good}", "--images", "a-b"], ["--images", "'a-b'"]),
    (["{good}", "--images", "4-2"], ["--images", "'4-2'"]),
    (["{good}", "--num", "0"], ["--num"]),
    (["{good}", "--columns", "0"], ["--columns"]),
    (["{good}", "--tile-width", "x"], ["--tile-width"]),
    (["{good}", "--tile-width", "1"], ["--tile-width", "from 16 to 4096, got 1"]),
    (["{good}", "--tile-width", "100000"], ["--tile-width", "got 100000"]),
    (["{good}", "--seed", "-1", "-n", "2"], ["--seed", "got -1"]),
    (["{good}", "--num", "-3"], ["--num", "got -3"]),
    (["{good}", "--columns", "-1"], ["--columns", "got -1"]),
    (["{good}", "--out", "{a_file}"], ["a_file"]),
])
def test_bad_input_is_one_line(dataset, tmp_path, args, expected):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file").write_text("not a folder")
    paths = {"missing": tmp_path / "missing", "empty": tmp_path / "empty", "good": dataset,
             "a_file": tmp_path / "a_file"}
    out = [] if "--out" in args else ["--out", tmp_path / "out"]
    done = run_tool("viz", *[a.format(**paths) for a in args], *out)
    assert_one_line_error(done, "simgen-viz: error:", *expected)


def test_a_contact_sheet_too_large_to_hold_is_refused(dataset, tmp_path):
    many = tmp_path / "many"
    shutil.copytree(dataset, many)
    coco = json.loads((many / "annotations.json").read_text())
    coco["images"] += [dict(coco["images"][k % FRAMES], id=100 + k, frame_index=100 + k) for k in range(60)]
    (many / "annotations.json").write_text(json.dumps(coco))
    done = run_tool("viz", many, "--num", "64", "--tile-width", "4096", "--out", tmp_path / "out")
    assert_one_line_error(done, "simgen-viz: error: --num:", "contact sheet of 64 frames 4096 pixels wide")
    assert not (tmp_path / "out").exists()


def edit_annotations(change):
    """A damage: `change` applied to the parsed annotations.json, written back."""
    def damage(root: Path) -> None:
        coco = json.loads((root / "annotations.json").read_text())
        change(coco)
        (root / "annotations.json").write_text(json.dumps(coco))
    return damage


def set_field(kind: str, index: int, key: str, value):
    return edit_annotations(lambda coco: coco[kind][index].update({key: value}))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


@pytest.mark.parametrize("damage, expected", [
    (edit_annotations(lambda coco: coco["annotations"][0].pop("segmentation")),
     ["annotations.json: annotations[0] (id 1): no 'segmentation'"]),
    (set_field("annotations", 1, "bbox", [1, 2]),
     ["annotations.json: annotations[1] (id 2): 'bbox': expected [x, y, width, height]", "got [1, 2]"]),
    (set_field("annotations", 2, "bbox", [float("nan"), 1, 2, 3]), ["annotations[2] (id 3): 'bbox'", "got [NaN,"]),
    (set_field("annotations", 0, "segmentation", {"size": [60, 80], "counts": "PP"}),
     ["annotations.json: annotations[0] (id 1): 'segmentation': expected an RLE of the image's size [120, 160], "
      "got size [60, 80]"]),
    (set_field("annotations", 0, "keypoints", [1, 2]),
     ["annotations[0] (id 1): 'keypoints': expected a list of [x, y, v] triples", "got [1, 2]"]),
    (set_field("images", 0, "width", 0),
     ["annotations.json: images[0] (id 1): 'width': expected a positive integer up to 65536, got 0"]),
    (set_field("images", 1, "id", "two"),
     ['annotations.json: images[1] (id "two"): \'id\': expected an integer, got "two"']),
    (lambda root: (root / "rgb" / "000001.png").unlink(), ["rgb/000001.png: missing"]),
    (lambda root: truncate(root / "rgb" / "000001.png"), ["rgb/000001.png: truncated"]),
    (lambda root: (root / "rgb" / "000002.png").write_text("not a picture"), ["rgb/000002.png: not an image"]),
    (lambda root: cv2.imwrite(str(root / "rgb" / "000003.png"), np.zeros((60, 80, 3), np.uint8)),
     ["rgb/000003.png: 80x60 pixels", "160x120"]),
], ids=["no-segmentation", "short-bbox", "nan-bbox", "rle-size", "keypoints", "zero-width", "string-id",
        "missing-rgb", "truncated-rgb", "text-rgb", "small-rgb"])
def test_corrupt_dataset_is_one_line(dataset, tmp_path, damage, expected):
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    damage(broken)
    done = run_tool("viz", broken, "--out", tmp_path / "out", "--no-progress")
    assert done.returncode == 2 and "WARN" not in done.stderr
    assert_one_line_error(done, "simgen-viz: error:", *expected)


@pytest.mark.parametrize("tool", ["viz", "stats"])
def test_an_output_folder_that_cannot_be_written_is_one_line(dataset, tmp_path, tool):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    command = [sys.executable, "-m", f"simgen.tools.{tool}", str(dataset), "--out", str(locked), "--no-progress"]
    if os.access(locked, os.W_OK):  # root: run without the capability that lets it write anywhere
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv")
        command = ["setpriv", "--bounding-set=-dac_override", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    finally:
        locked.chmod(0o755)
    if done.stderr.startswith("setpriv:"):
        pytest.skip(f"setpriv cannot drop the capability here: {done.stderr.strip()}")
    assert done.returncode == 2
    assert_one_line_error(done, f"simgen-{tool}: error: --out: cannot write to the folder {locked}",
                          "Permission denied")


def test_drawing_a_few_frames_reads_only_their_annotations_to_the_same_pictures(dataset, tmp_path):
    """simgen's annotations.json (an entry per line) is read a line at a time and only the drawn frames' annotations
    kept; the same file on one line (as another tool saves it) is read whole: the same overlays either way."""
    from simgen.tools import dataset as datasets

    whole = tmp_path / "whole"
    shutil.copytree(dataset, whole)
    (whole / "annotations.json").write_text(json.dumps(json.loads((whole / "annotations.json").read_text())))
    streamed = datasets.load(dataset, keep=lambda images: images[:1])
    assert {ann["image_id"] for ann in streamed.annotations} == {streamed.images[0]["id"]}
    assert len(datasets.load(whole, keep=lambda images: images[:1]).annotations) > len(streamed.annotations)
    pictures = []
    for k, root in enumerate((dataset, whole)):
        out = viz(root, tmp_path / f"viz{k}", "--images", "0,2")
        pictures.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*.png"))})
    assert pictures[0] == pictures[1] and len(pictures[0]) == 3
