"""Private temporary folders that no killed process leaves behind for long.

A folder's process holds a lock on it for as long as it lives; the kernel drops the lock when the process ends,
however it ends. Making a new folder removes the folders of the same kind that nobody holds: those of processes
killed outright (SIGKILL, the out-of-memory killer), which had no chance to remove their own.
"""

from __future__ import annotations

import atexit
import fcntl
import glob
import os
import shutil
import tempfile

TEXTURES, WORKERS = "simgen-textures-", "simgen-workers-"  # a process's textures and meshes; a run's workers'
KINDS = (TEXTURES, WORKERS)
_HELD: dict[str, int] = {}  # folder -> its open descriptor, which holds the lock for the life of the process
_MAKERS: dict[str, int] = {}  # folder -> the process that made it (a forked child inherits the parent's)
_SPARE: dict[int, list[str]] = {}  # process id -> the folders it put back, emptied, still locked
_EXITING = False


def make(prefix: str) -> str:
    """A new folder `prefix`XXXXXXXX in the temporary directory, locked by this process; the abandoned folders
    of every kind there are removed first (a run's main process makes only a workers' folder)."""
    for kind in KINDS:
        remove_abandoned(kind)
    staging = tempfile.mkdtemp(prefix=f".{prefix}")  # out of remove_abandoned's sight until it is locked
    fd = hold(staging)
    head, name = os.path.split(staging)
    folder = os.path.join(head, name[1:])
    os.rename(staging, folder)
    _HELD[folder] = fd
    _MAKERS[folder] = os.getpid()
    return folder


def reuse_or_make(prefix: str) -> str:
    """A folder `prefix`XXXXXXXX that this process put back, else a new one (make). Its files then get the same
    paths as before, which matters to PyBullet: it keeps every file it has loaded in a cache for the life of the
    process, by path, so each sweep job's own copies of the same meshes would otherwise add to it."""
    spare = _SPARE.get(os.getpid(), [])
    for folder in spare:
        if os.path.basename(folder).startswith(prefix):
            spare.remove(folder)
            return folder
    return make(prefix)


def put_back(folder: str) -> None:
    """Empty `folder` (made here) and keep it, locked, for this process's next reuse_or_make; removed instead
    where it is gone, was made in another process (before a fork), or the process is exiting."""
    if _EXITING or _MAKERS.get(folder) != os.getpid() or not os.path.isdir(folder):
        remove(folder)
        return
    try:
        for entry in os.scandir(folder):
            shutil.rmtree(entry.path) if entry.is_dir(follow_symlinks=False) else os.remove(entry.path)
    except OSError:
        remove(folder)
        return
    _SPARE.setdefault(os.getpid(), []).append(folder)


@atexit.register
def _remove_spares() -> None:
    global _EXITING
    _EXITING = True
    for folder in _SPARE.pop(os.getpid(), []):
        remove(folder)


def remove(folder: str) -> None:
    """Remove a folder made here, and let go of its lock."""
    shutil.rmtree(folder, ignore_errors=True)
    fd = _HELD.pop(folder, None)
    if fd is not None:
        os.close(fd)


def hold(folder: str) -> int:
    """An open descriptor of `folder` holding a lock on it until it is closed (or the process ends); a
    BlockingIOError where another process holds it."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise
    except OSError:  # a file system without locks: then no process can take it either
        pass
    return fd


def remove_if_abandoned(folder: str) -> None:
    """Remove `folder` if no living process holds its lock (see hold)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # removed meanwhile, or not a folder
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: its process lives (or locks do not work here: left alone)
        return
    else:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(fd)


def remove_abandoned(prefix: str) -> None:
    """Remove the folders `prefix`* of the temporary directory that no living process holds."""
    for folder in glob.glob(os.path.join(glob.escape(tempfile.gettempdir()), glob.escape(prefix) + "*")):
        if folder not in _HELD:
            remove_if_abandoned(folder)
