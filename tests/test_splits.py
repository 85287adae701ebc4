"""Train/val/test splits: validated ratios, a deterministic partition by seed, drawn per scene (all views of a
scene in one split) in the assignment, the dataset reader, the export writers and simgen-export."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import SMALL, run_simgen
from simgen import splits
from simgen.errors import ConfigError
from simgen.export import dataset


@pytest.mark.parametrize("value, key", [
    ({"train": 0.8, "val": 0.3}, r"splits: expected train \+ val \+ test = 1"),
    ({"train": 1.2, "val": -0.2}, "splits.train"),
    ({"train": 0.5, "valid": 0.5}, "splits.valid: unknown split"),
    ({"train": "most", "val": 0.2}, "splits.train"),
])
def test_bad_ratios_name_the_key(value, key):
    with pytest.raises(ConfigError, match=key):
        splits.ratios(value)


@pytest.mark.parametrize("n, fractions, counts", [
    (10, {"train": 0.8, "val": 0.2, "test": 0.0}, (8, 2, 0)),
    (10, {"train": 0.7, "val": 0.2, "test": 0.1}, (7, 2, 1)),
    (3, {"train": 0.8, "val": 0.1, "test": 0.1}, (1, 1, 1)),   # every asked-for split gets a frame
    (1, {"train": 0.8, "val": 0.2, "test": 0.0}, (1, 0, 0)),
    (7, {"train": 1.0, "val": 0.0, "test": 0.0}, (7, 0, 0)),
])
def test_splits_partition_the_frames_by_ratio(n, fractions, counts):
    parts = splits.assign(list(range(n)), fractions, seed=0)
    assert tuple(len(parts[name]) for name in splits.SPLIT_NAMES) == counts
    assert sorted(i for part in parts.values() for i in part) == list(range(n))


def test_splits_are_deterministic_by_seed():
    fractions = splits.ratios({"train": 0.6, "val": 0.2, "test": 0.2})
    frames = list(range(50))
    assert splits.assign(frames, fractions, 3) == splits.assign(frames, fractions, 3)
    assert splits.assign(frames, fractions, 3) != splits.assign(frames, fractions, 4)
    assert splits.assign(frames[::-1], fractions, 3) == splits.assign(frames, fractions, 3)


# ---- per scene: all views of a scene (frame i views scene i // views_per_scene) in one split ----

def F(train: float, val: float, test: float) -> dict[str, float]:
    return {"train": train, "val": val, "test": test}


def scene_parts(parts: dict[str, list[int]], views_per_scene: int) -> dict[str, set[int]]:
    return {name: {i // views_per_scene for i in frames} for name, frames in parts.items()}


@pytest.mark.parametrize("frames, views, fractions, scene_counts", [
    (range(12), 3, F(0.5, 0.5, 0.0), (2, 2, 0)),
    (range(9), 3, F(0.8, 0.2, 0.0), (2, 1, 0)),              # 3 scenes, rounded in scenes
    (range(10), 4, F(0.8, 0.1, 0.1), (1, 1, 1)),             # the last scene has 2 of its 4 views
    ([2, 3, 6, 7, 10, 11], 2, F(0.7, 0.2, 0.1), (1, 1, 1)),  # shard 1 of 2: scenes 1, 3, 5; each split gets one
    (range(4), 2, F(0.8, 0.1, 0.1), (2, 0, 0)),              # 2 scenes are not enough for 3 splits
    (range(60), 5, F(0.7, 0.2, 0.1), (8, 3, 1)),
])
def test_views_of_a_scene_land_in_one_split(frames, views, fractions, scene_counts):
    frames = list(frames)
    parts = splits.assign(frames, fractions, 0, views)
    scenes = scene_parts(parts, views)
    assert tuple(len(scenes[name]) for name in splits.SPLIT_NAMES) == scene_counts
    for name, part in parts.items():
        assert part == sorted(i for i in frames if i // views in scenes[name])  # every view of its scenes
    assert sorted(i for part in parts.values() for i in part) == sorted(frames)


@pytest.mark.parametrize("frames, fractions, seed, views, expected", [
    # views_per_scene=1: exactly the per-frame assignment of datasets made before splits went per scene
    (range(10), F(0.8, 0.2, 0.0), 0, 1, ([1, 3, 4, 5, 6, 7, 8, 9], [0, 2], [])),
    (range(7), F(0.7, 0.2, 0.1), 3, 1, ([0, 1, 4, 5, 6], [3], [2])),
    (range(12), F(0.5, 0.5, 0.0), 0, 1, ([1, 5, 7, 8, 9, 10], [0, 2, 3, 4, 6, 11], [])),
    # several views: the scenes are drawn as frames were (scene s in place of frame s)
    (range(12), F(0.5, 0.5, 0.0), 0, 3, ([3, 4, 5, 9, 10, 11], [0, 1, 2, 6, 7, 8], [])),
    (range(10), F(0.7, 0.2, 0.1), 3, 2, ([0, 1, 2, 3, 8, 9], [6, 7], [4, 5])),
])
def test_split_assignments_are_pinned(frames, fractions, seed, views, expected):
    parts = splits.assign(list(frames), fractions, seed, views)
    assert tuple(parts[name] for name in splits.SPLIT_NAMES) == expected
    if views == 1:
        assert splits.assign(list(frames), fractions, seed) == parts


@pytest.mark.parametrize("views", [0, -2, 1.5, True, "3"])
def test_bad_views_per_scene_is_refused(views):
    with pytest.raises(ConfigError, match="views_per_scene"):
        splits.assign(list(range(6)), F(0.5, 0.5, 0.0), 0, views)


def write_dataset(root: Path, num_frames: int, config_yaml: str) -> Path:
    """A dataset's annotations.json (images only) and config.yaml, as simgen writes them."""
    root.mkdir(parents=True)
    images = [{"id": i + 1, "file_name": f"rgb/{i:06d}.png", "width": 160, "height": 120, "frame_index": i}
              for i in range(num_frames)]
    (root / "annotations.json").write_text(json.dumps({"images": images, "annotations": [], "categories": []}))
    (root / "config.yaml").write_text(config_yaml)
    return root


