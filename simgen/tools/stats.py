"""`simgen-stats DATASET [OTHER ...]`: an HTML report, figures and stats.json; with others, all side by side."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
from pathlib import Path
from typing import Optional

import cv2

from simgen.annotations_file import ANNOTATIONS
from simgen.tools import config_diff, plots, report, statistics, summary
from simgen.tools.config_diff import LETTERS
from simgen.tools import dataset as datasets
from simgen.tools.cli import Parser, UsageError, hydra_logging, progress, run_command
from simgen.tools.panels import caption, check_sheet, contact_sheet, frame_panel, scale_tile
from simgen.tools.selection import frame_index, sample

NAME = "simgen-stats"
MAX_SAMPLES = 100  # sample overlays per dataset at most
DEPTH_FRAMES = 1000  # frames whose depth is counted by default: a million frames' PNGs take most of an hour
SAMPLE_COLUMNS, SAMPLE_WIDTH = 3, 400  # the samples' contact sheet: columns, tile width in pixels
REPORT_FILES = ("stats.json", "report.html")
SAMPLE_STEMS = ("samples", *(f"samples_{key}" for key in LETTERS))  # one dataset's sheet; each compared one's
log = logging.getLogger(NAME)


def parser() -> argparse.ArgumentParser:
    p = Parser(prog=NAME, description=__doc__.split(": ", 1)[1])
    p.add_argument("dataset", type=Path, help="a finished simgen dataset (a folder with annotations.json)")
    p.add_argument("others", type=Path, nargs="*", help=f"datasets to compare with the first (up to "
                                                         f"{len(LETTERS) - 1})")
    p.add_argument("--out", "-o", type=Path,
                   help="output folder (default: DATASET/report; DATASET/compare-OTHER when comparing two; "
                        "FOLDER/comparison when comparing more, all in FOLDER)")
    p.add_argument("--samples", type=int, default=6,
                   help=f"sample overlays per dataset in the report, 0 to {MAX_SAMPLES} (6; 0: none)")
    p.add_argument("--depth-frames", type=int, default=DEPTH_FRAMES,
                   help=f"the depth figures and numbers count this many frames spread evenly over each dataset "
                        f"({DEPTH_FRAMES}; 0: every frame)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    return p


def output_dir(out: Optional[Path], folders: list[Path]) -> Path:
    """`out` where given; else FIRST/report for one dataset, FIRST/compare-SECOND for two, and a comparison/ in the
    folder that holds them all (else in the first) for more."""
    if out:
        return out
    first, others = folders[0], folders[1:]
    if not others:
        return first / "report"
    if len(others) == 1:  # a folder's name has at most 255 bytes
        name = f"compare-{others[0].resolve().name}"
        while len(os.fsencode(name)) > 255:
            name = name[:-1]
        return first / name
    parents = {path.resolve().parent for path in folders}
    return (parents.pop() if len(parents) == 1 else first) / "comparison"


def is_report(folder: Path) -> bool:
    """Whether `folder` holds a report of simgen-stats and no dataset: a comparison/ beside a sweep's datasets, which
    a glob of them (sweep/*/) matches too."""
    return all((folder / name).is_file() for name in REPORT_FILES) and not (folder / ANNOTATIONS).is_file()


def datasets_given(args: argparse.Namespace) -> list[Path]:
    """The folders given, but those that hold a report of simgen-stats (the comparison/ that sweep/*/ matches), each
    left out with a line saying so."""
    kept = []
    for folder in [args.dataset, *args.others]:
        if is_report(folder):
            print(f"{NAME}: leaving out {folder}: a simgen-stats report, not a dataset", file=sys.stderr)
        else:
            kept.append(folder)
    if not kept:
        raise UsageError("expected a dataset; every folder given holds a simgen-stats report")
    return kept


def remove_previous_report(out: Path) -> None:
    """The files of a report written into `out` before (where its stats.json is): a comparison of fewer datasets
    makes fewer sample sheets, and the earlier one's would stay beside it."""
    if not (out / "stats.json").is_file():
        return
    log.info("replacing the report in %s", out)
    names = [*REPORT_FILES, *(f"{name}.png" for name in plots.FIGURES), *(f"{stem}.png" for stem in SAMPLE_STEMS)]
    for name in names:
        (out / name).unlink(missing_ok=True)


def letters(data: list) -> list[str]:
    """A, B, C, ...: what the figures call each of several datasets."""
    return [LETTERS[k].upper() for k in range(len(data))] if len(data) > 1 else [data[0].name]


def labels_of(data: list[datasets.Dataset]) -> list[str]:
    return [data[0].name] if len(data) == 1 else [f"{k}: {d.name}" for k, d in zip(letters(data), data)]


def png_bytes(picture) -> bytes:
    _, encoded = cv2.imencode(".png", picture)
    return encoded.tobytes()


