"""simgen-check's checks of the exports found in a dataset: COCO splits, YOLO and BOP against annotations.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from simgen.export.bop import SCENE
from simgen.export.coco_splits import split_file
from simgen.export.dataset import Dataset, DatasetError
from simgen.export.yolo import TASKS, class_indices
from simgen.splits import SPLIT_NAMES
from simgen.tools.check_report import Report, read_image


def split_files(root: Path) -> dict[str, Path]:
    """The COCO split files the dataset holds, by split."""
    paths = {split: split_file(root, split) for split in SPLIT_NAMES}
    return {split: path for split, path in paths.items() if path.is_file()}


Membership = dict[int, str]  # the split of each frame (by frame index) in an export


def check_splits(data: Dataset, report: Report) -> dict[str, Membership]:
    """Split files partition the images, each with exactly its images' annotations; returns their splits."""
    name = "splits"
    files = split_files(data.root)
    if not files:
        return {}
    report.start(name)
    membership: Membership = {}
    seen: list[int] = []
    counts = []
    for split, path in files.items():
        coco = json.loads(path.read_text())
        ids = [img["id"] for img in coco["images"]]
        membership.update((img["frame_index"], split) for img in coco["images"])
        seen += ids
        counts.append(f"{split}: {len(ids)}")
        held = set(ids)
        expected = sorted(a["id"] for a in data.coco["annotations"] if a["image_id"] in held)
        if sorted(a["id"] for a in coco["annotations"]) != expected or coco["categories"] != data.coco["categories"]:
            report.problem(name, f"{path.name}: annotations or categories disagree with annotations.json")
    if sorted(seen) != sorted(img["id"] for img in data.images):
        report.problem(name, "the split files do not hold every image exactly once")
    report.counts[name] = ", ".join(counts)
    return {"the split files": membership}


def yolo_rows(path: Path) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]


def check_yolo_image(data: Dataset, out: Path, task: str, image: dict, classes: dict, report: Report) -> None:
    name, stem = f"yolo/{task}", Path(image["file_name"]).stem
    found = [s for s in SPLIT_NAMES if (out / "labels" / s / f"{stem}.txt").is_file()]
    if len(found) != 1 or not (out / "images" / found[0] / Path(image["file_name"]).name).is_file():
        report.problem(name, f"{stem}: expected one image and one label file, in one split")
        return
    rows = yolo_rows(out / "labels" / found[0] / f"{stem}.txt")
    anns = [a for a in data.annotations_of(image["id"]) if not a.get("iscrowd")]
    if len(rows) != len(anns):
        report.problem(name, f"{stem}: {len(rows)} label lines for {len(anns)} annotations")
        return
    size = np.array([image["width"], image["height"]], dtype=float)
    for row, ann in zip(rows, anns):
        values = np.asarray(row[1:])
        x, y, w, h = ann["bbox"]
        if row[0] != classes.get(ann["category_id"]) or np.any(values < 0) or np.any(values > 1):
            report.problem(name, f"{stem}: line for annotation {ann['id']} has another class or values outside [0, 1]")
        elif task == "detect" and not np.allclose(values * np.tile(size, 2), [x + w / 2, y + h / 2, w, h], atol=1e-3):
            report.problem(name, f"{stem}: box of annotation {ann['id']} disagrees with its COCO bbox")
        elif task == "segment":
            pts = values.reshape(-1, 2) * size
            inside = np.all(pts.min(0) >= [x - 1e-3, y - 1e-3]) and np.all(pts.max(0) <= [x + w + 1e-3, y + h + 1e-3])
            if len(pts) < 3 or not inside:
                report.problem(name, f"{stem}: outline of annotation {ann['id']} leaves its COCO bbox")


def drawn(data: Dataset, images: list[dict]) -> str:
    """What a count adds where only the files of the images drawn (--sample) were checked."""
    return f", those of the {len(images)} drawn images checked" if len(images) < len(data.images) else ""


def check_yolo(data: Dataset, images: list[dict], report: Report) -> dict[str, Membership]:
    """Each YOLO task found against annotations.json (the label files of `images` only); returns their splits."""
    for task in TASKS:
        out = data.root / "yolo" / task
        if not out.is_dir():
            continue
        name = f"yolo/{task}"
        report.start(name)
        spec = yaml.safe_load((out / "data.yaml").read_text()) if (out / "data.yaml").is_file() else None
        names = {k: c["name"] for k, c in enumerate(sorted(data.categories, key=lambda c: c["id"]))}
        if not isinstance(spec, dict) or spec.get("names") != names or not {"path", "train", "val"} <= set(spec):
            report.problem(name, "data.yaml is missing, lacks path/train/val, or its names are not the categories")
        classes = class_indices(data.categories)
        for image in images:
            check_yolo_image(data, out, task, image, classes, report)
        report.counts[name] = f"{len(data.images)} label files{drawn(data, images)}"
    return yolo_membership(data)


