"""`simgen-viz DATASET`: per-frame overlays (masks, boxes, names, keypoints, depth) and a contact sheet."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import cv2
import numpy as np

from simgen.tools import dataset as datasets
from simgen.tools.cli import Parser, UsageError, hydra_logging, progress, run_command
from simgen.tools.panels import caption, check_sheet, contact_sheet, frame_panel, scale_tile
from simgen.tools.selection import frame_index, parse_indices, pick, sample

NAME = "simgen-viz"
TILE_WIDTH = (16, 4096)  # contact-sheet tile widths allowed, in pixels
log = logging.getLogger(NAME)


def parser() -> argparse.ArgumentParser:
    p = Parser(prog=NAME, description=__doc__.split(": ", 1)[1])
    p.add_argument("dataset", type=Path, help="a finished simgen dataset (a folder with annotations.json)")
    p.add_argument("--images", metavar="SPEC", help="frame indices to draw, e.g. 0,3,10-12 (default: --num sampled)")
    p.add_argument("--num", "-n", type=int, default=16, help="frames to sample when --images is not given (16)")
    p.add_argument("--seed", type=int, help="sample frames at random with this seed, >= 0 (default: evenly spread)")
    p.add_argument("--out", "-o", type=Path, help="output folder (default: DATASET/viz)")
    p.add_argument("--columns", type=int, default=4, help="contact-sheet columns (4)")
    p.add_argument("--tile-width", type=int, default=480,
                   help="width of a contact-sheet tile in pixels, 16 to 4096 (480)")
    p.add_argument("--no-depth", dest="depth", action="store_false", help="leave out the depth colormap")
    p.add_argument("--no-keypoints", dest="keypoints", action="store_false", help="leave out keypoints")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def check(args: argparse.Namespace) -> None:
    """A UsageError naming the first option whose value is out of range."""
    ranges = {"num": (1, None), "seed": (0, None), "columns": (1, None), "tile_width": TILE_WIDTH}
    for option, (low, high) in ranges.items():
        value = getattr(args, option)
        if value is not None and (value < low or (high is not None and value > high)):
            expected = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
            raise UsageError(f"--{option.replace('_', '-')}: expected {expected}, got {value}")


def write_png(path: Path, picture: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), picture):
        raise UsageError(f"--out: cannot write {path}")


def visualize(args: argparse.Namespace) -> Path:
    """Write the overlays and the contact sheet; returns the output folder."""
    check(args)
    indices = parse_indices(args.images) if args.images else None

    def choose(images: list[dict]) -> list[dict]:
        if not images:
            return []
        return pick(images, indices) if indices else sample(images, args.num, args.seed)

    data = datasets.load(args.dataset, keep=choose)  # only the drawn frames' annotations held
    if not data.images:
        raise datasets.DatasetError(f"{args.dataset}: the dataset has no images")
    chosen = choose(data.images)
    check_sheet(data, chosen, args.columns, args.tile_width, args.depth, "--images" if args.images else "--num")
    out = args.out or args.dataset / "viz"
    hydra_logging(NAME, out)
    log.info("drawing %d of %d frames of %s into %s", len(chosen), len(data.images), args.dataset, out)
    tiles = []
    for image in progress(chosen, "overlays", args.progress):
        panel = frame_panel(data, image, depth=args.depth, keypoints=args.keypoints)
        write_png(out / "overlays" / f"{Path(image['file_name']).stem}.png", panel)
        text = f"frame {frame_index(image)}: {len(data.annotations_of(image))} instances"
        tiles.append(scale_tile(caption(panel, text), args.tile_width))
    write_png(out / "contact_sheet.png", contact_sheet(tiles, args.columns, args.tile_width))
    log.info("wrote %d overlays and contact_sheet.png", len(tiles))
    return out


def run(args: argparse.Namespace) -> int:
    print(f"{NAME}: overlays and contact sheet in {visualize(args)}")
    return 0


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    run_command(NAME, lambda: run(args))


if __name__ == "__main__":
    main()
