"""simgen-stats on real datasets: every number of stats.json recomputed here from annotations.json and the PNGs."""

from __future__ import annotations

import json
import math
import shutil
import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import SMALL, in_lines, run_simgen
from simgen.tools import config_diff
from tools_support import assert_one_line_error, read_png, run_tool, with_optional_fields

FIGURES = ["instances_per_category", "instances_per_image", "box_size", "aspect_ratio", "centres", "depth"]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    """Two real datasets that differ in the camera's field of view, and a copy of the first with optional fields."""
    root = tmp_path_factory.mktemp("stats")
    made = {}
    for name, extra in {"narrow": [], "wide": ["camera.fov=75"]}.items():
        done = run_simgen([f"output_dir={root / name}", "num_frames=4", *SMALL, *extra], root)
        assert done.returncode == 0, done.stderr
        made[name] = root / name
    made["extra"] = with_optional_fields(made["narrow"], root / "extra")
    return made


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "mean": statistics.fmean(values),
            "max": max(values)}


def depth_numbers(root: Path, images: list[dict]) -> dict[str, float]:
    depth = np.concatenate([read_png(root / "depth" / Path(im["file_name"]).name).ravel().astype(np.int64)
                            for im in images])
    valid = depth[depth > 0]
    return {"min": valid.min() * 0.001, "max": valid.max() * 0.001, "mean": valid.mean() * 0.001,
            "valid_fraction": valid.size / depth.size, "frames": len(images)}


def heatmap(anns: list[dict], images: dict[int, dict], rows: int = 12, cols: int = 16) -> list[list[int]]:
    grid = [[0] * cols for _ in range(rows)]
    for ann in anns:
        x, y, w, h = ann["bbox"]
        image = images[ann["image_id"]]
        col = min(math.floor((x + w / 2) / image["width"] * cols), cols - 1)
        row = min(math.floor((y + h / 2) / image["height"] * rows), rows - 1)
        grid[row][col] += 1
    return grid


def expected(root: Path) -> dict:
    """The report's numbers, recomputed from the dataset's files without simgen's tools."""
    coco = json.loads((root / "annotations.json").read_text())
    images = {im["id"]: im for im in coco["images"]}
    anns = [a for a in coco["annotations"] if not a["iscrowd"]]  # ignore regions are counted apart
    names = {c["id"]: c["name"] for c in coco["categories"]}
    per_image = [sum(a["image_id"] == i for a in anns) for i in images]
    widths, heights = [a["bbox"][2] for a in anns], [a["bbox"][3] for a in anns]
    per_category = Counter(names[a["category_id"]] for a in anns)
    return {
        "frames": len(images), "instances": len(anns), "categories": len(names),
        "ignore_regions": len(coco["annotations"]) - len(anns),
        "categories_present": len(per_category),
        "image_sizes": dict(Counter(f"{im['width']}x{im['height']}" for im in images.values())),
        "instances_per_category": {n: per_category.get(n, 0) for n in names.values()},
        "instances_per_image": {**spread(per_image), "histogram": {str(k): v for k, v in Counter(per_image).items()}},
        "box_width_px": spread(widths), "box_height_px": spread(heights),
        "box_size_px": spread([math.sqrt(w * h) for w, h in zip(widths, heights)]),
        "aspect_ratio": spread([w / h for w, h in zip(widths, heights)]),
        "area_px": spread([a["area"] for a in anns]),
        "centre_heatmap": heatmap(anns, images),
        "depth_m": depth_numbers(root, list(images.values())),
    }


def stats_of(root: Path, out: Path, *more: str) -> dict:
    done = run_tool("stats", root, *more, "--out", out, "--no-progress", "--samples", "2")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads((out / "stats.json").read_text())


def same(got, want) -> bool:
    """Equal, with floats compared to 1e-9 relative, through nested dicts and lists."""
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(same, got, want))
    return got == pytest.approx(want, rel=1e-9)


