"""The `simgen` command's entry point. A Ctrl-C or SIGTERM while Python still imports simgen (Hydra, PyBullet and
the pipeline: about a second) ends it with one line too; from then on simgen.outcome handles them."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

STOPS = (signal.SIGINT, signal.SIGTERM)
_STOPPED: list[int] = []  # the signals that stopped the command while it started


def _stop_at_start(signum: int, frame: Any) -> None:
    _STOPPED.append(signum)
    raise KeyboardInterrupt


def main() -> None:
    before = {number: signal.getsignal(number) for number in STOPS}
    for number, handler in before.items():
        if handler in (signal.default_int_handler, signal.SIG_DFL):  # one ignored (a background job's) stays so
            signal.signal(number, _stop_at_start)
    try:
        from simgen import app
    except KeyboardInterrupt:
        _STOPPED.append(signal.SIGINT)
    if _STOPPED:  # also where an import caught the KeyboardInterrupt and went on
        what = "terminated (SIGTERM)" if _STOPPED[0] == signal.SIGTERM else "interrupted"
        print(f"\nsimgen: {what} while starting; nothing was written", file=sys.stderr, flush=True)
        os._exit(128 + _STOPPED[0])  # not sys.exit: an import the stop cut short may have left Python set to end
        # by SIGINT
    for number, handler in before.items():
        signal.signal(number, handler)  # outcome puts its own in place of the defaults
    app.main()


if __name__ == "__main__":
    main()
