"""Dataset file layout and atomic writes: a file is either complete or absent, never half-written."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Optional

from simgen import stops, temp_folders

DEPTH_SCALE_M = 0.001  # one unit of a depth PNG is one millimetre
FINISHED_MARKER = "annotations.json"  # the COCO file, written last: its presence means the dataset is finished
CONFIG_FILE = "config.yaml"  # the run's composed config, saved beside the data
LOG_FILE = "simgen.log"  # Hydra's job log, which may already be open in the directory
TEMPORARY_NAME = re.compile(r"\..+\.tmp\d+")  # what temporary_path names: .NAME.tmpPID


def frame_stem(index: int) -> str:
    return f"{index:06d}"


_listings: Optional[dict[str, frozenset[str]]] = None  # folder -> its files' names, within a listed() block


@contextlib.contextmanager
def listed() -> Iterator[None]:
    """Within the block, on_disk() answers from each folder's listing, read once at its first question: checking a
    million frames' files lists their folders instead of looking up each file (a system call each, slow on a
    cluster's network file system). For files the block does not write."""
    global _listings
    _listings = {}
    try:
        yield
    finally:
        _listings = None


def on_disk(path: Path) -> bool:
    """Whether `path` is a file (a writer's done(); within a listed() block, from its folder's listing)."""
    if _listings is None:
        return path.is_file()
    folder, _, name = os.fspath(path).rpartition(os.sep)
    if folder not in _listings:
        _listings[folder] = _file_names(folder or os.curdir)
    return name in _listings[folder]


def _file_names(folder: str) -> frozenset[str]:
    try:
        with os.scandir(folder) as entries:
            return frozenset(e.name for e in entries if e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()


def temporary_path(path: Path) -> Path:
    """Where this process writes `path` before renaming it into place."""
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


@contextlib.contextmanager
def replacing(out: Path) -> Iterator[Path]:
    """A fresh folder to write into (temporary_path(out)), put in place of `out` once it is complete: a build that
    fails or is stopped leaves `out` as it was, and the old `out` is set aside whole (.NAME.old.tmpPID) before the
    new one takes its place, so that a kill -9 in between leaves no `out` rather than half of one; what a killed
    process left beside it (the new one, or the old one set aside) is removed by the next build of `out`."""
    stage, old = temporary_path(out), out.with_name(f".{out.name}.old.tmp{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    for abandoned in out.parent.glob(f".{glob.escape(out.name)}.*tmp*"):
        temp_folders.remove_if_abandoned(str(abandoned))
    stage.mkdir(parents=True)
    fd = temp_folders.hold(str(stage))  # until it is in place: a build elsewhere (another host) leaves it alone
    try:
        yield stage
        with stops.deferred():  # the two renames, not a stop between them
            _swap(stage, out, old)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        os.close(fd)
        shutil.rmtree(stage, ignore_errors=True)


def _swap(stage: Path, out: Path, old: Path) -> None:
    """`stage` in place of `out`, the old `out` moved to `old`; where that fails, `out` as it was."""
    had = out.exists()
    if had:
        out.rename(old)
    try:
        stage.rename(out)
    except OSError:
        if had:
            old.rename(out)
        raise


def remove_partial_files(root: Path) -> None:
    """Delete what a killed run left half done: the temporary files of its writes and the hidden folders its
    exports were made in or set aside to (replacing: .bop.tmpPID, yolo/.detect.tmpPID, .bop.old.tmpPID)."""
    for folder, dirs, files in os.walk(root):
        for name in [d for d in dirs if TEMPORARY_NAME.fullmatch(d)]:
            dirs.remove(name)  # not walked into
            path = Path(folder, name)
            path.unlink() if path.is_symlink() else shutil.rmtree(path)
        for name in files:
            if TEMPORARY_NAME.fullmatch(name):
                Path(folder, name).unlink()


def link(source: str | Path, target: str | Path) -> None:
    """Place the file `source` names (following symlinks) at `target` as a hard link, or a copy where links are
    impossible (another file system), replacing what is there; an error names `source`. One system call where
    `target`'s folder is there and `target` is not (a merge links millions)."""
    real = os.path.realpath(source) if os.path.islink(source) else source  # os.link would link the symlink itself
    with contextlib.suppress(OSError):
        os.link(real, target)
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.lexists(target):
        os.unlink(target)
    try:
        os.link(real, target)
    except OSError:
        try:
            shutil.copy2(source, target)
        except OSError as err:
            raise OSError(err.errno, err.strerror, str(source)) from None


@contextlib.contextmanager
def naming(path: Path, written_as: Optional[Path] = None) -> Iterator[None]:
    """An OSError in the block that names no file (a write to a full disk), or names `written_as` (the temporary
    file `path` is written through), names `path`."""
    try:
        yield
    except OSError as err:
        if err.filename is not None and (written_as is None or err.filename != str(written_as)):
            raise
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None


class NamedFile:
    """A file open to write (`mode` "wb" or "w") whose errors name `path`, the file written: a write to a full disk
    raises an OSError that names none. Written through `written_as` (its temporary name) where given."""

    def __init__(self, path: Path, written_as: Optional[Path] = None, mode: str = "wb"):
        self.path, self.written_as = path, written_as
        with naming(path, written_as):
            self.file = open(written_as or path, mode)

    def write(self, data: Any) -> None:
        with naming(self.path, self.written_as):
            self.file.write(data)

    def close(self) -> None:
        with naming(self.path, self.written_as):
            self.file.close()

    def __enter__(self) -> NamedFile:
        return self

    def __exit__(self, *error: object) -> None:
        self.close()


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file to write `path` through, put in place when the block ends and removed again if it fails (a full disk
    keeps no half file)."""
    tmp = temporary_path(path)
    try:
        with naming(path, tmp):
            with open(tmp, "wb") as fh:
                yield fh
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_file(path) as fh:
        fh.write(data)


def json_bytes(obj: Any) -> bytes:
    """`obj` as compact JSON, as simgen writes every JSON file."""
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def write_json_atomic(path: Path, obj: Any) -> None:
    write_bytes_atomic(path, json_bytes(obj))
