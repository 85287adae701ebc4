"""Cost of amodal masks per frame: none; adaptive (objects share renders over their boxes, see
simgen.world.amodal); each (one render per object over its box); full (one full-image render per object).

python benchmarks/amodal.py [--renderer tiny|egl] [--frames 8] [--repeats 5] [--width 640 --height 480] [--objects 8]
Prints the median over `repeats` of the mean milliseconds per frame for each way, on the same settled scenes.
"""

from __future__ import annotations

import argparse
import statistics
import time

from hydra import compose, initialize_config_module

from simgen import config
from simgen.annotate import Annotator
from simgen.pipeline import frame_spec


def scenes(args: argparse.Namespace) -> tuple:
    config.register_schema()
    with initialize_config_module(config_module="simgen.conf", version_base=None):
        cfg = compose(config_name="config", overrides=[
            f"camera.width={args.width}", f"camera.height={args.height}", f"renderer={args.renderer}",
            f"objects.count=[{args.objects},{args.objects}]"])
    pipeline = config.build_pipeline(cfg)
    return pipeline.world, [frame_spec(pipeline, 0, i) for i in range(args.frames)]


def timed(world, settled: list, way: str) -> tuple[float, float]:
    """Mean ms per frame for the frame's render and for its amodal masks (0 for `none`)."""
    candidates = Annotator(min_visible_pixels=50).candidates
    render = amodal = 0.0
    for scene in settled:
        world.build(scene)
        world.settle(scene)
        start = time.perf_counter()
        frame = world.render(scene)
        middle = time.perf_counter()
        if way != "none":
            world.render_amodal(scene, candidates(frame), frame.instance, strategy=way)
        render, amodal = render + middle - start, amodal + time.perf_counter() - middle
    return 1000 * render / len(settled), 1000 * amodal / len(settled)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--renderer", default="tiny", choices=["tiny", "egl"])
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--objects", type=int, default=8)
    args = ap.parse_args()
    world, settled = scenes(args)
    ways = ("none", "adaptive", "each", "full")
    times: dict[str, list] = {way: [] for way in ways}
    for _ in range(args.repeats):
        for way in ways:
            times[way].append(timed(world, [s.copy() for s in settled], way))
    world.close()
    print(f"{args.renderer}, {args.width}x{args.height}, {args.objects} objects, {args.frames} frames, "
          f"median of {args.repeats} runs, ms per frame")
    print(f"  {'way':9s} {'render':>8s} {'amodal':>8s} {'total / render':>15s}")
    for way in ways:
        render = statistics.median(t[0] for t in times[way])
        amodal = statistics.median(t[1] for t in times[way])
        print(f"  {way:9s} {render:8.1f} {amodal:8.1f} {(render + amodal) / render:14.2f}x")


if __name__ == "__main__":
    main()
