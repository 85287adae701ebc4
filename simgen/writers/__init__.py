"""Writers record each frame in one format: `open(root, categories)`, `write(i, frame, scene, instances)`,
`done(i)` (is frame i fully on disk?) and `close()`. Writers never render; annotators never write files."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from simgen.annotate import Instance
from simgen.frame import Frame
from simgen.scene import Scene


class Writer(Protocol):
    def open(self, root: Path, categories: list[dict]) -> None: ...

    def write(self, index: int, frame: Frame, scene: Scene, instances: list[Instance]) -> None: ...

    def done(self, index: int) -> bool: ...

    def close(self) -> None: ...
