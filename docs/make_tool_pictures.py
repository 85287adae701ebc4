"""Regenerate the README's pictures of simgen-viz and simgen-stats: python docs/make_tool_pictures.py.

Makes a two-member sweep over the camera's field of view with the real `simgen` command, runs the real
`simgen-viz` and `simgen-stats` on it, and writes docs/viz.jpg, docs/stats.jpg and docs/compare.jpg.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

DOCS = Path(__file__).parent
WIDTH = 960  # pixels across each picture
QUALITY = 80  # JPEG


def run(*args: str) -> None:
    subprocess.run([sys.executable, "-m", *args], check=True)


def grid(paths: list[Path], columns: int) -> np.ndarray:
    """The pictures in a grid on white, each cell as large as the largest picture."""
    pictures = [cv2.imread(str(p)) for p in paths]
    h, w = max(p.shape[0] for p in pictures), max(p.shape[1] for p in pictures)
    cells = [cv2.copyMakeBorder(p, 0, h - p.shape[0], 0, w - p.shape[1], cv2.BORDER_CONSTANT, value=(255,) * 3)
             for p in pictures]
    cells += [np.full_like(cells[0], 255)] * (-len(cells) % columns)
    return np.vstack([np.hstack(cells[r:r + columns]) for r in range(0, len(cells), columns)])


def save(picture: np.ndarray, name: str) -> None:
    height = round(picture.shape[0] * WIDTH / picture.shape[1])
    cv2.imwrite(str(DOCS / name), cv2.resize(picture, (WIDTH, height), interpolation=cv2.INTER_AREA),
                [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    print(f"wrote {DOCS / name}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "fov"
        run("simgen", "-m", "camera.fov=40,70", "num_frames=24", "seed=1", "progress=false", f"output_dir={sweep}")
        narrow, wide = sorted(p for p in sweep.iterdir() if p.is_dir())
        run("simgen.tools.viz", str(narrow), "--num", "4", "--columns", "2", "--tile-width", "960", "--no-progress")
        run("simgen.tools.stats", str(narrow), "--no-progress")
        run("simgen.tools.stats", str(narrow), str(wide), "--out", str(Path(tmp) / "compare"), "--no-progress")
        save(cv2.imread(str(narrow / "viz" / "contact_sheet.png")), "viz.jpg")
        report = narrow / "report"
        save(grid([report / f"{n}.png" for n in ("instances_per_category", "box_size", "centres", "depth")], 2),
             "stats.jpg")
        compare = Path(tmp) / "compare"
        save(grid([compare / f"{n}.png" for n in ("box_size", "depth")], 2), "compare.jpg")


if __name__ == "__main__":
    main()
