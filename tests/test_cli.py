"""End to end: the real `simgen` command, real PyBullet, real files read back with pycocotools."""

import json
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from conftest import SMALL, run_simgen, with_ctrl_c
from simgen.generate import RunSummary


def read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image


def check_dataset(root: Path) -> COCO:
    """Every image on disk and the right size; every box, area and mask agreeing with the masks."""
    coco = COCO(str(root / "annotations.json"))
    assert coco.dataset["categories"] and coco.dataset["images"]
    for image in coco.dataset["images"]:
        stem = Path(image["file_name"]).stem
        rgb, depth = read(root / image["file_name"]), read(root / "depth" / f"{stem}.png")
        instance, semantic = read(root / "instance" / f"{stem}.png"), read(root / "semantic" / f"{stem}.png")
        assert rgb.shape == (image["height"], image["width"], 3)
        assert depth.dtype == np.uint16 and instance.dtype == np.uint16 and semantic.dtype == np.uint16
        assert depth.shape == instance.shape == semantic.shape == (image["height"], image["width"])
        assert np.array(image["intrinsics"]).shape == (3, 3) and np.array(image["world_to_camera"]).shape == (4, 4)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            mask = instance == ann["instance_value"]
            assert np.array_equal(coco.annToMask(ann).astype(bool), mask)
            ys, xs = np.nonzero(mask)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            assert ann["area"] == mask.sum() and ann["iscrowd"] == 0
            assert np.all(semantic[mask] == ann["category_id"])
            assert np.all(depth[mask] > 0)
    ids = [a["id"] for a in coco.dataset["annotations"]]
    assert len(set(ids)) == len(ids)
    return coco


def test_dataset_reads_back_with_pycocotools(small_dataset):
    root = small_dataset(frames=4)
    coco = check_dataset(root)
    assert len(coco.imgs) == 4 and len(coco.anns) >= 4
    assert {c["name"] for c in coco.dataset["categories"]} >= {"duck", "teddy", "mug", "box", "blob"}
    assert (root / "config.yaml").is_file() and len(list((root / "meta").glob("*.json"))) == 4
    assert coco.dataset["info"]["depth_scale"] == 0.001


def test_same_command_gives_identical_bytes_and_a_new_seed_changes_them(small_dataset):
    a, b = small_dataset(name="a"), small_dataset(name="b")
    c = small_dataset("seed=7", name="c")
    assert (a / "annotations.json").read_bytes() == (b / "annotations.json").read_bytes()
    for kind in ("instance", "semantic", "depth"):
        for f in sorted((a / kind).glob("*.png")):
            assert f.read_bytes() == (b / kind / f.name).read_bytes()
    assert (a / "annotations.json").read_bytes() != (c / "annotations.json").read_bytes()


def test_polygon_segmentation_and_jpeg_rgb(small_dataset):
    root = small_dataset("writers.coco.segmentation=polygon", "writers.images.rgb_format=jpg")
    coco = COCO(str(root / "annotations.json"))
    for ann in coco.dataset["annotations"]:
        image = coco.imgs[ann["image_id"]]
        assert image["file_name"].endswith(".jpg") and (root / image["file_name"]).is_file()
        assert isinstance(ann["segmentation"], list) and ann["segmentation"]
        instance = read(root / "instance" / f"{Path(image['file_name']).stem}.png") == ann["instance_value"]
        poly = coco.annToMask(ann).astype(bool)
        assert (poly & instance).sum() / (poly | instance).sum() > 0.6


def test_bin_scene_and_tiny_renderer(small_dataset):
    check_dataset(small_dataset("scene=bin", "renderer=tiny", frames=2))


@pytest.mark.parametrize("workers", [1, 2])
def test_frames_drawn_before_their_objects_came_to_rest_are_counted_in_a_warning(small_dataset, workers):
    """A scene too crowded for its support never comes to rest: the run says so instead of passing silently."""
    out = small_dataset("world.max_steps=5", f"workers={workers}", frames=3, name=f"unsettled{workers}")
    assert "3 of 3 frames were drawn with objects still moving" in (out / "simgen.log").read_text()
    calm = small_dataset(frames=3, name=f"settled{workers}")
    assert "still moving" not in (calm / "simgen.log").read_text()


def test_a_camera_that_sees_no_object_in_most_frames_is_a_warning(small_dataset):
    """Under the floor, the camera sees its underside only: a run of empty frames says so."""
    out = small_dataset("scene=floor", "camera.elevation=-20", frames=2)
    assert "2 of 2 frames have nothing annotated (ignore regions aside): does the camera see the objects" in \
        (out / "simgen.log").read_text()


