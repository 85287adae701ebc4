"""Writers record each frame in one format: `open(root, categories)`, `write(i, frame, scene, instances)`,
`done(i)` (is frame i fully on disk?) and `close()`. Writers never render; annotators never write files.

Optional, read where present (absent means False or None):
- `made()`: whether what close() makes is on disk already; a rerun with nothing to render closes only the
  writers whose output is missing (without it, close() runs at every rerun).
- `reads_dataset`: close() reads the finished dataset, so it runs after annotations.json (an Export's).
- `marks_finished`: close() writes the file that marks the dataset finished (COCO's annotations.json).
- `writes_rgb`, `writes_depth`, `writes_exact_masks` (with `rgb_format`): what this writer writes for the others.
- `needs_rgb`, `needs_depth`, `needs_amodal`, `needs_exact_masks`: what it needs of them; checked before the
  first frame, a ConfigError naming it where no writer (or the annotator) provides it.
- `image_ext`: the extension of the RGB files it refers to, which must match the images writer's rgb_format.
"""

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
