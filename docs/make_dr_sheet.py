"""Redraw the README's contact sheet of `experiment=dr_strong`: python docs/make_dr_sheet.py (writes docs/dr_strong.jpg)."""

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

COLUMNS, ROWS = 4, 3
TILE = (320, 240)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        subprocess.run([sys.executable, "-m", "simgen", "experiment=dr_strong", f"output_dir={root}",
                        f"num_frames={COLUMNS * ROWS}", "seed=3", "progress=false", "renderer=tiny",
                        f"camera.width={TILE[0]}", f"camera.height={TILE[1]}"], check=True)
        tiles = [cv2.imread(str(f)) for f in sorted((root / "rgb").glob("*.png"))]
    rows = [np.hstack(tiles[r * COLUMNS:(r + 1) * COLUMNS]) for r in range(ROWS)]
    out = Path(__file__).with_name("dr_strong.jpg")
    cv2.imwrite(str(out), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 82])
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