def test_existing_dataset_is_not_overwritten_unless_asked(small_dataset, tmp_path):
    root = small_dataset()
    before = (root / "annotations.json").read_bytes()
    again = run_simgen([f"output_dir={root}", "num_frames=3", "seed=5", *SMALL], tmp_path)
    assert again.returncode == 2 and "already holds a finished dataset made with another config" in again.stderr
    assert (root / "annotations.json").read_bytes() == before
    replaced = run_simgen([f"output_dir={root}", "num_frames=2", "overwrite=true", *SMALL], tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert len(json.loads((root / "annotations.json").read_text())["images"]) == 2


def dataset_bytes(root: Path) -> dict:
    """Every file of a dataset but its log, by path: what two runs must agree on byte for byte."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "simgen.log"}


EXPORTS = ["writers=[images,coco,meta,splits,yolo,bop]"]


def file_stamps(root: Path) -> dict:
    """Every file of a dataset but its log, by path: its inode and modification time (a file made again differs)."""
    return {str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "simgen.log"}


def test_the_same_command_on_a_finished_dataset_makes_only_its_lost_exports(small_dataset, tmp_path):
    """Nothing left to render: annotations.json and the exports are left as they are (not a file written again);
    a kill -9 between annotations.json and the exports (exports missing, their hidden staging folders left) is
    repaired with the same bytes, and the exports that were there are kept."""
    root = small_dataset(*EXPORTS, frames=2)
    reference = dataset_bytes(root)
    stamps = file_stamps(root)
    assert {"bop/train/000000/scene_gt.json", "annotations_train.json", "yolo/detect/data.yaml"} <= set(reference)
    again = run_simgen([f"output_dir={root}", "num_frames=2", *SMALL, *EXPORTS], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "simgen: 2 frames (0 rendered, 2 already on disk)" in again.stdout
    assert file_stamps(root) == stamps
    shutil.rmtree(root / "bop")
    for split in root.glob("annotations_*.json"):
        split.unlink()
    stages = [root / ".bop.tmp4242", root / "yolo" / ".detect.tmp4242"]
    for stage in stages:
        (stage / "train").mkdir(parents=True)
        (stage / "train" / "half.json").write_text("{")
    set_aside = root / "yolo" / ".segment.old.tmp4242"  # killed while replacing it: the old one aside, no new one yet
    (root / "yolo" / "segment").rename(set_aside)
    repaired = run_simgen([f"output_dir={root}", "num_frames=2", *SMALL, *EXPORTS], tmp_path)
    assert repaired.returncode == 0, repaired.stderr
    assert not any(stage.exists() for stage in [*stages, set_aside])
    assert dataset_bytes(root) == reference
    kept = file_stamps(root)
    assert kept["annotations.json"] == stamps["annotations.json"]
    shutil.rmtree(root / "yolo" / "detect")
    (root / "rgb" / "000001.png").unlink()  # a frame lost: it is rendered, and everything made from it made again
    remade = run_simgen([f"output_dir={root}", "num_frames=2", *SMALL, *EXPORTS], tmp_path)
    assert remade.returncode == 0, remade.stderr
    assert "simgen: 2 frames (1 rendered, 1 already on disk)" in remade.stdout
    assert dataset_bytes(root) == reference
    assert file_stamps(root)["annotations.json"] != stamps["annotations.json"]


def test_a_split_left_empty_is_no_export_to_make_again(small_dataset, tmp_path):
    """One scene for train and val: val gets no file, and every rerun of the finished dataset wrote the split files
    again, taking that for an export a kill had cut short."""
    args = ["writers=[images,coco,meta,splits]"]
    root = small_dataset(*args, frames=1)
    assert sorted(p.name for p in root.glob("annotations_*.json")) == ["annotations_train.json"]
    stamps = file_stamps(root)
    again = run_simgen([f"output_dir={root}", "num_frames=1", *SMALL, *args], tmp_path)
    assert again.returncode == 0, again.stderr
    assert file_stamps(root) == stamps


def test_a_dataset_killed_before_its_first_frame_gives_way_to_another_config(small_dataset, tmp_path):
    """What a kill -9 before the first frame leaves (config.yaml, empty folders, perhaps a half-written temporary
    file) is discarded by the next run, whatever its config."""
    root = small_dataset(frames=1)
    for entry in root.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
            entry.mkdir()
        elif entry.name != "config.yaml":
            entry.unlink()
    (root / "rgb" / ".000000.png.tmp4242").write_bytes(b"\x89PNG half")
    reference = small_dataset("seed=4", frames=2, name="reference")
    done = run_simgen([f"output_dir={root}", "num_frames=2", "seed=4", *SMALL], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "simgen: 2 frames (2 rendered)" in done.stdout
    assert dataset_bytes(root) == dataset_bytes(reference)


@pytest.mark.parametrize("args, key", [
    (["num_frames=0"], "num_frames"),
    (["camera.width=0"], "camera.width"),
    (["objects.count=0"], "objects.count"),
    (["renderer=vulkan"], "renderer"),
    (["+objects.colour=1"], "objects.colour"),
    (["+catalog.categories.chair={id:30,files:missing/chair.obj}"], "catalog.categories.chair.files"),
    (["camera.elevation=-5", "camera.distance=0.3", "camera.target_jitter=0"], "camera"),
    (["num_frames=abc"], "num_frames: Value 'abc' of type 'str' could not be converted to Integer"),
    (["camera.fovv=40"], "camera.fovv: unknown key, did you mean camera.fov?\n"),  # and no "+camera.fovv" hint
    (["scene=kitchen"], "scene: no option 'kitchen' (expected one of: bin, floor, shelf, tabletop)"),
    (["camera.fov=[40,"], "cannot read the override 'camera.fov=[40,'"),
    (["light=random", "light.direction=5"], "light.direction: expected 3 numbers, a pair [low, high] of such lists"),
    (["light=random", "~light.direction", "+light.direction=[0,0,0]"], "light.direction: expected a direction"),
    (["writers=[coco,meta]"], "writers.coco: needs the RGB images"),
    (["writers.images.rgb_format=jpg", "writers.coco.image_ext=png"], "writers.coco.image_ext: expected jpg"),
    (["splits={train: -0.5, val: 1.5}"], "splits.train: expected a number in [0, 1]"),
    (["randomizers.color._target_=builtins.dict"], "randomizers.color._target_: expected a randomizer"),
    (["randomizers.color.alpha=0"], "randomizers.color.alpha: expected a number in (0, 1]"),
    (["experiment=null"], "experiment: no experiment is the default; leave the override out"),
    (["num_frames=1000000000000"], "num_frames: expected an integer in [1, 1000000000]"),
    (["objects.count=5000"], "objects.count[0]: expected an integer in [0, 1000]"),
    (["splits={train: 0.8, val: 0.2, foo: 0}"], "splits.foo: unknown key, expected one of: train, val, test\n"),
    (["hydra.searchpath=[file://my_cnf]"], "hydra.searchpath: no config folder or package 'my_cnf' (a file:// "),
    (["-m", "--cfg", "job"], "Only one of --run, --multirun, --cfg, --info and --shell_completion can be specified"),
])
def test_bad_input_is_a_short_error_and_no_dataset(tmp_path, args, key):
    out = tmp_path / "bad"
    done = run_simgen([f"output_dir={out}", "num_frames=2", *SMALL, *args], tmp_path)
    assert done.returncode == 2
    not_logged = [line + "\n" for line in done.stderr.splitlines() if not line.startswith("[")]
    assert len(not_logged) == 1 and not_logged[0].startswith(f"simgen: error: {key}"), done.stderr
    assert not (out / "annotations.json").exists()
    assert not out.exists() or not any(p.name != "simgen.log" for p in out.iterdir())


@pytest.mark.parametrize("option, text, message", [
    ("scene=broken", "name: x\nregion: [[0, 0], [1, 1]\n", "scene/broken.yaml: not valid YAML: expected ',' or ']'"),
    ("scene=untargeted", "name: x\nsupport_height: 0.5\nregion: [[0, 0], [1, 1]]\ntarget: [0, 0, 0]\n",
     "scene: expected an option's settings with the _target_ of the class they build"),
    ("camera=listed", "- 1\n- 2\n", "camera: expected an option's settings"),
])
def test_a_users_broken_config_file_is_one_line(tmp_path, option, text, message):
    """Config files of the user's own (hydra.searchpath): tracebacks before, at composing or at the first frame."""
    group, name = option.split("=")
    (tmp_path / "conf" / group).mkdir(parents=True)
    (tmp_path / "conf" / group / f"{name}.yaml").write_text(text)
    out = tmp_path / "out"
    done = run_simgen([f"hydra.searchpath=[file://{tmp_path / 'conf'}]", option, f"output_dir={out}", "num_frames=1",
                       "progress=false"], tmp_path)  # not SMALL: camera.width would not apply to a list
    lines = [line for line in done.stderr.splitlines() if not line.startswith("[")]
    assert done.returncode == 2 and len(lines) == 1 and message in lines[0], done.stderr
    assert not (out / "annotations.json").exists()


def test_a_runs_error_is_in_its_log_file_too(tmp_path):
    """simgen.log beside the dataset ended without it (a cluster job's log is often all there is to read)."""
    out = tmp_path / "out"
    done = run_simgen([f"output_dir={out}", "num_frames=1", *SMALL, "camera.elevation=-5", "camera.distance=0.3",
                       "camera.target_jitter=0"], tmp_path)
    assert done.returncode == 2
    assert "[simgen][ERROR] - camera: the camera at" in (out / "simgen.log").read_text().splitlines()[-1]


def test_a_refused_run_leaves_the_datasets_log_as_it_was(small_dataset, tmp_path):
    """The refusal went into the finished dataset's simgen.log as an ERROR line."""
    root = small_dataset(frames=1)
    log = (root / "simgen.log").read_bytes()
    done = run_simgen([f"output_dir={root}", "num_frames=1", *SMALL, "seed=5"], tmp_path)
    assert done.returncode == 2 and "already holds a finished dataset" in done.stderr
    assert (root / "simgen.log").read_bytes() == log


def test_the_summary_counts_one_in_the_singular():
    summary = RunSummary(Path("x"), frames=1, rendered=1, instances=1, seconds=2.0, renderer="tiny",
                         categories_seen={3})
    assert summary.line() == "1 frame (1 rendered), 1 instance, 1 category in 2.0 s (0.5 frames/s, tiny renderer)"


@pytest.mark.parametrize("folder", ["hydra.searchpath=[file://conf]", "--config-dir=conf"])
def test_an_unknown_option_lists_the_users_own_options_too(tmp_path, folder):
    """It listed simgen's own options only."""
    (tmp_path / "conf" / "randomizers").mkdir(parents=True)
    (tmp_path / "conf" / "randomizers" / "drop_fixtures.yaml").write_text("drop_fixtures:\n  _target_: x.Y\n")
    done = run_simgen([folder, "randomizers=[color,drop_fixture]",
                       f"output_dir={tmp_path / 'out'}"], tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == (
        "simgen: error: randomizers: no option 'drop_fixture', did you mean drop_fixtures? (expected one of: "
        "background, color, drop_fixtures, physics, pile, texture)")


@pytest.mark.parametrize("override, message", [
    ("camera.fov=40", "camera.fov: the config file leaves it to simgen.randomizers.camera.CameraRandomizer's default, "
                      "so the command line must add it: +camera.fov=40"),
    ("camera.fvo=40", "camera.fvo: unknown key, did you mean camera.fov?"),
])
def test_a_key_a_users_option_leaves_to_its_default_is_added_with_a_plus(tmp_path, override, message):
    """It said that the camera option 'fov' was not selected, to be selected with camera=[...,fov]."""
    (tmp_path / "conf" / "camera").mkdir(parents=True)
    (tmp_path / "conf" / "camera" / "top.yaml").write_text(
        "_target_: simgen.randomizers.camera.CameraRandomizer\nelevation: [80, 89]\n")
    done = run_simgen([f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "camera=top", override,
                       f"output_dir={tmp_path / 'out'}", "num_frames=1", "progress=false"], tmp_path)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("[")]
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"simgen: error: {message}"), done.stderr


