"""`simgen-export DATASET --format yolo|bop|splits`: export a finished dataset to another format."""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from simgen import splits, validate
from simgen.errors import ConfigError
from simgen.export import dataset, export_bop, export_splits, export_yolo
from simgen.export.yolo import TASKS, check_tasks
from simgen.tools.cli import Parser, run_command

NAME = "simgen-export"


def parse_ratios(text: str) -> dict[str, float]:
    """`train=0.7,val=0.2,test=0.1` -> validated fractions."""
    pairs = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    if len(pairs) != len([p for p in text.split(",") if p]):
        raise ConfigError("--splits", f"expected NAME=FRACTION pairs like train=0.8,val=0.2; got {text!r}")
    try:
        return splits.ratios({k.strip(): float(v) for k, v in pairs.items()}, key="--splits")
    except ValueError:
        raise ConfigError("--splits", f"expected numbers as fractions; got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    ap = Parser(prog=NAME, description=__doc__.split(":", 1)[1].strip())
    ap.add_argument("dataset", help="a finished simgen dataset folder (with annotations.json)")
    ap.add_argument("--format", required=True, choices=["yolo", "bop", "splits"],
                    help="yolo: DATASET/yolo/{detect,segment}/; bop: DATASET/bop/{split}/000000/; "
                         "splits: DATASET/annotations_{train,val,test}.json")
    ap.add_argument("--splits", help="train=F,val=F,test=F (default: the dataset's config.yaml, else 0.8/0.2/0)")
    ap.add_argument("--seed", type=int, help="seed of the split, an integer >= 0 (default: the dataset's seed)")
    ap.add_argument("--tasks", default=",".join(TASKS), help="yolo only: detect, segment or both (default)")
    ap.add_argument("--polygon-tolerance", type=float, default=1.0, help="yolo segment outlines, pixels (>= 0)")
    return ap


def export(args: argparse.Namespace) -> list:
    """Check every option, then the dataset, then export: a bad option or dataset writes nothing."""
    ratios = parse_ratios(args.splits) if args.splits is not None else None
    seed = validate.integer("--seed", args.seed, low=0) if args.seed is not None else None
    tasks = check_tasks([t.strip() for t in args.tasks.split(",")], key="--tasks")
    tolerance = validate.number("--polygon-tolerance", args.polygon_tolerance, low=0)
    data = dataset.load(args.dataset, streamed=True)
    if not data.images:
        raise dataset.DatasetError(f"{data.annotations_file}: no images to export")
    if args.format == "yolo":
        return export_yolo(data, tasks, ratios, seed, tolerance)
    if args.format == "bop":
        return export_bop(data, ratios, seed)
    return export_splits(data, ratios, seed)


def run(args: argparse.Namespace) -> int:
    for path in export(args):
        print(f"{NAME}: wrote {path}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parser().parse_args(argv)
    run_command(NAME, lambda: run(args))


if __name__ == "__main__":
    main()
