"""Errors that simgen reports to the user as one line, without a traceback."""

import sys
from typing import NoReturn


def exit_with(message: str) -> NoReturn:
    """One line and exit status 2, from where an exception would not reach simgen's report (a Hydra callback, whose
    exceptions Hydra turns into warnings)."""
    print(f"simgen: error: {message}", file=sys.stderr)
    sys.exit(2)


class SimgenError(Exception):
    """Base of every error the command line prints as a one-line message."""


class ConfigError(SimgenError):
    """A config value is missing, misspelt or out of range; `key` names it."""

    def __init__(self, key: str, message: str):
        self.key = key
        self.detail = message
        super().__init__(f"{key}: {message}" if key else message)

    def __reduce__(self):  # survive pickling across worker processes
        return (ConfigError, (self.key, self.detail))

    def under(self, prefix: str) -> "ConfigError":
        """The same error with its key placed under a config path prefix."""
        return ConfigError(f"{prefix}.{self.key}" if self.key else prefix, self.detail)


class AssetError(SimgenError):
    """An asset file is missing, unreadable or physically broken."""


class SceneError(SimgenError):
    """A scene cannot be realised (camera inside the support, nothing to place, ...)."""


class DatasetExistsError(SimgenError):
    """The output directory already holds a dataset the run must not overwrite."""


class WorkerError(SimgenError):
    """A worker process died before finishing its scenes."""


class OutputError(SimgenError):
    """The dataset could not be written (a full disk, a lost mount, permissions)."""