def check_numbers(numbers: dict, root: Path) -> None:
    want = expected(root)
    assert numbers["instances"] > 0
    for key, value in want.items():
        assert same(numbers[key], value), (key, numbers[key], value)


def test_numbers_match_the_annotations_and_depth(datasets, tmp_path):
    numbers = stats_of(datasets["narrow"], tmp_path / "report")
    check_numbers(numbers, datasets["narrow"])
    anns = json.loads((datasets["narrow"] / "annotations.json").read_text())["annotations"]
    assert numbers["visible_fraction"] is None  # amodal masks are off by default
    assert numbers["truncated"] == sum(a["truncated"] for a in anns)
    assert numbers["keypoints"]["labelled"] == sum(v > 0 for a in anns for v in a["keypoints"][2::3])


def test_ignore_regions_are_counted_apart(datasets, tmp_path):
    """An annotation with iscrowd 1 (annotator.below=ignore) is no instance: counted as an ignore region only."""
    root = tmp_path / "crowd"
    shutil.copytree(datasets["narrow"], root)
    coco = json.loads((root / "annotations.json").read_text())
    coco["annotations"][0]["iscrowd"] = 1
    (root / "annotations.json").write_text(json.dumps(coco))
    numbers = stats_of(root, tmp_path / "report")
    check_numbers(numbers, root)
    assert numbers["ignore_regions"] == 1
    assert numbers["instances"] == len(coco["annotations"]) - 1


def test_depth_is_counted_over_a_sample_of_the_frames(datasets, tmp_path):
    """--depth-frames 2 of 4: the first and the last frame's depth; more than there are: every frame."""
    root = datasets["narrow"]
    images = json.loads((root / "annotations.json").read_text())["images"]
    assert len(images) == 4
    assert same(stats_of(root, tmp_path / "two", "--depth-frames", "2")["depth_m"],
                depth_numbers(root, [images[0], images[-1]]))
    assert same(stats_of(root, tmp_path / "all", "--depth-frames", "9")["depth_m"], depth_numbers(root, images))
    done = run_tool("stats", root, "--depth-frames", "-1", "--out", tmp_path / "bad")
    assert_one_line_error(done, "simgen-stats: error: --depth-frames: expected a number of frames >= 0 (0: every "
                          "frame), got -1")


def test_optional_fields_are_summarised_where_present(datasets, tmp_path):
    numbers = stats_of(datasets["extra"], tmp_path / "report")
    anns = json.loads((datasets["extra"] / "annotations.json").read_text())["annotations"]
    visible = [a["visible_fraction"] for a in anns]
    flags = [a["keypoints"][2::3] for a in anns if "keypoints" in a]
    check_numbers(numbers, datasets["extra"])
    assert {k: numbers["visible_fraction"][k] for k in ("min", "median", "mean", "max")} == \
        pytest.approx(spread(visible))
    assert numbers["visible_fraction"]["histogram"] == [sum(min(int(v * 10 + 1e-9), 9) == b for v in visible)
                                                        for b in range(10)]
    assert numbers["truncated"] == sum(a["truncated"] for a in anns)
    assert numbers["keypoints"] == {"labelled": sum(v > 0 for f in flags for v in f),
                                    "visible": sum(v == 2 for f in flags for v in f),
                                    "instances_with_keypoints": len(flags)}
    assert (tmp_path / "report" / "visibility.png").is_file()


def test_the_numbers_are_the_same_read_a_line_at_a_time(datasets, tmp_path):
    """simgen's layout (an entry per line) is read a line at a time, holding only the sample sheets' frames'
    annotations; the optional fields (keypoints on some annotations only) count the same as read whole."""
    lines = tmp_path / "lines" / "extra"
    shutil.copytree(datasets["extra"], lines)
    (lines / "annotations.json").write_bytes(in_lines(json.loads((lines / "annotations.json").read_text())))
    numbers = [stats_of(root, tmp_path / f"report{k}") for k, root in enumerate((datasets["extra"], lines))]
    assert numbers[0] == numbers[1] and numbers[0]["keypoints"]["instances_with_keypoints"] > 0


