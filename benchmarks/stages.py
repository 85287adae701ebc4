"""Where a frame's time goes: median wall and CPU milliseconds of each pipeline stage, in one process.

    python benchmarks/stages.py --scenes 60 [simgen overrides, e.g. renderer=tiny camera.width=320]

Each scene is randomized, built, settled, rendered, annotated and written by each configured writer in turn,
in this process (no worker pool, no writer thread), so every stage is timed on its own. CPU time is the
process's, so it includes the renderer's own threads (llvmpipe rasterizes with one per core).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_module

from simgen.config import build_pipeline, register_schema
from simgen.pipeline import frame_scene, scene_rng

WARMUP = 5  # scenes run before timing starts: connecting, first loads of each asset


class Clock:
    """Collects (wall ms, CPU ms) samples per stage."""

    def __init__(self) -> None:
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self.mark()

    def mark(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.samples.setdefault(stage, []).append(((wall - self.wall) * 1e3, (cpu - self.cpu) * 1e3))
        self.wall, self.cpu = wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("overrides", nargs="*", help="simgen config overrides")
    args = parser.parse_args()
    register_schema()
    with initialize_config_module(config_module="simgen.conf", version_base=None):
        cfg = compose(config_name="config", overrides=args.overrides)
    pipe = build_pipeline(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        for writer in pipe.writers:
            writer.open(Path(tmp), pipe.categories)
        clock = Clock()
        for index in range(WARMUP + args.scenes):
            if index == WARMUP:
                clock.samples.clear()
            clock.mark()
            scene = frame_scene(pipe, scene_rng(cfg.seed, index))
            clock.lap("randomize")
            pipe.world.build(scene)
            clock.lap("build")
            pipe.world.settle(scene)
            clock.lap("settle")
            frame = pipe.world.render(scene)
            clock.lap("render")
            instances = pipe.annotator(frame, scene)
            clock.lap("annotate")
            for writer in pipe.writers:
                writer.write(index, frame, scene, instances)
                clock.lap(f"write: {type(writer).__name__}")
        pipe.world.close()
    print(f"{args.scenes} scenes, {pipe.world.renderer_kind} renderer {' '.join(args.overrides)}")
    print("| stage | wall ms (median) | CPU ms (median) |\n|---|---|---|")
    total_wall = total_cpu = 0.0
    for stage, samples in clock.samples.items():
        wall, cpu = (statistics.median(s[k] for s in samples) for k in (0, 1))
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"| {stage} | {wall:.1f} | {cpu:.1f} |")
    print(f"| sum | {total_wall:.1f} | {total_cpu:.1f} |")


if __name__ == "__main__":
    main()
