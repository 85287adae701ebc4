"""The frame loop: randomize -> build -> settle -> render -> annotate -> write. No PyBullet, no file formats."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.machinery
import logging
import multiprocessing
import multiprocessing.util
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
from tqdm import tqdm

from simgen.annotate import Annotator, Instance
from simgen.effects import Effect
from simgen.errors import WorkerError
from simgen.frame import Frame
from simgen.randomizers import Randomizer
from simgen.scene import Scene
from simgen.world import World
from simgen.writers import Writer

log = logging.getLogger("simgen")


@dataclass
class Pipeline:
    """Everything a run is made of, as instantiated from config."""

    scene: Scene
    randomizers: Sequence[Randomizer]  # per scene: objects, appearance, light, camera, distractors
    view_randomizers: Sequence[Randomizer]  # the camera again, for each view after a scene's first
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


def scene_rng(seed: int, scene_index: int) -> np.random.Generator:
    """The random stream of a scene: objects, appearance, light, its first camera, distractors."""
    return np.random.default_rng([seed, scene_index])


def view_rng(seed: int, scene_index: int, view: int) -> np.random.Generator:
    """The random stream of one view of a scene: its camera (after the first view) and effects."""
    return np.random.default_rng([seed, scene_index, view])


def frame_scene(pipeline: Pipeline, rng: np.random.Generator) -> Scene:
    """The randomized scene spec of a scene, seen by its first view's camera."""
    scene = pipeline.scene.copy()
    for randomize in pipeline.randomizers:
        randomize(scene, rng)
    return scene


def view_of(pipeline: Pipeline, scene: Scene, view: int, rng: np.random.Generator) -> Scene:
    """View `view` of a scene: the scene itself for view 0, else a shallow copy with a camera of its own."""
    if view == 0:
        return scene
    spec = dataclasses.replace(scene)
    for randomize in pipeline.view_randomizers:
        randomize(spec, rng)
    return spec


def frame_spec(pipeline: Pipeline, seed: int, index: int, views_per_scene: int = 1) -> Scene:
    """The full scene spec of frame `index` (before physics): a function of (seed, index) alone."""
    scene_index, view = divmod(index, views_per_scene)
    scene = frame_scene(pipeline, scene_rng(seed, scene_index))
    return view_of(pipeline, scene, view, view_rng(seed, scene_index, view))


def make_frames(pipeline: Pipeline, seed: int, scene_index: int, views: Sequence[int],
                views_per_scene: int) -> Iterator[tuple[int, Frame, Scene, list[Instance]]]:
    """Randomize, build and settle one scene, then render, post-process and annotate the asked views of it."""
    scene = frame_scene(pipeline, scene_rng(seed, scene_index))
    pipeline.world.build(scene)
    pipeline.world.settle(scene)
    for view in views:
        rng = view_rng(seed, scene_index, view)
        spec = view_of(pipeline, scene, view, rng)
        frame = pipeline.world.render(spec)
        if pipeline.annotator.amodal:
            frame.amodal = pipeline.world.render_amodal(spec, pipeline.annotator.candidates(frame), frame.instance)
        for effect in pipeline.effects:
            effect(frame, rng)
        yield scene_index * views_per_scene + view, frame, spec, pipeline.annotator(frame, spec)


def make_frame(pipeline: Pipeline, seed: int, index: int, views_per_scene: int = 1) -> tuple[Frame, Scene, list[Instance]]:
    """Frame `index` on its own, its scene built and settled for it."""
    scene_index, view = divmod(index, views_per_scene)
    _, frame, scene, instances = next(make_frames(pipeline, seed, scene_index, [view], views_per_scene))
    return frame, scene, instances


