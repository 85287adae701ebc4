"""simgen-viz on a real dataset: overlays, depth beside them, keypoints, contact sheets, frame choice, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

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
            mask = instance == ann["instance_id"]
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
    (["{empty}"], ["empty", "no annotations.json"]),
    (["{good}", "--images", "2,99"], ["--images", "frame 99"]),
    (["{good}", "--images", "a-b"], ["--images", "'a-b'"]),
    (["{good}", "--images", "4-2"], ["--images", "'4-2'"]),
    (["{good}", "--num", "0"], ["--num"]),
    (["{good}", "--columns", "0"], ["--columns"]),
    (["{good}", "--tile-width", "x"], ["--tile-width"]),
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
