"""Resident memory of a long simgen run, sampled as it goes: does it stay flat?

    python benchmarks/memory.py --frames 10000 -- workers=2 camera.width=320 camera.height=240

Samples the summed RSS of the simgen process and its workers once a second, against frames written,
and prints a markdown table at every tenth of the run (and the CSV to --csv if given).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--plot", type=Path, help="also draw the curve into this PNG (matplotlib)")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ds"
        proc = subprocess.Popen([sys.executable, "-m", "simgen", f"output_dir={out}", f"num_frames={args.frames}",
                                 "progress=false", *args.overrides], stdout=subprocess.DEVNULL)
        start, samples = time.time(), []
        while proc.poll() is None:
            done = len(os.listdir(out / "coco")) if (out / "coco").is_dir() else 0
            samples.append((time.time() - start, done, rss_mb([proc.pid, *children(proc.pid)])))
            time.sleep(1.0)
        if proc.returncode:
            sys.exit(f"simgen failed with status {proc.returncode}")
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
