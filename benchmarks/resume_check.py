"""The resume check at scale: how long a rerun takes to find which frames are on disk, its system calls, and the
whole rerun of the finished dataset.

    python benchmarks/resume_check.py --frames 200000
    python benchmarks/resume_check.py --frames 200000 --code /tmp/prev --code .   # two checkouts, alternated

Grows shard 0 of a two-shard run to its part of --frames frames (as merge_scale.py does), then, in fresh processes,
for each --code checkout (put first on PYTHONPATH; default: the installed simgen) in turn, asks the default
writers which of the shard's frames are missing, as a rerun does before rendering, and runs the shard's own
`simgen` command again (nothing left to render: the command a sweep rerun runs for each of its finished jobs).
Where strace is installed, a further check of each counts the system calls that look up a file (stat) or list a
folder (getdents).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from merge_scale import checkout_arguments, code_env, grow, render, timed

CHECK = """
import resource, sys, time
from pathlib import Path
import simgen.generate as generate
from simgen.writers.coco import CocoWriter
from simgen.writers.images import ImageWriter
from simgen.writers.meta import SceneWriter
writers = [ImageWriter(), CocoWriter(), SceneWriter()]
for writer in writers:
    writer.open(Path(sys.argv[1]), [])
frames = generate.Shard(0, 2).frames(int(sys.argv[2]))
start = time.perf_counter()
if hasattr(generate, "unwritten"):
    missing = generate.unwritten(writers, frames)
else:  # before it
    missing = [i for i in frames if not all(w.done(i) for w in writers)]
print(time.perf_counter() - start, len(missing), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
LOOKUPS = ("newfstatat", "statx", "stat", "lstat", "fstatat64")


def check(code: str | None, shard: Path, frames: int, trace: Path | None = None) -> tuple[float, float]:
    """Seconds the check took in a fresh process, and its peak RSS in MB (under strace -c, writing its summary to
    `trace`)."""
    command = [sys.executable, "-c", CHECK, str(shard), str(frames)]
    if trace:
        command = ["strace", "-f", "-c", "-o", str(trace), *command]
    done = subprocess.run(command, env=code_env(code), cwd=shard.parent, capture_output=True, text=True, check=True)
    seconds, missing, peak = done.stdout.split()
    assert missing == "0", f"{missing} frames missing"
    return float(seconds), float(peak)


def rerun(code: str | None, shard: Path, frames: int) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of the shard's own command run again on it, finished."""
    command = [sys.executable, "-m", "simgen", f"output_dir={shard}", f"num_frames={frames}", "shard.count=2",
               "shard.index=0", "progress=false"]
    return timed(command, code, shard.parent)


def calls(trace: Path) -> dict[str, int]:
    """File lookups and folder reads in an strace -c summary."""
    counts = {"lookups": 0, "getdents": 0}
    for line in trace.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[3].isdigit():
            name = fields[-1]
            key = "lookups" if name in LOOKUPS else "getdents" if name.startswith("getdents") else None
            if key:
                counts[key] += int(fields[3])
    return counts


def seconds_cell(times: tuple[float, ...]) -> str:
    """`median (run, run, ...)`."""
    return f"{statistics.median(times):.2f} ({', '.join(f'{t:.2f}' for t in times)})"


def main() -> None:
    args = checkout_arguments(__doc__, frames=20000, repeats=3)
    codes = args.code
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shard = render(work)[0]
        grow(shard, 0, args.frames)
        frames = len(os.listdir(shard / "coco"))
        seconds = {code: [] for code in codes}
        reruns = {code: [] for code in codes}
        for _ in range(args.repeats):
            for code in codes:
                seconds[code].append(check(code, shard, args.frames))
                reruns[code].append(rerun(code, shard, args.frames))
        traced = {}
        for code in codes if shutil.which("strace") else []:
            check(code, shard, args.frames, work / "trace")
            traced[code] = calls(work / "trace")
    print(f"{frames} frames on disk\n\n| code | seconds (runs) | peak RSS MB | file lookups | folder reads |\n"
          "|---|---|---|---|---|")
    for code, runs in seconds.items():
        counts = traced.get(code, {"lookups": "-", "getdents": "-"})
        times, peaks = zip(*runs)
        print(f"| {code or 'installed'} | {seconds_cell(times)} | {statistics.median(peaks):.0f} | "
              f"{counts['lookups']} | {counts['getdents']} |")
    print("\n| code | rerun of the finished shard, seconds (runs) | peak RSS MB |\n|---|---|---|")
    for code, runs in reruns.items():
        times, peaks = zip(*runs)
        print(f"| {code or 'installed'} | {seconds_cell(times)} | {statistics.median(peaks):.0f} |")


if __name__ == "__main__":
    main()
