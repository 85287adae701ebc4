"""What a run holds to know its frames: the time and memory `generate` spends before its first frame listing the
shard's frames, asking the default writers which are not on disk (a fresh run: none are) and grouping them into
scenes, and the memory it keeps for the rest of the run.

    python benchmarks/frame_bookkeeping.py --frames 1000000
    python benchmarks/frame_bookkeeping.py --frames 1000000 --code /tmp/prev --code .   # two checkouts, alternated

Each measure runs in a fresh process, with each --code checkout (put first on PYTHONPATH; default: the installed
simgen) in turn.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile

from merge_scale import checkout_arguments, code_env

MEASURE = """
import resource, sys, tempfile, time
from pathlib import Path
import simgen.generate as generate
from simgen.writers.coco import CocoWriter
from simgen.writers.images import ImageWriter
from simgen.writers.meta import SceneWriter

def resident_mb():
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20

writers = [ImageWriter(), CocoWriter(), SceneWriter()]
for writer in writers:
    writer.open(Path(tempfile.mkdtemp()), [])
before, start = resident_mb(), time.perf_counter()
frames = generate.Shard().frames(int(sys.argv[1]))
todo = generate.unwritten(writers, frames)
if hasattr(generate, "SceneJobs"):
    jobs = generate.SceneJobs(todo, 1)
else:  # before it: a deque of (scene, views) tuples
    from collections import deque
    jobs = deque(generate.scene_jobs(todo, 1))
seconds = time.perf_counter() - start
print(seconds, resident_mb() - before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def measure(code: str | None, frames: int) -> tuple[float, float, float]:
    """Seconds before the first frame, MB held by the frames' bookkeeping, and the process's peak RSS in MB."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", MEASURE, str(frames)], env={**code_env(code), "TMPDIR": tmp},
                              capture_output=True, text=True, check=True)
    seconds, held, peak = map(float, done.stdout.split())
    return seconds, held, peak


def main() -> None:
    args = checkout_arguments(__doc__, frames=1_000_000, repeats=3)
    runs: dict = {code: [] for code in args.code}
    for _ in range(args.repeats):
        for code in args.code:
            runs[code].append(measure(code, args.frames))
    print(f"{args.frames} frames, none on disk\n\n"
          "| code | seconds before the first frame (runs) | MB held | peak RSS MB |\n|---|---|---|---|")
    for code, measured in runs.items():
        seconds, held, peaks = zip(*measured)
        print(f"| {code or 'installed'} | {statistics.median(seconds):.2f} ({', '.join(f'{s:.2f}' for s in seconds)})"
              f" | {statistics.median(held):.0f} | {statistics.median(peaks):.0f} |")


if __name__ == "__main__":
    main()
