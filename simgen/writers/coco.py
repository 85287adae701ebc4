"""COCO instances: one small record per frame, assembled into annotations.json (atomically) at close."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Optional

import simgen
from simgen import camera as cam_math
from simgen import geometry, validate
from simgen.annotate import Instance
from simgen.annotations_file import ANNOTATIONS_START, IMAGES_START, LIST_END, SEPARATOR
from simgen.frame import Frame
from simgen.polygons import mask_polygons
from simgen.scene import Scene
from simgen.writers.coco_records import record_bytes, record_entries, with_id
from simgen.writers.files import (DEPTH_SCALE_M, FINISHED_MARKER, atomic_file, frame_stem, json_bytes, on_disk,
                                  write_bytes_atomic)

COPY_CHUNK = 1 << 20  # bytes


def image_entry(index: int, scene: Scene, file_name: str) -> dict:
    cam = scene.camera
    return {
        "id": index + 1,
        "file_name": file_name,
        "width": cam.width,
        "height": cam.height,
        "frame_index": index,
        "intrinsics": cam_math.intrinsics(cam).round(6).tolist(),
        "world_to_camera": cam_math.world_to_camera(cam).round(9).tolist(),
        "depth_scale": DEPTH_SCALE_M,
    }


def instance_labels(inst: Instance) -> dict:
    """The annotation fields beyond COCO's own: visibility, amodal mask, 6D pose, 3D box, keypoints."""
    labels = {"ignore": int(inst.ignore), "truncated": inst.truncated}
    if inst.amodal_rle is not None:
        labels.update(visible_fraction=inst.visible_fraction, amodal_bbox=inst.amodal_bbox,
                      amodal_area=inst.amodal_area, amodal_segmentation=inst.amodal_rle,
                      in_frame_fraction=inst.in_frame_fraction, silhouette_bbox=inst.silhouette_bbox,
                      silhouette_area=inst.silhouette_area)
    labels.update(cam_R_m2c=inst.cam_R_m2c, cam_t_m2c=inst.cam_t_m2c)
    if inst.keypoints is not None:
        labels.update(bbox_3d=inst.bbox_3d, keypoints=inst.keypoints, num_keypoints=inst.num_keypoints)
    return labels


HEAD_LIMIT = 1 << 24  # bytes of annotations.json's first line read to tell simgen's layout: its info and categories


class CocoWriter:
    """COCO instances with `segmentation` as compressed RLE (default) or polygons."""

    marks_finished = True  # its annotations.json, written last, marks a finished dataset
    needs_rgb = True  # its images name rgb/ files

    def __init__(self, segmentation: str = "rle", image_ext: str = "png", polygon_tolerance: float = 1.0):
        self.segmentation = validate.choice("segmentation", segmentation, ("rle", "polygon"))
        self.image_ext = validate.choice("image_ext", image_ext, ("png", "jpg"))
        self.polygon_tolerance = validate.number("polygon_tolerance", polygon_tolerance, low=0)
        self.root, self.categories = Path("."), []

    @property
    def writes_exact_masks(self) -> bool:
        """Whether segmentations are exact (RLE), not simplified polygons."""
        return self.segmentation == "rle"

    def open(self, root: Path, categories: list[dict]) -> None:
        self.root = Path(root)
        self.categories = [{**c, "keypoints": geometry.KEYPOINT_NAMES, "skeleton": geometry.SKELETON}
                           for c in categories]
        (self.root / "coco").mkdir(parents=True, exist_ok=True)

    def record_path(self, index: int) -> Path:
        return self.root / "coco" / f"{frame_stem(index)}.json"

    def write(self, index: int, frame: Frame, scene: Scene, instances: list[Instance]) -> None:
        image = image_entry(index, scene, f"rgb/{frame_stem(index)}.{self.image_ext}")
        annotations = [self._annotation(image["id"], frame, inst) for inst in instances]
        write_bytes_atomic(self.record_path(index), record_bytes(image, annotations))

    def _annotation(self, image_id: int, frame: Frame, inst: Instance) -> dict:
        if self.segmentation == "rle":
            segmentation = inst.rle
        else:
            segmentation = mask_polygons(frame.instance == inst.instance_value, self.polygon_tolerance)
        return {
            "image_id": image_id, "category_id": inst.category_id, "bbox": inst.bbox, "area": inst.area,
            "segmentation": segmentation, "iscrowd": int(inst.ignore), "instance_value": inst.instance_value,
            **instance_labels(inst),
        }

    def done(self, index: int) -> bool:
        return on_disk(self.record_path(index))

    def made(self) -> bool:
        """Whether annotations.json is there and whole: one emptied or cut short outside simgen (which writes it
        atomically) is assembled again from the records. Whole: ending as simgen ends it (LIST_END: a file cut short
        can end in any other `}`), or else, laid out by another tool, one JSON object."""
        path = self.root / FINISHED_MARKER
        try:
            with open(path, "rb") as fh:
                laid_out_by_simgen = fh.readline(HEAD_LIMIT).endswith(IMAGES_START)
                fh.seek(max(0, fh.seek(0, os.SEEK_END) - len(LIST_END)))
                if laid_out_by_simgen:  # read no further: a million frames' file need not be parsed
                    return fh.read() == LIST_END
            return type(json.loads(path.read_bytes())) is dict
        except (OSError, ValueError, RecursionError):
            return False

    def close(self, records: Optional[Iterable[Path]] = None) -> None:
        """Assemble every frame record, in frame order, into one COCO file (an entry per line: see
        annotations_file.IMAGES_START); ids count from 1. A record at a time, so memory stays flat however many
        frames: the images go straight into the file, the annotations through an anonymous temporary file beside
        it, appended after them. `records`, in frame order, where they are not the
        dataset's own (simgen-merge reads the shards')."""
        paths = records if records is not None else \
            sorted((self.root / "coco").glob("*.json"), key=lambda p: int(p.stem))  # 1000000 after 999999
        head = json_bytes({
            "info": {"description": "simgen synthetic dataset", "version": simgen.__version__,
                     "contributor": "simgen", "depth_unit": "millimetre", "depth_scale": DEPTH_SCALE_M},
            "licenses": [],
            "categories": self.categories,
        })
        with atomic_file(self.root / FINISHED_MARKER) as out, tempfile.TemporaryFile(dir=self.root) as rest:
            out.write(head[:-1] + IMAGES_START)
            count = 0
            for k, path in enumerate(paths):
                image, annotations = record_entries(path)
                out.write(SEPARATOR * (k > 0) + image)
                for ann in annotations:
                    count += 1
                    rest.write(SEPARATOR * (count > 1) + with_id(count, ann))
            out.write(ANNOTATIONS_START)
            rest.seek(0)
            shutil.copyfileobj(rest, out, COPY_CHUNK)
            out.write(LIST_END)
