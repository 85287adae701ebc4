"""A run: this shard's frames not yet on disk (resume), made in this process or in worker processes, and the
writers closed once all are written. No PyBullet, no file formats."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
from tqdm import tqdm

from simgen.pipeline import FrameResult, Job, Pipeline, make_frames, write_frame
from simgen.workers import WORN_OUT, run_pool
from simgen.writers import Writer
from simgen.writers.files import listed

log = logging.getLogger("simgen")
FELL_WARNING = 0.05  # more of the labeled objects than this falling off the support is warned of (1% roll off a table)


@dataclass
class RunSummary:
    root: Path
    frames: int
    rendered: int
    instances: int
    seconds: float
    renderer: str
    categories_seen: set = field(default_factory=set)
    unsettled: int = 0  # rendered frames whose objects were still moving
    empty: int = 0  # rendered frames without an annotation (but ignore regions)
    objects: int = 0  # labeled objects dropped in the rendered frames
    fell: int = 0  # of them, those that fell off the support
    oversized: dict = field(default_factory=dict)  # category -> (metres across, asset): its largest, if too large
    ignored: int = 0  # ignore regions annotated in the rendered frames
    no_room: int = 0  # labeled objects left out: no room under a fixture above

    def add(self, result: FrameResult) -> None:
        self.instances += result.instances
        self.ignored += result.ignored
        self.no_room += result.no_room
        self.categories_seen.update(result.categories)
        self.unsettled += result.unsettled
        self.empty += result.empty
        self.objects += result.objects
        self.fell += result.fell
        for category, asset, size in result.oversized:
            self.oversized[category] = max((size, asset), self.oversized.get(category, (0.0, "")))

    def line(self) -> str:
        frames = counted(self.frames, "frame")
        if not self.rendered:
            return f"{frames} (0 rendered, {self.frames} already on disk): nothing left to render"
        rate = self.rendered / self.seconds if self.seconds > 0 else float("inf")
        resumed = f", {self.frames - self.rendered} already on disk" if self.rendered < self.frames else ""
        of = " in the rendered ones" if resumed else ""
        ignored = f" and {counted(self.ignored, 'ignore region')}" if self.ignored else ""
        return (f"{frames} ({self.rendered} rendered{resumed}), {counted(self.instances, 'instance')}{ignored}, "
                f"{counted(len(self.categories_seen), 'category', 'categories')}{of} in {self.seconds:.1f} s "
                f"({rate:.1f} frames/s, {self.renderer} renderer)")

    def warnings(self) -> list[str]:
        """What looks wrong in the rendered frames: objects drawn still moving, many fallen off the support, objects
        of a size no scene holds, or most frames without labels."""
        found = []
        if self.unsettled:
            found.append(f"{self.unsettled} of {self.rendered} frames were drawn with objects still moving: settling "
                         "stopped at world.max_steps (too many or too large objects for the support? fewer "
                         "objects.count, smaller objects.scale, or a higher world.max_steps; each object's state is "
                         "in the meta)")
        if self.fell > FELL_WARNING * self.objects:
            found.append(f"{self.fell} of {self.objects} labeled objects fell off the support and are left out of the "
                         "frames' labels: a thin mesh passes through it within one world.time_step (halve it and "
                         "double world.max_steps), or objects are dropped near its edge (objects.margin)")
        if self.no_room:
            found.append(f"{self.no_room} of {self.objects} labeled objects found no room on the support under the "
                         "fixture above it (a shelf's upper board) and are left out of the frames: fewer "
                         "objects.count, or smaller objects.scale")
        found += [f"category {category}: {asset} is {size:.1f} m across as placed; meshes are read in metres: if it "
                  "was modelled in millimetres, give the category scale: 0.001"
                  for category, (size, asset) in sorted(self.oversized.items())]
        if self.empty > self.rendered / 2:
            found.append(f"{self.empty} of {self.rendered} frames have nothing annotated (ignore regions aside): does "
                         "the camera see the objects (camera.elevation, camera.distance), and are they above "
                         "annotator.min_visible_pixels?")
        return found


def counted(count: int, one: str, many: str = "") -> str:
    """`1 frame`, `2 frames`."""
    return f"{count} {one if count == 1 else many or one + 's'}"


@dataclass(frozen=True)
class Shard:
    """This run's part of the frames: those of the scenes s with s % count == index."""

    index: int = 0
    count: int = 1

    def frames(self, num_frames: int, views_per_scene: int = 1) -> np.ndarray:
        """Its frame indices, in order (scene by scene: a shard of a big run need not look at the others), as an
        array: 8 bytes a frame, where a list of Python ints took 36 and a million-frame run lists them all."""
        scenes = np.arange(self.index, -(-num_frames // views_per_scene), self.count, dtype=np.int64)
        frames = (scenes[:, None] * views_per_scene + np.arange(views_per_scene, dtype=np.int64)).ravel()
        return frames[frames < num_frames]


class SceneJobs:
    """The scenes that `frames` (in order, as Shard.frames lists them) view, each with its views to render, handed
    out one at a time (popleft, as from a deque): made as they go, not listed up front."""

    def __init__(self, frames: np.ndarray, views_per_scene: int):
        self.frames, self.views_per_scene, self.next = frames, views_per_scene, 0
        scenes = frames // views_per_scene
        self.scenes = int(np.count_nonzero(np.diff(scenes))) + 1 if len(frames) else 0

    def __bool__(self) -> bool:
        return self.next < len(self.frames)

    def popleft(self) -> Job:
        """The next scene and its views."""
        first = int(self.frames[self.next])
        scene, views = first // self.views_per_scene, []
        while self.next < len(self.frames) and int(self.frames[self.next]) // self.views_per_scene == scene:
            views.append(int(self.frames[self.next]) % self.views_per_scene)
            self.next += 1
        return scene, tuple(views)


def _run_serial(pipeline: Pipeline, seed: int, jobs: SceneJobs, views_per_scene: int,
                until_worn_out: bool) -> Iterator[list[FrameResult]]:
    """Frames in this process, taking scenes from `jobs` (and, with `until_worn_out`, stopping once the world
    wears out); each frame's encoding and writing overlaps the next frame's simulation."""
    with ThreadPoolExecutor(max_workers=1) as io:
        pending = None
        while jobs and not (until_worn_out and pipeline.world.worn_out):
            scene_index, views = jobs.popleft()
            for index, frame, scene, instances in make_frames(pipeline, seed, scene_index, views, views_per_scene):
                if pending is not None:
                    pending.result()
                pending = io.submit(write_frame, pipeline, index, frame, scene, instances)
                yield [FrameResult.of(index, instances, scene)]
        if pending is not None:
            pending.result()


def _run(pipeline: Pipeline, factory: Optional[Callable[[], Pipeline]], seed: int, views_per_scene: int, root: Path,
         todo: SceneJobs, workers: int) -> Iterator[list[FrameResult]]:
    """Every job: with one worker in this process, else (and once this process's world wears out) in worker
    processes."""
    if workers == 1 or factory is None:
        yield from _run_serial(pipeline, seed, todo, views_per_scene, until_worn_out=factory is not None)
        if todo:
            log.info(WORN_OUT)
    if todo:
        yield from run_pool(factory, seed, views_per_scene, root, todo, workers)


def unwritten(writers: Sequence[Writer], frames: np.ndarray) -> np.ndarray:
    """The frames (in order) that some writer has not written: each writer asked in turn, within a listed() block,
    so that its folders are listed once and only one writer's listings are held at a time."""
    missing = bytearray(len(frames))
    for writer in writers:
        with listed():
            for k, index in enumerate(map(int, frames)):
                if not missing[k] and not writer.done(index):
                    missing[k] = 1
    return frames[np.frombuffer(missing, dtype=bool)] if len(frames) else frames


def close_order(writer: Writer) -> int:
    """Writers close in this order: those of frames first, then the one whose file marks the dataset finished (COCO's
    annotations.json: a writer that fails to close leaves the dataset unfinished), then the exports, which read it."""
    return 2 if getattr(writer, "reads_dataset", False) else 1 if getattr(writer, "marks_finished", False) else 0


def made(writer: Writer) -> bool:
    """Whether what the writer's close() makes is on disk already (a writer without `made()` is closed anyway)."""
    return bool(getattr(writer, "made", lambda: False)())


def to_close(writers: Sequence[Writer], rendered: bool) -> list[Writer]:
    """The writers to close, in order: all of them when frames were rendered; on a dataset with nothing left to render
    whose annotations.json is there, only those whose output is missing (exports a kill -9 cut short), so that
    rerunning a finished dataset (a sweep run again to finish or extend it) assembles and exports nothing again."""
    ordered = sorted(writers, key=close_order)
    if rendered or not all(made(w) for w in writers if getattr(w, "marks_finished", False)):
        return ordered
    return [w for w in ordered if not made(w)]


def generate(pipeline: Pipeline, seed: int, num_frames: int, root: Path, progress: bool = True,
             workers: int = 1, shard: Shard = Shard(), views_per_scene: int = 1,
             factory: Optional[Callable[[], Pipeline]] = None) -> RunSummary:
    """Render this shard's frames of 0..num_frames-1 into `root`, skipping frames already written (resume).

    Frame i is view i % views_per_scene of scene i // views_per_scene. With workers > 1, `factory`
    builds a pipeline in each worker process.
    """
    for writer in pipeline.writers:
        writer.open(root, pipeline.categories)
    mine = shard.frames(num_frames, views_per_scene)
    todo = unwritten(pipeline.writers, mine)
    jobs = SceneJobs(todo, views_per_scene)
    summary = RunSummary(root, len(mine), len(todo), 0, 0.0, pipeline.world.renderer_kind)
    workers = max(1, min(workers, jobs.scenes))
    start = time.perf_counter()
    results = _run(pipeline, factory, seed, views_per_scene, root, jobs, workers)
    with tqdm(total=len(mine), initial=len(mine) - len(todo), unit="frame", disable=not progress,
              dynamic_ncols=True) as bar:
        for batch in results:
            for result in batch:
                summary.add(result)
            bar.update(len(batch))
    for writer in to_close(pipeline.writers, rendered=len(todo) > 0):
        writer.close()
    summary.seconds = time.perf_counter() - start
    return summary
