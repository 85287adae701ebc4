"""The `simgen` command's entry point. A Ctrl-C or SIGTERM while Python still imports simgen (Hydra, PyBullet and
the pipeline: about a second) ends it with one line too; from then on simgen.outcome handles them."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

_STOPPED: list[int] = []  # the signal that stopped the command while it started


def _stop_at_start(signum: int, frame: Any) -> None:
    _STOPPED.append(signum)
    raise KeyboardInterrupt


def main() -> None:
    before = signal.signal(signal.SIGTERM, _stop_at_start)
    try:
        from simgen import app
    except KeyboardInterrupt:
        number = _STOPPED[0] if _STOPPED else signal.SIGINT
        what = "terminated (SIGTERM)" if number == signal.SIGTERM else "interrupted"
        print(f"\nsimgen: {what} while starting; nothing was written", file=sys.stderr, flush=True)
        os._exit(128 + number)  # not sys.exit: an import the stop cut short may have left Python set to end by SIGINT
    signal.signal(signal.SIGTERM, before)  # outcome puts its own handler in place of the default
    app.main()


if __name__ == "__main__":
    main()
