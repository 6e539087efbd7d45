"""One exception type per failure class. Every message names the offending field, file or path."""

from monitor_lib.formats.jsonfmt import FormatError


class MonitorError(Exception):
    """Base class of every error this tool reports to the user (printed without a traceback)."""


class ConfigError(MonitorError):
    """Invalid or missing configuration: the message names the field and the fix."""


class InputError(MonitorError):
    """The input data cannot be used (missing, empty, unreadable)."""


class DatasetNotFoundError(InputError):
    pass


class EmptyDatasetError(InputError):
    pass


class UnreadableInputError(InputError):
    pass


class EnvironmentSetupError(MonitorError):
    """The machine lacks something the run needs (Java, Spark)."""


class NotSupportedError(MonitorError):
    """A valid request this version does not implement yet."""


__all__ = [
    "ConfigError",
    "DatasetNotFoundError",
    "EmptyDatasetError",
    "EnvironmentSetupError",
    "FormatError",
    "InputError",
    "MonitorError",
    "NotSupportedError",
    "UnreadableInputError",
]
