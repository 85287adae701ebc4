"""The frame loop: randomize -> build -> settle -> render -> annotate -> write. No PyBullet, no file formats."""

from __future__ import annotations

import multiprocessing
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

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


@dataclass(frozen=True)
class FrameResult:
    """What the parent needs to know of a finished frame."""

    index: int
    instances: int
    categories: frozenset

    @staticmethod
    def of(index: int, instances: list[Instance]) -> "FrameResult":
        return FrameResult(index, len(instances), frozenset(i.category_id for i in instances))


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
    for effect in pipeline.effects:
        effect(frame, rng)
    return frame, scene, pipeline.annotator(frame, scene)


@dataclass(frozen=True)
class Shard:
    """This run's part of the frames: those i with i % count == index."""

    index: int = 0
    count: int = 1

    def frames(self, num_frames: int) -> range:
        return range(self.index, num_frames, self.count)


def write_frame(pipeline: Pipeline, index: int, frame: Frame, scene: Scene, instances: list[Instance]) -> None:
    for writer in pipeline.writers:
        writer.write(index, frame, scene, instances)


def _run_serial(pipeline: Pipeline, seed: int, todo: Sequence[int]) -> Iterator[FrameResult]:
    """Frames in this process; each frame's encoding and writing overlaps the next frame's simulation."""
    with ThreadPoolExecutor(max_workers=1) as io:
        pending = None
        for index in todo:
            frame, scene, instances = make_frame(pipeline, seed, index)
            if pending is not None:
                pending.result()
            pending = io.submit(write_frame, pipeline, index, frame, scene, instances)
            yield FrameResult.of(index, instances)
        if pending is not None:
            pending.result()


_WORKER: dict = {}


def _init_worker(factory: Callable[[], Pipeline], seed: int, root: Path) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    pipeline = factory()
    for writer in pipeline.writers:
        writer.open(root, pipeline.categories)
    _WORKER.update(pipeline=pipeline, seed=seed)


def _work(index: int) -> FrameResult:
    pipeline = _WORKER["pipeline"]
    frame, scene, instances = make_frame(pipeline, _WORKER["seed"], index)
    write_frame(pipeline, index, frame, scene, instances)
    return FrameResult.of(index, instances)


def _run_pool(factory: Callable[[], Pipeline], seed: int, root: Path, todo: Sequence[int],
              workers: int) -> Iterator[FrameResult]:
    """Frames in `workers` processes, each with its own world; any order gives the same files."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_init_worker, initargs=(factory, seed, root)) as pool:
        yield from pool.imap_unordered(_work, todo, chunksize=1)


def generate(pipeline: Pipeline, seed: int, num_frames: int, root: Path, progress: bool = True,
             workers: int = 1, shard: Shard = Shard(), factory: Optional[Callable[[], Pipeline]] = None) -> RunSummary:
    """Render this shard's frames of 0..num_frames-1 into `root`, skipping frames already written (resume).

    With workers > 1, `factory` builds a pipeline in each worker process.
    """
    for writer in pipeline.writers:
        writer.open(root, pipeline.categories)
    mine = shard.frames(num_frames)
    todo = [i for i in mine if not all(w.done(i) for w in pipeline.writers)]
    summary = RunSummary(root, len(mine), len(todo), 0, 0.0, pipeline.world.renderer_kind)
    workers = max(1, min(workers, len(todo)))
    start = time.perf_counter()
    results = _run_pool(factory, seed, root, todo, workers) if workers > 1 and factory else \
        _run_serial(pipeline, seed, todo)
    with tqdm(total=len(mine), initial=len(mine) - len(todo), unit="frame", disable=not progress,
              dynamic_ncols=True) as bar:
        for result in results:
            summary.instances += result.instances
            summary.categories_seen.update(result.categories)
            bar.update()
    for writer in pipeline.writers:
        writer.close()
    summary.seconds = time.perf_counter() - start
    return summary
