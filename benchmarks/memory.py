"""Resident memory of a long simgen run, sampled as it goes: does it stay flat?

    python benchmarks/memory.py --frames 10000 -- workers=2 camera.width=320 camera.height=240
    python benchmarks/memory.py --jobs 40 --frames 2 -- workers=1 camera.width=160 camera.height=120

Samples the summed RSS of the simgen process and its workers once a second (four times with --jobs), against
frames written, and prints a markdown table at every tenth of the run (and the CSV to --csv if given). With
--jobs N, the run is a sweep of N jobs of --frames frames each in one process (`simgen -m seed=range(0,N)`),
sampled against the jobs finished, and the table gives the least RSS while each count of jobs was finished:
between jobs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    """All descendants of a process, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += int(open(f"/proc/{pid}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total / 2**20


def plot(samples: list[tuple[float, int, float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    running = [(f, m) for _, f, m in samples if f > 0]
    fig, ax = plt.subplots(figsize=(7, 3), dpi=100)
    ax.plot([f for f, _ in running], [m for _, m in running])
    ax.set(xlabel="frames written", ylabel="RSS of all processes (MB)", ylim=(0, None), title=title)
    ax.title.set_fontsize(8)
    fig.tight_layout()
    fig.savefig(path)


def frames_written(out: Path) -> int:
    return len(os.listdir(out / "coco")) if (out / "coco").is_dir() else 0


def finished_jobs(out: Path) -> int:
    return sum((job / "annotations.json").is_file() for job in out.iterdir()) if out.is_dir() else 0


def print_jobs(samples: list[tuple[float, int, float]], args: argparse.Namespace) -> None:
    """The least RSS while each tenth of the jobs was finished."""
    least: dict[int, float] = {}
    for _, jobs, mb in samples:
        least[jobs] = min(mb, least.get(jobs, mb))
    print(f"simgen -m seed=range(0,{args.jobs}) num_frames={args.frames} {' '.join(args.overrides)}: "
          f"{samples[-1][0]:.0f} s")
    print("| jobs finished | least RSS of the simgen process (MB) |\n|---|---|")
    for tenth in range(11):
        jobs = min(least, key=lambda n: abs(n - args.jobs * tenth // 10))
        print(f"| {jobs} | {least[jobs]:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--plot", type=Path, help="also draw the curve into this PNG (matplotlib)")
    parser.add_argument("--jobs", type=int, default=0, help="a sweep of this many jobs of --frames each")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    sweep = ["-m", f"seed=range(0,{args.jobs})"] if args.jobs else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ds"
        proc = subprocess.Popen([sys.executable, "-m", "simgen", *sweep, f"output_dir={out}",
                                 f"num_frames={args.frames}", "progress=false", *args.overrides],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start, samples = time.time(), []
        while proc.poll() is None:
            done = finished_jobs(out) if args.jobs else frames_written(out)
            samples.append((time.time() - start, done, rss_mb([proc.pid, *children(proc.pid)])))
            time.sleep(0.25 if args.jobs else 1.0)  # a sweep's small jobs last a second or two
        if proc.returncode:
            sys.exit(f"simgen failed with status {proc.returncode}")
    if args.jobs:
        print_jobs(samples, args)
        return
    if args.csv:
        args.csv.write_text("seconds,frames,rss_mb\n" + "".join(f"{t:.1f},{f},{m:.1f}\n" for t, f, m in samples))
    if args.plot:
        plot(samples, args.plot, f"simgen {' '.join(args.overrides)}")
    print(f"simgen {' '.join(args.overrides)} num_frames={args.frames}: {samples[-1][0]:.0f} s")
    print("| frames written | RSS of all simgen processes (MB) |\n|---|---|")
    for tenth in range(11):
        target = args.frames * tenth // 10
        t, frames, mb = min(samples, key=lambda s: abs(s[1] - target))
        print(f"| {frames} | {mb:.0f} |")


if __name__ == "__main__":
    main()
