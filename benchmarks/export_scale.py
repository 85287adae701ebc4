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

import sys
import tempfile
from pathlib import Path

from merge_scale import checkout_arguments, grow, render, runs_cells, timed

FORMATS = ("yolo", "splits")


def main() -> None:
    args = checkout_arguments(__doc__, frames=20000, repeats=2)
    results: dict[tuple, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shard = render(work)[0]
        grow(shard, 0, args.frames)
        size = (shard / "annotations.json").stat().st_size / 2**20
        for _ in range(args.repeats):
            for code in args.code:
                for fmt in FORMATS:
                    command = [sys.executable, "-m", "simgen.tools.export", str(shard), "--format", fmt]
                    results.setdefault((code, fmt), []).append(timed(command, code, work))
    print(f"{args.frames // 2} frames, annotations.json {size:.0f} MB\n\n"
          "| code | export | seconds (runs) | peak RSS MB (runs) |\n|---|---|---|---|")
    for (code, fmt), runs in results.items():
        print(f"| {code or 'installed'} | {fmt} | {runs_cells(runs)} |")


if __name__ == "__main__":
    main()
