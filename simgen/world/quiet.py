"""Keep PyBullet's C-level prints (build banner, EGL messages, URDF warnings) out of the user's terminal."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from typing import Iterator

_LIBC = ctypes.CDLL(None)


@contextlib.contextmanager
def c_output_silenced() -> Iterator[None]:
    """Point file descriptors 1 and 2 at /dev/null for the duration; Python's own buffers are flushed first."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        _LIBC.fflush(None)  # C stdio buffers what it prints when stdout is not a terminal
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
