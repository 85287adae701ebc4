"""The checker's report, and small helpers its checks share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from simgen.annotate import mask_rect
from simgen.tools.dataset import decode_file

MAX_LISTED = 30  # problems printed per check; the count is always complete


@dataclass
class Report:
    """Problems per check, in the order the checks ran."""

    checks: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, str] = field(default_factory=dict)

    def start(self, name: str) -> None:
        self.checks.setdefault(name, [])

    def problem(self, name: str, message: str) -> None:
        self.checks.setdefault(name, []).append(message)

    @property
    def problems(self) -> int:
        return sum(len(p) for p in self.checks.values())

    def lines(self) -> list[str]:
        out = []
        for name, problems in self.checks.items():
            detail = f" ({self.counts[name]})" if name in self.counts else ""
            out.append(f"{'ok  ' if not problems else 'FAIL'} {name}{detail}"
                       + (f": {len(problems)} problem(s)" if problems else ""))
            out += [f"     - {p}" for p in problems[:MAX_LISTED]]
            if len(problems) > MAX_LISTED:
                out.append(f"     ... and {len(problems) - MAX_LISTED} more")
        return out


def read_image(path: Path) -> Optional[np.ndarray]:
    """The image as stored (any depth and channels); None when it is missing, truncated or not an image."""
    return decode_file(path, cv2.IMREAD_UNCHANGED)[0]


def image_type(image: np.ndarray) -> str:
    """An image's size and type, e.g. `160x120 8-bit, 1 channel`."""
    channels = image.shape[2] if image.ndim == 3 else 1
    return f"{image.shape[1]}x{image.shape[0]} {image.dtype.itemsize * 8}-bit, {channels} channel" + \
        ("s" if channels != 1 else "")


def mask_box(mask: np.ndarray) -> list[float]:
    """A mask's COCO bbox, [0, 0, 0, 0] where it is empty."""
    return [float(v) for v in mask_rect(mask)]
