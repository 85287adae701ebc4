"""Ctrl-C and SIGTERM (a scheduler's stop: Slurm at a time limit, Kubernetes, `kill`): one way for every simgen
command to stop, with one line and exit status 128 + the signal. Standard library only, so that a command can
take its stops before it imports anything heavy."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_STOPPED: dict = {"by": None}  # the signal that stopped this process's command, if one did


def stopped_by() -> int | None:
    return _STOPPED["by"]


def on_stop(signum: int, frame: Any) -> None:
    """SIGINT or SIGTERM, noted (an error after it is the stop's), then raised as KeyboardInterrupt, as Python's
    own handler does for SIGINT."""
    _STOPPED["by"] = _STOPPED["by"] or signum
    raise KeyboardInterrupt


def handle_stops() -> None:
    """on_stop for SIGINT and SIGTERM, where Python's defaults are in place (an embedding app's own are kept, and
    a signal ignored, as a shell's background job ignores SIGINT, stays ignored)."""
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    for number in STOP_SIGNALS:
        if signal.getsignal(number) is defaults[number]:
            signal.signal(number, on_stop)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM only noted until the block ends, then raised again to their own handlers: for a block
    that must not be left halfway, as one that points stderr at /dev/null and back. Only handlers that Python
    runs are held, and only in the main thread, where it runs them (a signal's default action, as SIGTERM's, ends
    the process at once)."""
    noted: list[int] = []
    previous: dict[int, Any] = {}

    def note(number: int, frame: Any) -> None:
        noted.append(number)

    try:
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                if callable(handler := signal.getsignal(number)):
                    previous[number] = handler
                    signal.signal(number, note)
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(noted):
            signal.raise_signal(number)


def ignore_stops() -> None:
    """What is left is the report and the interpreter's exit: a Ctrl-C there would only print a traceback from an
    atexit hook, or end the process without a word (exit status -2)."""
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)


def word() -> str:
    """What stopped the command, as its line says it."""
    return "terminated (SIGTERM)" if _STOPPED["by"] == signal.SIGTERM else "interrupted"


def status() -> int:
    return 128 + (_STOPPED["by"] or signal.SIGINT)
