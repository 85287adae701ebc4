"""Worker processes: each with its own world, fed a few scenes at a time, replaced alone once worn out."""

from __future__ import annotations

import contextlib
import importlib.machinery
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.resource_tracker
import multiprocessing.util
import os
import signal
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from simgen import stops, temp_folders
from simgen.errors import WorkerError
from simgen.pipeline import FrameResult, Job, Pipeline, make_frames, write_frame

if TYPE_CHECKING:
    from simgen.generate import SceneJobs

log = logging.getLogger("simgen")

_WORKER: dict = {}  # in a worker process: its pipeline, seed and views_per_scene, or the error making them
WORN_OUT = ("the mesh textures a process holds, which PyBullet never frees, fill world.texture_memory_mb: "
            "going on in fresh worker processes")
IN_FLIGHT_PER_WORKER = 2  # scenes queued per worker: enough to keep it busy, few to cancel on a stop
STOP_GRACE_S = 3.0  # how long a stopped run waits for its workers to end on SIGTERM before it kills them


@contextlib.contextmanager
def _stops_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM back from this thread while it starts worker processes, which inherit the
    block.

    A terminal's Ctrl-C goes to every process of the group (a scheduler's SIGTERM to every process of the job): a
    worker still importing would print a KeyboardInterrupt traceback. Held, the signal reaches the parent when
    this ends, and the worker drops it when it ignores SIGINT (_init_worker). Another thread of this process may
    still take the signal, and Python would raise KeyboardInterrupt here mid-start, before the executor knows its
    new process (which _stop could then not end): so in the main thread a signal is only noted, and raised again
    to its own handler once the processes are known."""
    with stops.deferred():
        held = signal.pthread_sigmask(signal.SIG_BLOCK, stops.STOP_SIGNALS)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _init_worker(factory: Callable[[], Pipeline], seed: int, views_per_scene: int, root: Path, temp: str) -> None:
    """temp: the run's folder for its workers' temporary files, which the parent removes, even after a worker
    was killed outright."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    # held since start (_stops_held): SIGINT dropped now, and a SIGTERM ends this worker, as the parent's does when
    # it stops the pool
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stops.STOP_SIGNALS)
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
        results.append(FrameResult.of(index, instances, scene))
    return results, pipeline.world.worn_out


def _bootstrap_without_cwd() -> contextlib.AbstractContextManager:
    """New worker processes (and the server they fork from) start as `python -c ...`, which puts the working
    directory first on sys.path: a user's `random.py` or `queue.py` there was imported in place of the standard
    library's and killed every worker. PYTHONSAFEPATH (Python 3.11+) leaves it out; the workers still get this
    process's sys.path from multiprocessing, so a user's own modules import as here."""
    return _environment("PYTHONSAFEPATH", "1")


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """The environment variable `name` set to `value` within the block (for the processes started there)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def _start_quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker, which removes the pools' semaphores should this process be killed
    outright (`kill -9`), with its warnings off: it would then print that it found them leaked, over two lines."""
    with _environment("PYTHONWARNINGS", "ignore"):
        multiprocessing.resource_tracker.ensure_running()


def _worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start: forked from a server process that has imported simgen (in milliseconds, not
    the 0.4 s a fresh interpreter takes to import it), where the platform has one; else spawned. The server
    never touches PyBullet, so no worker inherits a client or an EGL context."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("spawn")
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["simgen.workers", "simgen.config"] if _cwd_imports_this_simgen() else [])
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

    def feed(self, jobs: SceneJobs, owner: dict[Future, _Lane]) -> None:
        """Queue scenes to this worker until it has IN_FLIGHT_PER_WORKER (none once it is worn out)."""
        with _stops_held(), _bootstrap_without_cwd():  # the executor starts its worker as the first scene goes in
            while jobs and not self.worn_out and len(self.running) < IN_FLIGHT_PER_WORKER:
                future = self.pool.submit(_work, jobs.popleft())
                self.running.add(future)
                owner[future] = self

    def replace(self) -> threading.Thread:
        """Start a fresh worker in place of this worn-out one; the returned thread waits for the old one to exit.
        A stop waits for both: raised in between, the run's stop would end the old worker too, from a second
        thread (two threads closing its queues: a traceback on the way out)."""
        with stops.deferred():
            retiring = threading.Thread(target=self.pool.shutdown, name="simgen-retire-worker")
            retiring.start()
            self.pool, self.worn_out = self.start(), False
        return retiring


def _stop(pools: list[ProcessPoolExecutor]) -> None:
    """Drop the workers' queued scenes and end them now, even mid-scene: each writes its files atomically, and
    resuming removes a temporary file a write left. A worker that outlives SIGTERM by STOP_GRACE_S (stopped with
    SIGSTOP or by a debugger, which holds the signal until it goes on) is killed outright."""
    processes = [process for pool in pools for process in (pool._processes or {}).values()]
    for process in processes:  # what Python 3.14's terminate_workers() does
        process.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    waiting = {process.sentinel: process for process in processes}
    while waiting and time.monotonic() < deadline:  # the sentinels only: the pools' own threads read them too
        for sentinel in multiprocessing.connection.wait(list(waiting), deadline - time.monotonic()):
            del waiting[sentinel]
    for process in waiting.values():
        process.kill()
    for pool in pools:
        pool.shutdown(cancel_futures=True)


def run_pool(factory: Callable[[], Pipeline], seed: int, views_per_scene: int, root: Path, jobs: SceneJobs,
              workers: int) -> Iterator[list[FrameResult]]:
    """Scenes from `jobs` in `workers` processes, each with its own world; any order gives the same files.

    A few scenes per worker are in flight at a time, so a run of millions of frames holds no more. A worker
    whose world wears out gets no further scene and is replaced by a fresh process once its queued scenes are
    done, while the others go on. A worker that dies (a crash in PyBullet, the out-of-memory killer) stops
    the run with a WorkerError; so does any error, or Ctrl-C, ending every worker before this returns."""
    _start_quiet_resource_tracker()
    context, temp = _worker_context(), temp_folders.make(temp_folders.WORKERS)

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
        try:
            # on Ctrl-C or an error: no further scene, and no worker left to write once the caller has cleaned up
            # (one still starting would make the dataset's folders)
            _stop([lane.pool for lane in lanes])
        finally:
            temp_folders.remove(temp)  # with the files of a worker that was killed
        raise
    # Done: wait for every worker to exit. A process that ends through multiprocessing's own exit (joblib's
    # loky workers) joins its children before a pool's manager thread has told them to.
    for lane in lanes:
        lane.pool.shutdown()
    for thread in retiring:
        thread.join()
    temp_folders.remove(temp)


