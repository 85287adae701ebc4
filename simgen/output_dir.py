"""The dataset directory's life cycle: new, unfinished (resume), finished (never overwritten unless asked)."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from simgen.errors import ConfigError, DatasetExistsError
from simgen.writers.files import FINISHED_MARKER, remove_partial_files, write_bytes_atomic

log = logging.getLogger(__name__)

CONFIG_FILE = "config.yaml"
LOG_FILE = "simgen.log"  # Hydra's job log, which may already be open in the directory


def _entries(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.name != LOG_FILE] if root.is_dir() else []


def finished(root: Path) -> bool:
    """Whether `root` holds a finished dataset (its exports may still be missing)."""
    return (root / FINISHED_MARKER).is_file()


def discard_if_empty(root: Path) -> None:
    """Remove what a run created when it failed before finishing any frame."""
    created = _entries(root)
    if any(p.is_file() and p.name != CONFIG_FILE or p.is_dir() and any(p.iterdir()) for p in created):
        return
    for entry in created:
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def prepare(root: Path, config_yaml: str, overwrite: bool, resume: bool = False) -> bool:
    """Make `root` ready for this run's config; returns True when resuming an unfinished dataset.

    An unfinished dataset of the same config is always resumed; `resume` insists that there is one.
    """
    entries = _entries(root)
    config_file = root / CONFIG_FILE
    if resume and overwrite:
        raise ConfigError("resume", "resume=true keeps the frames on disk and overwrite=true deletes them: pass one")
    if resume and (not config_file.is_file() or finished(root)):
        raise DatasetExistsError(f"resume: {root} holds no unfinished dataset to resume")
    if entries and not config_file.is_file():
        raise DatasetExistsError(_foreign(root))
    if entries and overwrite:
        log.info("overwrite=true: replacing the dataset in %s", root)
        for entry in entries:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        entries = []
    if entries:
        if finished(root):
            raise DatasetExistsError(f"output_dir: {root} already holds a finished dataset; pass overwrite=true "
                                     "to replace it or choose another output_dir")
        if config_file.read_text() != config_yaml:
            raise DatasetExistsError(f"output_dir: {root} holds an unfinished dataset made with another config; "
                                     "rerun with that config to resume it, or pass overwrite=true")
        remove_partial_files(root)
        return True
    root.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(config_file, config_yaml.encode())
    return False


def _foreign(root: Path) -> str:
    return f"output_dir: {root} is not empty and is not a simgen dataset; choose another output_dir"


class OutputDirCheck(Callback):
    """A one-line error, before Hydra makes the run's directory and log there, where output_dir cannot be made
    or holds something other than a simgen dataset (which would get a simgen.log)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _ensure_writable(config.hydra.run.dir)
        root = Path(config.hydra.run.dir).resolve()
        if _entries(root) and not (root / CONFIG_FILE).is_file():
            _fail(_foreign(root))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _ensure_writable(config.hydra.sweep.dir)


def _ensure_writable(path: str) -> None:
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        _fail(f"output_dir: cannot create {path} ({err.strerror or err})")
    if not os.access(path, os.W_OK | os.X_OK):
        _fail(f"output_dir: {path} is not writable")


def _fail(message: str) -> None:
    print(f"simgen: error: {message}", file=sys.stderr)
    sys.exit(2)
