"""The frame loop: randomize -> build -> settle -> render -> annotate -> write. No PyBullet, no file formats."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from simgen.annotate import Annotator, Instance
from simgen.effects import Effect
from simgen.frame import Frame
from simgen.randomizers import Randomizer
from simgen.scene import Scene
from simgen.world import World
from simgen.writers import Writer


@dataclass
class Pipeline:
    """Everything a run is made of, as instantiated from config."""

    scene: Scene
    randomizers: Sequence[Randomizer]
    world: World
    annotator: Annotator
    writers: Sequence[Writer]
    effects: Sequence[Effect] = ()
    categories: list[dict] = field(default_factory=list)


@dataclass
class RunSummary:
    root: Path
    frames: int
    rendered: int
    instances: int
    seconds: float
    renderer: str
    categories_seen: set = field(default_factory=set)

    def line(self) -> str:
        rate = self.rendered / self.seconds if self.seconds > 0 else float("inf")
        resumed = f", {self.frames - self.rendered} already on disk" if self.rendered < self.frames else ""
        return (f"{self.frames} frames ({self.rendered} rendered{resumed}), {self.instances} instances, "
                f"{len(self.categories_seen)} categories in {self.seconds:.1f} s ({rate:.1f} frames/s, "
                f"{self.renderer} renderer)")


def frame_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def frame_scene(pipeline: Pipeline, seed: int, index: int, rng: np.random.Generator | None = None) -> Scene:
    """The randomized scene spec of frame `index`: a function of (seed, index) alone."""
    rng = rng if rng is not None else frame_rng(seed, index)
    scene = pipeline.scene.copy()
    for randomize in pipeline.randomizers:
        randomize(scene, rng)
    return scene


def make_frame(pipeline: Pipeline, seed: int, index: int) -> tuple[Frame, Scene, list[Instance]]:
    """Randomize, build, settle, render, post-process and annotate frame `index`."""
    rng = frame_rng(seed, index)
    scene = frame_scene(pipeline, seed, index, rng)
    pipeline.world.build(scene)
    pipeline.world.settle(scene)
    frame = pipeline.world.render(scene)
    if getattr(pipeline.annotator, "amodal", False):
        frame.amodal = pipeline.world.render_amodal(scene, pipeline.annotator.candidates(frame), frame.instance)
    for effect in pipeline.effects:
        effect(frame, rng)
    return frame, scene, pipeline.annotator(frame, scene)


def generate(pipeline: Pipeline, seed: int, num_frames: int, root: Path, progress: bool = True) -> RunSummary:
    """Render frames 0..num_frames-1 into `root`, skipping frames already fully written (resume)."""
    for writer in pipeline.writers:
        writer.open(root, pipeline.categories)
    todo = [i for i in range(num_frames) if not all(w.done(i) for w in pipeline.writers)]
    summary = RunSummary(root, num_frames, len(todo), 0, 0.0, pipeline.world.renderer_kind)
    start = time.perf_counter()
    with tqdm(total=num_frames, initial=num_frames - len(todo), unit="frame", disable=not progress,
              dynamic_ncols=True) as bar:
        for index in todo:
            frame, scene, instances = make_frame(pipeline, seed, index)
            for writer in pipeline.writers:
                writer.write(index, frame, scene, instances)
            summary.instances += len(instances)
            summary.categories_seen.update(inst.category_id for inst in instances)
            bar.update()
    for writer in sorted(pipeline.writers, key=lambda w: getattr(w, "reads_dataset", False)):
        writer.close()  # exporters (reads_dataset) last: they read the finished dataset the others wrote
    summary.seconds = time.perf_counter() - start
    return summary