@pytest.mark.parametrize("args, key", [
    (["camera.fov={_target_: simgen.sampling.Normal, mean: 50, std: 5000}"], "camera.fov: expected a number in"),
    (["objects.margin=10"], "objects.margin: 10.0 leaves no room in the support region"),
    (["distractors=[clutter]", "distractors.clutter.margin=5"],  # it was clamped: every distractor in the middle
     "distractors.clutter.margin: 5.0 leaves no room in the support region"),
    (["objects.categories=[sphere]", "~catalog.categories.sphere.size",
      "+catalog.categories.sphere.size={_target_: simgen.sampling.Normal, mean: [0.001], std: [0.5]}"],
     "catalog.categories.sphere.size[0]: expected a number > 0"),
])
def test_a_value_drawn_out_of_range_names_its_whole_key(tmp_path, args, key):
    """Caught when drawn (a Normal has no bounds), and named by its whole key: it said `fov`, or
    `objects.catalog.categories...` (the key of the randomizer that drew it, before a whole key)."""
    done = run_simgen([f"output_dir={tmp_path / 'out'}", "num_frames=3", *SMALL, *args], tmp_path)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("[")]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith(f"simgen: error: {key}"), lines[0]


def test_a_damaged_frame_record_is_one_line_saying_how_to_mend_it(tmp_path):
    out = tmp_path / "out"
    args = [f"output_dir={out}", "num_frames=2", *SMALL, "workers=1"]
    assert run_simgen(args, tmp_path).returncode == 0
    whole = (out / "annotations.json").read_bytes()
    (out / "annotations.json").unlink()
    record = out / "coco" / "000001.json"
    record.write_text("{")
    done = run_simgen(args, tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == (
        f"simgen: error: {record}: not a frame's COCO record (damaged?); delete it and run the simgen command that "
        "made it again to make the frame anew"), done.stderr
    record.unlink()
    assert run_simgen(args, tmp_path).returncode == 0 and (out / "annotations.json").read_bytes() == whole


@pytest.mark.parametrize("multirun", [False, True])
def test_an_output_dir_that_cannot_be_made_is_a_one_line_error(tmp_path, multirun):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    args = ["-m", "seed=1,2"] if multirun else []
    done = run_simgen([*args, f"output_dir={blocker / 'ds'}", "num_frames=1", *SMALL], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"simgen: error: output_dir: cannot create {blocker / 'ds'} "
                                                "(Not a directory)"]


def test_a_write_that_fails_is_a_one_line_error_leaves_no_partial_file_and_resumes(small_dataset, tmp_path):
    """A file-size limit makes the first write of frame 0 above it (an image, or its meta record) fail as a full
    disk would (EFBIG instead of ENOSPC).

    Objects without temporary files (no round primitives' unit meshes, no capped copy of jenga's texture), so
    that the first file written above the limit is the dataset's."""
    plain = ["objects.categories=[duck,mug]"]
    reference = small_dataset(*plain, frames=3, name="reference")
    out = tmp_path / "full"
    args = [sys.executable, "-m", "simgen", f"output_dir={out}", "num_frames=3", *SMALL, *plain]
    limited = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (5000, 5000)))
    assert limited.returncode == 2 and "Traceback" not in limited.stderr
    last = limited.stderr.strip().splitlines()[-1]
    frame_file = rf"{re.escape(str(out))}/\w+/000000\.\w+"
    assert re.match(rf"simgen: error: output_dir: cannot write {frame_file} \(File too large\)", last), last
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    done = run_simgen([f"output_dir={out}", "num_frames=3", *SMALL, *plain], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "annotations.json").read_bytes() == (reference / "annotations.json").read_bytes()


