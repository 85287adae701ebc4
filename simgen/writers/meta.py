"""The full scene spec of each frame as JSON, and what its effects drew, so any frame can be inspected or replayed."""

from __future__ import annotations

from pathlib import Path

from simgen.annotate import Instance
from simgen.frame import Frame
from simgen.scene import Scene
from simgen.writers.files import frame_stem, on_disk, write_json_atomic


class SceneWriter:
    def __init__(self) -> None:
        self.root = Path(".")

    def open(self, root: Path, categories: list[dict]) -> None:
        self.root = Path(root) / "meta"
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, index: int) -> Path:
        return self.root / f"{frame_stem(index)}.json"

    def write(self, index: int, frame: Frame, scene: Scene, instances: list[Instance]) -> None:
        write_json_atomic(self.path(index), {**scene.to_dict(), "effects": frame.effects})

    def done(self, index: int) -> bool:
        return on_disk(self.path(index))

    def close(self) -> None:
        pass
