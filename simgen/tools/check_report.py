"""The checker's report, and small helpers its checks share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

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
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED) if path.is_file() else None


def mask_box(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
