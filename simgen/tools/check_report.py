"""The checker's report, and small helpers its checks share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import cv2
import numpy as np

from simgen.annotate import mask_rect
from simgen.tools.dataset import decode_file

MAX_LISTED = 30  # problems printed per check; the count is always complete
MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError)  # what a malformed entry
# raises in a check, which reports it and goes on
Membership = dict[int, str]  # the split of each frame (by frame index) in an export
Maps = dict[str, np.ndarray]  # a drawn image's per-pixel maps (depth, instance, semantic) that its files' check read


@dataclass
class Report:
    """Problems per check, in the order the checks ran: the first MAX_LISTED of each kept, all counted (a dataset
    that is wrong everywhere does not fill memory with its messages)."""

    checks: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, str] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)  # problems per check

    def start(self, name: str) -> None:
        self.checks.setdefault(name, [])
        self.found.setdefault(name, 0)

    def problem(self, name: str, message: str) -> None:
        self.start(name)
        self.found[name] += 1
        if len(self.checks[name]) < MAX_LISTED:
            self.checks[name].append(message)

    @property
    def problems(self) -> int:
        return sum(self.found.values())

    def lines(self) -> list[str]:
        out = []
        for name, listed in self.checks.items():
            found, detail = self.found[name], f" ({self.counts[name]})" if name in self.counts else ""
            out.append(f"{'ok  ' if not found else 'FAIL'} {name}{detail}" + (f": {found} problem(s)" if found else ""))
            out += [f"     - {p}" for p in listed]
            if found > len(listed):
                out.append(f"     ... and {found - len(listed)} more")
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


def drawn_note(checked: int, total: int) -> str:
    """What a count adds where only the files of the images drawn (--sample) were checked."""
    return f", those of the {checked} drawn images checked" if checked < total else ""


class Cursor:
    """The entries of a file taken by key, read in the file's order (a line at a time where it is laid out so):
    those passed over on the way to a key are kept until asked for, none where the keys are asked for in the
    file's order."""

    def __init__(self, entries: Iterable[tuple[Any, Any]]):
        self.entries, self.passed, self.repeated = iter(entries), {}, []

    def pop(self, key: Any, default: Any) -> Any:
        if key in self.passed:
            return self.passed.pop(key)
        for found, value in self.entries:
            if found == key:
                return value
            if found in self.passed:  # a key given twice: the first is the one taken, as a line at a time meets it
                self.repeated.append(found)
            else:
                self.passed[found] = value
        return default

    def rest(self) -> tuple[int, Any]:
        """How many entries were never taken (of no key asked for, or given twice), and the first one's key."""
        keys = [*self.repeated, *self.passed]
        count, first = len(keys), keys[0] if keys else None
        for key, _ in self.entries:
            count, first = count + 1, key if first is None else first
        return count, first
