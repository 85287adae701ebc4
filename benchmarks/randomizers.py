"""Cost per frame of each randomizer and effect: a whole frame (randomize, build, settle, render, effects,
annotate) with the option added, against a baseline measured alternately in the same process.

    python benchmarks/randomizers.py --renderer tiny --width 640 --height 480 --frames 6 --repeats 5

The baseline is `experiment=dr_none` (objects, fixed light, orbit camera). For each option the script
alternates baseline and option runs `--repeats` times over the same frame indices and reports medians
of the per-frame time, the difference, and the median time of the randomizer's or effect's own call.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Sequence

import numpy as np
from hydra import compose, initialize_config_module

from simgen import config
from simgen.pipeline import Pipeline, frame_spec, make_frame, view_rng

OPTIONS = {
    "color": ["randomizers=[color]", "randomizers.color.probability=1"],
    "texture (objects)": ["randomizers=[texture]", "randomizers.texture.probability=1"],
    "texture (objects), variants=16": ["randomizers=[texture]", "randomizers.texture.probability=1",
                                       "randomizers.texture.variants=16"],
    "background (fixtures colour+texture)": ["randomizers=[background]"],
    "physics (friction, restitution)": ["randomizers=[physics]"],
    "pile": ["randomizers=[pile]", "randomizers.pile.probability=1"],
    "light=random": ["light=random", "light.shadow_probability=0.5"],
    "camera=hemisphere": ["camera=hemisphere"],
    "distractors: clutter": ["distractors=[clutter]"],
    "distractors: floating": ["distractors=[floating]"],
    **{f"effect: {name}": [f"effects=[{name}]", f"effects.{name}.probability=1"] for name in (
        "gaussian_noise", "poisson_noise", "blur", "motion_blur", "jpeg", "color_jitter", "gamma", "vignette",
        "background_image")},
    "experiment=dr_light": ["experiment=dr_light"],
    "experiment=dr_strong": ["experiment=dr_strong"],
}


def pipeline(overrides: Sequence[str], args: argparse.Namespace) -> Pipeline:
    base = ["experiment=dr_none", f"renderer={args.renderer}", "progress=false"]
    size = [f"camera.width={args.width}", f"camera.height={args.height}"]
    with initialize_config_module(config_module="simgen.conf", version_base=None):
        cfg = compose(config_name="config", overrides=[*base, *overrides, *size])
    return config.build_pipeline(cfg)


def per_frame(p: Pipeline, indices: range) -> float:
    """Mean seconds per frame over `indices`."""
    start = time.perf_counter()
    for i in indices:
        make_frame(p, 0, i)
    return (time.perf_counter() - start) / len(indices)


def scene_time(p: Pipeline, index: int) -> float:
    start = time.perf_counter()
    frame_spec(p, 0, index)
    return time.perf_counter() - start


def own_call(p: Pipeline, baseline: Pipeline, indices: range) -> float:
    """Median seconds of the option's own work outside the engine: its scene edits (randomizing the scene
    spec, less the baseline's) plus its effects on a rendered frame."""
    times = []
    for i in indices:
        frame = make_frame(baseline, 0, i)[0]
        rng = view_rng(0, i, 0)
        start = time.perf_counter()
        for effect in p.effects:
            effect(frame, rng)
        effects = time.perf_counter() - start
        times.append(scene_time(p, i) - scene_time(baseline, i) + effects)
    return statistics.median(times)


def measure(name: str, option: Pipeline, baseline: Pipeline, args: argparse.Namespace) -> list[str]:
    indices = range(args.frames)
    for p in (baseline, option):
        make_frame(p, 0, 0)  # connect and warm up outside the timing
    base, opt = [], []
    for _ in range(args.repeats):
        base.append(per_frame(baseline, indices))
        opt.append(per_frame(option, indices))
    b, o = statistics.median(base), statistics.median(opt)
    own = own_call(option, baseline, indices)
    return [name, f"{b * 1e3:.1f}", f"{o * 1e3:.1f}", f"{(o - b) * 1e3:+.1f}", f"{own * 1e3:.2f}"]


def table(rows: list[list[str]]) -> str:
    head = ["option", "baseline ms/frame", "with option ms/frame", "difference ms", "own call ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renderer", default="tiny", choices=("tiny", "egl"))
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--frames", type=int, default=6, help="frames per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="alternating baseline/option runs; medians reported")
    parser.add_argument("--only", nargs="*", help="names of options to run (default: all)")
    args = parser.parse_args(argv)
    config.register_schema()
    baseline = pipeline([], args)
    rows = []
    for name, overrides in OPTIONS.items():
        if args.only and name not in args.only:
            continue
        option = pipeline(overrides, args)
        try:
            rows.append(measure(name, option, baseline, args))
        finally:
            option.world.close()
        print(" | ".join(rows[-1]), flush=True)
    baseline.world.close()
    print(f"\nrenderer={args.renderer} {args.width}x{args.height}, {args.frames} frames x {args.repeats} repeats "
          f"(medians), numpy {np.__version__}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
