"""`simgen-check DATASET`: verify a finished dataset end to end and print a report; exit 1 on any problem.

Files present and the right size; every box, area, amodal mask, keypoint and category agreeing with the
masks and the pose; ids unique; and any exports (COCO splits, YOLO, BOP) agreeing with annotations.json. One pass
over the images, each with its annotations, read a line at a time where simgen laid the files out: a million frames
are checked without holding their annotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from simgen.annotate import touches_border
from simgen.annotations_file import RULES, first_line, rle_problem
from simgen.errors import OutputError
from simgen.export.dataset import Dataset, decode, load
from simgen.tools.check_exports import ExportChecks
from simgen.tools.check_poses import check_poses
from simgen.tools.check_report import MALFORMED, Maps, Report, image_type, mask_box
from simgen.tools.cli import Parser, progress, run_command
from simgen.tools.dataset import decode_file
from simgen.writers.coco_records import read_record


def check_categories(data: Dataset, report: Report) -> None:
    """Category ids and names unique; whether the annotations use only these is check_annotations' concern."""
    name = "categories"
    report.start(name)
    ids = [c.get("id") for c in data.coco["categories"]]
    names = [c.get("name") for c in data.coco["categories"]]
    if len(set(ids)) != len(ids) or len(set(names)) != len(names):
        report.problem(name, "category ids or names are not unique")
    report.counts[name] = f"{len(ids)} categories"


def check_image_files(data: Dataset, image: dict, anns: list[dict], report: Report) -> Maps:
    """The image's RGB and per-pixel maps, each checked for presence, size and type; its meta and COCO records."""
    name, stem = "images", Path(image["file_name"]).stem
    shape = (image["height"], image["width"])
    arrays = {}
    rgb, why = decode_file(data.root / image["file_name"])
    if rgb is None:
        report.problem(name, f"{image['file_name']}: {why}")
    elif rgb.shape[:2] != shape:
        report.problem(name, f"{image['file_name']}: {rgb.shape[1]}x{rgb.shape[0]}, expected {shape[1]}x{shape[0]}")
    elif rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        report.problem(name, f"{image['file_name']}: {image_type(rgb)}, expected 8-bit, 3 channels (RGB)")
    for kind in ("meta", "coco"):
        if (data.root / kind).is_dir() and not (data.root / kind / f"{stem}.json").is_file():
            report.problem(name, f"{kind}/{stem}.json: missing")
    if (data.root / "coco" / f"{stem}.json").is_file():
        check_record(data.root / "coco" / f"{stem}.json", image, anns, report)
    for kind in ("depth", "instance", "semantic"):
        if not (data.root / kind).is_dir():
            continue
        array, why = decode_file(data.root / kind / f"{stem}.png")
        if array is None:
            report.problem(name, f"{kind}/{stem}.png: {why}")
        elif array.shape != shape or array.dtype != np.uint16:
            report.problem(name, f"{kind}/{stem}.png: {image_type(array)}, expected {shape[1]}x{shape[0]} "
                                 "16-bit, 1 channel")
        else:
            arrays[kind] = array
    return arrays


def check_record(path: Path, image: dict, anns: list[dict], report: Report) -> None:
    """The frame's COCO record, which a resume and simgen-merge assemble annotations.json from, holds its image and
    annotations as annotations.json has them (without their ids)."""
    try:
        record = read_record(path)
    except (OutputError, OSError):
        report.problem("images", f"coco/{path.name}: not a frame's COCO record (damaged?)")
        return
    if record["image"] != image or record["annotations"] != [{k: v for k, v in a.items() if k != "id"} for a in anns]:
        report.problem("images", f"coco/{path.name}: its image or annotations are not those of annotations.json (a "
                                 "merge or a resume would carry them)")


def written_folders(config: dict) -> dict[str, str]:
    """The per-frame folders the dataset's config.yaml says its writers wrote, each with the setting that says so."""
    writers = config.get("writers") if isinstance(config.get("writers"), dict) else {}
    images = writers.get("images") if isinstance(writers.get("images"), dict) else {}
    folders = {"depth": "writers.images.depth=true"} if images.get("depth") else {}
    if images.get("masks"):
        folders.update(instance="writers.images.masks=true", semantic="writers.images.masks=true")
    folders.update({kind: f"writers.{kind}" for kind in ("coco", "meta") if kind in writers})
    return folders