def test_a_temporary_file_that_cannot_be_written_is_a_one_line_error_naming_tmpdir(tmp_path):
    out = tmp_path / "ds"
    args = [sys.executable, "-m", "simgen", f"output_dir={out}", "num_frames=1", *SMALL, "objects.categories=[sphere]"]
    limited = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (5000, 5000)))
    assert limited.returncode == 2 and "Traceback" not in limited.stderr
    last = limited.stderr.strip().splitlines()[-1]
    assert re.match(r"simgen: error: TMPDIR: cannot write \S+unit_sphere\.obj \(File too large\)", last), last


def test_interrupted_run_resumes_to_the_same_dataset(small_dataset, tmp_path):
    reference = small_dataset(frames=5, name="reference")
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "simgen", f"output_dir={out}", "num_frames=5", *SMALL]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "coco" / "000001.json").exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "annotations.json").exists()
    half_written = out / "rgb" / ".000004.png.tmp4242"  # what a kill during a write leaves
    half_written.write_bytes(b"\x89PNG half")
    done = run_simgen([f"output_dir={out}", "num_frames=5", "resume=true", *SMALL], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "already on disk" in done.stdout
    assert not half_written.exists()
    assert (out / "annotations.json").read_bytes() == (reference / "annotations.json").read_bytes()
    for f in sorted((reference / "instance").glob("*.png")):
        assert f.read_bytes() == (out / "instance" / f.name).read_bytes()


def test_a_rerun_renders_the_frames_some_writer_has_not_written(small_dataset):
    from simgen.generate import unwritten
    from simgen.writers.coco import CocoWriter
    from simgen.writers.images import ImageWriter
    from simgen.writers.meta import SceneWriter

    out = small_dataset(frames=6)
    (out / "depth" / "000002.png").unlink()
    (out / "coco" / "000004.json").unlink()
    (out / "meta" / "000001.json").unlink()
    (out / "meta" / "000001.json").mkdir()  # not a file
    (out / "rgb" / ".000005.png.tmp4242").write_bytes(b"half")  # a temporary file is not the frame's
    writers = [ImageWriter(), CocoWriter(), SceneWriter()]
    for writer in writers:
        writer.open(out, [])
    assert unwritten(writers, np.arange(5)).tolist() == [1, 2, 4]
    (out / "rgb" / "000003.png").unlink()
    assert unwritten(writers, np.arange(6)).tolist() == [1, 2, 3, 4]
    assert unwritten(writers, np.arange(0)).tolist() == []


def test_a_second_run_into_a_folder_being_written_is_refused(tmp_path):
    """Two runs of different configs into one folder at once mixed their frames under one config.yaml."""
    out = tmp_path / "busy"
    first = subprocess.Popen([sys.executable, "-m", "simgen", f"output_dir={out}", "num_frames=100000", *SMALL],
                             cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             preexec_fn=with_ctrl_c)
    deadline = time.time() + 120
    while not (out / "coco" / "000000.json").exists() and time.time() < deadline:  # (stopped before its first
        time.sleep(0.02)  # frame, a run leaves nothing behind)
    second = run_simgen([f"output_dir={out}", "num_frames=100000", "seed=1", *SMALL], tmp_path)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=120) == 130, first.stderr.read()
    assert second.returncode == 2 and second.stderr.strip().splitlines()[-1] == (
        f"simgen: error: output_dir: {out} is being written by another simgen run right now; wait for it to end or "
        "choose another output_dir"), second.stderr
    assert "seed: 0" in (out / "config.yaml").read_text().splitlines()


