"""Errors that simgen reports to the user as one line, without a traceback."""


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
