"""The tools on a big dataset: seconds and peak memory of simgen-export, simgen-viz and simgen-check at scale.

    python benchmarks/tools_scale.py --frames 40000
    python benchmarks/tools_scale.py --frames 40000 --code /tmp/prev --code .   # two checkouts, alternated
    python benchmarks/tools_scale.py --frames 40000 --only viz
    python benchmarks/tools_scale.py --frames 20000 --only bop check

Renders a real run of two shards of a few frames each (640x480, defaults) and grows shard 0 to its part of
--frames frames, as merge_scale.py does (its annotations.json assembled by the simgen this script imports). Then,
in fresh processes, for each --code checkout (put first on PYTHONPATH; default: the installed simgen) in turn,
exports that shard with `simgen-export --format yolo` (detect and segment), `--format splits` and `--format bop`
(the run then made with annotator.amodal=true, which BOP needs), draws 16 of its frames with `simgen-viz`, and
checks it with `simgen-check --sample 16` (--only: some of these; the check checks the exports made before it too).
Each process's peak RSS is its own (wait4's rusage).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from merge_scale import checkout_arguments, grow, render, runs_cells, timed

COMMANDS = {  # step: its module and options
    "yolo": ("simgen.tools.export", "--format", "yolo"),
    "splits": ("simgen.tools.export", "--format", "splits"),
    "bop": ("simgen.tools.export", "--format", "bop"),
    "viz": ("simgen.tools.viz", "--num", "16", "--no-progress"),
    "check": ("simgen.tools.check", "--sample", "16", "--no-progress"),
}


def main() -> None:
    args = checkout_arguments(__doc__, frames=20000, repeats=2, only=COMMANDS)
    results: dict[tuple, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shard = render(work, *(["annotator.amodal=true"] if "bop" in args.only else []))[0]
        grow(shard, 0, args.frames)
        size = (shard / "annotations.json").stat().st_size / 2**20
        for _ in range(args.repeats):
            for code in args.code:
                for tool in args.only:
                    module, *options = COMMANDS[tool]
                    command = [sys.executable, "-m", module, str(shard), *options]
                    results.setdefault((code, tool), []).append(timed(command, code, work))
    print(f"{args.frames // 2} frames, annotations.json {size:.0f} MB\n\n"
          "| code | command | seconds (runs) | peak RSS MB (runs) |\n|---|---|---|---|")
    for (code, tool), runs in results.items():
        module, *options = COMMANDS[tool]
        print(f"| {code or 'installed'} | simgen-{module.rsplit('.', 1)[1]} {' '.join(options)} | {runs_cells(runs)} |")


if __name__ == "__main__":
    main()