SPLITS_HALF = "splits: {train: 0.5, val: 0.5, test: 0.0}\n"


@pytest.mark.parametrize("config_yaml, num_frames, args, expected", [
    ("seed: 0\nviews_per_scene: 3\n" + SPLITS_HALF, 12, (), ([3, 4, 5, 9, 10, 11], [0, 1, 2, 6, 7, 8], [])),
    # simgen-export --splits/--seed: other fractions and seed, the dataset's views_per_scene
    ("seed: 0\nviews_per_scene: 2\n" + SPLITS_HALF, 10, (F(0.7, 0.2, 0.1), 3), ([0, 1, 2, 3, 8, 9], [6, 7], [4, 5])),
])
def test_dataset_splits_by_its_views_per_scene(tmp_path, config_yaml, num_frames, args, expected):
    data = dataset.load(write_dataset(tmp_path / "ds", num_frames, config_yaml))
    parts = data.split_frames(*args)
    assert tuple(parts[name] for name in splits.SPLIT_NAMES) == expected
    images = data.split_images(*args)
    assert {name: [img["frame_index"] for img in imgs] for name, imgs in images.items()} == parts


@pytest.mark.parametrize("value", ["0", "two", "1.5", "[3]"])
def test_bad_views_per_scene_in_config_yaml_names_it(tmp_path, value):
    data = dataset.load(write_dataset(tmp_path / "ds", 6, f"seed: 0\nviews_per_scene: {value}\n" + SPLITS_HALF))
    with pytest.raises(dataset.DatasetError, match=r"config\.yaml: views_per_scene: expected an integer"):
        data.split_frames()


def exported_frames(root: Path) -> dict[str, dict[str, list[int]]]:
    """{export: {split: frame indices}} from the COCO split files, YOLO images and labels, and BOP scenes found."""
    found: dict[str, dict[str, list[int]]] = {}
    for name in splits.SPLIT_NAMES:
        path = root / f"annotations_{name}.json"
        if path.is_file():
            images = json.loads(path.read_text())["images"]
            found.setdefault("coco", {})[name] = sorted(image["frame_index"] for image in images)
        for task in ("detect", "segment"):
            for kind, ext in (("images", ".png"), ("labels", ".txt")):
                folder = root / "yolo" / task / kind / name
                if folder.is_dir():
                    found.setdefault(f"yolo/{task}/{kind}", {})[name] = sorted(
                        int(p.name[:-len(ext)]) for p in folder.iterdir())
        scene = root / "bop" / name / "000000" / "scene_gt.json"
        if scene.is_file():
            found.setdefault("bop", {})[name] = sorted(int(k) for k in json.loads(scene.read_text()))
    return found


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"simgen.tools.{name}", *map(str, args)], capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("num_frames, views, writers, fractions, exports", [
    (12, 3, "[images,coco,meta,splits,yolo]", "{train: 0.5, val: 0.5, test: 0.0}",
     {"coco", "yolo/detect/images", "yolo/detect/labels", "yolo/segment/images", "yolo/segment/labels"}),
    (10, 2, "[images,coco,meta,splits,bop]", "{train: 0.6, val: 0.2, test: 0.2}", {"coco", "bop"}),
])
def test_run_keeps_each_scene_in_one_split(tmp_path, num_frames, views, writers, fractions, exports):
    root = tmp_path / "ds"
    done = run_simgen([f"output_dir={root}", f"num_frames={num_frames}", f"views_per_scene={views}", *SMALL,
                       f"writers={writers}", f"splits={fractions}"], tmp_path)
    assert done.returncode == 0, done.stderr
    for again in (False, True):  # as the run's writers made them, then as simgen-export remakes them
        if again:
            for export in ("splits", "yolo" if "yolo" in writers else "bop"):
                made = tool("export", root, "--format", export)
                assert made.returncode == 0, made.stderr
        found = exported_frames(root)
        assert set(found) == exports
        for export, parts in found.items():
            scenes = scene_parts(parts, views)
            assert all(not scenes[a] & scenes[b] for a in parts for b in parts if a < b), (export, parts)
            expected = splits.assign(list(range(num_frames)), yaml.safe_load(fractions), 0, views)
            assert {name: part for name, part in expected.items() if part} == parts, export
        checked = tool("check", root)
        assert checked.returncode == 0 and "all checks passed" in checked.stdout, checked.stdout + checked.stderr
