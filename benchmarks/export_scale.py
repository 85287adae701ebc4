"""The exports of a big dataset: seconds and peak memory of simgen-export (yolo, splits) at scale.

    python benchmarks/export_scale.py --frames 40000
    python benchmarks/export_scale.py --frames 40000 --code /tmp/prev --code .   # two checkouts, alternated

Renders a real run of two shards of a few frames each (640x480, defaults) and grows shard 0 to its part of
--frames frames, as merge_scale.py does (its annotations.json assembled by the simgen this script imports). Then,
in fresh processes, for each --code checkout (put first on PYTHONPATH; default: the installed simgen) in turn,
exports that shard with `simgen-export --format yolo` (detect and segment) and `--format splits`. Each process's
peak RSS is its own (wait4's rusage).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from merge_scale import grow, render, timed

FORMATS = ("yolo", "splits")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--code", action="append", help="a source checkout to time (repeatable); default: installed")
    args = parser.parse_args()
    codes = args.code or [None]
    results: dict[tuple, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shard = render(work)[0]
        grow(shard, 0, args.frames)
        size = (shard / "annotations.json").stat().st_size / 2**20
        for _ in range(args.repeats):
            for code in codes:
                for fmt in FORMATS:
                    command = [sys.executable, "-m", "simgen.tools.export", str(shard), "--format", fmt]
                    results.setdefault((code, fmt), []).append(timed(command, code, work))
    print(f"{args.frames // 2} frames, annotations.json {size:.0f} MB\n\n"
          "| code | export | seconds (runs) | peak RSS MB (runs) |\n|---|---|---|---|")
    for (code, fmt), runs in results.items():
        seconds, peaks = zip(*runs)
        print(f"| {code or 'installed'} | {fmt} | {statistics.median(seconds):.1f} "
              f"({', '.join(f'{s:.1f}' for s in seconds)}) | {statistics.median(peaks):.0f} "
              f"({', '.join(f'{p:.0f}' for p in peaks)}) |")


if __name__ == "__main__":
    main()