def check_images(data: Dataset, report: Report) -> None:
    """Image ids unique and every RGB file listed; each image's own files are checked with its annotations."""
    name = "images"
    report.start(name)
    ids = [img["id"] for img in data.images]
    if len(set(ids)) != len(ids):
        report.problem(name, "image ids are not unique")
    if len({img["frame_index"] for img in data.images}) != len(ids):
        report.problem(name, "frame_index is not unique: two images are one frame")
    for kind, setting in written_folders(data.config).items():
        if not (data.root / kind).is_dir():
            report.problem(name, f"{kind}/: missing, though config.yaml says the run wrote it ({setting})")
    listed = {Path(img["file_name"]).name for img in data.images}
    for path in sorted((data.root / "rgb").glob("[!.]*")) if (data.root / "rgb").is_dir() else []:
        if path.name not in listed:
            report.problem(name, f"rgb/{path.name} is not in annotations.json")
    report.counts[name] = f"{len(ids)} images"


def check_amodal(ann: dict, visible: np.ndarray, exact: bool, report: Report) -> None:
    """exact: whether `visible` is the annotation's visible pixels exactly (else a simplified polygon's)."""
    name, h, w = "annotations", *visible.shape
    amodal = decode(ann["amodal_segmentation"], h, w)
    if exact and np.any(visible & ~amodal):
        report.problem(name, f"annotation {ann['id']}: visible pixels outside its amodal mask")
    if ann.get("amodal_area") != int(amodal.sum()) or ann.get("amodal_bbox") != mask_box(amodal):
        report.problem(name, f"annotation {ann['id']}: amodal_area or amodal_bbox disagrees with amodal_segmentation")
    if abs(ann.get("visible_fraction", -1) - ann["area"] / max(int(amodal.sum()), 1)) > 1e-5:
        report.problem(name, f"annotation {ann['id']}: visible_fraction is not area / amodal_area")
    if "silhouette_area" in ann and not whole_silhouette_holds(ann, amodal):
        report.problem(name, f"annotation {ann['id']}: silhouette_area, silhouette_bbox or in_frame_fraction "
                             "disagrees with amodal_segmentation")


