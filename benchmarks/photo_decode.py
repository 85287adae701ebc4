"""Cost of reading a background or texture photo: simgen's read_photo (a JPEG checked whole by Pillow at 1/8 of
its size, then decoded by OpenCV at a reduced scale) against OpenCV's whole decode and shrink (how simgen read
every photo before), for JPEGs of a few sizes.

    python benchmarks/photo_decode.py --repeats 15

Prints the median milliseconds of each over `--repeats` reads of the same file (read_photo's cache cleared), the
two alternated.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from simgen.textures import read_photo

SIZES = ((1600, 1200), (4000, 3000), (6000, 4000))  # 2, 12 and 24 megapixels


def opencv_read(path: str, max_side: int = 1024) -> np.ndarray:
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    factor = max_side / max(bgr.shape[:2])
    return cv2.resize(bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else bgr


def simgen_read(path: str) -> np.ndarray:
    read_photo.cache_clear()
    return read_photo(path)


def photo(folder: Path, size: tuple[int, int]) -> str:
    """A JPEG (quality 90) of smooth random colour, like a photo in how it compresses."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (size[1] // 40, size[0] // 40, 3), np.uint8)
    path = folder / f"{size[0]}x{size[1]}.jpg"
    cv2.imwrite(str(path), cv2.resize(small, size, interpolation=cv2.INTER_CUBIC), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print("| photo | OpenCV whole decode ms | read_photo ms | ratio |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            path = photo(Path(tmp), size)
            times: dict = {opencv_read: [], simgen_read: []}
            for _ in range(args.repeats):
                for read in times:
                    start = time.perf_counter()
                    read(path)
                    times[read].append((time.perf_counter() - start) * 1000)
            before, now = (statistics.median(times[read]) for read in (opencv_read, simgen_read))
            print(f"| {size[0]}x{size[1]} | {before:.1f} | {now:.1f} | {now / before:.2f} |")


if __name__ == "__main__":
    main()
