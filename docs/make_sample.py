"""Regenerate the README's sample picture: python docs/make_sample.py (writes docs/sample.jpg)."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from simgen.tools.overlay import draw_overlay
from simgen.tools.panels import colorize_depth


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        subprocess.run([sys.executable, "-m", "simgen", f"output_dir={root}", "num_frames=2", "seed=1",
                        "progress=false", "objects.count=[7,9]", "camera.distance=[0.6,0.8]"], check=True)
        coco = json.loads((root / "annotations.json").read_text())
        names = {c["id"]: c["name"] for c in coco["categories"]}
        image = coco["images"][1]
        anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        rgb = cv2.imread(str(root / image["file_name"]))
        depth = cv2.imread(str(root / "depth" / Path(image["file_name"]).with_suffix(".png").name), -1)
        depth_vis = colorize_depth(depth)
        sheet = np.hstack([draw_overlay(rgb, anns, names), depth_vis])
        sheet = cv2.resize(sheet, (sheet.shape[1] // 2 * 3 // 2, sheet.shape[0] // 2 * 3 // 2), interpolation=cv2.INTER_AREA)
        out = Path(__file__).with_name("sample.jpg")
        cv2.imwrite(str(out), sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
