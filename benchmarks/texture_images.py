"""Cost of making a random texture image, per kind, and of writing it as BMP (what simgen does) or PNG.

    python benchmarks/texture_images.py --count 40 --size 256

Prints the median milliseconds of make_texture for each procedural kind over `--count` seeds, and of
cv2.imwrite for the resulting images as BMP and as PNG (compression 1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Callable

import cv2

from simgen.scene import TextureSpec
from simgen.textures import PATTERNS, make_texture


def median_ms(calls: list[Callable[[], object]]) -> float:
    times = []
    for call in calls:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    print("| kind | make ms | write BMP ms | write PNG ms |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        bmp, png = os.path.join(folder, "t.bmp"), os.path.join(folder, "t.png")
        for kind in PATTERNS:
            specs = [TextureSpec(kind, seed=seed, scale=8.0, size=args.size) for seed in range(args.count)]
            make = median_ms([lambda s=s: make_texture(s) for s in specs])
            images = [make_texture(s)[:, :, ::-1] for s in specs]
            as_bmp = median_ms([lambda i=i: cv2.imwrite(bmp, i) for i in images])
            as_png = median_ms([lambda i=i: cv2.imwrite(png, i, [cv2.IMWRITE_PNG_COMPRESSION, 1]) for i in images])
            print(f"| {kind} | {make:.2f} | {as_bmp:.2f} | {as_png:.2f} |")


if __name__ == "__main__":
    main()