def whole_silhouette_holds(ann: dict, amodal: np.ndarray) -> bool:
    """The whole silhouette holds the amodal mask (is it, where that does not reach the image border), and
    in_frame_fraction is their ratio."""
    (x, y, w, h), (ax, ay, aw, ah) = ann.get("silhouette_bbox") or (0, 0, 0, 0), mask_box(amodal)
    area, whole = int(amodal.sum()), ann["silhouette_area"]
    holds = x <= ax and y <= ay and x + w >= ax + aw and y + h >= ay + ah and whole >= area
    same = touches_border(amodal) or ((x, y, w, h) == (ax, ay, aw, ah) and whole == area)
    return holds and same and abs(ann.get("in_frame_fraction", -1) - area / max(whole, 1)) <= 1e-5


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks."""
    return float((a & b).sum() / max((a | b).sum(), 1))


def box_mask(box: list[float], h: int, w: int) -> np.ndarray:
    """The pixels of an [x, y, width, height] box."""
    x, y, bw, bh = (int(round(v)) for v in box)
    mask = np.zeros((h, w), dtype=bool)
    mask[max(y, 0):y + bh, max(x, 0):x + bw] = True
    return mask


def check_annotation(ann: dict, image: dict, maps: Optional[Maps], report: Report) -> None:
    """The annotation's own fields (its pose and keypoints: check_poses), then its masks against the image's `maps`;
    None: the image was not drawn (--sample), so the fields alone."""
    name = "annotations"
    fit, expected = RULES["annotations"]["segmentation"]
    if not fit(ann.get("segmentation")):  # an empty polygon list made pycocotools fail and stopped the check
        report.problem(name, f"annotation {ann['id']}: 'segmentation': expected {expected}")
        return
    if ann.get("iscrowd") not in (0, 1):
        report.problem(name, f"annotation {ann['id']}: iscrowd must be 0 or 1")
    if "instance_value" in ann and type(ann["instance_value"]) is not int:
        report.problem(name, f"annotation {ann['id']}: 'instance_value': expected an integer")
    misfits = [problem.replace("'segmentation'", repr(key), 1) for key in ("segmentation", "amodal_segmentation")
               if (problem := rle_problem(ann.get(key), image["height"], image["width"]))]
    for problem in misfits:
        report.problem(name, f"annotation {ann['id']}: {problem}")
    if maps is not None and not misfits:
        check_masks(ann, image, maps, report)


def check_masks(ann: dict, image: dict, maps: Maps, report: Report) -> None:
    """The annotation's segmentation, box, area, category and amodal mask against the image's instance and semantic
    masks where it has them."""
    name, h, w = "annotations", image["height"], image["width"]
    mask = decode(ann["segmentation"], h, w)
    exact = isinstance(ann["segmentation"], dict)  # an RLE; polygons are simplified outlines
    if "instance" in maps:
        truth = maps["instance"] == ann["instance_value"]
        if (exact and not np.array_equal(mask, truth)) or overlap(mask, truth) < 0.5:
            report.problem(name, f"annotation {ann['id']}: segmentation disagrees with instance mask "
                                 f"{ann['instance_value']}")
        mask, exact = truth, True
    if exact and (ann["bbox"] != mask_box(mask) or ann["area"] != int(mask.sum())):
        report.problem(name, f"annotation {ann['id']}: bbox or area disagrees with its mask")
    if not exact and overlap(box_mask(ann["bbox"], h, w), box_mask(mask_box(mask), h, w)) < 0.5:
        report.problem(name, f"annotation {ann['id']}: bbox far from its polygon's")
    if "semantic" in maps and np.any(maps["semantic"][mask] != ann["category_id"]):
        report.problem(name, f"annotation {ann['id']}: semantic mask disagrees with category {ann['category_id']}")
    if "amodal_segmentation" in ann:
        check_amodal(ann, mask, exact, report)


@dataclass
class Tally:
    """What the pass over the images gathers for the checks that need every annotation."""

    annotations: int = 0
    categories: set[int] = field(default_factory=set)
    instances_twice: bool = False

    def add(self, anns: list[dict]) -> None:
        self.annotations += len(anns)
        self.categories.update(a["category_id"] for a in anns)
        values = [a["instance_value"] for a in anns if "instance_value" in a]
        self.instances_twice |= len(set(values)) != len(values)


def check_references(data: Dataset, report: Report) -> int:
    """Annotation ids unique and each naming an image, where annotations.json was read whole (read_lines made sure of
    both where it is streamed); returns how many name no image, which the pass over the images does not see."""
    if data.streamed_from is not None:
        return 0
    name = "annotations"
    ids = [a["id"] for a in data.coco["annotations"]]
    if len(set(ids)) != len(ids):
        report.problem(name, "annotation ids are not unique")
    images = {img["id"] for img in data.images}
    orphans = [a for a in data.coco["annotations"] if a["image_id"] not in images]
    for ann in orphans:
        report.problem(name, f"annotation {ann['id']}: unknown image_id {ann['image_id']}")
    return len(orphans)


def shadowed(images: list[dict]) -> set[int]:
    """The images (by id()) whose image id a later image has too: an id's annotations go with its last image."""
    last = {img["id"]: img for img in images}
    return {id(img) for img in images if last[img["id"]] is not img} if len(last) < len(images) else set()


def check_image(data: Dataset, image: dict, anns: list[dict], drawn: bool, keyed: set,
                report: Report) -> Optional[Maps]:
    """The image's annotations (`keyed`: the categories that name keypoints); where it is `drawn` (every image but with
    --sample), its files first, and the annotations against them. Returns the drawn image's maps as its files' check
    read them (None: not drawn)."""
    maps = check_image_files(data, image, anns, report) if drawn else None
    for ann in anns:
        try:
            check_annotation(ann, image, maps, report)
        except MALFORMED as err:
            report.problem("annotations", f"annotation {ann.get('id')}: malformed ({type(err).__name__}: "
                                          f"{first_line(err)})")
    check_poses(anns, image, keyed, report)
    return maps


