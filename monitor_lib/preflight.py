"""Checks before any work: every local path a run reads exists and can be read, every local output can be
written — before Spark starts, so that a typo costs a second, not the half minute Spark takes to start (or
the whole analysis, for an output found read-only at the end).

Which parameters are paths is declared with them (``param(..., path="input" | "input_file" | "output")``, see
:mod:`monitor_lib.params`); a parameter parsed by :func:`~monitor_lib.params.existing_file` is an input file
too. ``s3://`` URIs are left to the run, which lists or reads them first thing.

Readability and writability are probed for real (a file opened, a folder listed, a probe file created and
removed): ``os.access`` answers yes to root for a read-only folder.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from monitor_lib.errors import DatasetNotFoundError, StorageError, UnreadableInputError
from monitor_lib.io.storage import local_path
from monitor_lib.io.uri import is_s3
from monitor_lib.params import declared, existing_file

PROBE_PREFIX = ".model-monitor-probe-"


def check_paths(params: Any) -> None:
    """Every declared input and output path of ``params`` (a parameter dataclass) that is set and local."""
    for name, spec in declared(type(params)):
        value = getattr(params, name)
        kind = spec.path or ("input_file" if spec.parse is existing_file else "")
        if not kind or not isinstance(value, str) or not value:
            continue
        if kind == "output":
            check_output(value, spec.env)
        else:
            check_input(value, spec.env, file=kind == "input_file")


def check_input(path: str, what: str, file: bool = False) -> None:
    """``path`` exists (a file when ``file``) and can be read: a file opened, a folder listed (``s3://``: not
    checked here)."""
    if is_s3(path):
        return
    local = local_path(path)
    if not os.path.exists(local):
        broken = " (a broken link)" if os.path.islink(local) else ""
        raise DatasetNotFoundError(f"{what} {path} does not exist{broken}")
    if os.path.isdir(local):
        if file:
            raise UnreadableInputError(f"{what} {path} is a folder, not a file")
        try:
            os.listdir(local)
        except OSError as e:
            raise UnreadableInputError(f"{what} {path} cannot be read: {e.strerror or e}") from None
        return
    try:
        with open(local, "rb") as fh:
            fh.read(1)
    except OSError as e:
        raise UnreadableInputError(f"{what} {path} cannot be read: {e.strerror or e}") from None


def check_output(path: str, what: str = "output_path") -> None:
    """``path`` is a folder that can be written, or can be created: it is not a file, nothing on the way to it
    is a file, and it takes a new file — the output itself when it exists (its run is staged beside it, or
    inside it when its parent is read-only, e.g. a mounted volume), else the nearest existing folder above it,
    where it will be created. ``s3://``: not checked here."""
    if is_s3(path):
        return
    local = os.path.abspath(local_path(path))
    if os.path.exists(local) and not os.path.isdir(local):
        raise StorageError(f"{what} {path} is a file, not a folder: give a folder (it is created if needed)")
    parent = os.path.dirname(local)
    while not os.path.exists(parent):
        up = os.path.dirname(parent)
        if up == parent:
            break
        parent = up
    if not os.path.isdir(parent):
        raise StorageError(f"{what} {path} cannot be created: {parent} is a file, not a folder")
    _probe(local if os.path.isdir(local) else parent, path, what)


def _probe(folder: str, path: str, what: str) -> None:
    """Create and remove a file in ``folder``."""
    try:
        fd, probe = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=folder)
    except OSError as e:
        where = "" if os.path.abspath(local_path(path)) == folder else f" ({folder} is not)"
        raise StorageError(f"{what} {path} is not writable{where}: {e.strerror or e}") from None
    os.close(fd)
    os.remove(probe)
