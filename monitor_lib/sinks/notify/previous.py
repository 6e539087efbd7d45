"""The runs next to this one in its schedule's folder: ``{…}/{endpoint}/{schedule}/yyyy/mm/dd/hh`` (local or
``s3://``). PagerDuty reads the keys the previous run left open from its ``run_summary.json``.

The search walks the date folders from this run's hour outward, listing one level at a time (years, then
months, …), so it costs a few listings whatever the schedule's history; only folders holding a whole run count
(:func:`monitor_lib.sinks.report.history.run_folder_state`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from monitor_lib.errors import MonitorError
from monitor_lib.io.uri import is_s3

WIDTHS = (4, 2, 2, 2)  # yyyy / mm / dd / hh

Hour = tuple[str, str, str, str]


def schedule_folder(output: str) -> tuple[str, Hour] | None:
    """(the schedule's folder, this run's hour) when ``output`` ends in ``yyyy/mm/dd/hh``, else None."""
    parts = output.rstrip("/").replace(os.sep, "/").split("/")
    tail = parts[-4:]
    if len(parts) < 5 or any(len(p) != w or not p.isdigit() for p, w in zip(tail, WIDTHS, strict=True)):
        return None
    return "/".join(parts[:-4]), (tail[0], tail[1], tail[2], tail[3])


def hours(root: str, subfolders: Callable[[str], list[str]], around: Hour, before: bool) -> Iterator[Hour]:
    """Hour folders under ``root`` strictly before ``around`` (newest first) or after it (oldest first)."""

    def walk(path: str, prefix: tuple[str, ...]) -> Iterator[Hour]:
        level = len(prefix)
        if level == 4:
            if (prefix < around) if before else (prefix > around):
                yield prefix  # type: ignore[misc]
            return
        names = [n for n in subfolders(path) if len(n) == WIDTHS[level] and n.isdigit()]
        bound = around[level]
        # only children whose prefix can still be on the wanted side of ``around``
        same = prefix == around[:level]
        wanted = [n for n in names if not same or (n <= bound if before else n >= bound)]
        for name in sorted(wanted, reverse=before):
            yield from walk(f"{path}/{name}", (*prefix, name))

    yield from walk(root, ())


@dataclass(frozen=True)
class Neighbours:
    previous: str | None  # the folder of the latest whole run before this one
    later: str | None  # the folder of the first whole run after this one (this run is a backfill)


def neighbours(output: str, storage: Storage | None = None) -> Neighbours | None:
    """This run's neighbours in its schedule, or None when its output is not an hour folder."""
    found = schedule_folder(output)
    if found is None:
        return None
    root, hour = found
    storage = storage or Storage.of(root)

    def first(before: bool) -> str | None:
        for h in hours(root, storage.subfolders, hour, before):
            folder = "/".join((root, *h))
            if storage.is_run(folder):
                return folder
        return None

    return Neighbours(first(True), first(False))


@dataclass(frozen=True)
class Storage:
    """Listing and reading run folders (local or ``s3://``)."""

    subfolders: Callable[[str], list[str]]
    files: Callable[[str], list[str]]
    read: Callable[[str], str]

    def is_run(self, folder: str) -> bool:
        from monitor_lib.sinks.report.history import run_folder_state

        return run_folder_state(self.files(folder)) == "run"

    def summary(self, folder: str) -> dict:
        """The folder's ``run_summary.json`` ({} when there is none or it cannot be read)."""
        from monitor_lib import filenames

        try:
            doc = json.loads(self.read(f"{folder}/{filenames.RUN_SUMMARY}"))
        except (OSError, ValueError, MonitorError):  # unreadable: the previous run's keys are unknown
            return {}
        return doc if isinstance(doc, dict) else {}

    @staticmethod
    def of(root: str) -> Storage:
        return _s3() if is_s3(root) else _LOCAL


def _local_subfolders(path: str) -> list[str]:
    try:
        return [e.name for e in os.scandir(path) if e.is_dir()]
    except OSError:
        return []


def _local_files(path: str) -> list[str]:
    try:
        return [e.name for e in os.scandir(path) if e.is_file()]
    except OSError:
        return []


def _local_read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


_LOCAL = Storage(_local_subfolders, _local_files, _local_read)


def _s3() -> Storage:
    from monitor_lib.io import s3

    settings = s3.S3Settings.from_environment()

    def listing(uri: str) -> dict:
        bucket, key = s3.split(uri)
        prefix = key if not key or key.endswith("/") else key + "/"
        folders, files = [], []
        for page in settings.client().get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, Delimiter="/"):
            folders += [p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", [])]
            files += [o["Key"][len(prefix):] for o in page.get("Contents", [])]
        return {"folders": folders, "files": [f for f in files if f]}

    return Storage(lambda uri: listing(uri)["folders"], lambda uri: listing(uri)["files"],
                   lambda uri: s3.fetch(uri, settings, "run_summary.json").decode("utf-8"))
