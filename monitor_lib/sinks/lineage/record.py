"""``lineage.json``: what a run read, with digests, the code that ran and its parameters.

What "digest" means here (measured: hashing is a second full read of the data, see docs/alerts.md):

- the data files of ``dataset_source`` (capture windows, datasets) are *not* hashed: each is recorded with its
  size and modification time (local files) or its size, ETag and LastModified from the S3 listing the run made
  anyway (no extra request); ``manifest_sha256`` is the SHA-256 of that manifest (one ``path\\tsize\\tversion``
  line per file, sorted), so two runs read the same files exactly when their manifests' digests are equal;
- the small input files (``baseline_constraints``, ``baseline_statistics``, analysis configurations: parameters
  declared ``path="input_file"``) are hashed: ``sha256`` of their bytes (an S3 object is fetched for it) plus
  their size (and ETag on S3);
- other input folders (ground truth) are named only.

Parameters are written as given, secrets redacted (:data:`SECRET_PARAMS`, any name with secret/token/password/
key in it except known non-secrets, and every value of ``extra_environment``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from monitor_lib import __version__

REDACTED = "<redacted>"
SECRET_PARAMS = frozenset({"webhook_url", "slack_webhook_url", "pagerduty_routing_key"})
NOT_SECRET = frozenset({"output_kms_key", "sns_topic_arn"})
_SECRET_WORDS = ("secret", "token", "password", "passwd", "routing_key", "api_key", "apikey", "credential")
MAX_LISTED_FILES = 1000  # files listed one by one in lineage.json (the manifest digest covers them all)
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileEntry:
    """One data file as the run saw it."""

    path: str  # local path or s3:// URI
    size: int
    version: str  # local: mtime ISO-8601 UTC; S3: the ETag
    modified: str = ""  # S3: LastModified

    def doc(self) -> dict[str, Any]:
        if "://" in self.path:
            return {"uri": self.path, "size": self.size, "etag": self.version, "last_modified": self.modified}
        return {"path": self.path, "size": self.size, "mtime": self.version}


def _iso(ts: float) -> str:
    t = datetime.fromtimestamp(ts, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}Z"


def file_entries(paths: list[str]) -> list[FileEntry]:
    """Size and version of each data file (local: ``os.stat``; S3: the listing's ETag, else a HEAD). A file gone
    since it was read is left out."""
    from monitor_lib.io import s3

    out = []
    for p in paths:
        try:
            if s3.is_s3(p):
                info = s3.object_info(p)
                out.append(FileEntry(p, info.size, info.etag, info.last_modified))
            else:
                st = os.stat(p)
                out.append(FileEntry(os.path.abspath(p), st.st_size, _iso(st.st_mtime)))
        except Exception:  # noqa: BLE001 - lineage is best effort: a vanished file is not listed
            continue
    return out


def manifest_sha256(entries: list[FileEntry]) -> str:
    text = "".join(f"{e.path}\t{e.size}\t{e.version}\n" for e in sorted(entries, key=lambda e: e.path))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(path: str) -> dict[str, Any]:
    """``{"sha256", "size"}`` of a small input file (``etag`` too on S3)."""
    from monitor_lib.io import s3

    if s3.is_s3(path):
        settings = s3.S3Settings.from_environment()
        body = s3.fetch(path, settings, decompress=False)
        info = s3.object_info(path, settings)
        return {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body), "etag": info.etag}
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return {"sha256": h.hexdigest(), "size": size}


@functools.cache
def git_commit() -> str | None:
    """The commit of the checkout this package runs from (None when it is installed, not a git checkout)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__import__("monitor_lib").__file__)))
    if not os.path.exists(os.path.join(root, ".git")):
        return None
    try:
        done = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def code_version(spark_version: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"package": "spark-model-monitor", "version": __version__}
    commit = git_commit()
    if commit:
        doc["git_commit"] = commit
    if spark_version is None:
        try:
            import pyspark

            spark_version = pyspark.__version__
        except ImportError:  # pragma: no cover - Spark is a dependency
            spark_version = None
    doc.update(spark=spark_version, python=platform.python_version())
    return doc


def is_secret(name: str) -> bool:
    low = name.lower()
    return low in SECRET_PARAMS or (low not in NOT_SECRET and any(w in low for w in _SECRET_WORDS))


def safe_parameters(flat: dict[str, Any]) -> dict[str, Any]:
    """The flat parameters as JSON values, secrets replaced by ``<redacted>``."""
    out: dict[str, Any] = {}
    for name, value in sorted(flat.items()):
        if is_secret(name):
            out[name] = REDACTED
        elif name == "extra_environment":
            out[name] = {str(k): REDACTED for k, _ in value}
        else:
            out[name] = jsonable(value)
    return out


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):  # a window or offset: ISO-8601, as it was given (PT1H, -P1D)
        from monitor_lib.scheduled_time import duration_text

        return duration_text(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


def data_input(param: str, uri: str, entries: list[FileEntry] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"param": param, "uri": uri, "kind": "data"}
    if entries is not None:
        doc.update(file_count=len(entries), bytes=sum(e.size for e in entries),
                   manifest_sha256=manifest_sha256(entries),
                   files=[e.doc() for e in entries[:MAX_LISTED_FILES]])
        if len(entries) > MAX_LISTED_FILES:
            doc["files_not_listed"] = len(entries) - MAX_LISTED_FILES
    return doc