def sample_sheet(data: datasets.Dataset, count: int, show_progress: bool) -> bytes:
    """A contact sheet of `count` frames spread over the dataset, as PNG bytes."""
    images = sample(data.images, count)
    check_sheet(data, images, SAMPLE_COLUMNS, SAMPLE_WIDTH, True, "--samples")
    tiles = [scale_tile(caption(frame_panel(data, image), f"frame {frame_index(image)}"), SAMPLE_WIDTH)
             for image in progress(images, f"samples {data.name}", show_progress)]
    return png_bytes(contact_sheet(tiles, columns=SAMPLE_COLUMNS, tile_width=SAMPLE_WIDTH))


def figures(series: plots.Labelled) -> dict[str, bytes]:
    """Every figure that applies to these datasets, as PNG bytes by name."""
    made = {}
    for name, draw in plots.FIGURES.items():
        fig = draw(series)
        if fig is not None:
            buffer = io.BytesIO()
            plots.save(fig, buffer)
            made[name] = buffer.getvalue()
    return made


def sample_sheets(data: list[datasets.Dataset], labels: list[str], count: int,
                  show_progress: bool) -> list[tuple[str, str, bytes]]:
    """(file stem, label, PNG) of each dataset's sample overlays; none when `count` is 0."""
    stems = SAMPLE_STEMS[:1] if len(data) == 1 else SAMPLE_STEMS[1:len(data) + 1]  # samples_a, samples_b, ...
    return [(stem, label, sample_sheet(d, count, show_progress))
            for stem, label, d in zip(stems, labels, data) if count and d.images]


def html_report(data: list[datasets.Dataset], labels: list[str], numbers: list[dict], content: dict,
                pictures: dict[str, bytes], samples: list[tuple[str, str, bytes]]) -> str:
    sections = [report.summary_section(labels, numbers)]
    if len(data) > 1:
        sections.append(report.config_section(labels, content["config_changes"]))
    sections += [report.image_section(name, png) for name, png in pictures.items()]
    sections += [report.image_section("samples", png, caption=label, anchor=stem) for stem, label, png in samples]
    title = f"simgen dataset report: {data[0].name}" if len(data) == 1 else \
        f"simgen dataset comparison: {' vs '.join(d.name for d in data)}"
    return report.page(title, sections)


def numbers_json(numbers: list[dict], data: list[datasets.Dataset]) -> dict:
    """stats.json: one dataset's numbers, or {a, b, ..., config_changes} when comparing."""
    if len(numbers) == 1:
        return numbers[0]
    configs = [config_diff.load_config(d.root) for d in data]
    changes = config_diff.diff(*configs) if None not in configs else None
    return {**dict(zip(LETTERS, numbers)), "config_changes": changes}


def make_report(args: argparse.Namespace) -> Path:
    """Compute, plot and write everything; returns the output folder."""
    if not 0 <= args.samples <= MAX_SAMPLES:
        raise UsageError(f"--samples: expected an integer from 0 to {MAX_SAMPLES}, got {args.samples}")
    if args.depth_frames < 0:
        raise UsageError(f"--depth-frames: expected a number of frames >= 0 (0: every frame), got {args.depth_frames}")
    folders = datasets_given(args)
    if len(folders) > len(LETTERS):
        raise UsageError(f"expected at most {len(LETTERS)} datasets, got {len(folders)}")
    # only the sample sheets' frames' annotations held; the numbers read them all a line at a time
    data = [datasets.load(p, keep=lambda images: sample(images, args.samples) if args.samples else [])
            for p in folders]
    out = output_dir(args.out, folders)
    hydra_logging(NAME, out)
    labels = labels_of(data)
    log.info("summarising %s into %s", " and ".join(str(d.root) for d in data), out)
    stats = [statistics.compute(d, args.progress, args.depth_frames) for d in data]
    numbers = [summary.to_json(s) for s in stats]
    pictures = figures(list(zip(letters(data), stats)))
    samples = sample_sheets(data, labels, args.samples, args.progress)
    content = numbers_json(numbers, data)
    remove_previous_report(out)
    for name, png in [*pictures.items(), *((stem, png) for stem, _, png in samples)]:
        (out / f"{name}.png").write_bytes(png)
    (out / "stats.json").write_text(json.dumps(content, indent=2) + "\n")
    (out / "report.html").write_text(html_report(data, labels, numbers, content, pictures, samples))
    log.info("wrote report.html, stats.json and %d figures", len(pictures) + len(samples))
    return out


def run(args: argparse.Namespace) -> int:
    print(f"{NAME}: report in {make_report(args) / 'report.html'}")
    return 0


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    run_command(NAME, lambda: run(args))


if __name__ == "__main__":
    main()
