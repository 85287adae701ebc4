"""Assembling annotations.json and merging shards at scale: seconds and peak memory for many frames.

    python benchmarks/merge_scale.py --frames 100000
    python benchmarks/merge_scale.py --frames 100000 --code /tmp/prev --code .   # two checkouts, alternated

Renders a real run of two shards of a few frames each (640x480, defaults), then grows each shard to its part of
--frames frames: every frame gets its own copy of a rendered frame's files and a COCO record renumbered to it (laid
out as simgen lays out its records now).
Then, in fresh processes, for each --code checkout (put first on PYTHONPATH; default: the installed simgen) in
turn: the COCO writer assembling shard 0's annotations.json from its records (what ends every run), and
simgen-merge of the two shards. Each process's peak RSS is its own (wait4's rusage).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from simgen.generate import Shard
from simgen.tools.merge import FRAME_FOLDERS
from simgen.writers.coco import CocoWriter
from simgen.writers.coco_records import record_bytes
from simgen.writers.files import frame_stem

SEED_FRAMES = 8  # rendered, then copied out to --frames
ASSEMBLE = """
import json, sys
from pathlib import Path
from simgen.writers.coco import CocoWriter
writer = CocoWriter()
writer.root, writer.categories = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
writer.close()
"""


def render(work: Path, *overrides: str) -> list[Path]:
    """The two rendered shards (defaults, and `overrides`)."""
    shards = [work / f"shard{i}" for i in range(2)]
    for i, shard in enumerate(shards):
        subprocess.run([sys.executable, "-m", "simgen", f"output_dir={shard}", f"num_frames={SEED_FRAMES}",
                        "shard.count=2", f"shard.index={i}", "progress=false", *overrides], check=True,
                       capture_output=True)
    return shards


def grow(shard: Path, index: int, frames: int) -> None:
    """The shard as its part of a run of `frames` frames, each frame a copy of one of those rendered, finished."""
    config = shard / "config.yaml"
    config.write_text(re.sub(r"(?m)^num_frames: \d+$", f"num_frames: {frames}", config.read_text()))
    rendered = Shard(index, 2).frames(SEED_FRAMES).tolist()
    records = {i: json.loads((shard / "coco" / f"{frame_stem(i)}.json").read_text()) for i in rendered}
    for k, i in enumerate(Shard(index, 2).frames(frames).tolist()):
        source, stem = rendered[k % len(rendered)], frame_stem(i)
        if i == source:
            continue
        for folder, suffix in FRAME_FOLDERS.items():
            if folder != "coco":
                suffix = suffix or ".png"
                shutil.copyfile(shard / folder / f"{frame_stem(source)}{suffix}", shard / folder / f"{stem}{suffix}")
        image = {**records[source]["image"], "id": i + 1, "frame_index": i, "file_name": f"rgb/{stem}.png"}
        annotations = [{**ann, "image_id": i + 1} for ann in records[source]["annotations"]]
        (shard / "coco" / f"{stem}.json").write_bytes(record_bytes(image, annotations))
    writer = CocoWriter()
    writer.root, writer.categories = shard, json.loads((shard / "annotations.json").read_text())["categories"]
    writer.close()  # its annotations.json lists the grown shard's frames


def code_env(code: str | None) -> dict[str, str]:
    """This process's environment with the checkout `code` (if any) first on PYTHONPATH."""
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(code).resolve()), env.get("PYTHONPATH")]))
    return env


def timed(command: list[str], code: str | None, cwd: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of a command run in a fresh process in `cwd` (python -m puts the working directory
    before PYTHONPATH: not a checkout)."""
    env = code_env(code)
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status:
        sys.exit(f"{' '.join(command)} failed (status {status})")
    return seconds, usage.ru_maxrss / 1024


def checkout_arguments(doc: str, frames: int, repeats: int, only: Sequence[str] = ()) -> argparse.Namespace:
    """The scale benchmarks' options: --frames, --repeats, and --code, the checkouts to time (alternated); `code`
    is [None] (the installed simgen) where none is given. With `only`, --only names some of those steps (all by
    default)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--frames", type=int, default=frames)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--code", action="append", help="a source checkout to time (repeatable); default: installed")
    if only:
        parser.add_argument("--only", nargs="+", choices=list(only), default=list(only), help="the steps to time")
    args = parser.parse_args()
    args.code = args.code or [None]
    return args


def runs_cells(runs: list[tuple[float, float]]) -> str:
    """`seconds (runs) | peak RSS MB (runs)` table cells: medians, then each run."""
    seconds, peaks = zip(*runs)
    return (f"{statistics.median(seconds):.1f} ({', '.join(f'{s:.1f}' for s in seconds)}) | "
            f"{statistics.median(peaks):.0f} ({', '.join(f'{p:.0f}' for p in peaks)})")


def main() -> None:
    args = checkout_arguments(__doc__, frames=20000, repeats=2)
    codes = args.code
    results: dict[tuple, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shards = render(work)
        categories = work / "categories.json"
        categories.write_text(json.dumps(json.loads((shards[0] / "annotations.json").read_text())["categories"]))
        for index, shard in enumerate(shards):
            grow(shard, index, args.frames)
        for _ in range(args.repeats):
            for code in codes:
                results.setdefault((code, "assemble shard 0"), []).append(
                    timed([sys.executable, "-c", ASSEMBLE, str(shards[0]), str(categories)], code, work))
                out = work / "merged"
                results.setdefault((code, "simgen-merge"), []).append(
                    timed([sys.executable, "-m", "simgen.tools.merge", *map(str, shards), "--out", str(out)], code,
                          work))
                shutil.rmtree(out)
    frames = {"assemble shard 0": len(Shard(0, 2).frames(args.frames)), "simgen-merge": args.frames}
    print("| code | step | frames | seconds (runs) | peak RSS MB (runs) |\n|---|---|---|---|---|")
    for (code, step), runs in results.items():
        print(f"| {code or 'installed'} | {step} | {frames[step]} | {runs_cells(runs)} |")


if __name__ == "__main__":
    main()
