"""Writers that export the finished dataset to another format when the run closes (YOLO, BOP, COCO splits).

They write nothing per frame; generate() closes them after the other writers, once annotations.json exists,
and they call the same functions as `simgen-export`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Optional, Sequence

from simgen import validate
from simgen.splits import ratios
from simgen.annotate import Instance
from simgen.export import dataset, export_bop, export_splits, export_yolo
from simgen.export.coco_splits import split_file
from simgen.export.yolo import TASKS, check_tasks
from simgen.frame import Frame
from simgen.scene import Scene


class Export(ABC):
    """Base of the export writers (subclass it for one of your own): nothing per frame, the export of the whole
    dataset at close."""

    reads_dataset = True
    needs_amodal = False
    # whether export() reads the annotations through data.annotations() or data.by_image(), a line at a time where
    # annotations.json is simgen's (a million frames' need not be held), rather than from data.coco["annotations"]
    streams = False

    def __init__(self, splits: Optional[dict] = None, seed: int = 0):
        """`splits` (fractions, as the run's top-level key) and `seed`: the splits an export draws, if it has any."""
        self.ratios = ratios(splits)
        self.seed = validate.integer("seed", seed, low=0)
        self.root = Path(".")

    def open(self, root: Path, categories: list[dict]) -> None:
        self.root = Path(root)

    def write(self, index: int, frame: Frame, scene: Scene, instances: list[Instance]) -> None:
        pass

    def done(self, index: int) -> bool:
        return True

    def close(self) -> None:
        self.export(self.read_dataset(self.root))

    def read_dataset(self, root: Path) -> dataset.Dataset:
        """The finished dataset at `root`, as export() reads it (see `streams`)."""
        return dataset.load(root, streamed=self.streams)

    def made(self) -> bool:
        """Whether this export is on disk: a rerun of a finished dataset makes only the missing ones."""
        files = self.files()
        return bool(files) and all(path.is_file() for path in files)

    def files(self) -> list[Path]:
        """The files whose presence means the export is complete (an export puts its files in place together); none
        (the default): made again at every run."""
        return []

    @abstractmethod
    def export(self, data: dataset.Dataset) -> Any:
        """Write this format from the finished dataset."""


class YoloWriter(Export):
    """yolo/detect/ and yolo/segment/: Ultralytics datasets with data.yaml."""

    needs_rgb = streams = True

    def __init__(self, tasks: Sequence[str] = TASKS, splits: Optional[dict] = None, seed: int = 0,
                 polygon_tolerance: float = 1.0):
        super().__init__(splits, seed)
        self.tasks = check_tasks(tasks)
        self.polygon_tolerance = validate.number("polygon_tolerance", polygon_tolerance, low=0)

    def files(self) -> list[Path]:
        return [self.root / "yolo" / task / "data.yaml" for task in self.tasks]

    def export(self, data: dataset.Dataset) -> Any:
        return export_yolo(data, self.tasks, self.ratios, self.seed, self.polygon_tolerance)


class BopWriter(Export):
    """bop/{split}/000000/: BOP scenes for 6D pose toolkits; needs annotator.amodal=true, the depth images and
    exact visible masks."""

    needs_amodal = needs_depth = needs_exact_masks = needs_rgb = streams = True

    def __init__(self, splits: Optional[dict] = None, seed: int = 0):
        super().__init__(splits, seed)

    def files(self) -> list[Path]:
        return [self.root / "bop" / "camera.json"]

    def export(self, data: dataset.Dataset) -> Any:
        return export_bop(data, self.ratios, self.seed)


class SplitsWriter(Export):
    """annotations_{train,val,test}.json: the COCO file cut into splits."""

    streams = True

    def __init__(self, splits: Optional[dict] = None, seed: int = 0):
        super().__init__(splits, seed)

    def files(self) -> list[Path]:
        return [split_file(self.root, split) for split, ratio in self.ratios.items() if ratio > 0]

    def made(self) -> bool:
        """Whether every split's file is there, but for a split left empty (fewer scenes than splits), which has
        none: where a file is missing, the splits of the dataset's images say whether it should be there."""
        if super().made():
            return True
        splits = self.read_dataset(self.root).split_images(self.ratios, self.seed)
        return all(split_file(self.root, split).is_file() for split, images in splits.items() if images)

    def export(self, data: dataset.Dataset) -> Any:
        return export_splits(data, self.ratios, self.seed)
