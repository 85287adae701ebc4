"""What every small simgen command shares: Hydra-style logging and one-line errors."""

from __future__ import annotations

import logging
import sys
from typing import Callable

from simgen.errors import SimgenError

LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # as Hydra's job logging


def run_command(name: str, body: Callable[[], int]) -> None:
    """Run a command's body with logging set up; SimgenErrors become `NAME: error: ...` and exit status 2."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        sys.exit(body())
    except SimgenError as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"\n{name}: interrupted", file=sys.stderr)
        sys.exit(130)
