"""Exporters: pure functions over a finished dataset (annotations.json, images, config), one format per module.

Each is run by its writer's close() when selected in config and by `simgen-export DATASET --format NAME`,
so both paths give the same files.
"""

from simgen.export.bop import export_bop
from simgen.export.coco_splits import export_splits
from simgen.export.yolo import export_yolo

__all__ = ["export_bop", "export_splits", "export_yolo"]
