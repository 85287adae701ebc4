"""Helpers for the dataset-tool tests: running the real commands and adding optional annotation fields."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

CORNERS = ["top_left", "top_right", "bottom_left", "bottom_right"]


def run_tool(tool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m simgen.tools.<tool> ARGS` for real."""
    return subprocess.run([sys.executable, "-m", f"simgen.tools.{tool}", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def assert_one_line_error(done: subprocess.CompletedProcess, *expected: str) -> None:
    """Non-zero exit, no traceback, one line on stderr naming what was wrong."""
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def corner_keypoints(bbox: list[float]) -> list[float]:
    """The box corners as COCO keypoints: two visible, one occluded, one unlabelled."""
    x, y, w, h = bbox
    return [x, y, 2, x + w - 1, y, 2, x, y + h - 1, 1, x + w - 1, y + h - 1, 0]


def with_optional_fields(src: Path, dst: Path) -> Path:
    """A copy of a dataset whose annotations carry made-up visible_fraction, truncated and (on even ids only)
    keypoints at their box corners, replacing simgen's own."""
    shutil.copytree(src, dst)
    coco = json.loads((dst / "annotations.json").read_text())
    for ann in coco["annotations"]:
        ann["visible_fraction"] = (ann["id"] % 11) / 10
        ann["truncated"] = ann["id"] % 3 == 0
        ann.pop("keypoints", None)
        ann.pop("num_keypoints", None)
        if ann["id"] % 2 == 0:
            ann["keypoints"] = corner_keypoints(ann["bbox"])
            ann["num_keypoints"] = 3
    for cat in coco["categories"]:
        cat["keypoints"], cat["skeleton"] = CORNERS, [[1, 2], [1, 3], [2, 4]]
    (dst / "annotations.json").write_text(json.dumps(coco))
    return dst


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image)