def test_a_dataset_is_cleared_from_its_finished_mark_to_its_config():
    from simgen.output_dir import clearing_order

    names = ["coco", "config.yaml", "depth", "annotations.json", "rgb", "annotations_train.json", "meta"]
    order = [p.name for p in clearing_order([Path("/d", n) for n in names])]
    assert order[0] == "annotations.json" and order[-1] == "config.yaml" and sorted(order) == sorted(names)


def test_resume_insists_on_an_unfinished_dataset(small_dataset, tmp_path):
    finished = small_dataset(frames=2)
    for out, words in ((finished, "holds a finished dataset, nothing to resume"),
                       (tmp_path / "nothing", "holds no unfinished dataset to resume")):
        done = run_simgen([f"output_dir={out}", "num_frames=2", "resume=true", *SMALL], tmp_path)
        assert done.returncode == 2 and words in done.stderr, done.stderr
    both = run_simgen([f"output_dir={finished}", "num_frames=2", "resume=true", "overwrite=true", *SMALL], tmp_path)
    assert both.returncode == 2 and "simgen: error: resume: resume=true keeps the frames" in both.stderr


def catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler of its own for the signal (/proc's SigCgt mask)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught >> (signum - 1) & 1)


@pytest.mark.parametrize("stop, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_while_simgen_starts_is_one_line(tmp_path, stop, status):
    """Stopped while Python imports the run (Hydra, PyBullet, the pipeline: about a second), once simgen's entry point
    has taken the stops: before, it was a KeyboardInterrupt traceback, or for SIGTERM no word at all and status -15.
    (Before the entry point runs, Python itself is starting, and ends as any Python program does.)"""
    proc = subprocess.Popen([sys.executable, "-m", "simgen", f"output_dir={tmp_path / 'out'}", "num_frames=1", *SMALL],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=with_ctrl_c)
    deadline = time.time() + 60
    while not catches(proc.pid, signal.SIGTERM) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.002)
    time.sleep(0.05)  # into the imports
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].endswith(" while starting; nothing was written"), err
    assert not (tmp_path / "out" / "annotations.json").exists()


