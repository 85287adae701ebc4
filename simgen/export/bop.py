"""BOP (bop.felk.cvut.cz) scenes: one per split, `bop/{split}/000000/`, image ids = frame indices.

scene_camera.json, scene_gt.json, scene_gt_info.json, rgb/, depth/ (depth * depth_scale = mm),
mask/ (amodal, from the RLE `amodal_segmentation`) and mask_visib/ (visible, from instance/ or else an RLE
`segmentation`: never a simplified polygon) per instance as `{im_id:06d}_{gt_id:06d}.png`. A BOP obj_id is
a simgen category id. Needs the amodal masks (annotator.amodal=true).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import cv2
import numpy as np

from simgen.annotate import mask_rect
from simgen.export.dataset import Dataset, DatasetError, decode, read_png, write_json
from simgen.writers.files import NamedFile, link, replacing

SCENE = "000000"
SCENE_FILES = ("scene_camera.json", "scene_gt.json", "scene_gt_info.json")
DEPTH_SCALE = 1.0  # simgen's depth PNGs are already in millimetres
WRITE_THREADS = min(4, os.cpu_count() or 1)  # mask PNGs encoded at once (cv2.imwrite releases the GIL)

WriteMask = Callable[[Path, np.ndarray], None]


def bop_box(box: Sequence[float]) -> list:
    """A COCO box [x, y, w, h], which spans its pixels' edges, as the BOP toolkit gives it (misc.calc_2d_bbox): from
    the first to the last pixel's column and row, so w and h one less; [-1, -1, -1, -1] for an empty box."""
    x, y, w, h = box
    return [x, y, w - 1, h - 1] if w > 0 and h > 0 else [-1, -1, -1, -1]


def camera_entry(image: dict) -> dict:
    w2c = np.asarray(image["world_to_camera"], dtype=float)
    return {"cam_K": np.asarray(image["intrinsics"]).ravel().tolist(), "depth_scale": DEPTH_SCALE,
            "cam_R_w2c": w2c[:3, :3].ravel().tolist(), "cam_t_w2c": (w2c[:3, 3] * 1000.0).tolist()}


def camera_file(image: dict) -> dict:
    """bop/camera.json as `image`'s camera (the export writes the dataset's first image's)."""
    k = np.asarray(image["intrinsics"], dtype=float).reshape(3, 3)
    return {"cx": float(k[0, 2]), "cy": float(k[1, 2]), "fx": float(k[0, 0]), "fy": float(k[1, 1]),
            "width": image["width"], "height": image["height"], "depth_scale": DEPTH_SCALE}


def gt_entry(ann: dict) -> dict:
    return {"obj_id": ann["category_id"], "cam_R_m2c": np.asarray(ann["cam_R_m2c"]).ravel().tolist(),
            "cam_t_m2c": (np.asarray(ann["cam_t_m2c"]) * 1000.0).tolist()}


def gt_info(ann: dict, visible: np.ndarray, amodal: np.ndarray, valid: np.ndarray) -> dict:
    """The BOP toolkit's calc_gt_info fields (`valid`: the pixels with a depth): px_count_all and bbox_obj count the
    whole silhouette, past the image border too (the annotation's silhouette_area and silhouette_bbox; the amodal mask
    in datasets without them)."""
    visib_px = int(np.count_nonzero(visible))
    all_px = ann["silhouette_area"] if "silhouette_area" in ann else int(np.count_nonzero(amodal))
    whole = ann.get("silhouette_bbox")
    bbox_obj = bop_box(mask_rect(amodal) if whole is None else [int(v) for v in whole])
    return {"bbox_obj": bbox_obj, "bbox_visib": bop_box(mask_rect(visible)), "px_count_all": all_px,
            "px_count_valid": int(np.count_nonzero(amodal & valid)), "px_count_visib": visib_px,
            "visib_fract": visib_px / all_px if all_px else 0.0}


def write_mask(path: Path, mask: np.ndarray) -> None:
    """`mask` as a 0/255 PNG at `path`, whose folder is there; an OSError where it cannot be written."""
    image = mask.astype(np.uint8) * 255
    if not image.flags.c_contiguous:  # decode's column-major masks: cv2.transpose beats imwrite's own copy
        image = cv2.transpose(image.T)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"{path}: could not be written")


@contextlib.contextmanager
def mask_writer(threads: int = WRITE_THREADS) -> Iterator[WriteMask]:
    """write_mask from `threads` threads, at most twice as many masks waiting (memory stays flat); a failed write
    raises in a later call or when the block ends, and an error leaves no write running."""
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(threads, thread_name_prefix="bop-mask") as pool:

        def write(path: Path, mask: np.ndarray) -> None:
            pending.append(pool.submit(write_mask, path, mask))
            while len(pending) > 2 * threads:
                pending.popleft().result()

        try:
            yield write
            while pending:
                pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def export_image(data: Dataset, image: dict, annotations: list[dict], scene_dir: Path,
                 write: WriteMask) -> tuple[list, list]:
    """Links the image's RGB and depth, writes the masks of its `annotations`; returns its scene_gt and
    scene_gt_info lists."""
    im_id, shape, stem = image["frame_index"], (image["height"], image["width"]), Path(image["file_name"]).stem
    rgb = data.rgb_file(image)
    depth_file = data.root / "depth" / f"{stem}.png"
    if not depth_file.is_file():
        raise DatasetError(f"{depth_file}: missing; BOP needs the depth images (writers.images.depth=true)")
    link(rgb, scene_dir / "rgb" / f"{im_id:06d}{rgb.suffix}")
    link(depth_file, scene_dir / "depth" / f"{im_id:06d}.png")
    valid = np.asfortranarray(read_png(depth_file, shape, "depth") > 0)  # decode's layout: `amodal & valid` is fast
    instance = data.instance_image(image)
    gts, infos = [], []
    for gt_id, ann in enumerate(annotations):
        if "amodal_segmentation" not in ann or "cam_R_m2c" not in ann:
            raise DatasetError(f"{data.root}: annotation {ann['id']} has no amodal mask or pose; BOP needs "
                               "a dataset made with annotator.amodal=true")
        with data.entry(f"annotation {ann['id']}"):
            visible = data.visible_mask(ann, image, instance, exact_for="BOP")
            amodal = decode(ann["amodal_segmentation"], *shape)
            gt, info = gt_entry(ann), gt_info(ann, visible, amodal, valid)
        write(scene_dir / "mask" / f"{im_id:06d}_{gt_id:06d}.png", amodal)
        write(scene_dir / "mask_visib" / f"{im_id:06d}_{gt_id:06d}.png", visible)
        gts.append(gt)
        infos.append(info)
    return gts, infos