def test_figures_and_a_self_contained_report(datasets, tmp_path):
    out = tmp_path / "report"
    stats_of(datasets["narrow"], out)
    for name in [*FIGURES, "samples"]:
        picture = read_png(out / f"{name}.png")
        assert picture.ndim == 3 and picture.std() > 10, name
    assert not (out / "visibility.png").exists()
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(FIGURES) + 1
    assert "http://" not in page and "https://" not in page
    assert (out / "simgen-stats.log").read_text().count("[simgen-stats][INFO] - ") >= 2


def test_comparison_shows_both_datasets_and_what_the_config_changed(datasets, tmp_path):
    numbers = stats_of(datasets["narrow"], tmp_path / "compare", datasets["wide"])
    check_numbers(numbers["a"], datasets["narrow"])
    check_numbers(numbers["b"], datasets["wide"])
    assert numbers["config_changes"] == [{"key": "camera.fov", "a": 50.0, "b": 75}]
    page = (tmp_path / "compare" / "report.html").read_text()
    assert "A: narrow" in page and "B: wide" in page and "camera.fov" in page
    assert (tmp_path / "compare" / "samples_a.png").is_file() and (tmp_path / "compare" / "samples_b.png").is_file()


def test_three_datasets_side_by_side_in_a_folder_beside_them(datasets, tmp_path):
    """Three members of a sweep: it compared two at most. And the default folder of two named by a long sweep
    member's name was a name too long to make."""
    sweep = tmp_path / "sweep"
    for name in ("narrow", "wide", "extra"):
        shutil.copytree(datasets[name], sweep / name)
    done = run_tool("stats", sweep / "narrow", sweep / "wide", sweep / "extra", "--no-progress", "--samples", "1")
    assert done.returncode == 0, done.stderr
    numbers = json.loads((sweep / "comparison" / "stats.json").read_text())
    for key, name in zip("abc", ("narrow", "wide", "extra")):
        check_numbers(numbers[key], datasets[name])
    assert numbers["config_changes"] == [{"key": "camera.fov", "a": 50.0, "b": 75, "c": 50.0}]
    assert "C: extra" in (sweep / "comparison" / "report.html").read_text()
    assert (sweep / "comparison" / "samples_c.png").is_file()
    long = (sweep / "wide").rename(sweep / ("w" * 250))
    assert run_tool("stats", sweep / "narrow", long, "--no-progress", "--samples", "0").returncode == 0
    assert (sweep / "narrow" / ("compare-" + "w" * 247) / "report.html").is_file()


def test_comparing_a_sweep_again_leaves_out_the_first_comparison_and_replaces_it(datasets, tmp_path):
    """`simgen-stats sweep/*/` run twice: the second time the glob also matches the first's comparison/, which was
    taken for a dataset; and a comparison of fewer datasets into the same folder kept the sample sheets of more."""
    sweep = tmp_path / "sweep"
    for name in ("narrow", "wide", "extra"):
        shutil.copytree(datasets[name], sweep / name)
    members = [sweep / name for name in ("extra", "narrow", "wide")]
    assert run_tool("stats", *members, "--no-progress", "--samples", "1").returncode == 0
    again = run_tool("stats", *sorted(sweep.iterdir()), "--no-progress", "--samples", "1")
    assert again.returncode == 0, again.stderr
    assert again.stderr == f"simgen-stats: leaving out {sweep / 'comparison'}: a simgen-stats report, not a dataset\n"
    numbers = json.loads((sweep / "comparison" / "stats.json").read_text())
    assert sorted(numbers) == ["a", "b", "c", "config_changes"]
    two = run_tool("stats", *members[:2], "--out", sweep / "comparison", "--no-progress", "--samples", "1")
    assert two.returncode == 0, two.stderr
    assert sorted(p.name for p in (sweep / "comparison").glob("samples*")) == ["samples_a.png", "samples_b.png"]
    assert "B: narrow" in (sweep / "comparison" / "report.html").read_text()