@pytest.mark.parametrize("tool", ["merge", "check"])
def test_a_tool_stopped_while_it_starts_is_one_line(tmp_path, tool):
    """A Ctrl-C while a tool imported cv2 and numpy (about half a second) was a KeyboardInterrupt traceback (4 of
    40 stops of simgen-merge): the tools' entry points take the stops before importing them, as simgen's does."""
    proc = subprocess.Popen([sys.executable, "-c", f"from simgen.__main__ import {tool}; {tool}()", str(tmp_path)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=with_ctrl_c)
    deadline = time.time() + 60
    while not catches(proc.pid, signal.SIGTERM) and proc.poll() is None and time.time() < deadline:  # simgen's own
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err.strip()) == (130, f"simgen-{tool}: interrupted while starting; nothing was written")


def test_ctrl_c_says_how_to_go_on(small_dataset, tmp_path):
    """Stopped while writing frames: resume; stopped while making the exports of a finished dataset: export."""
    from simgen.outcome import interrupted as _interrupted

    assert "interrupted; frames written so far are kept. Run the same command again to resume" in \
        _interrupted(tmp_path, "interrupted")
    assert "terminated (SIGTERM) while making the exports; the dataset in" in \
        _interrupted(small_dataset(frames=1), "terminated (SIGTERM)")