def check_bop_image(data: Dataset, scene: Path, image: dict, gts: list, infos: list, report: Report) -> None:
    name, im_id = "bop", image["frame_index"]
    anns = data.annotations_of(image["id"])
    if len(gts) != len(anns) or len(infos) != len(anns):
        report.problem(name, f"{scene.parent.name} image {im_id}: {len(gts)} gt entries for {len(anns)} annotations")
        return
    try:
        instance = data.instance_image(image)
    except DatasetError:  # the frame's own checks report the file
        instance = None
    for gt_id, (gt, info, ann) in enumerate(zip(gts, infos, anns)):
        visib = read_image(scene / "mask_visib" / f"{im_id:06d}_{gt_id:06d}.png")
        truth = data.visible_mask(ann, image, instance)
        same_pose = np.allclose(gt["cam_t_m2c"], np.asarray(ann["cam_t_m2c"]) * 1000, atol=1e-6) and \
            np.allclose(gt["cam_R_m2c"], np.ravel(ann["cam_R_m2c"]), atol=1e-9)
        if gt["obj_id"] != ann["category_id"] or not same_pose or info["px_count_visib"] != ann["area"]:
            report.problem(name, f"image {im_id} gt {gt_id}: obj_id, pose or pixel count disagrees with "
                                 f"annotation {ann['id']}")
        amodal = read_image(scene / "mask" / f"{im_id:06d}_{gt_id:06d}.png")
        if visib is None or amodal is None or not np.array_equal(visib > 0, truth):
            report.problem(name, f"image {im_id} gt {gt_id}: mask_visib missing or not the annotation's mask, "
                                 "or mask missing")


def check_bop(data: Dataset, images: list[dict], report: Report) -> dict[str, Membership]:
    """The BOP scenes against annotations.json (the masks of `images` only); returns their splits."""
    if not (data.root / "bop").is_dir():
        return {}
    name = "bop"
    report.start(name)
    membership: Membership = {}
    by_frame = {img["frame_index"]: img for img in data.images}
    chosen = {img["frame_index"] for img in images}
    seen: list[int] = []
    for scene in sorted((data.root / "bop").glob(f"*/{SCENE}")):
        files = {f: scene / f"scene_{f}.json" for f in ("camera", "gt", "gt_info")}
        if not all(p.is_file() for p in files.values()):
            report.problem(name, f"{scene}: scene_camera.json, scene_gt.json or scene_gt_info.json missing")
            continue
        cams, gts, infos = (json.loads(p.read_text()) for p in files.values())
        bad = [p.name for p, v in zip(files.values(), (cams, gts, infos)) if not isinstance(v, dict)]
        if bad:
            report.problem(name, f"{scene.parent.name}/{scene.name}: {', '.join(bad)} not a JSON object of "
                                 "entries by image id")
            continue
        seen += [int(k) for k in cams]
        membership.update((int(k), scene.parent.name) for k in cams)
        for key, cam in cams.items():
            image = by_frame.get(int(key))
            if image is None or not np.allclose(cam["cam_K"], np.ravel(image["intrinsics"])) \
                    or not (scene / "depth" / f"{int(key):06d}.png").is_file():
                report.problem(name, f"{scene.parent.name} image {key}: unknown image, other cam_K or no depth")
                continue
            if image["frame_index"] in chosen:
                check_bop_image(data, scene, image, gts.get(key, []), infos.get(key, []), report)
    if sorted(seen) != sorted(by_frame):
        report.problem(name, "the BOP scenes do not hold every image exactly once")
    report.counts[name] = f"{len(seen)} images{drawn(data, images)}"
    return {"bop": membership}


def yolo_membership(data: Dataset) -> dict[str, Membership]:
    """The split of each frame in each YOLO task found, from its label files' folders."""
    frame_of = {Path(img["file_name"]).stem: img["frame_index"] for img in data.images}
    found = {}
    for task in TASKS:
        labels = data.root / "yolo" / task / "labels"
        if labels.is_dir():
            found[f"yolo/{task}"] = {frame_of.get(f.stem, -1): f.parent.name for f in labels.glob("*/*.txt")}
    return found


def check_same_splits(found: dict[str, Membership], report: Report) -> None:
    """Every export puts each frame in the same split (each made with the same --splits and --seed)."""
    (first, reference), *others = found.items()
    for name, membership in others:
        if membership != reference:
            report.problem(name, f"its splits are not those of {first} (exports made with other --splits or "
                                 "--seed: make them again with the same ones)")


def check_exports(data: Dataset, images: list[dict], report: Report) -> None:
    """The exports found against annotations.json; the files of `images` only (those drawn with --sample); then
    whether they agree on the splits (those whose check stopped left out)."""
    found: dict[str, Membership] = {}
    for name, run, drawn_images in (("splits", check_splits, ()), ("yolo", check_yolo, (images,)),
                                    ("bop", check_bop, (images,))):
        try:
            found.update(run(data, *drawn_images, report))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OSError, yaml.YAMLError) as err:
            report.problem(name, f"malformed export, check stopped ({type(err).__name__}: {err})")
    if found:
        check_same_splits(found, report)
