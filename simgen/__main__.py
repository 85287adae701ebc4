"""The commands' entry points (`simgen` and the tools): each takes Ctrl-C and SIGTERM (simgen.stops) before Python
imports the command (for simgen, Hydra, PyBullet and the pipeline: about a second), so that a stop while it starts
ends it with one line too."""

from __future__ import annotations

import functools
import importlib
import os
import sys

from simgen import stops


def _start(name: str, module: str) -> None:
    """Take the stops, then import the command's `module` and run its main(): a stop while it imports (a second
    for simgen, half of one for the tools, cv2 and numpy among them) ends it with one line, not a traceback."""
    stops.handle_stops()
    try:
        loaded = importlib.import_module(module)
    except BaseException:
        if not stops.stopped_by():
            raise
    if stops.stopped_by():  # also where an import caught the KeyboardInterrupt and went on
        print(f"\n{name}: {stops.word()} while starting; nothing was written", file=sys.stderr, flush=True)
        os._exit(stops.status())  # not sys.exit: an import cut short may have left Python set to end by SIGINT
    loaded.main()


main = functools.partial(_start, "simgen", "simgen.app")
merge = functools.partial(_start, "simgen-merge", "simgen.tools.merge")
viz = functools.partial(_start, "simgen-viz", "simgen.tools.viz")
stats = functools.partial(_start, "simgen-stats", "simgen.tools.stats")
export = functools.partial(_start, "simgen-export", "simgen.tools.export")
check = functools.partial(_start, "simgen-check", "simgen.tools.check")


if __name__ == "__main__":
    main()
