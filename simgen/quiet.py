"""Keep C-level prints (PyBullet's build banner, EGL messages and URDF warnings; libpng's and libjpeg's complaints
about a broken file), and a library's log lines about errors simgen reports itself, out of the user's terminal."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
from typing import Iterator

from simgen import stops

_LIBC = ctypes.CDLL(None)


@contextlib.contextmanager
def c_output_silenced(fds: tuple[int, ...] = (1, 2)) -> Iterator[None]:
    """Point the file descriptors `fds` (stdout and stderr) at /dev/null for the duration; Python's own buffers
    are flushed first. A Ctrl-C or SIGTERM is raised as the block ends: raised in between, it could leave them
    pointing there, and the stop's message would go nowhere."""
    sys.stdout.flush()
    sys.stderr.flush()
    with stops.deferred():
        saved = [os.dup(fd) for fd in fds]
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            for fd in fds:
                os.dup2(devnull, fd)
            yield
        finally:
            _LIBC.fflush(None)  # C stdio buffers what it prints when stdout is not a terminal
            for fd, copy in zip(fds, saved):
                os.dup2(copy, fd)
            for fd in (*saved, devnull):
                os.close(fd)


@contextlib.contextmanager
def logger_silenced(name: str) -> Iterator[None]:
    """The logger `name` (Hydra's `hydra.utils`, which logs an import error before raising it) says nothing."""
    logger = logging.getLogger(name)
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = False