def test_a_failed_jobs_folder_is_named_as_such(datasets, tmp_path):
    failed = tmp_path / "camera.fov=200"
    failed.mkdir()
    (failed / "simgen.log").write_text("[simgen][ERROR] - camera.fov: expected a number in (0, 180), got 200\n")
    done = run_tool("stats", datasets["narrow"], failed, "--no-progress")
    assert_one_line_error(done, f"{failed}/annotations.json: missing; no dataset, only simgen.log: a run that "
                                "stopped before its first frame")


def test_the_config_diff_names_effects_given_in_another_order(tmp_path):
    """The same effects in another order make other images; flattened by name, their configs read the same."""
    for name, order in (("a", ["blur", "jpeg"]), ("b", ["jpeg", "blur"])):
        (tmp_path / name).mkdir()
        effects = {effect: {"_target_": f"simgen.effects.sensor.{effect}"} for effect in order}
        (tmp_path / name / "config.yaml").write_text(json.dumps({"seed": 0, "effects": effects, "randomizers": {}}))
    configs = [config_diff.load_config(tmp_path / name) for name in "ab"]
    assert config_diff.diff(*configs) == [{"key": "effects", "a": ["blur", "jpeg"], "b": ["jpeg", "blur"]}]


def test_default_output_folders(datasets):
    assert run_tool("stats", datasets["wide"], "--no-progress", "--samples", "0").returncode == 0
    assert (datasets["wide"] / "report" / "stats.json").is_file()
    assert not (datasets["wide"] / "report" / "samples.png").exists()


def test_a_progress_bar_with_an_eta(datasets, tmp_path):
    done = run_tool("stats", datasets["narrow"], "--out", tmp_path / "r", "--samples", "1")
    assert "4/4" in done.stderr and "<00:00" in done.stderr


def broken_annotations(tmp_path: Path, text: str) -> Path:
    (tmp_path / "bad").mkdir(parents=True)
    (tmp_path / "bad" / "annotations.json").write_text(text)
    return tmp_path / "bad"


IMAGE = {"id": 1, "file_name": "rgb/000000.png", "width": 4, "height": 4}


@pytest.mark.parametrize("args, expected", [
    (["{missing}"], ["missing", "no such dataset directory"]),
    (["{empty}"], ["empty/annotations.json: missing; not a finished simgen dataset"]),
    (["{not_json}"], ["annotations.json", "not a readable JSON file"]),
    (["{not_coco}"], ["annotations.json: no 'images' list; not a COCO instances file"]),
    (["{no_file_name}"], ["annotations.json: images[0] (id 1): no 'file_name'"]),
    (["{orphan}"], ["annotations.json: annotations[0]: 'image_id': expected the id of one of the images, got 7"]),
    (["{twice}"], ["annotations.json: images[1] (id 1): 'id': expected an id no earlier image has, got 1"]),
    (["{short_rle}"], ["annotations.json: annotations[0]: 'segmentation': expected RLE counts as a string or as run "
                       "lengths adding up to 16, got [1, 2]"]),
    (["{good}", "{missing}"], ["missing", "no such dataset directory"]),
    (["{good}", "--samples", "-1"], ["--samples"]),
    (["{good}", "--samples", "101"], ["--samples", "from 0 to 100, got 101"]),
    (["{good}", "--colour"], ["unrecognized arguments: --colour"]),
])
def test_bad_input_is_one_line(datasets, tmp_path, args, expected):
    (tmp_path / "empty").mkdir()
    paths = {"missing": tmp_path / "missing", "empty": tmp_path / "empty", "good": datasets["narrow"],
             "not_json": broken_annotations(tmp_path / "a", "{not json"),
             "not_coco": broken_annotations(tmp_path / "b", '{"annotations": [], "categories": []}'),
             "no_file_name": broken_annotations(tmp_path / "c", json.dumps(
                 {"images": [{"id": 1, "width": 4, "height": 4}], "annotations": [], "categories": []})),
             "orphan": broken_annotations(tmp_path / "d", json.dumps(
                 {"images": [], "annotations": [{"image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1,
                                                 "segmentation": [[0, 0, 1, 0, 1, 1]]}],
                  "categories": []})),
             "twice": broken_annotations(tmp_path / "e", json.dumps(
                 {"images": [IMAGE, IMAGE], "annotations": [], "categories": []})),
             "short_rle": broken_annotations(tmp_path / "f", json.dumps(
                 {"images": [IMAGE], "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1,
                                                      "segmentation": {"size": [4, 4], "counts": [1, 2]}}],
                  "categories": []}))}
    done = run_tool("stats", *[a.format(**paths) for a in args], "--out", tmp_path / "out")
    assert_one_line_error(done, "simgen-stats: error:", *expected)


