"""Per-frame images: RGB (PNG or JPEG), 16-bit depth in millimetres, instance-id and category-id masks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from simgen import validate
from simgen.annotate import Instance
from simgen.errors import OutputError
from simgen.frame import Frame
from simgen.scene import Scene
from simgen.writers.files import DEPTH_SCALE_M, frame_stem, on_disk, write_bytes_atomic


# Rendered images are mostly flat regions: PNG's row filters cost 2-4x the encoding time and buy nothing.
_NO_FILTER = [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE] if hasattr(cv2, "IMWRITE_PNG_FILTER") else []


def encode(image: np.ndarray, ext: str, params: list[int]) -> bytes:
    """An image as the bytes of a `.png` or `.jpg` file (OpenCV)."""
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise OutputError(f"OpenCV could not encode a {image.shape} {image.dtype} image as {ext}")
    return buf.tobytes()


def encode_png(image: np.ndarray, compression: int) -> bytes:
    return encode(image, ".png", [cv2.IMWRITE_PNG_COMPRESSION, compression, *_NO_FILTER])


def depth_to_mm(depth: np.ndarray) -> np.ndarray:
    """Metric depth (m) as uint16 millimetres; 0 means no depth, anything beyond 65.535 m saturates."""
    return np.clip(np.rint(depth / DEPTH_SCALE_M), 0, 65535).astype(np.uint16)


def semantic_mask(instance: np.ndarray, scene: Scene) -> np.ndarray:
    lut = np.zeros(len(scene.objects) + 1, dtype=np.uint16)
    lut[1:] = [obj.category_id for obj in scene.objects]
    return np.take(lut, instance)


class ImageWriter:
    """Writes rgb/, depth/, instance/ and semantic/ images named by frame index."""

    writes_rgb = True

    def __init__(self, rgb_format: str = "png", jpeg_quality: int = 95, png_compression: int = 1,
                 depth: bool = True, masks: bool = True):
        self.rgb_format = validate.choice("rgb_format", rgb_format, ("png", "jpg"))
        self.jpeg_quality = validate.integer("jpeg_quality", jpeg_quality, 1, 100)
        self.png_compression = validate.integer("png_compression", png_compression, 0, 9)
        self.kinds = ["rgb"] + (["depth"] if validate.boolean("depth", depth) else []) \
            + (["instance", "semantic"] if validate.boolean("masks", masks) else [])
        self.root = Path(".")
        self.folders: dict[str, Path] = {}

    @property
    def writes_depth(self) -> bool:
        return "depth" in self.kinds

    @property
    def writes_exact_masks(self) -> bool:
        """Whether the instance images, each annotation's visible pixels exactly, are written."""
        return "instance" in self.kinds

    def open(self, root: Path, categories: list[dict]) -> None:
        self.root = Path(root)
        self.folders = {kind: self.root / kind for kind in self.kinds}
        for folder in self.folders.values():
            folder.mkdir(parents=True, exist_ok=True)

    def path(self, kind: str, index: int) -> Path:
        ext = self.rgb_format if kind == "rgb" else "png"
        return self.folders[kind] / f"{frame_stem(index)}.{ext}"

    def write(self, index: int, frame: Frame, scene: Scene, instances: list[Instance]) -> None:
        encoded = {}
        bgr = cv2.cvtColor(np.ascontiguousarray(frame.rgb), cv2.COLOR_RGB2BGR)
        if self.rgb_format == "jpg":
            encoded["rgb"] = encode(bgr, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        else:
            encoded["rgb"] = encode_png(bgr, self.png_compression)
        if "depth" in self.kinds:
            encoded["depth"] = encode_png(depth_to_mm(frame.depth), self.png_compression)
        if "instance" in self.kinds:
            encoded["instance"] = encode_png(frame.instance.astype(np.uint16), self.png_compression)
            encoded["semantic"] = encode_png(semantic_mask(frame.instance, scene), self.png_compression)
        for kind, data in encoded.items():
            write_bytes_atomic(self.path(kind, index), data)

    def done(self, index: int) -> bool:
        return all(on_disk(self.path(kind, index)) for kind in self.kinds)

    def close(self) -> None:
        pass
