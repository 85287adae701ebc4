"""Texture images: procedural patterns (noise, checker, stripes, gradient, blotches) and photo crops,
each fully determined by its TextureSpec, and a bounded cache of them as image files for PyBullet."""

from __future__ import annotations

import colorsys
import contextlib
import functools
import hashlib
import json
import os
import threading
import weakref
from collections import OrderedDict
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np
from PIL import Image

from simgen import temp_folders
from simgen.errors import AssetError, ConfigError, OutputError
from simgen.quiet import c_output_silenced
from simgen.scene import TextureSpec

PATTERNS = ("noise", "checker", "stripes", "gradient", "blotches")
MAX_SCALE = 1024  # pattern cells across: more are smaller than a pixel, and cost memory by the square
KINDS = (*PATTERNS, "photo")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
JPEG_SUFFIXES = (".jpg", ".jpeg")
REDUCED_READS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                 8: cv2.IMREAD_REDUCED_COLOR_8}

Shape = tuple[int, int]


def random_colors(rng: np.random.Generator, n: int) -> np.ndarray:
    """n colours (n x 3, RGB in [0, 1]) of random hue, saturation and brightness."""
    hsv = rng.uniform([0.0, 0.2, 0.25], [1.0, 1.0, 1.0], size=(n, 3))
    return np.array([colorsys.hsv_to_rgb(*c) for c in hsv])


@functools.lru_cache(maxsize=8)
def _coords(shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    """x and y in [0, 1) over an image of `shape` (height, width), scaled by the longer side (read-only)."""
    h, w = shape
    side = max(h, w)
    xx = np.broadcast_to(np.arange(w, dtype=np.float32)[None, :] / side, shape)
    yy = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None] / side, shape)
    return xx, yy


