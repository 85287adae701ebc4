"""The dataset directory's life cycle: new, unfinished (resume), finished (rerunning its config makes only what is
missing of it; another config never overwrites it unless asked)."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from omegaconf.errors import InterpolationResolutionError

from simgen import temp_folders
from simgen.errors import ConfigError, DatasetExistsError, exit_with
from simgen.writers.files import (CONFIG_FILE, FINISHED_MARKER, LOG_FILE, TEMPORARY_NAME, remove_partial_files,
                                  write_bytes_atomic)

log = logging.getLogger(__name__)


def _entries(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.name != LOG_FILE] if root.is_dir() else []


def finished(root: Path) -> bool:
    """Whether `root` holds a finished dataset (its exports may still be missing)."""
    return (root / FINISHED_MARKER).is_file()


def holds_frames(root: Path) -> bool:
    """Whether a run wrote anything into `root` beyond its config.yaml (and the log): a run stopped (or killed)
    before its first frame leaves only that, empty folders and perhaps the temporary file of a write cut short."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not TEMPORARY_NAME.fullmatch(d)]
        top = Path(folder) == root
        if any(not TEMPORARY_NAME.fullmatch(f) and not (top and f in (CONFIG_FILE, LOG_FILE)) for f in files):
            return True
    return False


def clearing_order(entries: list[Path]) -> list[Path]:
    """annotations.json first and config.yaml last: a clear cut short never leaves a folder that looks finished,
    or frames without the config that made them."""
    return sorted(entries, key=lambda p: (p.name != FINISHED_MARKER, p.name == CONFIG_FILE, p.name))


def _clear(root: Path) -> None:
    for entry in clearing_order(_entries(root)):
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


_CLAIMED: dict[Path, int] = {}  # dataset folder -> the open descriptor holding its lock


def claim(root: Path) -> None:
    """Lock `root` for this run: a second run into it at the same time is refused (both would write its frames, one
    under the other's config). The kernel lets go of the lock when the process ends, however it ends."""
    root.mkdir(parents=True, exist_ok=True)
    if root in _CLAIMED:
        return
    try:
        _CLAIMED[root] = temp_folders.hold(str(root))  # (a file system without locks keeps no runs apart)
    except BlockingIOError:
        raise DatasetExistsError(f"output_dir: {root} is being written by another simgen run right now; wait for "
                                 "it to end or choose another output_dir") from None


def release(root: Path) -> None:
    """Let go of the lock claim() took."""
    fd = _CLAIMED.pop(root, None)
    if fd is not None:
        os.close(fd)


def discard_if_empty(root: Path) -> None:
    """Remove what a run created when it failed before finishing any frame."""
    if root.is_dir() and not holds_frames(root):
        _clear(root)


NEW, UNFINISHED, FINISHED = "new", "unfinished", "finished"
RENDERER, CONFIG = "renderer", "config"  # how a saved config differs from a run's (config_difference)


