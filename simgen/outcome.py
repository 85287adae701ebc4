"""How a run ends, as the user reads it: an error as one line and exit status 2, a sweep that goes on past its
failed jobs and ends with their count, and one message for Ctrl-C or SIGTERM (a cluster's scheduler stopping the
job) wherever it lands."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Optional

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from simgen import hydra_errors, output_dir, stops
from simgen.errors import DatasetExistsError, OutputError, SimgenError


class JobFailed(SimgenError):
    """A job of a sweep (`simgen -m`) failed; its error is printed already, on `shown_on` (the stderr it went to).
    Raised instead of exiting, so that Hydra records it and the sweep goes on with the other jobs; reported() then
    says how many failed, and repeats the errors that went elsewhere (a submitit job's log file)."""

    def __init__(self, job: str, where: str, message: str):
        super().__init__(f"job #{job} ({where}): {message}")
        self.job, self.where, self.message = job, where, message
        self.shown_on = _stderr_identity()
        FAILED_JOBS[job] = self

    def __reduce__(self):
        return (_job_failed_elsewhere, (self.job, self.where, self.message, self.shown_on))


def _job_failed_elsewhere(job: str, where: str, message: str, shown_on: Optional[tuple]) -> JobFailed:
    """A JobFailed as a job run in another process (joblib, submitit) sends it back."""
    failed = JobFailed(job, where, message)
    failed.shown_on = shown_on
    return failed


def _stderr_identity() -> Optional[tuple]:
    """Which file, pipe or terminal this process's stderr is."""
    try:
        st = os.fstat(2)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class SweepLauncher(Callback):
    """Notes which launcher runs the sweep's jobs (a stop of the sweep leaves submitit's jobs running) and where
    (a sweep that fails before its first job leaves no folder holding only Hydra's multirun.yaml)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        RUN["launcher"] = str(config.hydra.launcher.get("_target_", ""))
        RUN["sweep_dir"] = str(config.hydra.sweep.dir)


def _drop_jobless_sweep() -> bool:
    """Remove the multirun.yaml of a sweep that made no job's folder, and its folder where that leaves it empty;
    whether there was such a sweep."""
    folder = RUN["sweep_dir"]
    if not (folder and os.path.isdir(folder) and os.listdir(folder) == ["multirun.yaml"]):
        return False
    os.remove(os.path.join(folder, "multirun.yaml"))
    with contextlib.suppress(OSError):
        os.rmdir(folder)
    return True


class WithoutHydrasJobError:
    """sys.stderr without the line Hydra's sweeper writes for a failed job ("Error executing job with overrides:
    [...]"), whose error simgen has printed as one line already."""

    LINE = "Error executing job with overrides: "

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        return len(text) if text.startswith(self.LINE) else self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


LAUNCHER_PACKAGES = ("submitit", "ray", "joblib", "hydra_plugins")  # whose errors are a sweep launcher's own
LOST_JOB_ERRORS = ("UncompletedJobError", "FailedJobError", "TerminatedWorkerError")  # a job killed, timed out
FAILED_JOBS: dict[str, JobFailed] = {}  # the jobs of this process's sweep that failed, by job number
# This process's run: its dataset once it began, whether it ended (simgen.stops holds what stopped it), and the
# launcher of its jobs where it is a sweep.
RUN: dict = {"root": None, "done": False, "launcher": "", "sweep_dir": "", "finished_jobs": 0}  # in this process


def interrupted_run() -> str:
    """What a Ctrl-C or SIGTERM stopped, wherever it landed."""
    root, word = RUN["root"], stops.word()
    sweep = any(arg in ("-m", "--multirun", "hydra.mode=MULTIRUN") for arg in sys.argv[1:])
    again = "; run the same command again to go on with the sweep" if sweep else ""
    if _jobs_run_on():
        return (f"{word}; the sweep's jobs run on under submitit: wait for them to end, or cancel them (scancel on "
                "Slurm), before running the same command again to go on with the sweep")
    if root is None:  # before the run began (composing, probing EGL): nothing was written
        return word + again
    if RUN["done"]:  # after its summary
        return f"{word}; the dataset in {root} is complete" + again
    if sweep:
        return (f"{word}; frames written so far are kept. Run the same command again to go on with the sweep (the "
                f"job in {root} resumes).")
    return interrupted(root, word)


def _jobs_run_on() -> bool:
    """Whether the sweep's jobs outlive its stop: submitit's run detached, on Slurm until they end or are cancelled;
    its local ones only stop with a Ctrl-C, which the terminal sends them too."""
    launcher = RUN["launcher"]
    local_ctrl_c = launcher.endswith("LocalLauncher") and stops.stopped_by() == signal.SIGINT
    return "submitit" in launcher and not local_ctrl_c


def interrupted(root: Path, word: str) -> str:
    if output_dir.finished(root):  # stopped while making the exports, after annotations.json
        return (f"{word} while making the exports; the dataset in {root} is finished: make them with "
                "simgen-export DATASET --format yolo|bop|splits, or run the same command again")
    return (f"{word}; frames written so far are kept. Run the same command again to resume "
            f"(output_dir={root}).")


def cannot_write(err: OSError, root: Path) -> OutputError:
    return OutputError(f"output_dir: cannot write {err.filename or root} ({err.strerror or err}); the frames "
                       "written so far are kept: fix it and run the same command again to resume")


def name_too_long(err: OSError) -> str:
    """ENAMETOOLONG from making a sweep job's folder (Hydra makes it before the job runs) as what to do."""
    path = Path(os.fsdecode(err.filename or "?"))
    size = len(os.fsencode(path.name))
    name = path.name if len(path.name) <= 60 else path.name[:57] + "..."
    what = f"its name is {size} bytes" if size > 255 else f"its path is {len(os.fsencode(str(path)))} bytes"
    return (f"output_dir: cannot create the folder {name!r} in {path.parent}: {what}, more than the file system "
            "allows (a sweep names each job's folder after its overrides); name them by job number with "
            "hydra.sweep.subdir='${hydra.job.num}'")


def multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def job_error(err: Exception) -> None:
    """Report an error a run raised: one line and exit status 2, or in a sweep the job's error, raised on as JobFailed
    so that the other jobs run."""
    if stops.stopped_by() and RUN["root"] is not None:  # what a stop broke on its way (numpy may turn Ctrl-C into
        raise KeyboardInterrupt from err               # a TypeError, which an exporter reports as a malformed entry)
    if not isinstance(err, (SimgenError, HydraException, OmegaConfBaseException)):
        raise
    RUN.update(root=None)  # ended: a Ctrl-C from here on interrupts nothing of it
    message = str(err) if isinstance(err, SimgenError) else hydra_errors.one_line(err)
    if not isinstance(err, DatasetExistsError):  # a refused run's log file is the dataset's it would not touch
        _to_log_file(message)
    if not multirun():
        if not isinstance(err, SimgenError):
            raise  # reported() reports it as one line
        print(f"simgen: error: {message}", file=sys.stderr)
        sys.exit(2)
    failed = JobFailed(str(HydraConfig.get().job.num), HydraConfig.get().runtime.output_dir, message)
    print(f"simgen: error: {failed}", file=sys.stderr)
    raise failed from None  # the sweep goes on with the other jobs


def _to_log_file(message: str) -> None:
    """The run's error in its log file too (simgen.log, beside the dataset; the console has it already)."""
    record = logging.LogRecord("simgen", logging.ERROR, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def reported(app: Callable[[], None]) -> None:
    """Run the Hydra app; a config the command line cannot make is one line and exit status 2, as every other bad
    input (HYDRA_FULL_ERROR=1 keeps Hydra's own report with its traceback). A sweep's failed jobs do not stop it:
    each prints its error, and the sweep ends with a line saying how many failed and exit status 2."""
    full_errors = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises what it would otherwise print over several lines
    FAILED_JOBS.clear()
    RUN.update(sweep_dir="", finished_jobs=0)
    stops.handle_stops()  # (simgen/__main__ took them already, while it imported this)
    try:
        with contextlib.redirect_stderr(WithoutHydrasJobError(sys.stderr)), warnings.catch_warnings():
            warnings.filterwarnings("error", message=hydra_errors.MISSING_SEARCHPATH.pattern, category=UserWarning)
            _stop_wins(app)
        if _drop_jobless_sweep():
            print("simgen: error: the sweep has no jobs: a parameter's list of values is empty (range(0,0), or a "
                  "glob() that matches no option of a config group)", file=sys.stderr)
            sys.exit(2)
    except JobFailed:  # Hydra's sweeper raises the first failed job's error once every job of the sweep has run
        _report_failed_jobs()
        sys.exit(2)
    except Exception as err:
        message = None if full_errors else _one_line(err)
        if message is None:
            raise
        _drop_jobless_sweep()
        print(f"simgen: error: {message}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        stops.ignore_stops()  # a second press cuts this short no more
        print(f"\nsimgen: {interrupted_run()}", file=sys.stderr)
        sys.exit(stops.status())
    finally:
        if not full_errors:
            del os.environ["HYDRA_FULL_ERROR"]
    stops.ignore_stops()


def _report_failed_jobs() -> None:
    """A line per failed job whose error went elsewhere (a submitit job's log), then how many failed."""
    jobs = sorted(FAILED_JOBS.values(), key=lambda job: int(job.job))
    for job in jobs:
        if job.shown_on != _stderr_identity():
            print(f"simgen: error: {job}", file=sys.stderr)
    numbers = f"#{', #'.join(job.job for job in jobs)}, errors above"
    in_process = RUN["launcher"].endswith(".BasicLauncher")  # elsewhere the jobs that finished are not counted here
    if in_process and not RUN["finished_jobs"]:
        print(f"simgen: error: every job of the sweep failed ({numbers})", file=sys.stderr)
        return
    print(f"simgen: error: {len(jobs)} job{'s' if len(jobs) > 1 else ''} of the sweep failed ({numbers}); the "
          "datasets of the jobs that did not fail are written", file=sys.stderr)


def _one_line(err: Exception) -> Optional[str]:
    """A bad command line or config file, a sweep's launcher failing, or a sweep folder's name too long, as one
    line; None for any other error (a bug: its traceback is shown)."""
    if _raised_in(err, LAUNCHER_PACKAGES):
        return launcher_error(err)
    if isinstance(err, OSError) and err.errno == errno.ENAMETOOLONG:
        return name_too_long(err)
    return hydra_errors.command_line_error(err, sys.argv[1:])


def launcher_error(err: Exception) -> str:
    """An error of the sweep's launcher itself: no Slurm here, a bad setting of its own, a job it lost."""
    lost = type(err).__name__ in LOST_JOB_ERRORS
    return (f"the sweep's launcher: {type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}" +
            ("; the frames its jobs wrote are kept: once any still running have ended, the same command goes on "
             "with the sweep" if lost else ""))


def _raised_in(err: Exception, packages: tuple[str, ...]) -> bool:
    """Whether `err` is of a class of one of `packages`, or was raised in their code."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__", "") if tb is not None else ""
    return bool({type(err).__module__.split(".")[0], module.split(".")[0]} & set(packages))


def _stop_wins(app: Callable[[], None]) -> None:
    """app(), where an error raised after a stop is the stop: Hydra's and OmegaConf's code, cut short by the
    KeyboardInterrupt while composing, can turn it into another error (an UnboundLocalError in a finally)."""
    try:
        app()
    except Exception:
        if stops.stopped_by():
            raise KeyboardInterrupt from None
        raise