def test_a_dataset_without_instances(datasets, tmp_path):
    empty = tmp_path / "empty"
    coco = json.loads((datasets["narrow"] / "annotations.json").read_text())
    empty.mkdir()
    for folder in ("rgb", "depth"):
        (empty / folder).symlink_to(datasets["narrow"] / folder)
    (empty / "annotations.json").write_text(json.dumps({**coco, "annotations": []}))
    numbers = stats_of(empty, tmp_path / "report")
    assert numbers["instances"] == 0 and numbers["categories_present"] == 0
    assert numbers["instances_per_image"]["histogram"] == {"0": len(coco["images"])}
    assert numbers["box_size_px"] is None and numbers["aspect_ratio"] is None
    assert numbers["depth_m"] == pytest.approx(expected(datasets["narrow"])["depth_m"])


REMOVE = object()


def set_field(kind: str, index: int, key: str, value=REMOVE):
    """A damage: annotations.json's coco[kind][index][key] set to `value`, or removed."""
    def damage(root: Path) -> None:
        coco = json.loads((root / "annotations.json").read_text())
        if value is REMOVE:
            del coco[kind][index][key]
        else:
            coco[kind][index][key] = value
        (root / "annotations.json").write_text(json.dumps(coco))
    return damage


@pytest.mark.parametrize("damage, expected", [
    (set_field("annotations", 0, "area"), ["annotations.json: annotations[0] (id 1): no 'area'"]),
    (set_field("annotations", 1, "bbox", [1, 2]),
     ["annotations.json: annotations[1] (id 2): 'bbox': expected [x, y, width, height]", "got [1, 2]"]),
    (set_field("annotations", 1, "bbox", [1, 2, 3, float("inf")]), ["annotations[1] (id 2): 'bbox'", "Infinity]"]),
    (set_field("annotations", 2, "area", "big"),
     ["annotations[2] (id 3): 'area': expected a number >= 0, got \"big\""]),
    (set_field("annotations", 0, "visible_fraction", "half"),
     ["annotations[0] (id 1): 'visible_fraction': expected a finite number, got \"half\""]),
    (set_field("images", 0, "width", 0),
     ["annotations.json: images[0] (id 1): 'width': expected a positive integer up to 65536, got 0"]),
    (set_field("images", 1, "height", -4),
     ["annotations.json: images[1] (id 2): 'height': expected a positive integer up to 65536, got -4"]),
    (set_field("images", 0, "depth_scale", 0),
     ["annotations.json: images[0] (id 1): 'depth_scale': expected a positive number, got 0"]),
    (set_field("categories", 0, "name", 3),
     ["annotations.json: categories[0] (id 1): 'name': expected a string, got 3"]),
], ids=["no-area", "short-bbox", "infinite-bbox", "string-area", "string-visible-fraction", "zero-width",
        "negative-height", "zero-depth-scale", "number-name"])
def test_corrupt_annotations_are_one_line(datasets, tmp_path, damage, expected):
    broken = tmp_path / "broken"
    shutil.copytree(datasets["narrow"], broken)
    damage(broken)
    done = run_tool("stats", broken, "--out", tmp_path / "out", "--no-progress")
    assert done.returncode == 2
    assert_one_line_error(done, "simgen-stats: error:", *expected)
