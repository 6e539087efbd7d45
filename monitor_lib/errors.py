"""One exception type per failure class, all below :class:`MonitorError`. Every message names the offending
field, file or path. This module imports nothing of ``monitor_lib``: every other module may import it.

Exit codes of the command line (``model-monitor``; ``analyze`` always exits 255 on failure, as SageMaker's
analyzer does):

* 0 — the run completed (with or without violations, or with no data in the window);
* 1 — an unexpected internal error (one line; ``MODEL_MONITOR_DEBUG=1`` prints the traceback);
* 2 — a :class:`MonitorError`: bad flags or configuration, a missing / unreadable / malformed input file,
  a storage or Spark failure. The message names the field or file;
* 3 — the run read records but could not analyse them (status ``Failed``): every record read was rejected,
  or more than ``max_rejected_fraction`` of them. Its run_summary.json, rejected sample and report are
  written; the message gives the counts by kind.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_ERROR = 2
EXIT_RUN_FAILED = 3  # a run whose records were (too often) rejected: status Failed
EXIT_ANALYZER_FAILED = 255  # what the real analyzer container exits with on any exception


class MonitorError(Exception):
    """Base class of every error this tool reports to the user (printed as one line, no traceback)."""

    exit_code = EXIT_ERROR


class ConfigError(MonitorError):
    """Invalid or missing configuration: the message names the field and the fix."""


class FormatError(MonitorError, ValueError):
    """A SageMaker JSON file that does not have the expected shape.

    The message names the file (or what was parsed) and the JSON key path, e.g.
    ``statistics.json: features[3].numerical_statistics.mean: expected a number, got 'abc'``.
    """

    def __init__(self, source: str, key_path: str, problem: str) -> None:
        self.source = source
        self.key_path = key_path
        self.problem = problem
        where = f"{source}: {key_path}" if key_path else source
        super().__init__(f"{where}: {problem}")


class InputError(MonitorError):
    """The input data cannot be used (missing, empty, unreadable)."""


class DatasetNotFoundError(InputError):
    pass


class EmptyDatasetError(InputError):
    pass


class UnreadableInputError(InputError):
    pass


class StorageError(MonitorError):
    """An output cannot be written or uploaded (a local folder, an ``s3://`` prefix)."""


class OutputLockedError(MonitorError):
    """Another live run is writing the same output (its lock names the holder's host, pid and start time)."""


class SparkJobError(MonitorError):
    """Spark failed while running the job (not because of the data): the message names the stage."""


class EnvironmentSetupError(MonitorError):
    """The machine lacks something the run needs (Java, Spark)."""


class NotSupportedError(MonitorError):
    """A valid request this version does not implement yet."""


class UserScriptError(MonitorError):
    """A user's record pre-processor or post-analytics script failed: the message names the script."""


__all__ = [
    "ConfigError",
    "DatasetNotFoundError",
    "EmptyDatasetError",
    "EnvironmentSetupError",
    "FormatError",
    "InputError",
    "MonitorError",
    "NotSupportedError",
    "OutputLockedError",
    "SparkJobError",
    "StorageError",
    "UnreadableInputError",
    "UserScriptError",
]
