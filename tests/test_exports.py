"""One real run written as COCO, YOLO and BOP: each read by a strict reader of its format, all three agreeing
instance by instance, simgen-check passing on them and failing on broken copies, simgen-export reproducing them."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
import pytest
import yaml
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from conftest import SMALL, in_lines, run_simgen
from simgen.export import dataset as export_dataset
from simgen.export import bop, export_yolo
from simgen.tools import dataset as tools_dataset

WRITERS = "writers=[images,coco,meta,yolo,bop,splits]"
RUN = [WRITERS, "splits={train: 0.6, val: 0.2, test: 0.2}", "objects.count=[6,9]", "camera.distance=[0.45,0.7]",
       "annotator.min_visible_pixels=30", "annotator.below=ignore", "annotator.min_visible_fraction=0.95"]
FLOAT = r"(0(\.\d+)?|1(\.0+)?)"  # a number in [0, 1] as the labels write it


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"simgen.tools.{name}", *map(str, args)], capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("exports")
    done = run_simgen([f"output_dir={tmp / 'ds'}", "num_frames=5", *SMALL, *RUN], tmp)
    assert done.returncode == 0, done.stderr
    (tmp / "stdout.txt").write_text(done.stdout)
    return tmp / "ds"


def test_the_summary_line_counts_ignore_regions_apart(dataset):
    """`annotator.below=ignore` keeps regions that are no instances: the line said 28 instances for 21 and 7."""
    anns = json.loads((dataset / "annotations.json").read_text())["annotations"]
    ignored = sum(a["iscrowd"] for a in anns)
    assert ignored > 0
    line = (dataset.parent / "stdout.txt").read_text().splitlines()[-1]
    assert f", {len(anns) - ignored} instances and {ignored} ignore region" in line, line


def coco_of(root: Path) -> COCO:
    return COCO(str(root / "annotations.json"))


# ---- strict readers, written from each format's documentation ----

def parse_yolo_labels(path: Path, task: str, nc: int) -> list[tuple[int, np.ndarray]]:
    """Ultralytics label files: one object per line, `class cx cy w h` (detect) or `class x1 y1 x2 y2 ...`
    (segment, at least 3 points), class an integer index into names, coordinates normalised to [0, 1]."""
    rows = []
    for line in path.read_text().splitlines():
        fields = line.split(" ")
        assert re.fullmatch(r"\d+", fields[0]) and int(fields[0]) < nc, line
        assert all(re.fullmatch(FLOAT, f) for f in fields[1:]), line
        values = np.array([float(f) for f in fields[1:]])
        if task == "detect":
            assert len(values) == 4 and np.all(values[2:] > 0), line
        else:
            assert len(values) >= 6 and len(values) % 2 == 0, line
        rows.append((int(fields[0]), values))
    return rows


def check_data_yaml(path: Path, categories: list[dict]) -> dict:
    spec = yaml.safe_load(path.read_text())
    assert set(spec) <= {"path", "train", "val", "test", "names"} and {"path", "train", "val", "names"} <= set(spec)
    assert Path(spec["path"]).is_absolute() and Path(spec["path"]) == path.parent.resolve()
    for split in ("train", "val", "test"):
        if split in spec:
            assert (Path(spec["path"]) / spec[split]).is_dir()
    assert spec["names"] == {k: c["name"] for k, c in enumerate(sorted(categories, key=lambda c: c["id"]))}
    return spec


def bop_box(coco_box: list) -> list:
    """A COCO bbox (pixel edges) as the BOP toolkit's calc_2d_bbox gives it (first to last pixel)."""
    x, y, w, h = coco_box
    return [x, y, w - 1, h - 1]


BOP_GT_INFO_KEYS = {"bbox_obj", "bbox_visib", "px_count_all", "px_count_valid", "px_count_visib", "visib_fract"}


def check_bop_scene(scene: Path) -> tuple[dict, dict, dict]:
    """scene_camera.json, scene_gt.json, scene_gt_info.json against the BOP toolkit's documented schema."""
    cams, gts, infos = (json.loads((scene / f"scene_{n}.json").read_text()) for n in ("camera", "gt", "gt_info"))
    assert set(cams) == set(gts) == set(infos) and all(re.fullmatch(r"\d+", k) for k in cams)
    for key, cam in cams.items():
        assert set(cam) == {"cam_K", "depth_scale", "cam_R_w2c", "cam_t_w2c"}
        assert len(cam["cam_K"]) == 9 and len(cam["cam_R_w2c"]) == 9 and len(cam["cam_t_w2c"]) == 3
        assert cam["depth_scale"] > 0
        rot = np.reshape(cam["cam_R_w2c"], (3, 3))
        assert np.allclose(rot @ rot.T, np.eye(3), atol=1e-6)
        assert (scene / "rgb" / f"{int(key):06d}.png").is_file() and (scene / "depth" / f"{int(key):06d}.png").is_file()
        assert len(gts[key]) == len(infos[key])
        for gt_id, (gt, info) in enumerate(zip(gts[key], infos[key])):
            assert set(gt) == {"obj_id", "cam_R_m2c", "cam_t_m2c"} and isinstance(gt["obj_id"], int)
            assert len(gt["cam_R_m2c"]) == 9 and len(gt["cam_t_m2c"]) == 3
            assert set(info) == BOP_GT_INFO_KEYS and len(info["bbox_obj"]) == 4 and len(info["bbox_visib"]) == 4
            assert 0 <= info["px_count_visib"] <= info["px_count_all"] and 0 <= info["visib_fract"] <= 1
            for folder in ("mask", "mask_visib"):
                mask = cv2.imread(str(scene / folder / f"{int(key):06d}_{gt_id:06d}.png"), cv2.IMREAD_UNCHANGED)
                assert mask is not None and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    return cams, gts, infos


# ---- each format in its own reader ----

