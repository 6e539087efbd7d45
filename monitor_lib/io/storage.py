"""Where files live: local paths, ``file://`` URIs and ``s3://`` URIs (boto3, see :mod:`monitor_lib.io.s3`).

Inputs: :func:`list_data_files` lists either kind; :func:`read_text` reads one small file on the driver.
Outputs: :func:`output_location` gives the jobs a local folder to write into exactly as before and, for
``s3://``, uploads it when the job is done (see there).

``MODEL_MONITOR_S3_READER=spark`` hands ``s3://`` paths to Spark's own readers instead of reading them
through boto3 in the executors — for clusters whose Hadoop file system reads ``s3://`` natively (EMRFS on
EMR, or hadoop-aws with ``s3a://``). Listing, single files and outputs still go through boto3.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator

from monitor_lib.errors import DatasetNotFoundError, EmptyDatasetError, UnreadableInputError
from monitor_lib.io import s3
from monitor_lib.io.uri import hidden

log = logging.getLogger(__name__)

S3_READER_ENV = "MODEL_MONITOR_S3_READER"


def spark_reads_s3() -> bool:
    """True when ``s3://`` paths go straight to Spark's readers (EMRFS), not through boto3."""
    return os.environ.get(S3_READER_ENV, "boto3").strip().lower() == "spark"


def local_path(uri: str) -> str:
    return uri[len("file://"):] if uri.startswith("file://") else uri


def list_data_files(uri: str, what: str = "dataset_source",
                    keep_dir: Callable[[list[str]], bool] | None = None, allow_empty: bool = False) -> list[str]:
    """Every data file under ``uri`` (a file, or a directory walked recursively), sorted.

    ``keep_dir`` receives a directory's path components below ``uri`` and prunes the walk when it
    returns False (capture windows list only their hour folders). Raises with the path in the message
    when ``uri`` does not exist, holds no data file (unless ``allow_empty``), or holds a file that
    cannot be opened.
    """
    if s3.is_s3(uri):
        return s3.list_files(uri, what, keep_dir, allow_empty)
    path = local_path(uri)
    if not os.path.lexists(path):
        raise DatasetNotFoundError(f"{what} {uri} does not exist")
    if os.path.isfile(path) or os.path.islink(path) and not os.path.isdir(path):
        files = [path]
    else:
        files = []
        for root, dirs, names in os.walk(path, followlinks=True):
            below = os.path.relpath(root, path).split(os.sep) if root != path else []
            dirs[:] = sorted(d for d in dirs if not hidden(d) and (keep_dir is None or keep_dir([*below, d])))
            files.extend(os.path.join(root, n) for n in sorted(names) if not hidden(n))
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
    if s3.is_s3(path):
        return s3.first_line(path, s3.S3Settings.from_environment())
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            for line in fh:
                if line.strip("\r\n"):
                    return line.rstrip("\r\n")
    except OSError as e:
        raise UnreadableInputError(f"{path} cannot be read: {e}") from None
    return None


def read_text(uri: str, what: str = "file") -> str:
    """A small text file (a baseline, a script, a config) read on the driver, local or ``s3://``."""
    if s3.is_s3(uri):
        return s3.read_text(uri, what)
    with open(local_path(uri), encoding="utf-8") as fh:
        return fh.read()


def ensure_dir(uri: str) -> str:
    path = local_path(uri)
    os.makedirs(path, exist_ok=True)
    return path


# ---------------------------------------------------------------- outputs

# Files uploaded after every other one, in this order: their presence says the run is complete.
PUBLISHED_LAST = ("_merge_summary.json", "run_summary.json", "report.html")