@dataclass(frozen=True)
class Shard:
    """This run's part of the frames: those of the scenes s with s % count == index."""

    index: int = 0
    count: int = 1

    def frames(self, num_frames: int, views_per_scene: int = 1) -> list[int]:
        return [i for i in range(num_frames) if (i // views_per_scene) % self.count == self.index]


Job = tuple[int, tuple[int, ...]]  # a scene index and the views of it still to render


def scene_jobs(frames: Sequence[int], views_per_scene: int) -> list[Job]:
    """Group frame indices by the scene they view."""
    jobs: dict[int, list[int]] = {}
    for index in frames:
        jobs.setdefault(index // views_per_scene, []).append(index % views_per_scene)
    return [(scene, tuple(views)) for scene, views in jobs.items()]


def write_frame(pipeline: Pipeline, index: int, frame: Frame, scene: Scene, instances: list[Instance]) -> None:
    for writer in pipeline.writers:
        writer.write(index, frame, scene, instances)


def _run_serial(pipeline: Pipeline, seed: int, jobs: deque[Job], views_per_scene: int,
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
                yield [FrameResult.of(index, instances)]
        if pending is not None:
            pending.result()


_WORKER: dict = {}
WORN_OUT = ("the mesh textures a process holds, which PyBullet never frees, fill world.texture_memory_mb: "
            "going on in fresh worker processes")
IN_FLIGHT_PER_WORKER = 2  # scenes queued per worker: enough to keep it busy, few to cancel on a stop


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back from this thread while it starts worker processes, which inherit the block.

    A terminal's Ctrl-C goes to every process of the group: a worker still importing would print a
    KeyboardInterrupt traceback. Held, the signal reaches the parent when this ends, and the worker drops it
    when it ignores SIGINT (_init_worker)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _init_worker(factory: Callable[[], Pipeline], seed: int, views_per_scene: int, root: Path, temp: str) -> None:
    """temp: the run's folder for its workers' temporary files, which the parent removes, even after a worker
    was killed outright."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held since start (_ctrl_c_held): dropped now
    tempfile.tempdir = temp
    threading.Thread(target=_exit_with, args=(multiprocessing.parent_process(), temp), daemon=True).start()
    try:
        pipeline = factory()
        # as the process ends, disconnect quietly (the EGL plugin prints as its client goes) and remove the
        # temporary files: a multiprocessing finalizer, since a forked worker ends through os._exit, which runs
        # no atexit hook
        multiprocessing.util.Finalize(None, pipeline.world.close, exitpriority=0)
        for writer in pipeline.writers:
            writer.open(root, pipeline.categories)
    except Exception as err:  # raised here it would break the pool with a traceback: the first scene reports it
        _WORKER["error"] = err
        return
    _WORKER.update(pipeline=pipeline, seed=seed, views_per_scene=views_per_scene)


def _exit_with(parent: multiprocessing.process.BaseProcess, temp: str) -> None:
    """End this worker when the parent process ends, even killed outright (SIGKILL) with no chance to stop it,
    and remove its temporary files (the last worker to go, the run's folder too)."""
    parent.join()
    if "pipeline" in _WORKER:
        _WORKER["pipeline"].world.abandon_files()  # files only: the main thread may be inside PyBullet
    with contextlib.suppress(OSError):
        os.rmdir(temp)
    os._exit(1)


def _work(job: Job) -> tuple[list[FrameResult], bool]:
    """One scene's frames, and whether this worker's world is worn out and the process should be replaced."""
    if "error" in _WORKER:
        raise _WORKER["error"]
    pipeline, results = _WORKER["pipeline"], []
    for index, frame, scene, instances in make_frames(pipeline, _WORKER["seed"], *job, _WORKER["views_per_scene"]):
        write_frame(pipeline, index, frame, scene, instances)
        results.append(FrameResult.of(index, instances))
    return results, pipeline.world.worn_out


def _worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start: forked from a server process that has imported simgen (in milliseconds, not
    the 0.4 s a fresh interpreter takes to import it), where the platform has one; else spawned. The server
    never touches PyBullet, so no worker inherits a client or an EGL context."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("spawn")
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["simgen.generate", "simgen.config"] if _cwd_imports_this_simgen() else [])
    if multiprocessing.get_start_method(allow_none=True) not in (None, *multiprocessing.get_all_start_methods()):
        # a worker reads the default start method first, and cannot know the one of a launcher that runs this
        # process (joblib's loky): make ours the default
        multiprocessing.set_start_method(context.get_start_method(), force=True)
    return context


def _cwd_imports_this_simgen() -> bool:
    """Whether `import simgen` with the working directory first on the path imports this simgen. The fork
    server imports its preloads so (multiprocessing does not give it the parent's sys.path, up to Python 3.13
    at least): a `simgen` folder in the working directory, such as a source checkout beside a non-editable
    install, would be imported into every worker instead. Then workers import simgen themselves."""
    found = importlib.machinery.PathFinder.find_spec("simgen", [os.getcwd()])
    this = Path(__file__).with_name("__init__.py").resolve()
    return found is None or found.origin is None or Path(found.origin).resolve() == this


class _Lane:
    """One worker process of a run, with the scenes queued to it; a fresh process replaces it once its world
    wears out."""

    def __init__(self, start: Callable[[], ProcessPoolExecutor]):
        self.start, self.pool, self.running, self.worn_out = start, start(), set(), False

    def feed(self, jobs: deque[Job], owner: dict[Future, _Lane]) -> None:
        """Queue scenes to this worker until it has IN_FLIGHT_PER_WORKER (none once it is worn out)."""
        with _ctrl_c_held():  # the executor starts its worker process as the first scene is submitted
            while jobs and not self.worn_out and len(self.running) < IN_FLIGHT_PER_WORKER:
                future = self.pool.submit(_work, jobs.popleft())
                self.running.add(future)
                owner[future] = self

    def replace(self) -> threading.Thread:
        """Start a fresh worker in place of this worn-out one; the returned thread waits for the old one to exit."""
        retiring = threading.Thread(target=self.pool.shutdown, name="simgen-retire-worker")
        retiring.start()
        self.pool, self.worn_out = self.start(), False
        return retiring


def _run_pool(factory: Callable[[], Pipeline], seed: int, views_per_scene: int, root: Path, jobs: deque[Job],
              workers: int) -> Iterator[list[FrameResult]]:
    """Scenes from `jobs` in `workers` processes, each with its own world; any order gives the same files.

    A few scenes per worker are in flight at a time, so a run of millions of frames holds no more. A worker
    whose world wears out gets no further scene and is replaced by a fresh process once its queued scenes are
    done, while the others go on. A worker that dies (a crash in PyBullet, the out-of-memory killer) stops
    the run with a WorkerError."""
    context, temp = _worker_context(), tempfile.mkdtemp(prefix="simgen-workers-")

    def start() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker,
                                   initargs=(factory, seed, views_per_scene, root, temp))

    lanes = [_Lane(start) for _ in range(workers)]
    owner: dict[Future, _Lane] = {}
    retiring: list[threading.Thread] = []
    try:
        try:
            for lane in lanes:
                lane.feed(jobs, owner)
            while owner:
                done, _ = wait(owner, return_when=FIRST_COMPLETED)
                for future in done:
                    lane = owner.pop(future)
                    lane.running.discard(future)
                    results, worn = future.result()
                    lane.worn_out |= worn
                    yield results
                    if lane.worn_out and not lane.running and jobs:
                        if not retiring:
                            log.info(WORN_OUT)
                        retiring.append(lane.replace())
                    lane.feed(jobs, owner)
        except BrokenProcessPool:
            raise WorkerError("a worker process died (killed, out of memory, or crashed in PyBullet); frames "
                              "written so far are kept: run the same command again to resume, or with "
                              "workers=1 to see where it stops") from None
    except BaseException:
        for lane in lanes:  # on Ctrl-C or an error: no further scenes, no waiting
            lane.pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(temp, ignore_errors=True)  # with the files of a worker that was killed
        raise
    # Done: wait for every worker to exit. A process that ends through multiprocessing's own exit (joblib's
    # loky workers) joins its children before a pool's manager thread has told them to.
    for lane in lanes:
        lane.pool.shutdown()
    for thread in retiring:
        thread.join()
    shutil.rmtree(temp, ignore_errors=True)


def _run(pipeline: Pipeline, factory: Optional[Callable[[], Pipeline]], seed: int, views_per_scene: int, root: Path,
         jobs: Sequence[Job], workers: int) -> Iterator[list[FrameResult]]:
    """Every job: with one worker in this process, else (and once this process's world wears out) in worker
    processes."""
    todo = deque(jobs)
    if workers == 1 or factory is None:
        yield from _run_serial(pipeline, seed, todo, views_per_scene, until_worn_out=factory is not None)
        if todo:
            log.info(WORN_OUT)
    if todo:
        yield from _run_pool(factory, seed, views_per_scene, root, todo, workers)


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
    todo = [i for i in mine if not all(w.done(i) for w in pipeline.writers)]
    jobs = scene_jobs(todo, views_per_scene)
    summary = RunSummary(root, len(mine), len(todo), 0, 0.0, pipeline.world.renderer_kind)
    workers = max(1, min(workers, len(jobs)))
    start = time.perf_counter()
    results = _run(pipeline, factory, seed, views_per_scene, root, jobs, workers)
    with tqdm(total=len(mine), initial=len(mine) - len(todo), unit="frame", disable=not progress,
              dynamic_ncols=True) as bar:
        for batch in results:
            for result in batch:
                summary.instances += result.instances
                summary.categories_seen.update(result.categories)
            bar.update(len(batch))
    for writer in sorted(pipeline.writers, key=lambda w: getattr(w, "reads_dataset", False)):
        writer.close()  # exporters (reads_dataset) last: they read the finished dataset the others wrote
    summary.seconds = time.perf_counter() - start
    return summary