def test_coco_carries_every_label(dataset):
    coco = coco_of(dataset)
    for cat in coco.dataset["categories"]:
        assert len(cat["keypoints"]) == 9 and len(cat["skeleton"]) == 12
    anns = coco.dataset["annotations"]
    assert anns and any(a["iscrowd"] for a in anns) and any(a["visible_fraction"] < 1 for a in anns)
    for ann in anns:
        below = ann["visible_fraction"] < 0.95 or ann["area"] < 30
        assert ann["iscrowd"] == ann["ignore"] == int(below)
        assert len(ann["keypoints"]) == 27 and np.shape(ann["cam_R_m2c"]) == (3, 3) and len(ann["cam_t_m2c"]) == 3
        assert coco.annToMask(ann).sum() == ann["area"]
        amodal = coco.annToMask({**ann, "segmentation": ann["amodal_segmentation"]})
        assert amodal.sum() == ann["amodal_area"] and np.all(amodal[coco.annToMask(ann) > 0])


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_yolo_loads_in_a_strict_ultralytics_reader(dataset, task):
    categories = coco_of(dataset).dataset["categories"]
    spec = check_data_yaml(dataset / "yolo" / task / "data.yaml", categories)
    root = Path(spec["path"])
    images = sorted((root / "images").glob("*/*.png"))
    assert len(images) == 5 and {p.parent.name for p in images} == {"train", "val", "test"}
    for image in images:
        label = root / "labels" / image.parent.name / f"{image.stem}.txt"  # Ultralytics' images/ -> labels/ rule
        parse_yolo_labels(label, task, len(spec["names"]))