def check_annotations(data: Dataset, chosen: list[dict], exports: ExportChecks, show_progress: bool,
                      report: Report) -> bool:
    """One pass over the images with their annotations, read as they come (a line at a time where simgen laid out
    annotations.json): every annotation counted; the `chosen` images' files (all but with --sample) checked, their
    annotations against them and the exports' files of them, an image at a time (the masks of a dataset are never
    all held: 1.8 MB a 640x480 frame). True once it went through."""
    name = "annotations"
    orphans = check_references(data, report)
    drawn = {id(image) for image in chosen} if len(chosen) < len(data.images) else None
    hidden = shadowed(data.images)
    tally = Tally()
    keyed = {c.get("id") for c in data.coco["categories"] if c.get("keypoints")}
    for image, anns in progress(data.by_image(), "checking", show_progress, total=len(data.images)):
        anns = [] if id(image) in hidden else anns
        try:
            tally.add(anns)
        except TypeError as err:  # an instance_value that is no number
            report.problem(name, f"image {image['id']}: malformed annotations ({type(err).__name__}: "
                                 f"{first_line(err)})")
        maps = check_image(data, image, anns, drawn is None or id(image) in drawn, keyed, report)
        exports.image(image, anns, maps)
    defined = {c.get("id") for c in data.coco["categories"]}
    for missing in sorted(tally.categories - defined):
        report.problem("categories", f"category_id {missing} is used by annotations but not defined")
    if tally.instances_twice:
        report.problem(name, "an instance_value is annotated twice in one image")
    report.counts[name] = f"{tally.annotations + orphans} annotations"
    if drawn is not None:
        report.counts["images"] = f"{len(data.images)} images, the files of {len(chosen)} drawn at random checked"
        report.counts[name] += ", those of the drawn images checked against their masks"
    return True


def sampled(images: list[dict], sample: Optional[int]) -> list[dict]:
    """`sample` of the images, drawn at random (the same ones every time), in their order; all without `sample`."""
    if sample is None or sample >= len(images):
        return images
    picked = np.random.default_rng(0).choice(len(images), size=sample, replace=False)
    return [images[k] for k in sorted(picked)]


def guarded(report: Report, name: str, run: Callable[..., Any], *args: Any) -> Any:
    """Run one check; a malformed file stops that check with a problem instead of a traceback."""
    try:
        return run(*args, report)
    except MALFORMED as err:
        report.problem(name, f"malformed dataset, check stopped ({type(err).__name__}: {first_line(err)})")
        return None


def check(root: Path, sample: Optional[int] = None, show_progress: bool = False) -> Report:
    """Every check on the dataset at `root` and on the exports found in it; with `sample`, the files and masks of
    that many random images only; with `show_progress`, a progress bar over the images on stderr."""
    data = load(root, streamed=True)
    report = Report()
    guarded(report, "categories", check_categories, data)
    guarded(report, "images", check_images, data)
    chosen = sampled(data.images, sample)
    report.start("annotations")
    exports = ExportChecks(data, chosen, report)
    exports.finish(bool(guarded(report, "annotations", check_annotations, data, chosen, exports, show_progress)))
    return report


def main(argv: Optional[Sequence[str]] = None) -> None:
    ap = Parser(prog="simgen-check", description=__doc__.split(":", 1)[1].strip())
    ap.add_argument("dataset", help="a finished simgen dataset folder (with annotations.json)")
    ap.add_argument("--sample", type=int, metavar="N",
                    help="check the files and masks of N images drawn at random (default: all; about 20 ms each)")
    ap.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    args = ap.parse_args(argv)
    if args.sample is not None and args.sample < 1:
        ap.error(f"--sample: expected an integer >= 1, got {args.sample}")
    run_command("simgen-check", lambda: run(Path(args.dataset), args.sample, args.progress))


def run(root: Path, sample: Optional[int] = None, show_progress: bool = True) -> int:
    """Print the report; the exit status is 1 where it found problems."""
    report = check(root, sample, show_progress)
    print(f"simgen-check: {root}")
    print("\n".join(report.lines()))
    print(f"simgen-check: {report.problems} problem(s)" if report.problems else "simgen-check: all checks passed")
    return 1 if report.problems else 0


if __name__ == "__main__":
    main()
