"""The `simgen` command's entry point: it takes Ctrl-C and SIGTERM (simgen.stops) before Python imports the run
(Hydra, PyBullet and the pipeline: about a second), so that a stop while it starts ends it with one line too."""

from __future__ import annotations

import os
import sys

from simgen import stops


def main() -> None:
    stops.handle_stops()
    try:
        from simgen import app
    except BaseException:
        if not stops.stopped_by():
            raise
    if stops.stopped_by():  # also where an import caught the KeyboardInterrupt and went on
        print(f"\nsimgen: {stops.word()} while starting; nothing was written", file=sys.stderr, flush=True)
        os._exit(stops.status())  # not sys.exit: an import cut short may have left Python set to end by SIGINT
    app.main()


if __name__ == "__main__":
    main()