def export_bop(data: Dataset, ratios: Optional[dict] = None, seed: Optional[int] = None) -> list[Path]:
    """DATASET/bop/{split}/000000/ for each non-empty split, and DATASET/bop/camera.json; a dataset without
    images exports nothing. One pass over the images and their annotations, read as they come; each scene's
    JSON files are written an image at a time."""
    if not data.images:
        return []
    parts = {split: images for split, images in data.split_images(ratios, seed).items() if images}
    split_of = {id(image): split for split, images in parts.items() for image in images}
    with replacing(data.root / "bop") as out, mask_writer() as write, contextlib.ExitStack() as files:
        scenes = {split: [files.enter_context(JsonObjectFile(out / split / SCENE / name)) for name in SCENE_FILES]
                  for split in parts}
        for image, annotations in data.by_image():
            split = split_of[id(image)]
            scene_dir, (cameras, gts, infos) = out / split / SCENE, scenes[split]
            if annotations:
                for folder in ("mask", "mask_visib"):
                    (scene_dir / folder).mkdir(exist_ok=True)
            key = str(image["frame_index"])
            with data.entry(f"image {image['id']}"):
                cameras.add(key, camera_entry(image))
            gt, info = export_image(data, image, annotations, scene_dir, write)
            gts.add(key, gt)
            infos.add(key, info)
        with data.entry(f"image {data.images[0]['id']}"):
            write_json(out / "camera.json", camera_file(data.images[0]))
    return [data.root / "bop" / split / SCENE for split in parts]


class JsonObjectFile:
    """A JSON object written a key at a time, an entry per line (`{`, then `"key":value,` lines, the last without its
    comma, then `}`: the layout of the BOP toolkit's save_json), so that neither writing nor reading (object_entries)
    a scene_gt.json of a million frames holds it whole. Open it with `with`, which closes it."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file, self.keys = NamedFile(path, mode="w"), 0
        self.file.write("{")

    def add(self, key: str, value: object) -> None:
        self.file.write(f"{',' * (self.keys > 0)}\n{json.dumps(key)}:{json.dumps(value, separators=(',', ':'))}")
        self.keys += 1

    def __enter__(self) -> JsonObjectFile:
        return self

    def __exit__(self, *error: object) -> None:
        with self.file:
            self.file.write("\n}")


class NotAnObject(ValueError):
    """A JSON file that should hold an object holds another value."""


def object_entries(path: Path) -> Iterable[tuple[str, Any]]:
    """The (key, value) entries of a JSON object file: read a line at a time (as often as they are iterated) where it
    is laid out an entry per line (JsonObjectFile), which is checked through first; else read whole. A ValueError
    where the file is no JSON, a NotAnObject where it holds no object."""
    try:
        for _ in _object_lines(path):
            pass
    except (ValueError, UnicodeDecodeError, RecursionError):
        whole = json.loads(path.read_bytes(), object_pairs_hook=_Pairs)
        if type(whole) is not _Pairs:
            raise NotAnObject(f"{path.name} not a JSON object of entries by image id") from None
        return whole.pairs
    return _Lines(path)


class _Pairs(dict):
    """A JSON object as json reads it, with its entries also as they stand in the file (`pairs`), a key given twice
    twice, as a line at a time reads them."""

    def __init__(self, pairs: list[tuple[str, Any]]):
        super().__init__(pairs)
        self.pairs = pairs


class _Lines:
    """A file's entries as _object_lines reads them, every time it is iterated."""

    def __init__(self, path: Path):
        self.path = path

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return _object_lines(self.path)


def _object_lines(path: Path) -> Iterator[tuple[str, Any]]:
    """The entries of a JSON object file laid out an entry per line (blanks around each line allowed); a ValueError at
    the first line that does not fit that layout."""
    with open(path, "rb") as fh:
        if fh.readline().strip() != b"{":
            raise ValueError(f"{path.name}: not an entry per line")
        ended = True  # by a comma, or by nothing where there was no entry yet
        comma = False
        for line in fh:
            body = line.strip()
            if body == b"}" and not comma and not fh.read().strip():
                return
            if not ended or not body:
                break
            comma = body.endswith(b",")
            ended = comma
            entry = json.loads(b"{" + body.removesuffix(b",") + b"}")
            if len(entry) != 1:
                break
            yield next(iter(entry.items()))
    raise ValueError(f"{path.name}: not an entry per line")