def test_bop_matches_the_toolkit_schema_and_depth_convention(dataset):
    scenes = sorted((dataset / "bop").glob("*/000000"))
    assert [s.parent.name for s in scenes] == ["test", "train", "val"]
    camera = json.loads((dataset / "bop" / "camera.json").read_text())
    assert {"fx", "fy", "cx", "cy", "width", "height", "depth_scale"} <= set(camera)
    for scene in scenes:
        cams, _, _ = check_bop_scene(scene)
        for key, cam in cams.items():
            bop_depth = cv2.imread(str(scene / "depth" / f"{int(key):06d}.png"), cv2.IMREAD_UNCHANGED)
            ours_mm = cv2.imread(str(dataset / "depth" / f"{int(key):06d}.png"), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(bop_depth * cam["depth_scale"], ours_mm.astype(float))


def test_bop_scene_files_hold_an_entry_per_line_and_are_read_a_line_at_a_time(dataset):
    """As the BOP toolkit's save_json lays them out: simgen-check reads a million frames' scene_gt.json in lines."""
    for path in sorted((dataset / "bop").glob("*/000000/scene_*.json")):
        lines, whole = path.read_text().split("\n"), json.loads(path.read_text())
        assert lines[0] == "{" and lines[-1] == "}" and len(lines) == len(whole) + 2, path
        entries = bop.object_entries(path)
        assert not isinstance(entries, list) and list(entries) == list(whole.items()) == list(entries)


@pytest.mark.parametrize("text, streamed", [
    (b'{\n"1":[1],\n"2":{"a":2}\n}', True),  # the export's
    (b'{\n  "1": [1],\n  "2": {"a": 2}\n}\n', True),  # the BOP toolkit's save_json
    (b'{"1":[1],"2":{"a":2}}', False),  # simgen's export before
    (json.dumps({"1": [1], "2": {"a": 2}}, indent=2).encode(), False),
    (b'{\n"1":[1],"2":{"a":2}\n}', False),  # two on a line
    (b'{\n}', True),
    (b'{\n"1":[1],\n"2":{"a":2},\n}', None),  # a comma after the last: no JSON
    (b'{\n"1":[1]\n"2":{"a":2}\n}', None),  # a comma left out: no JSON
    (b'[1, 2]', "not a JSON object"),
], ids=["export", "toolkit", "one line", "indented", "two on a line", "empty", "comma after last", "comma missing",
        "a list"])
def test_bop_scene_files_are_read_a_line_at_a_time_only_where_laid_out_so(tmp_path, text, streamed):
    path = tmp_path / "scene_gt.json"
    path.write_bytes(text)
    if streamed is None:
        with pytest.raises(ValueError):
            bop.object_entries(path)
        return
    if isinstance(streamed, str):
        with pytest.raises(bop.NotAnObject, match=streamed):
            bop.object_entries(path)
        return
    entries = bop.object_entries(path)
    assert isinstance(entries, list) != streamed  # read whole: its entries listed
    assert list(entries) == list(json.loads(text).items())


def test_split_files_partition_the_images(dataset):
    coco = coco_of(dataset)
    parts = {s: json.loads((dataset / f"annotations_{s}.json").read_text()) for s in ("train", "val", "test")}
    assert [len(p["images"]) for p in parts.values()] == [3, 1, 1]
    assert sorted(i["id"] for p in parts.values() for i in p["images"]) == sorted(coco.imgs)
    assert sorted(a["id"] for p in parts.values() for a in p["annotations"]) == sorted(coco.anns)
    for split, part in parts.items():
        COCO(str(dataset / f"annotations_{split}.json"))
        assert (dataset / f"annotations_{split}.json").read_bytes() == in_lines(part)  # laid out as annotations.json
        yolo = {p.stem for p in (dataset / "yolo" / "detect" / "images" / split).glob("*.png")}
        assert yolo == {Path(i["file_name"]).stem for i in part["images"]}  # the same split everywhere


# ---- the three agree, instance by instance ----

def test_coco_yolo_and_bop_agree_instance_by_instance(dataset):
    coco = coco_of(dataset)
    classes = {c["id"]: k for k, c in enumerate(sorted(coco.dataset["categories"], key=lambda c: c["id"]))}
    bop = {}
    for scene in (dataset / "bop").glob("*/000000"):
        cams, gts, infos = check_bop_scene(scene)
        bop.update({int(k): (scene, cams[k], gts[k], infos[k]) for k in cams})
    checked = 0
    for image in coco.dataset["images"]:
        stem, w, h = Path(image["file_name"]).stem, image["width"], image["height"]
        anns = sorted(coco.imgToAnns[image["id"]], key=lambda a: a["id"])
        kept = [a for a in anns if not a["iscrowd"]]
        split = next(p.parent.name for p in (dataset / "yolo" / "detect" / "labels").glob(f"*/{stem}.txt"))
        detect = parse_yolo_labels(dataset / "yolo" / "detect" / "labels" / split / f"{stem}.txt", "detect", 11)
        segment = parse_yolo_labels(dataset / "yolo" / "segment" / "labels" / split / f"{stem}.txt", "segment", 11)
        assert len(detect) == len(segment) == len(kept)
        for ann, (cls, box), (cls_s, poly) in zip(kept, detect, segment):
            x, y, bw, bh = ann["bbox"]
            assert cls == cls_s == classes[ann["category_id"]]
            assert np.allclose(box * [w, h, w, h], [x + bw / 2, y + bh / 2, bw, bh], atol=1e-3)
            outline = np.zeros((h, w), np.uint8)
            cv2.fillPoly(outline, [np.round(poly.reshape(-1, 2) * [w, h] - 0.5).astype(np.int32)], 1)
            truth = coco.annToMask(ann).astype(bool)
            assert (outline.astype(bool) & truth).sum() / (outline.astype(bool) | truth).sum() > 0.6
        scene, cam, gts, infos = bop[image["frame_index"]]
        assert np.allclose(cam["cam_K"], np.ravel(image["intrinsics"]))
        assert np.allclose(cam["cam_t_w2c"], np.asarray(image["world_to_camera"])[:3, 3] * 1000)
        assert len(gts) == len(anns)
        for gt_id, (ann, gt, info) in enumerate(zip(anns, gts, infos)):
            assert gt["obj_id"] == ann["category_id"]
            assert np.allclose(gt["cam_R_m2c"], np.ravel(ann["cam_R_m2c"]))
            assert np.allclose(gt["cam_t_m2c"], np.multiply(ann["cam_t_m2c"], 1000))
            visib = cv2.imread(str(scene / "mask_visib" / f"{image['frame_index']:06d}_{gt_id:06d}.png"), -1) > 0
            full = cv2.imread(str(scene / "mask" / f"{image['frame_index']:06d}_{gt_id:06d}.png"), -1) > 0
            assert np.array_equal(visib, coco.annToMask(ann).astype(bool))
            assert full.sum() == ann["amodal_area"] and info["px_count_visib"] == ann["area"]
            assert info["px_count_all"] == ann["silhouette_area"]  # past the border too, as the BOP toolkit counts
            assert info["bbox_visib"] == bop_box(ann["bbox"]) and info["bbox_obj"] == bop_box(ann["silhouette_bbox"])
            assert info["visib_fract"] == pytest.approx(ann["visible_fraction"] * ann["in_frame_fraction"], abs=1e-5)
            checked += 1
    assert checked >= 10


def with_holes_filled(mask: np.ndarray) -> np.ndarray:
    """The mask and every background pixel it encloses (unreached from the border, 4-connected)."""
    outside = np.pad(mask, 1).astype(np.uint8)
    cv2.floodFill(outside, None, (0, 0), 1)
    return mask | (outside[1:-1, 1:-1] == 0)


def test_yolo_segment_outlines_draw_back_the_instance_masks(dataset, tmp_path):
    """Unsimplified, an outline runs along the mask's pixel edges: pycocotools draws it back as the mask (its holes
    filled: an outline has none)."""
    root = copy_of(dataset, tmp_path, keep=())
    export_yolo(export_dataset.load(root), ["segment"], polygon_tolerance=0)
    coco = coco_of(root)
    ious = []
    for image in coco.dataset["images"]:
        stem, w, h = Path(image["file_name"]).stem, image["width"], image["height"]
        instance = cv2.imread(str(root / "instance" / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
        kept = [a for a in sorted(coco.imgToAnns[image["id"]], key=lambda a: a["id"]) if not a["iscrowd"]]
        label = next((root / "yolo" / "segment" / "labels").glob(f"*/{stem}.txt"))
        for ann, (_, poly) in zip(kept, parse_yolo_labels(label, "segment", len(coco.cats)), strict=True):
            outline = (poly.reshape(-1, 2) * [w, h]).ravel().tolist()
            drawn = mask_utils.decode(mask_utils.frPyObjects([outline], h, w))[..., 0] > 0
            truth = instance == ann["instance_value"]
            assert np.array_equal(drawn, with_holes_filled(truth)), ann["id"]
            ious.append((drawn & truth).sum() / (drawn | truth).sum())
    assert len(ious) >= 10 and np.mean(ious) > 0.99, ious


def test_bop_masks_come_from_the_instance_images_when_segmentations_are_polygons(small_dataset):
    root = small_dataset("writers.coco.segmentation=polygon", "writers=[images,coco,meta,bop]")
    coco = coco_of(root)
    by_frame = {image["frame_index"]: image for image in coco.dataset["images"]}
    checked = 0
    for scene in root.glob("bop/*/000000"):
        _, _, infos = check_bop_scene(scene)
        for key, frame_infos in infos.items():
            image = by_frame[int(key)]
            instance = cv2.imread(str(root / "instance" / f"{int(key):06d}.png"), cv2.IMREAD_UNCHANGED)
            anns = sorted(coco.imgToAnns[image["id"]], key=lambda a: a["id"])
            for gt_id, (ann, info) in enumerate(zip(anns, frame_infos, strict=True)):
                visib = cv2.imread(str(scene / "mask_visib" / f"{int(key):06d}_{gt_id:06d}.png"), -1) > 0
                assert np.array_equal(visib, instance == ann["instance_value"])
                assert info["px_count_visib"] == ann["area"] and info["bbox_visib"] == bop_box(ann["bbox"])
                fraction = ann["area"] / ann["silhouette_area"]
                assert info["visib_fract"] == pytest.approx(fraction) and fraction <= 1
                checked += 1
    assert checked >= 5
    shutil.rmtree(root / "instance")
    refused(tool("export", root, "--format", "bop"), "simgen-export",
            r"annotation \d+: a polygon segmentation and no instance image; BOP needs the exact visible masks")


# ---- simgen-check and simgen-export ----

def test_simgen_check_passes_on_every_format(dataset):
    done = tool("check", dataset)
    assert done.returncode == 0, done.stdout
    for name in ("categories", "images", "annotations", "splits", "yolo/detect", "yolo/segment", "bop"):
        assert re.search(rf"^ok +{re.escape(name)} ", done.stdout, re.M), done.stdout
    assert "all checks passed" in done.stdout


def _bbox_shifted(root: Path) -> None:
    data = json.loads((root / "annotations.json").read_text())
    data["annotations"][0]["bbox"][0] += 1
    (root / "annotations.json").write_text(json.dumps(data))


def _duplicate_id(root: Path) -> None:
    data = json.loads((root / "annotations.json").read_text())
    data["annotations"][1]["id"] = data["annotations"][0]["id"]
    (root / "annotations.json").write_text(json.dumps(data))


def _truncated_rgb(root: Path) -> None:
    cv2.imwrite(str(root / "rgb" / "000002.png"), np.zeros((60, 80, 3), np.uint8))


def _meta_removed(root: Path) -> None:
    (root / "meta" / "000001.json").unlink()


def _yolo_line_dropped(root: Path) -> None:
    label = max((root / "yolo" / "detect" / "labels").glob("*/*.txt"), key=lambda p: p.stat().st_size)
    label.write_text("".join(label.read_text().splitlines(keepends=True)[1:]))


def _bop_mask_removed(root: Path) -> None:
    next((root / "bop").glob("*/000000/mask_visib/*.png")).unlink()


def _unknown_category(root: Path) -> None:
    data = json.loads((root / "annotations.json").read_text())
    data["annotations"][0]["category_id"] = 99
    (root / "annotations.json").write_text(json.dumps(data))


@pytest.mark.parametrize("damage, report", [
    (_bbox_shifted, "bbox or area disagrees with its mask"),
    (_duplicate_id, "annotation ids are not unique"),
    (_truncated_rgb, "rgb/000002.png: 80x60, expected 160x120"),
    (_meta_removed, "meta/000001.json: missing"),
    (_yolo_line_dropped, "label lines for"),
    (_bop_mask_removed, "mask_visib missing"),
    (_unknown_category, "category_id 99 is used by annotations but not defined"),
])
def test_simgen_check_reports_each_problem(dataset, tmp_path, damage, report):
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    damage(broken)
    done = tool("check", broken)
    assert done.returncode == 1 and report in done.stdout and "FAIL" in done.stdout, done.stdout


def test_simgen_export_reproduces_what_the_writers_wrote(dataset, tmp_path):
    again = tmp_path / "again"
    shutil.copytree(dataset, again)
    for export in ("yolo", "bop"):
        shutil.rmtree(again / export)
    for split in ("train", "val", "test"):
        (again / f"annotations_{split}.json").unlink()
    for fmt in ("yolo", "bop", "splits"):
        done = tool("export", again, "--format", fmt)
        assert done.returncode == 0 and "simgen-export: wrote" in done.stdout, done.stderr
    written = sorted(p.relative_to(dataset) for p in dataset.rglob("*") if p.is_file() and p.name != "data.yaml")
    assert written == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file() and p.name != "data.yaml")
    for rel in written:
        assert (dataset / rel).read_bytes() == (again / rel).read_bytes(), rel
    assert tool("check", again).returncode == 0


@pytest.mark.parametrize("args, message", [
    (["--format", "bop"], "BOP needs a dataset made with annotator.amodal=true"),
    (["--format", "yolo", "--splits", "train=0.9,val=0.2"], "--splits: expected train + val + test = 1"),
    (["--format", "yolo", "--tasks", "pose"], "tasks: expected detect or segment"),
])
def test_simgen_export_errors_are_one_line_and_leave_the_dataset_as_it_was(small_dataset, args, message):
    root = small_dataset(frames=2)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    done = tool("export", root, *args)
    assert done.returncode == 2 and message in done.stderr
    assert done.stderr.startswith("simgen-export: error:") and len(done.stderr.strip().splitlines()) == 1
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


@pytest.mark.parametrize("name", ["check", "export"])
def test_a_folder_that_is_not_a_dataset_is_an_error(tmp_path, name):
    done = tool(name, tmp_path, *(["--format", "yolo"] if name == "export" else []))
    assert done.returncode == 2 and "annotations.json: missing; not a finished simgen dataset" in done.stderr


def test_a_sweeps_folder_or_an_unfinished_dataset_says_what_to_do(small_dataset, tmp_path):
    """Both said only "not a finished simgen dataset"."""
    root = small_dataset(frames=2)
    done = tool("check", tmp_path)
    assert done.returncode == 2 and done.stderr.strip() == (
        f"simgen-check: error: {tmp_path}/annotations.json: missing; a folder of 1 dataset (a sweep's?), not one: "
        f"pass a dataset's folder, such as {root}")
    (root / "annotations.json").unlink()
    done = tool("check", root)
    assert done.returncode == 2 and done.stderr.strip() == (
        f"simgen-check: error: {root}/annotations.json: missing; an unfinished dataset (2 frames written): run the "
        "simgen command that made it again to finish it")


def test_bop_writer_without_amodal_is_a_config_error(tmp_path):
    done = run_simgen([f"output_dir={tmp_path / 'x'}", "num_frames=1", *SMALL, WRITERS, "annotator.amodal=false"],
                      tmp_path)
    assert done.returncode == 2 and "writers.bop: needs the amodal masks" in done.stderr


def test_amodal_run_is_byte_identical_run_to_run(small_dataset):
    runs = [small_dataset(*RUN, name=name, frames=2) for name in ("a", "b")]
    files = sorted(p.relative_to(runs[0]) for p in runs[0].rglob("*")
                   if p.is_file() and p.suffix in (".json", ".txt", ".png") and p.name != "simgen.log")
    assert files
    for rel in files:
        assert (runs[0] / rel).read_bytes() == (runs[1] / rel).read_bytes(), rel


@pytest.mark.parametrize("overrides", [
    ["writers.coco.segmentation=polygon", "writers=[images,coco,meta,yolo]"],
    ["renderer=tiny", "scene=bin", "annotator.amodal=true"],
    ["writers.coco.segmentation=polygon", "writers.images.masks=false", "annotator.amodal=true"],
])
def test_simgen_check_passes_on_other_settings(small_dataset, overrides):
    done = tool("check", small_dataset(*overrides, frames=2))
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("args, message", [
    (["writers=[images,coco,yolo]", "splits.train=0.9"], "splits: expected train + val + test = 1"),
    (["writers=[images,coco,yolo]", "writers.yolo.tasks=[pose]"], "writers.yolo.tasks: expected detect or segment"),
    (["writers=[images,coco,yolo]", "writers.yolo.tasks=[]"], "writers.yolo.tasks: expected a list of one or both"),
    (["writers=[images,coco,yolo]", "writers.yolo.seed=-1"], "writers.yolo.seed: expected an integer >= 0, got -1"),
    (["annotator.min_visible_fraction=0.5"], "annotator.min_visible_fraction: needs amodal=true"),
    (["annotator.below=hide"], "annotator.below: expected one of drop, ignore"),
    (["writers=[images,coco,bop]", "writers.images.depth=false"], "writers.bop: needs the depth images"),
    (["writers=[images,coco,bop]", "writers.images.masks=false", "writers.coco.segmentation=polygon"],
     "writers.bop: needs the exact visible masks"),
])
def test_bad_label_settings_stop_the_run_with_one_line(tmp_path, args, message):
    done = run_simgen([f"output_dir={tmp_path / 'x'}", "num_frames=1", *SMALL, *args], tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x" / "annotations.json").exists()


# ---- simgen-export on bad input: one line, exit status 2, the dataset and its exports as they were ----

EXPORTS = ("yolo", "bop", "annotations_train.json", "annotations_val.json", "annotations_test.json")


def copy_of(dataset: Path, tmp_path: Path, keep: Sequence[str] = EXPORTS) -> Path:
    """A copy of the module's dataset to damage, with only the exports named in `keep`."""
    root = tmp_path / "copy"
    shutil.copytree(dataset, root)
    for name in set(EXPORTS) - set(keep):
        shutil.rmtree(root / name) if (root / name).is_dir() else (root / name).unlink()
    return root


def snapshot(root: Path) -> dict:
    """Every folder and file (hidden ones too) under root, with the files' bytes."""
    return {p.relative_to(root): p.read_bytes() if p.is_file() else None for p in root.rglob("*")}


def refused(done: subprocess.CompletedProcess, name: str, pattern: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"{name}: error: "), done.stderr
    assert re.search(pattern, lines[0]), lines[0]


def _edit(root: Path, name: str, change: Callable[[dict], object]) -> None:
    """Change the parsed annotations.json (.json) or config.yaml (.yaml) in place."""
    path = root / name
    data = json.loads(path.read_text()) if name.endswith(".json") else yaml.safe_load(path.read_text())
    change(data)
    path.write_text(json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data))


@pytest.mark.parametrize("args, settings, message", [
    (["--seed", "-1"], {}, r"--seed: expected an integer >= 0, got -1$"),
    ([], {"seed": -3}, r"/config\.yaml: seed: expected an integer >= 0, got -3$"),
    ([], {"seed": "abc"}, r"/config\.yaml: seed: expected an integer, got 'abc'$"),
    ([], {"splits": 0.5}, r"/config\.yaml: splits: expected train/val/test fractions .*got 0\.5$"),
], ids=["--seed", "config seed", "config seed text", "config splits"])
def test_a_bad_split_seed_or_ratio_is_one_line(dataset, tmp_path, args, settings, message):
    root = copy_of(dataset, tmp_path)
    _edit(root, "config.yaml", lambda config: config.update(settings))
    before = snapshot(root)
    for fmt in ("yolo", "bop", "splits"):
        refused(tool("export", root, "--format", fmt, *args), "simgen-export", message)
    assert snapshot(root) == before


def test_split_files_are_always_one_partition(dataset, tmp_path):
    root = copy_of(dataset, tmp_path, keep=())
    for ratios, present in [("train=0.5,val=0.3,test=0.2", ["test", "train", "val"]),
                            ("train=0.8,val=0.2", ["train", "val"]), ("train=1", ["train"])]:
        done = tool("export", root, "--format", "splits", "--splits", ratios)
        assert done.returncode == 0, done.stderr
        assert sorted(p.name for p in root.iterdir() if "annotations_" in p.name) == \
            [f"annotations_{s}.json" for s in present]  # no stale split, no temporary file left
        assert tool("check", root).returncode == 0


@pytest.mark.parametrize("damage, message", [
    (lambda depth: depth.write_bytes(depth.read_bytes()[:100]), "depth/000001.png: unreadable; not a PNG image, or "
                                                                "a truncated one"),
    (lambda depth: cv2.imwrite(str(depth), np.zeros((60, 80), np.uint16)), "depth/000001.png: an image of shape "
                                                                           "(60, 80), expected a 160x120 single"),
    (lambda depth: (depth.parent.parent / "rgb" / depth.name).write_bytes(b""), "rgb/000001.png: empty (0 bytes)"),
], ids=["truncated", "other size", "rgb empty"])
def test_bop_export_names_an_unreadable_image(dataset, tmp_path, damage, message):
    root = copy_of(dataset, tmp_path)
    damage(root / "depth" / "000001.png")
    before = snapshot(root)
    refused(tool("export", root, "--format", "bop"), "simgen-export", "/" + re.escape(message))
    assert snapshot(root) == before


def test_bop_masks_are_written_from_a_pool_and_a_failed_write_fails_the_export(tmp_path):
    """A column-major mask (as pycocotools decodes them) is written as its 0/255 PNG; one that OpenCV cannot write
    (its folder gone) is an OSError naming it, raised by the time the block ends."""
    mask = np.zeros((6, 8), bool, order="F")
    mask[1:3, 2:5] = True
    with bop.mask_writer(threads=2) as write:
        for k in range(5):
            write(tmp_path / f"000000_{k:06d}.png", mask)
    for k in range(5):
        assert np.array_equal(cv2.imread(str(tmp_path / f"000000_{k:06d}.png"), cv2.IMREAD_UNCHANGED), mask * 255)
    with pytest.raises(OSError, match="gone/000000_000000.png: could not be written"):
        with bop.mask_writer(threads=2) as write:
            write(tmp_path / "gone" / "000000_000000.png", mask)


@pytest.mark.parametrize("fmt", ["yolo", "bop", "splits"])
def test_a_dataset_without_images_has_nothing_to_export(dataset, tmp_path, fmt):
    root = copy_of(dataset, tmp_path, keep=())
    _edit(root, "annotations.json", lambda coco: coco.update(images=[], annotations=[]))
    before = snapshot(root)
    refused(tool("export", root, "--format", fmt), "simgen-export", r"/annotations\.json: no images to export$")
    assert snapshot(root) == before


def test_a_shard_without_frames_runs_its_export_writers_and_exports_nothing(tmp_path):
    out = tmp_path / "shard"
    done = run_simgen([f"output_dir={out}", "num_frames=1", "shard.count=2", "shard.index=1", *SMALL, WRITERS,
                       "annotator.amodal=true"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "annotations.json").read_text())["images"] == []
    assert not [p.name for p in out.iterdir() if p.name in EXPORTS]


def test_yolo_export_names_an_annotation_of_an_unknown_category(dataset, tmp_path):
    root = copy_of(dataset, tmp_path)
    coco = json.loads((root / "annotations.json").read_text())
    ann = next(a for a in coco["annotations"] if not a["iscrowd"])
    _edit(root, "annotations.json", lambda coco: next(a for a in coco["annotations"] if a["id"] == ann["id"])
          .update(category_id=99))
    before = snapshot(root)
    refused(tool("export", root, "--format", "yolo"), "simgen-export",
            rf"/annotations\.json: annotation {ann['id']}: category_id 99 is not among the categories$")
    assert snapshot(root) == before


def _write(text: bytes) -> Callable[[Path], None]:
    return lambda root: (root / "annotations.json").write_bytes(text)


def _entry(key: str, k: int, **fields) -> Callable[[Path], None]:
    """Give coco[key][k] these fields; a field set to None is removed."""
    def change(coco: dict) -> None:
        coco[key][k].update(fields)
        for name in [n for n, v in fields.items() if v is None]:
            del coco[key][k][name]
    return lambda root: _edit(root, "annotations.json", change)


@pytest.mark.parametrize("damage, message", [
    (_write(b"[]"), r"expected a COCO object with images, annotations and categories, got \[\]$"),
    (_write(b"\x89PNG\r\n\x1a\n\x00\x00"), r"not a readable JSON file \('utf-8' codec can't decode"),
    (_write(b'{"images": {}, "annotations": [], "categories": []}'), r"'images': expected a list, got \{\}$"),
    (_entry("images", 1, frame_index=None), r"images\[1\] \(id \d+\): no 'frame_index'$"),
    (_entry("images", 0, width="160"), r"images\[0\] \(id \d+\): 'width': expected a positive integer up to 65536, "
                                       r"got \"160\"$"),
    (_entry("images", 1, height=10**6), r"images\[1\] \(id \d+\): 'height': expected a positive integer up to 65536, "
                                        r"got 1000000$"),  # a mask of it would not fit memory
    (_entry("annotations", 2, category_id=None), r"annotations\[2\] \(id \d+\): no 'category_id'$"),
    (_entry("annotations", 0, image_id=[1]), r"annotations\[0\] \(id \d+\): 'image_id': expected an integer"),
], ids=["list", "binary", "images not a list", "no frame_index", "width text", "height huge", "no category_id",
        "image_id list"])
def test_a_malformed_annotations_json_is_one_line_in_export_and_check(dataset, tmp_path, damage, message):
    root = copy_of(dataset, tmp_path, keep=())
    damage(root)
    before = snapshot(root)
    for fmt in ("yolo", "bop", "splits"):
        refused(tool("export", root, "--format", fmt), "simgen-export", rf"/annotations\.json: {message}")
    refused(tool("check", root), "simgen-check", rf"/annotations\.json: {message}")
    assert snapshot(root) == before


def _tiny_coco() -> dict:
    """A COCO instances file that both loaders accept: one image, one annotation, one category."""
    return {"images": [{"id": 7, "file_name": "rgb/000000.png", "width": 4, "height": 3, "frame_index": 0}],
            "annotations": [{"id": 12, "image_id": 7, "category_id": 1, "bbox": [0, 0, 2, 2], "area": 4,
                             "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]]}],
            "categories": [{"id": 1, "name": "duck"}]}


REMOVE = object()
INSIDE = "a file's path inside the dataset (relative, without ..)"


@pytest.mark.parametrize("kind, field, value, message", [
    ("images", None, 5, "images[0]: expected an object, got 5"),
    ("images", "id", "seven", "images[0] (id \"seven\"): 'id': expected an integer, got \"seven\""),
    ("images", "file_name", REMOVE, "images[0] (id 7): no 'file_name'"),
    ("images", "file_name", "", f"images[0] (id 7): 'file_name': expected {INSIDE}, got \"\""),
    ("images", "file_name", "/etc/hosts", f"images[0] (id 7): 'file_name': expected {INSIDE}, got \"/etc/hosts\""),
    ("images", "file_name", "rgb/../../a.png", f"images[0] (id 7): 'file_name': expected {INSIDE}, got "
                                               "\"rgb/../../a.png\""),
    ("images", "width", "160", "images[0] (id 7): 'width': expected a positive integer up to 65536, got \"160\""),
    ("images", "height", 0, "images[0] (id 7): 'height': expected a positive integer up to 65536, got 0"),
    ("images", "frame_index", -1, "images[0] (id 7): 'frame_index': expected an integer >= 0, got -1"),
    ("annotations", "id", 1.5, "annotations[0] (id 1.5): 'id': expected an integer, got 1.5"),
    ("annotations", "image_id", [7], "annotations[0] (id 12): 'image_id': expected an integer, got [7]"),
    ("annotations", "category_id", REMOVE, "annotations[0] (id 12): no 'category_id'"),
    ("annotations", "category_id", True, "annotations[0] (id 12): 'category_id': expected an integer, got true"),
    ("categories", "id", REMOVE, "categories[0]: no 'id'"),
    ("categories", "name", 3, "categories[0] (id 1): 'name': expected a string, got 3"),
])
def test_a_malformed_entry_is_the_same_message_for_exporters_and_viewing_tools(tmp_path, kind, field, value,
                                                                              message):
    coco = _tiny_coco()
    if field is None:
        coco[kind][0] = value
    elif value is REMOVE:
        del coco[kind][0][field]
    else:
        coco[kind][0][field] = value
    (tmp_path / "annotations.json").write_text(json.dumps(coco))
    errors = []
    for load in (export_dataset.load, tools_dataset.load):
        with pytest.raises(export_dataset.DatasetError) as refusal:
            load(tmp_path)
        errors.append(str(refusal.value))
    streamed = tmp_path / "streamed"  # laid out as simgen writes it: the annotations are checked as they are read
    streamed.mkdir()
    (streamed / "annotations.json").write_bytes(in_lines(coco))
    with pytest.raises(export_dataset.DatasetError) as refusal:
        list(export_dataset.load(streamed, streamed=True).by_image())
    errors.append(str(refusal.value).replace(str(streamed), str(tmp_path)))
    assert errors == [f"{tmp_path / 'annotations.json'}: {message}"] * 3


@pytest.mark.parametrize("kind, field, where", [("images", "frame_index", "images[0] (id 7)"),
                                               ("annotations", "id", "annotations[0]")])
def test_frame_index_and_annotation_ids_are_required_by_the_exporters_only(tmp_path, kind, field, where):
    coco = _tiny_coco()
    del coco[kind][0][field]
    (tmp_path / "annotations.json").write_text(json.dumps(coco))
    assert tools_dataset.load(tmp_path).annotations_of(coco["images"][0]) == coco["annotations"]
    with pytest.raises(export_dataset.DatasetError) as refusal:
        export_dataset.load(tmp_path)
    assert str(refusal.value) == f"{tmp_path / 'annotations.json'}: {where}: no {field!r}"


def _instance_truncated(root: Path) -> None:
    path = root / "instance" / "000002.png"
    path.write_bytes(path.read_bytes()[:100])


@pytest.mark.parametrize("keep, damage, args, message", [
    ((), None, ["--tasks", "detect,bogus"], r"error: --tasks: expected detect or segment, got 'bogus'$"),
    ((), None, ["--polygon-tolerance", "-1"], r"--polygon-tolerance: expected a number >= 0, got -1\.0$"),
    ((), None, ["--polygon-tolerance", "nan"], r"--polygon-tolerance: expected a finite number, got nan$"),
    ((), lambda root: (root / "rgb" / "000002.png").unlink(), [], r"rgb/000002\.png"),
    ((), lambda root: (root / "rgb" / "000002.png").write_bytes(b""), [], r"rgb/000002\.png: empty \(0 bytes\)"),
    (EXPORTS, _instance_truncated, [], r"instance/000002\.png: unreadable"),  # read by the segment export
], ids=["--tasks", "--polygon-tolerance negative", "--polygon-tolerance nan", "rgb missing", "rgb empty",
        "segment fails"])
def test_yolo_export_checks_its_options_first_and_a_failure_changes_nothing(dataset, tmp_path, keep, damage, args,
                                                                           message):
    root = copy_of(dataset, tmp_path, keep=keep)
    if damage:
        damage(root)
    before = snapshot(root)
    refused(tool("export", root, "--format", "yolo", *args), "simgen-export", message)
    assert snapshot(root) == before  # no yolo/ where there was none; the earlier yolo/detect where there was one


@pytest.mark.parametrize("args, message", [
    (["--format", "yolo", "--bogus"], "unrecognized arguments: --bogus$"),
    (["--format", "coco"], "argument --format: invalid choice: 'coco'"),
    ([], "the following arguments are required: --format$"),
    (["--format", "yolo", "--seed", "x"], "argument --seed: invalid int value: 'x'$"),
], ids=["unknown option", "unknown format", "no format", "seed text"])
def test_a_bad_command_line_option_is_one_line(dataset, args, message):
    refused(tool("export", dataset, *args), "simgen-export", message)


def test_a_yolo_export_without_training_images_names_only_folders_that_are_there(dataset, tmp_path):
    """All frames in val (a set to evaluate on): data.yaml's `train` named images/train, which was not made."""
    root = copy_of(dataset, tmp_path)
    export_yolo(export_dataset.load(root), tasks=["detect"], ratios={"train": 0, "val": 1, "test": 0})
    spec = check_data_yaml(root / "yolo" / "detect" / "data.yaml", coco_of(root).dataset["categories"])
    assert spec["train"] == "images/train" and not any((root / "yolo" / "detect" / "images" / "train").iterdir())
    assert len(list((root / "yolo" / "detect" / "images" / "val").iterdir())) == 5


def test_an_export_missing_an_image_names_the_file_as_a_system_error_says_it(dataset, tmp_path):
    """Not Python's `[Errno 2] No such file or directory: 'PATH'`."""
    root = copy_of(dataset, tmp_path)
    lost = root / "rgb" / "000001.png"
    lost.unlink()
    refused(tool("export", root, "--format", "yolo"), "simgen-export", rf"^simgen-export: error: {lost}: no such file "
                                                                      "or directory$")


def _exports(root: Path) -> dict:
    """The exports' files under root, data.yaml's absolute path made relative."""
    found = {}
    for path, data in snapshot(root).items():
        if data is not None and (path.parts[0] in ("yolo", "bop") or path.name.startswith("annotations_")):
            found[path] = data.replace(str(root).encode(), b"ROOT") if path.name == "data.yaml" else data
    return found


def test_the_exports_are_the_same_whether_annotations_json_is_streamed_or_read_whole(dataset, tmp_path):
    """simgen's annotations.json (an entry per line) is read by the exports a line at a time; one laid out otherwise
    (indented, as an editor saves it) is read whole: the same exports either way, and the run's own."""
    streamed, whole = copy_of(dataset, tmp_path / "streamed", keep=()), copy_of(dataset, tmp_path / "whole", keep=())
    (whole / "annotations.json").write_text(json.dumps(json.loads((whole / "annotations.json").read_text()), indent=1))
    assert export_dataset.load(streamed, streamed=True).streamed_from is not None
    assert export_dataset.load(whole, streamed=True).streamed_from is None
    for root in (streamed, whole):
        for fmt in ("yolo", "bop", "splits"):
            done = tool("export", root, "--format", fmt)
            assert done.returncode == 0, done.stderr
    assert _exports(streamed) == _exports(whole) == _exports(dataset) != {}


def _first_annotation(lines: list[bytes]) -> int:
    """The index of annotations.json's first annotation line."""
    return next(k for k, line in enumerate(lines) if line.startswith(b'],"annotations":[')) + 1


def _swap_first_annotations(lines: list[bytes]) -> None:
    at = _first_annotation(lines)
    first, second = lines[at], lines[at + 1]
    lines[at] = second.removesuffix(b",") + b"," * first.endswith(b",")
    lines[at + 1] = first.removesuffix(b",") + b"," * second.endswith(b",")


def _annotation_line(change: Callable[[bytes], bytes], at: int = 1) -> Callable[[list[bytes]], None]:
    """A change of the `at`th annotation line."""
    def edit(lines: list[bytes]) -> None:
        k = _first_annotation(lines) + at - 1
        lines[k] = change(lines[k])
    return edit


@pytest.mark.parametrize("change, streamed", [
    (lambda lines: None, True),
    (lambda lines: lines.append(b""), True),  # a newline at the end
    (_swap_first_annotations, False),  # not in id order
    (lambda lines: lines.insert(1, lines[1]), False),  # an image id twice
    (lambda lines: lines.__setitem__(-2, lines[-2].replace(b'"image_id":', b'"image_id":9', 1)), False),  # no image
    (lambda lines: lines.__setitem__(-2, lines[-2].replace(b'"image_id":', b'"x":0,"image_id":', 1)), True),
    (lambda lines: lines.__setitem__(-2, lines[-2][:-1] + b',"image_id":1}'), False),  # twice: the last wins
    (_annotation_line(lambda line: line + b" "), False),  # a space after the comma: valid, not simgen's layout
    (_annotation_line(lambda line: line + b"\r"), False),  # one line saved with CRLF
    (_annotation_line(lambda line: line[:-1] + b"," + line[:-1].replace(b'{"id":', b'{"id":9', 1) + b","), False),
    (_annotation_line(lambda line: line[:-1]), None),  # a comma left out: no JSON
    (lambda lines: lines.__setitem__(-2, lines[-2] + b","), None),  # a comma after the last: no JSON
], ids=["simgen's", "newline at the end", "out of order", "image twice", "unknown image", "other field order",
        "image_id twice", "space after comma", "CRLF line", "two on a line", "comma missing", "comma after last"])
def test_annotations_json_is_streamed_only_where_simgen_laid_it_out(dataset, tmp_path, change, streamed):
    """Streamed, or read whole: the same annotations by image; a file that is no JSON is refused either way."""
    root = copy_of(dataset, tmp_path, keep=())
    lines = (root / "annotations.json").read_bytes().split(b"\n")
    change(lines)
    (root / "annotations.json").write_bytes(b"\n".join(lines))
    if streamed is None:
        for streaming in (True, False):
            with pytest.raises(export_dataset.DatasetError, match="annotations.json: not a readable JSON file"):
                export_dataset.load(root, streamed=streaming)
        return
    data = export_dataset.load(root, streamed=True)
    assert (data.streamed_from is not None) == streamed
    whole = export_dataset.load(root)
    assert [(image["id"], anns) for image, anns in data.by_image()] == \
        [(image["id"], whole.annotations_of(image["id"])) for image in whole.images]


def test_a_damaged_annotation_line_stops_an_export_with_one_line(dataset, tmp_path):
    root = copy_of(dataset, tmp_path, keep=())
    lines = (root / "annotations.json").read_bytes().split(b"\n")
    lines[-3] = lines[-3][:40] + b","  # its id and image_id still in place
    (root / "annotations.json").write_bytes(b"\n".join(lines))
    before = snapshot(root)
    refused(tool("export", root, "--format", "yolo"), "simgen-export",
            r"/annotations\.json: not a readable JSON file \(")
    assert snapshot(root) == before
