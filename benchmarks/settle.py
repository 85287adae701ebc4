"""Physics settling: PyBullet's default engine settings against simgen's, on the same scenes.

    python benchmarks/settle.py --scenes 40 --objects 10
    python benchmarks/settle.py --scenes 12 --objects 40 scene=bin
    python benchmarks/settle.py --scenes 12 --objects 20 --above 0.9 scene=shelf

Each scene (the default tabletop config, or the one the trailing overrides make; `objects.count` fixed) is
built and settled under each of the settings below in turn, in one process. Reports steps and milliseconds
to rest (medians, p90), how many scenes ran into the step cap, and the physical plausibility of the result:
the deepest penetration between any two bodies and the objects left without support; with `--above Z`, the
objects that came to rest with their centre higher than Z (for the shelf, 0.9 m: on top of it, above its
upper board).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pybullet as p
from hydra import compose, initialize_config_module

from simgen.config import build_pipeline, register_schema
from simgen.pipeline import frame_spec
from simgen.world import World

SETTINGS = {
    # PyBullet's own defaults: 1/240 s steps, 50 solver iterations, damping 0.04, no rolling friction;
    # capped at 3 s of simulated time.
    "pybullet defaults": dict(time_step=1 / 240, solver_iterations=50, max_steps=720, linear_damping=0.04,
                              angular_damping=0.04, rolling_friction=0.0),
    "simgen, 10 solver iterations (before)": dict(solver_iterations=10),
    "simgen (20 solver iterations)": {},
    "simgen, 30 solver iterations": dict(solver_iterations=30),
}


def plausibility(world: World) -> tuple[float, int]:
    """Deepest penetration (m) over all body pairs, and objects touching nothing."""
    c, deepest, floating = world.client, 0.0, 0
    bodies = list(world._bodies)
    for body in bodies:
        others = [b for b in range(p.getNumBodies(physicsClientId=c)) if b != body]
        points = [pt for o in others for pt in p.getClosestPoints(body, o, 0.002, physicsClientId=c)]
        deepest = min([deepest, *(pt[8] for pt in points)])
        floating += not points
    return -deepest, floating


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--above", type=float, default=None, help="count objects resting higher than this (m)")
    parser.add_argument("overrides", nargs="*", help="config overrides, as on simgen's command line")
    args = parser.parse_args()
    register_schema()
    with initialize_config_module(config_module="simgen.conf", version_base=None):
        cfg = compose(config_name="config", overrides=[f"objects.count={args.objects}", "renderer=tiny",
                                                           *args.overrides])
    pipeline = build_pipeline(cfg)
    worlds = {name: World(renderer="tiny", **kw) for name, kw in SETTINGS.items()}
    stats = {name: {"steps": [], "ms": [], "capped": 0, "penetration": [], "floating": 0, "above": 0}
             for name in worlds}
    for index in range(args.scenes):
        spec = frame_spec(pipeline, 0, index)
        for name, world in worlds.items():
            scene = spec.copy()
            world.build(scene)
            start = time.perf_counter()
            steps = world.settle(scene)
            stats[name]["ms"].append((time.perf_counter() - start) * 1000)
            stats[name]["steps"].append(steps)
            stats[name]["capped"] += steps >= world.physics.max_steps
            depth, floating = plausibility(world)
            stats[name]["penetration"].append(depth * 1000)
            stats[name]["floating"] += floating
            if args.above is not None:
                stats[name]["above"] += sum(o.position[2] > args.above for o in scene.objects if o.state != "fell")
    print(f"{args.scenes} {cfg.scene.name} scenes x {args.objects} objects {' '.join(args.overrides)}")
    columns = ["settings", "steps median / p90", "ms median / p90", "scenes at the step cap",
               "deepest penetration (mm)", "objects without support"]
    columns += [] if args.above is None else [f"objects above {args.above} m"]
    print(f"| {' | '.join(columns)} |\n|{'---|' * len(columns)}")
    for name, s in stats.items():
        cells = [name, f"{statistics.median(s['steps']):.0f} / {np.percentile(s['steps'], 90):.0f}",
                 f"{statistics.median(s['ms']):.1f} / {np.percentile(s['ms'], 90):.1f}", s["capped"],
                 f"{max(s['penetration']):.1f}", s["floating"]]
        if args.above is not None:
            cells.append(s["above"])
        print(f"| {' | '.join(map(str, cells))} |")


if __name__ == "__main__":
    main()
