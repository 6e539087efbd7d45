"""Where files live. Local paths (and ``file://`` URIs) today; S3 through boto3 joins here."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable

from monitor_lib.errors import DatasetNotFoundError, EmptyDatasetError, UnreadableInputError


def local_path(uri: str) -> str:
    return uri[len("file://"):] if uri.startswith("file://") else uri


def _hidden(name: str) -> bool:
    # Spark's own convention: _SUCCESS, _metadata, .crc files and dot-files are not data.
    return name.startswith((".", "_"))


def list_data_files(uri: str, what: str = "dataset_source",
                    keep_dir: Callable[[list[str]], bool] | None = None, allow_empty: bool = False) -> list[str]:
    """Every data file under ``uri`` (a file, or a directory walked recursively), sorted.

    ``keep_dir`` receives a directory's path components below ``uri`` and prunes the walk when it
    returns False (capture windows list only their hour folders). Raises with the path in the message
    when ``uri`` does not exist, holds no data file (unless ``allow_empty``), or holds a file that
    cannot be opened.
    """
    path = local_path(uri)
    if not os.path.lexists(path):
        raise DatasetNotFoundError(f"{what} {uri} does not exist")
    if os.path.isfile(path) or os.path.islink(path) and not os.path.isdir(path):
        files = [path]
    else:
        files = []
        for root, dirs, names in os.walk(path, followlinks=True):
            below = os.path.relpath(root, path).split(os.sep) if root != path else []
            dirs[:] = sorted(d for d in dirs if not _hidden(d) and (keep_dir is None or keep_dir([*below, d])))
            files.extend(os.path.join(root, n) for n in sorted(names) if not _hidden(n))
    if not files and not allow_empty:
        raise EmptyDatasetError(f"{what} {uri} contains no data files")
    for f in files:
        if not os.path.exists(f):
            raise UnreadableInputError(f"{what}: {f} cannot be read (broken link or removed while listing)")
        if not os.access(f, os.R_OK):
            raise UnreadableInputError(f"{what}: {f} cannot be read (permission denied)")
    return sorted(files)


def read_first_line(path: str) -> str | None:
    """The first non-empty line of a (possibly gzip-compressed) text file, or None if it has none."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            for line in fh:
                if line.strip("\r\n"):
                    return line.rstrip("\r\n")
    except OSError as e:
        raise UnreadableInputError(f"{path} cannot be read: {e}") from None
    return None


def ensure_dir(uri: str) -> str:
    path = local_path(uri)
    os.makedirs(path, exist_ok=True)
    return path