def prepare(root: Path, config_yaml: str, overwrite: bool, resume: bool = False) -> str:
    """Make `root` ready for this run's config; returns what the run goes on from: NEW (nothing, or a dataset
    with no frame written, discarded), UNFINISHED (a dataset of this config to resume) or FINISHED (a finished
    dataset of this config: the run makes only what is missing, frames deleted since or exports a kill cut short).

    A dataset of another config is refused unless `overwrite`; `resume` insists on an unfinished one.
    """
    if resume and overwrite:
        raise ConfigError("resume", "resume=true keeps the frames on disk and overwrite=true deletes them: pass one")
    claim(root)
    entries = _entries(root)
    config_file = root / CONFIG_FILE
    if resume and config_file.is_file() and finished(root):
        raise DatasetExistsError(f"resume: {root} holds a finished dataset, nothing to resume (without resume=true "
                                 "the same command makes any exports it lacks; overwrite=true replaces it)")
    if resume and not config_file.is_file():
        raise DatasetExistsError(f"resume: {root} holds no unfinished dataset to resume")
    if _foreign(root):
        raise DatasetExistsError(_foreign_message(root))
    if entries and overwrite:
        log.info("overwrite=true: replacing the dataset in %s", root)
        _clear(root)
        entries = []
    elif entries and not resume and not holds_frames(root):
        log.info("discarding what %s holds: no frame (a run stopped before its first one left it)", root)
        _clear(root)
        entries = []
    if entries:
        saved = config_file.read_text()
        difference = config_difference(saved, config_yaml)
        if difference == RENDERER:
            if finished(root):  # nothing to render; frames deleted since are made with this run's renderer
                return _reuse(root)
            raise DatasetExistsError(f"output_dir: {root} holds an unfinished dataset rendered with the "
                                     f"{_renderer(saved)} renderer, and this run's is {_renderer(config_yaml)}; "
                                     f"resume it where that one works (renderer={_renderer(saved)}), or pass "
                                     "overwrite=true")
        if finished(root) and difference:
            raise DatasetExistsError(f"output_dir: {root} already holds a finished dataset made with another "
                                     "config; pass overwrite=true to replace it or choose another output_dir")
        if difference:
            raise DatasetExistsError(f"output_dir: {root} holds an unfinished dataset made with another config; "
                                     "rerun with that config to resume it, or pass overwrite=true")
        return _reuse(root)
    root.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(config_file, config_yaml.encode())
    return NEW


def _reuse(root: Path) -> str:
    remove_partial_files(root)
    return FINISHED if finished(root) else UNFINISHED


def config_difference(saved: str, now: str) -> str:
    """How a saved config.yaml differs from this run's: "" (it is this run's), RENDERER (only the renderer) or CONFIG.
    One saved before simgen recorded the renderer `auto` chose (`renderer: auto`) matches any renderer."""
    if saved == now:
        return ""
    old, new = yaml.safe_load(saved), yaml.safe_load(now)
    if not (isinstance(old, dict) and isinstance(new, dict)) or _without_renderer(old) != _without_renderer(new):
        return CONFIG
    return "" if old.get("renderer") == "auto" else RENDERER


def _renderer(config_yaml: str) -> Any:
    config = yaml.safe_load(config_yaml)
    return config.get("renderer") if isinstance(config, dict) else None


def _without_renderer(config: dict) -> dict:
    world = config.get("world")
    return {**config, "renderer": None, "world": {**world, "renderer": None} if isinstance(world, dict) else world}


def _foreign(root: Path) -> bool:
    """Whether `root` holds something (besides simgen's log) that is not a simgen dataset."""
    return bool(_entries(root)) and not (root / CONFIG_FILE).is_file()


def _foreign_message(root: Path) -> str:
    return f"output_dir: {root} is not empty and is not a simgen dataset; choose another output_dir"


class OutputDirCheck(Callback):
    """A one-line error, before Hydra makes the run's directory and log there, where output_dir cannot be made
    or holds something other than a simgen dataset (which would get a simgen.log)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        root = Path(_ensure_writable(config.hydra.run)).resolve()
        if _foreign(root):
            exit_with(_foreign_message(root))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _ensure_writable(config.hydra.sweep)


def _folder(node: DictConfig) -> str:
    """The run's or sweep's folder (hydra.run.dir, hydra.sweep.dir: output_dir)."""
    try:
        return node.dir
    except InterpolationResolutionError as err:  # `${nope}` in output_dir
        exit_with(f"output_dir: {str(err.msg).strip().splitlines()[0]}")


def _ensure_writable(node: DictConfig) -> str:
    """The folder of hydra.run or hydra.sweep, made if it is not there."""
    path = _folder(node)
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        exit_with(f"output_dir: cannot create {path} ({err.strerror or err})")
    if not os.access(path, os.W_OK | os.X_OK):
        exit_with(f"output_dir: {path} is not writable")
    return path
