"""What every small simgen command shares: Hydra's logging, progress bars and one-line errors."""

from __future__ import annotations

import argparse
import logging.config
import sys
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sized, TypeVar

from omegaconf import OmegaConf
from tqdm import tqdm

from simgen import stops
from simgen.errors import SimgenError

LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # as Hydra's job logging
T = TypeVar("T")


class UsageError(SimgenError):
    """A command-line option has a bad value; the message names the option."""


class Parser(argparse.ArgumentParser):
    """argparse, with a bad option reported as one line (`prog: error: ...`) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def hydra_logging(job_name: str, output_dir: Path, option: str = "--out") -> None:
    """Set up logging as Hydra does for a job: its default format, console and `<job>.log` (makes output_dir);
    a UsageError naming `option` and the folder when the folder cannot be made or written to."""
    text = resources.files("hydra.conf").joinpath("hydra/job_logging/default.yaml").read_text()
    conf = OmegaConf.merge(OmegaConf.create(text), {"hydra": {"runtime": {"output_dir": str(output_dir)},
                                                              "job": {"name": job_name}}})
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with (output_dir / f"{job_name}.log").open("a"):
            pass
    except OSError as err:
        raise UsageError(f"{option}: cannot write to the folder {output_dir} ({err.strerror or err})") from None
    settings = OmegaConf.to_container(conf, resolve=True)
    settings.pop("hydra")
    try:
        logging.config.dictConfig(settings)
    except ValueError as err:  # dictConfig wraps the OSError of a log file it cannot open
        cause = err.__cause__ if err.__cause__ is not None else err
        raise UsageError(f"{option}: cannot write to the folder {output_dir} ({cause})") from None


def progress(items: Iterable[T], description: str, enabled: bool = True, total: Optional[int] = None) -> Iterator[T]:
    """`items` (`total` of them, where they have no len()) with a progress bar and ETA on stderr, each counted once
    done with; the bar is cleared where an error stops the loop, so that the error is the one line left."""
    total = len(items) if total is None and isinstance(items, Sized) else total
    bar = tqdm(total=total, desc=description, unit="frame", disable=not enabled, dynamic_ncols=True)
    try:
        for item in items:
            yield item
            bar.update()
    except BaseException:
        bar.leave = False
        raise
    finally:
        bar.close()


def _message(err: Exception) -> str:
    """An error as one line; a system call's `FILE: what went wrong` rather than Python's `[Errno 2] ...: 'FILE'`."""
    if isinstance(err, OSError) and err.filename and err.strerror:
        return f"{err.filename}: {err.strerror[0].lower()}{err.strerror[1:]}"
    return str(err)


def run_command(name: str, body: Callable[[], int]) -> None:
    """Run a command's body with logging set up; SimgenErrors and OSErrors become `NAME: error: ...`, status 2;
    Ctrl-C and SIGTERM stop it with one line, status 130 or 143 (what it builds, it builds in hidden folders), also
    where the code they cut through raised another error instead."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    stops.handle_stops()
    try:
        try:
            sys.exit(body())
        except Exception:
            if stops.stopped_by():  # code the stop cut through turned it into another error (OmegaConf's, say)
                raise KeyboardInterrupt from None
            raise
    except (SimgenError, OSError) as err:
        print(f"{name}: error: {_message(err)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        stops.ignore_stops()
        print(f"\n{name}: {stops.word()}", file=sys.stderr)
        sys.exit(stops.status())