def _mix(t: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """Blend two colours by t in [0, 1] into an RGB uint8 image, through a table of 256 steps of t (4x faster
    than blending every pixel; a channel comes out at most one level apart)."""
    steps = np.rint(np.clip(t, 0, 1) * 255).astype(np.uint8)
    table = np.rint((colors[0] + (colors[1] - colors[0]) * np.linspace(0, 1, 256)[:, None]) * 255).astype(np.uint8)
    return cv2.LUT(cv2.merge([steps] * 3), table.reshape(1, 256, 3))


def _smooth_noise(rng: np.random.Generator, shape: Shape, cells: float) -> np.ndarray:
    """Value noise in [0, 1]: a random grid of about `cells` cells across, upsampled smoothly."""
    n = max(2, int(round(cells)) + 1)
    grid = rng.uniform(size=(n, n)).astype(np.float32)
    return cv2.resize(grid, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def noise(rng: np.random.Generator, shape: Shape, scale: float) -> np.ndarray:
    """Fractal value noise (three octaves) between two colours."""
    colors = random_colors(rng, 2)
    t = sum(_smooth_noise(rng, shape, scale * 2 ** k) / 2 ** k for k in range(3)) / 1.75
    return _mix((t - t.min()) / max(float(np.ptp(t)), 1e-6), colors)


def checker(rng: np.random.Generator, shape: Shape, scale: float) -> np.ndarray:
    """A checkerboard of `scale` squares across, in two colours."""
    colors = random_colors(rng, 2)
    xx, yy = _coords(shape)
    cells = max(1.0, scale)
    return _mix(((np.floor(xx * cells) + np.floor(yy * cells)) % 2).astype(np.float32), colors)


def stripes(rng: np.random.Generator, shape: Shape, scale: float) -> np.ndarray:
    """Parallel stripes at a random angle and duty cycle, `scale` periods across."""
    colors = random_colors(rng, 2)
    angle, duty = rng.uniform(0, np.pi), rng.uniform(0.3, 0.7)
    xx, yy = _coords(shape)
    phase = (xx * np.cos(angle) + yy * np.sin(angle)) * max(1.0, scale) % 1.0
    return _mix((phase < duty).astype(np.float32), colors)


def gradient(rng: np.random.Generator, shape: Shape, scale: float) -> np.ndarray:
    """A linear or radial gradient between two colours."""
    colors = random_colors(rng, 2)
    xx, yy = _coords(shape)
    if rng.uniform() < 0.5:
        angle = rng.uniform(0, 2 * np.pi)
        t = xx * np.cos(angle) + yy * np.sin(angle)
    else:
        cx, cy = rng.uniform(0, 1, size=2)
        t = np.hypot(xx - cx, yy - cy)
    return _mix((t - t.min()) / max(float(np.ptp(t)), 1e-6), colors)


def blotches(rng: np.random.Generator, shape: Shape, scale: float) -> np.ndarray:
    """Soft-edged blobs of three colours: thresholded value noise, blurred."""
    colors = random_colors(rng, 3).astype(np.float32)
    a, b = _smooth_noise(rng, shape, scale), _smooth_noise(rng, shape, scale)
    which = (a > 0.55).astype(np.uint8)
    which[b > 0.6] = 2
    image = np.take(colors, which, axis=0)
    sigma = max(shape) / max(scale, 1.0) / 12
    return np.rint(cv2.GaussianBlur(image, (0, 0), sigma) * 255).astype(np.uint8)


PATTERN_FUNCTIONS: dict[str, Callable[[np.random.Generator, Shape, float], np.ndarray]] = {
    "noise": noise, "checker": checker, "stripes": stripes, "gradient": gradient, "blotches": blotches,
}


@functools.lru_cache(maxsize=32)
def read_photo(path: str, max_side: int = 1024) -> np.ndarray:
    """A photo as BGR, shrunk to at most `max_side` pixels; the last 32 are kept decoded."""
    with c_output_silenced((2,)):  # libpng and libjpeg complain of a damaged file
        bgr = _read_jpeg(path, max_side) if path.lower().endswith(JPEG_SUFFIXES) else cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise AssetError(f"{path}: cannot decode this image (damaged or cut short?); remove it from its folder")
    factor = max_side / max(bgr.shape[:2])
    if factor < 1:
        bgr = cv2.resize(bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    bgr.flags.writeable = False
    return bgr


def _read_jpeg(path: str, max_side: int) -> Optional[np.ndarray]:
    """A JPEG as BGR, decoded at the smallest of 1/2, 1/4 or 1/8 of its size whose longest side is still at least
    `max_side` (libjpeg scales as it decodes: 0.4 of the time for a 12-megapixel photo); None for one damaged or
    cut short, which OpenCV decodes with the missing rows grey (Pillow finds it, decoding at 1/8)."""
    try:
        with Image.open(path) as image:
            reduction = next((r for r in (8, 4, 2) if max(image.size) // r >= max_side), 1)
            image.draft("RGB", (1, 1))
            image.load()
    except Image.DecompressionBombError:  # over Pillow's size limit (358 megapixels): OpenCV reads it whole
        reduction = 1
    except (OSError, ValueError, SyntaxError):
        return None
    return cv2.imread(path, REDUCED_READS[reduction])


def photo_crop(path: str, rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """A random crop of the photo at `path` with the aspect of `shape`, resized to it (RGB uint8)."""
    bgr = read_photo(path)
    h, w = bgr.shape[:2]
    aspect = shape[1] / shape[0]
    ch = int(min(h, w / aspect) * rng.uniform(0.5, 1.0))
    cw = max(1, int(ch * aspect))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = bgr[y:y + max(ch, 1), x:x + cw]
    return cv2.resize(crop, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)[:, :, ::-1].copy()


def make_image(kind: str, rng: np.random.Generator, shape: Shape, scale: float,
               path: Optional[str] = None) -> np.ndarray:
    """An RGB uint8 image of `shape` (height, width): a procedural pattern, or a photo crop for `photo`."""
    if kind == "photo":
        return photo_crop(str(path), rng, shape)
    return PATTERN_FUNCTIONS[kind](rng, shape, scale)


def make_texture(spec: TextureSpec) -> np.ndarray:
    """The texture image of `spec`: the same spec always gives the same pixels."""
    return make_image(spec.kind, np.random.default_rng(spec.seed), (spec.size, spec.size), spec.scale, spec.path)


def list_images(key: str, folder: str) -> list[str]:
    """The image files in `folder`, sorted, each with an image's header (they are decoded only when drawn: a file
    that is none failed at that frame); a ConfigError naming `key` if there are none, or for one that is none."""
    if not folder:
        raise ConfigError(key, "expected a folder of images (kind `photo` needs one)")
    root = Path(os.path.expanduser(folder))
    files = sorted(str(f) for f in root.glob("*") if f.suffix.lower() in IMAGE_SUFFIXES) if root.is_dir() else []
    if not files:
        raise ConfigError(key, f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {str(root)!r}")
    for file in files:
        try:
            Image.open(file).close()  # the header only
        except Image.DecompressionBombError:
            pass  # an image, a big one
        except OSError as err:
            raise ConfigError(key, f"{file}: not an image that can be read ({err})") from None
    return files


def spec_key(spec: TextureSpec) -> str:
    """A content key for a texture: the hash of everything that determines its pixels."""
    return hashlib.sha1(json.dumps(asdict(spec), sort_keys=True).encode()).hexdigest()[:20]


def write_bmp(path: str, bgr: np.ndarray) -> None:
    """An image as BMP, which writes 20x faster than PNG; a failed write raises OSError (cv2.imwrite would not)."""
    Path(path).write_bytes(cv2.imencode(".bmp", bgr)[1].tobytes())


class TextureFiles:
    """Texture images for PyBullet, written on first use into a private temporary folder, with the files made
    from them (materials and meshes that use them, see simgen.world.mesh_textures). `trim()` deletes the least
    recently used beyond `max_files` or `max_mb` of disk (a 1024x1024 BMP takes 3 MB), so long runs do not
    grow on disk; World trims before each build, so no file a build uses is deleted while it loads."""

    def __init__(self, max_files: int = 512, max_mb: float = 256):
        self.max_files, self.max_bytes = max_files, max_mb * 2**20
        self._files: OrderedDict[str, tuple[str, int]] = OrderedDict()  # name -> (path, bytes)
        self._bytes = 0
        self._dir: Optional[str] = None
        self._put_back: Optional[weakref.finalize] = None  # the folder's release, also at garbage collection
        self._lock = threading.RLock()  # held while a file is made; for good once abandoned

    def path(self, spec: TextureSpec) -> str:
        """The image file of `spec`, named by its content key: a BMP, which writes 20x faster than a PNG."""
        return self.derived(f"{spec_key(spec)}.bmp", lambda p: write_bmp(p, make_texture(spec)[:, :, ::-1]))

    def derived(self, name: str, write: Callable[[str], object]) -> str:
        """The file `name` in the folder, made by `write(path)` unless it is there already."""
        if name in self._files:
            self._files.move_to_end(name)
            return self._files[name][0]
        with self._lock:
            if self._dir is None:
                self._dir = temp_folders.reuse_or_make(temp_folders.TEXTURES)
                self._put_back = weakref.finalize(self, temp_folders.put_back, self._dir)  # if close() never is
            path = os.path.join(self._dir, name)
            try:
                write(path)
                size = os.path.getsize(path)
            except OSError as err:
                with contextlib.suppress(OSError):
                    os.remove(path)
                raise OutputError(f"TMPDIR: cannot write {path} ({err.strerror or err}); simgen keeps textures "
                                  "and meshes in this temporary folder: free space there or set TMPDIR to another "
                                  "folder") from None
            self._files[name] = (path, size)
            self._bytes += size
            return path

    def trim(self) -> None:
        """Delete the least recently used files beyond the bounds."""
        while self._files and (len(self._files) > self.max_files or self._bytes > self.max_bytes):
            path, size = self._files.popitem(last=False)[1]
            os.remove(path)
            self._bytes -= size

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._files)

    def abandon(self) -> None:
        """Remove the folder for good, from another thread of a process about to exit: once a file being made
        is done, no further file or folder is made (a call that would make one waits until the process ends)."""
        self._lock.acquire()
        if self._dir is not None:
            temp_folders.remove(self._dir)

    def close(self) -> None:
        """Delete the files; the folder is kept for this process's next TextureFiles (temp_folders.put_back)."""
        if self._put_back is not None:
            self._put_back()
        self._files.clear()
        self._bytes = 0
        self._dir, self._put_back = None, None