def test_ctrl_c_pressed_again_and_again_after_annotations_json_is_one_line_and_status_130(tmp_path):
    """Ctrl-C from when annotations.json appears (the exports, closing the world, the summary, the exit), pressed
    until the process ends: each time the same handler, one line and exit status 130 (or 0 had it finished), never
    a bare 'interrupted' (meant for before the run), a traceback or a silent death by SIGINT (-2)."""
    out = tmp_path / "ds"
    args = [sys.executable, "-m", "simgen", f"output_dir={out}", "num_frames=2", *SMALL, "renderer=tiny", *EXPORTS]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=with_ctrl_c)
    deadline = time.time() + 120
    while not (out / "annotations.json").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.002)
    while proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.005)
    stdout, stderr = proc.communicate()
    assert "Traceback" not in stderr and "simgen: interrupted\n" not in stderr, stderr
    if proc.returncode == 0:
        assert "simgen: 2 frames (2 rendered)" in stdout
    else:
        assert proc.returncode == 130, (proc.returncode, stderr)
        said = [line for line in stderr.splitlines() if line.startswith("simgen:")]
        assert len(said) == 1 and said[0].startswith(("simgen: interrupted while making the exports",
                                                      f"simgen: interrupted; the dataset in {out} is complete")), stderr
    rerun = run_simgen([f"output_dir={out}", "num_frames=2", *SMALL, "renderer=tiny", *EXPORTS], tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert (out / "bop" / "train" / "000000" / "scene_gt.json").is_file()


def test_a_folder_that_is_not_a_dataset_is_refused_and_left_as_it_was(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    done = run_simgen([f"output_dir={folder}", "num_frames=1", *SMALL], tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"simgen: error: output_dir: {folder} is not empty and is not a simgen dataset; choose another output_dir"]
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_unfinished_dataset_with_another_config_is_refused(small_dataset, tmp_path):
    root = small_dataset(frames=2)
    (root / "annotations.json").unlink()
    done = run_simgen([f"output_dir={root}", "num_frames=2", "seed=4", *SMALL], tmp_path)
    assert done.returncode != 0 and "another config" in done.stderr


def test_torchvision_coco_detection_loads_it(small_dataset):
    datasets = pytest.importorskip("torchvision.datasets")
    root = small_dataset()
    data = datasets.CocoDetection(str(root), str(root / "annotations.json"))
    image, target = data[0]
    assert image.size == (160, 120) and all("bbox" in t for t in target)


# What FiftyOne's COCO importer reads itself, and what its Detection and Keypoint labels hold (it sets every other
# key of an annotation on the label, and fails on one of these names: instance_id, a read-only property).
COCO_KEYS = {"id", "image_id", "category_id", "bbox", "segmentation", "keypoints", "score", "area", "iscrowd",
             "num_keypoints"}
FIFTYONE_LABEL_NAMES = {"id", "tags", "label", "bounding_box", "mask", "mask_path", "confidence", "index", "instance",
                        "instance_id", "attributes", "points", "has_mask", "_id", "_cls"}


def test_no_annotation_field_is_a_name_fiftyone_keeps_for_its_own(small_dataset):
    root = small_dataset("annotator.amodal=true", frames=2)
    coco = json.loads((root / "annotations.json").read_text())
    extra = {key for ann in coco["annotations"] for key in ann} - COCO_KEYS
    assert "instance_value" in extra and not extra & FIFTYONE_LABEL_NAMES


def test_a_dataset_from_before_instance_id_was_renamed_still_reads_and_resumes(small_dataset, tmp_path):
    root = small_dataset(frames=3)
    made = (root / "annotations.json").read_bytes()
    for record in (root / "coco").glob("*.json"):
        record.write_text(record.read_text().replace('"instance_value"', '"instance_id"'))
    (root / "annotations.json").write_text(made.decode().replace('"instance_value"', '"instance_id"'))
    checked = subprocess.run([sys.executable, "-m", "simgen.tools.check", str(root)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    (root / "annotations.json").unlink()
    (root / "coco" / "000002.json").unlink()
    done = run_simgen([f"output_dir={root}", "num_frames=3", *SMALL], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (root / "annotations.json").read_bytes() == made  # the renamed field in its place: the same bytes


def test_two_workers_give_the_same_bytes_as_one(small_dataset):
    one = small_dataset("workers=1", name="one", frames=6)
    two = small_dataset("workers=2", name="two", frames=6)
    assert (one / "annotations.json").read_bytes() == (two / "annotations.json").read_bytes()
    for kind in ("rgb", "depth", "instance", "semantic", "meta"):
        files = sorted(p.name for p in (one / kind).iterdir())
        assert files == sorted(p.name for p in (two / kind).iterdir()) and len(files) == 6
        assert all((one / kind / f).read_bytes() == (two / kind / f).read_bytes() for f in files)


def test_worker_errors_are_reported_as_one_line(tmp_path):
    out = tmp_path / "bad"
    done = run_simgen([f"output_dir={out}", "num_frames=4", *SMALL, "workers=2", "camera.elevation=-5",
                       "camera.distance=0.3", "camera.target_jitter=0"], tmp_path)
    assert done.returncode == 2 and "inside the scene's 'table'" in done.stderr
    assert "Traceback" not in done.stderr


def test_views_per_scene_share_one_settled_scene_across_cameras(small_dataset):
    root = small_dataset("views_per_scene=3", "workers=2", frames=6)
    coco = check_dataset(root)
    assert len(coco.imgs) == 6
    metas = [json.loads((root / "meta" / f"{i:06d}.json").read_text()) for i in range(6)]
    for first in (0, 3):
        views = metas[first:first + 3]
        assert all(v["objects"] == views[0]["objects"] for v in views)  # the same settled objects
        assert len({tuple(v["camera"]["position"]) for v in views}) == 3  # seen from three cameras
    assert metas[0]["objects"] != metas[3]["objects"]


def test_a_dataset_is_not_resumed_with_another_renderer(tmp_path):
    """config.yaml records the renderer `auto` chose, so an unfinished dataset rendered with EGL is not finished
    with TinyRenderer (frames of two looks, silently); a finished one still gets what it lacks, and one saved
    before simgen recorded it (`renderer: auto`) resumes as before."""
    out = tmp_path / "out"
    args = [f"output_dir={out}", "num_frames=3", *SMALL, "workers=1", "renderer=tiny"]
    assert run_simgen(args, tmp_path).returncode == 0
    config = out / "config.yaml"
    tiny = config.read_text()
    assert "\nrenderer: tiny\n" in tiny and "  renderer: tiny\n" in tiny
    finished = run_simgen([*args[:-1], "renderer=auto"], tmp_path)
    assert finished.returncode == 0 and "nothing left to render" in finished.stdout, finished.stderr
    (out / "annotations.json").unlink()
    (out / "coco" / "000002.json").unlink()
    config.write_text(tiny.replace("renderer: tiny", "renderer: egl"))  # as if rendered where EGL works
    refused = run_simgen(args, tmp_path)
    assert refused.returncode == 2 and refused.stderr.strip().splitlines()[-1] == (
        f"simgen: error: output_dir: {out} holds an unfinished dataset rendered with the egl renderer, and this "
        "run's is tiny; resume it where that one works (renderer=egl), or pass overwrite=true"), refused.stderr
    config.write_text(tiny.replace("renderer: tiny", "renderer: auto"))  # saved before the renderer was recorded
    resumed = run_simgen(args, tmp_path)
    assert resumed.returncode == 0 and "(1 rendered, 2 already on disk)" in resumed.stdout, resumed.stderr


@pytest.mark.parametrize("damage", ["emptied", "cut short"])
def test_the_same_command_assembles_an_annotations_file_damaged_since_again(small_dataset, tmp_path, damage):
    """annotations.json emptied or cut short outside simgen no longer passes for a finished dataset's: the rerun,
    with nothing to render, assembles it again from the records, the same bytes."""
    root = small_dataset(frames=2)
    whole = (root / "annotations.json").read_bytes()
    cut = whole.index(b"},\n", len(whole) // 2) + 1  # at the end of an entry: the file then ends in a }
    (root / "annotations.json").write_bytes(b"" if damage == "emptied" else whole[:cut])
    again = run_simgen([f"output_dir={root}", "num_frames=2", *SMALL], tmp_path)
    assert again.returncode == 0 and "(0 rendered, 2 already on disk)" in again.stdout, again.stderr
    assert (root / "annotations.json").read_bytes() == whole