class _Staging:
    """A local folder standing in for an ``s3://`` output folder while a job writes into it.

    The objects directly in the output folder are copied in first, so the job's own rules (overwrite,
    remove a stale file) apply to them unchanged; deeper folders are mirrored on demand
    (:func:`mirror_folders`) as empty placeholders. :meth:`publish` then uploads what the job wrote
    (one PUT per object), deletes the objects whose local copy the job removed, and uploads
    :data:`PUBLISHED_LAST` last.
    """

    def __init__(self, uri: str, kms_key: str | None):
        self.uri = uri.rstrip("/")
        self.kms_key = kms_key
        self.settings = s3.S3Settings.from_environment()
        self.dir = tempfile.mkdtemp(prefix="model-monitor-output-")
        self.mirrored: dict[str, tuple[int, int]] = {}  # relative path -> (inode, mtime) when copied in

    def mirror(self, rel_folder: str, content: bool) -> None:
        folder = s3.join(self.uri, rel_folder)
        with s3.boto_errors("output_path", folder, "listed"):
            children = s3.list_children(folder, self.settings)
        for name, _size in children:
            rel = os.path.join(rel_folder, name) if rel_folder else name
            local = os.path.join(self.dir, rel)
            if rel in self.mirrored or os.path.exists(local):
                continue
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "wb") as fh:
                if content:
                    fh.write(s3.fetch(s3.join(self.uri, rel), self.settings, "output_path", decompress=False))
            st = os.stat(local)
            self.mirrored[rel] = (st.st_ino, st.st_mtime_ns)

    def publish(self) -> None:
        written = []
        for root, dirs, names in os.walk(self.dir):
            dirs.sort()
            for n in sorted(names):
                if n.startswith("."):  # an atomic writer's temp file
                    continue
                local = os.path.join(root, n)
                rel = os.path.relpath(local, self.dir).replace(os.sep, "/")
                st = os.stat(local)
                if self.mirrored.get(rel) != (st.st_ino, st.st_mtime_ns):
                    written.append(rel)
        removed = sorted(r for r in self.mirrored if not os.path.exists(os.path.join(self.dir, r)))
        last = [r for name in PUBLISHED_LAST for r in written if r == name]
        for rel in [r for r in written if r not in last]:
            s3.upload(os.path.join(self.dir, rel), s3.join(self.uri, rel), self.settings, self.kms_key)
        for rel in removed:
            s3.delete(s3.join(self.uri, rel), self.settings)
        for rel in last:
            s3.upload(os.path.join(self.dir, rel), s3.join(self.uri, rel), self.settings, self.kms_key)
        log.info("uploaded %d file(s) to %s%s, removed %d stale object(s)", len(written), self.uri,
                 " (SSE-KMS)" if self.kms_key else "", len(removed))


_ACTIVE: dict[str, _Staging] = {}  # local staging folder -> its s3 output


def _staging_of(path: str) -> _Staging | None:
    path = os.path.abspath(path)
    for folder, staging in _ACTIVE.items():
        if path == folder or path.startswith(folder + os.sep):
            return staging
    return None


@contextlib.contextmanager
def output_location(uri: str, kms_key: str | None = None) -> Iterator[str]:
    """A local folder for the outputs of ``uri``: the folder itself for a local path; for ``s3://`` a
    staging folder uploaded when the block ends without error (nothing is uploaded on failure).
    ``kms_key`` encrypts the uploaded objects with SSE-KMS."""
    if not s3.is_s3(uri):
        yield ensure_dir(uri)
        return
    staging = _Staging(uri, kms_key)
    _ACTIVE[staging.dir] = staging
    try:
        staging.mirror("", content=True)
        yield staging.dir
        staging.publish()
    finally:
        _ACTIVE.pop(staging.dir, None)
        shutil.rmtree(staging.dir, ignore_errors=True)


def mirror_folders(local_dir: str, rels) -> None:
    """Before a job clears and rewrites subfolders of a staged output: bring in the names of the objects
    already there (empty placeholders), so the ones it removes are deleted from S3 too."""
    staging = _staging_of(local_dir)
    if staging is None:
        return
    for rel in rels:
        folder = os.path.relpath(os.path.join(os.path.abspath(local_dir), rel), staging.dir)
        staging.mirror("" if folder == "." else folder.replace(os.sep, "/"), content=False)


def public_path(path: str) -> str:
    """Where a file written into a staged output ends up (its ``s3://`` URI); other paths unchanged."""
    staging = _staging_of(path)
    if staging is None:
        return path
    rel = os.path.relpath(os.path.abspath(path), staging.dir)
    return staging.uri if rel == "." else s3.join(staging.uri, rel.replace(os.sep, "/"))
