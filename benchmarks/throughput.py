"""Whole-pipeline frames/s against a bare PyBullet render loop, measured side by side.

    python benchmarks/throughput.py --frames 60 --repeats 5 --width 640 --height 480 --objects 6 --workers 1,2
    python benchmarks/throughput.py --workers 2 --baseline "world.max_texture_size=0"   # against another setting

The bare loop is the limit: the same fixtures and number of objects, re-posed at random each frame and
rendered with getCameraImage by the fastest renderer here, and nothing else, in as many concurrent processes
as simgen has workers (their frames/s summed). The pipeline is the real `simgen` command (randomize, build,
settle, render, annotate, encode, write), timed by its own summary line, which includes starting the worker
processes. Runs are interleaved; medians are reported.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path



def bare_loop(frames: int, width: int, height: int, objects: int, renderer: str, processes: int = 1) -> float:
    """Frames/s of re-posing `objects` bodies and rendering them, summed over `processes` concurrent processes."""
    code = f"""
import time, numpy as np, pybullet as p, pybullet_data
from simgen.world import World
from simgen.scene import CameraSpec, LightSpec
from simgen import camera as cm
from simgen.config import build_pipeline, register_schema
from simgen.pipeline import frame_spec
from hydra import compose, initialize_config_module
register_schema()
with initialize_config_module(config_module="simgen.conf", version_base=None):
    cfg = compose(config_name="config", overrides=["objects.count={objects}", "renderer={renderer}"])
pipe = build_pipeline(cfg)
scene = frame_spec(pipe, 0, 0)
world = pipe.world
world.build(scene)
bodies = list(world._bodies)
rng = np.random.default_rng(0)
c = world.client
light = LightSpec()
kind = p.ER_BULLET_HARDWARE_OPENGL if world.renderer_kind == "egl" else p.ER_TINY_RENDERER
def frame():
    for b in bodies:
        q = rng.normal(size=4); q /= np.linalg.norm(q)
        p.resetBasePositionAndOrientation(b, [*rng.uniform(-0.3, 0.3, 2), 0.8], q, physicsClientId=c)
    az, el = rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(30, 75))
    cam = CameraSpec(position=(np.cos(az) * np.cos(el), np.sin(az) * np.cos(el), 0.75 + np.sin(el)),
                     target=(0, 0, 0.75), width={width}, height={height})
    p.getCameraImage(cam.width, cam.height, cm.view_matrix(cam), cm.projection_matrix(cam), renderer=kind,
                     physicsClientId=c)
for _ in range(5):
    frame()
t = time.perf_counter()
for _ in range({frames}):
    frame()
print("FPS", {frames} / (time.perf_counter() - t))
"""
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(processes)]
    outs = [proc.communicate() for proc in procs]
    for proc, (_, err) in zip(procs, outs):
        if proc.returncode:
            raise RuntimeError(f"the bare loop failed:\n{err}")
    return sum(float(re.search(r"FPS ([\d.]+)", out).group(1)) for out, _ in outs)


def pipeline(frames: int, width: int, height: int, objects: int, renderer: str, workers: int,
             extra: list[str]) -> float:
    """Frames/s of the real simgen command, from its summary line."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [sys.executable, "-m", "simgen", f"output_dir={Path(tmp) / 'ds'}", f"num_frames={frames}",
                f"camera.width={width}", f"camera.height={height}", f"objects.count={objects}",
                f"renderer={renderer}", f"workers={workers}", "progress=false", *extra]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"\(([\d.]+) frames/s", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--objects", type=int, default=6)
    parser.add_argument("--renderer", default="auto")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to measure")
    parser.add_argument("--baseline", default="", help="space-separated overrides for a second pipeline run, "
                        "alternated with the first: the setting a change is measured against")
    parser.add_argument("extra", nargs="*", help="further simgen overrides for the pipeline runs")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    bare: dict[int, list[float]] = {w: [] for w in workers}
    piped: dict[int, list[float]] = {w: [] for w in workers}
    based: dict[int, list[float]] = {w: [] for w in workers}
    for _ in range(args.repeats):
        for w in workers:
            bare[w].append(bare_loop(args.frames // w, args.width, args.height, args.objects, args.renderer, w))
            piped[w].append(pipeline(args.frames, args.width, args.height, args.objects, args.renderer, w,
                                     args.extra))
            if args.baseline:
                based[w].append(pipeline(args.frames, args.width, args.height, args.objects, args.renderer, w,
                                         [*args.extra, *args.baseline.split()]))
    print(f"{args.width}x{args.height}, {args.objects} objects, renderer={args.renderer}, "
          f"{args.frames} frames x {args.repeats} repeats {' '.join(args.extra)}")
    print("| processes | bare loop frames/s | runs | simgen frames/s | runs | simgen / bare loop |")
    print("|---|---|---|---|---|---|")
    for w in workers:
        b, s = statistics.median(bare[w]), statistics.median(piped[w])
        print(f"| {w} | {b:.1f} | {runs(bare[w])} | {s:.1f} | {runs(piped[w])} | {s / b:.2f} |")
    if args.baseline:
        print(f"\nbaseline, {args.baseline}:\n")
        print("| processes | simgen frames/s | runs | simgen / bare loop | this run / baseline |")
        print("|---|---|---|---|---|")
        for w in workers:
            b, s, base = (statistics.median(v[w]) for v in (bare, piped, based))
            print(f"| {w} | {base:.1f} | {runs(based[w])} | {base / b:.2f} | {s / base:.2f} |")


def runs(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    main()
