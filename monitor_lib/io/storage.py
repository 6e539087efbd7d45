"""Where files live: local paths, ``file://`` URIs and ``s3://`` URIs (boto3, see :mod:`monitor_lib.io.s3`).

Inputs: :func:`list_data_files` lists either kind; :func:`read_text` reads one small file on the driver.
Outputs: :func:`output_location` gives a job an :class:`OutputFolder` — a local folder to write into with plain
file functions, uploaded when the job is done for an ``s3://`` output — which knows where each file ends up.
Files written by Spark executors skip that folder (on a cluster they do not share the driver's disk): they
go to the output's :class:`Destination` directly.

``MODEL_MONITOR_S3_READER=spark`` hands ``s3://`` paths to Spark's own readers instead of reading them
through boto3 in the executors — for clusters whose Hadoop file system reads ``s3://`` natively (EMRFS on
EMR, or hadoop-aws with ``s3a://``). Listing, single files and outputs still go through boto3.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gzip
import io
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from monitor_lib import filenames
from monitor_lib.errors import DatasetNotFoundError, EmptyDatasetError, StorageError, UnreadableInputError
from monitor_lib.io import s3
from monitor_lib.io.uri import hidden

log = logging.getLogger(__name__)

S3_READER_ENV = "MODEL_MONITOR_S3_READER"


def spark_reads_s3() -> bool:
    """True when ``s3://`` paths go straight to Spark's readers (EMRFS), not through boto3."""
    return os.environ.get(S3_READER_ENV, "boto3").strip().lower() == "spark"


def local_path(uri: str | os.PathLike[str]) -> str:
    uri = os.fspath(uri)
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
    path = _staged_path(local_path(uri))  # below the output of a run being written: what that run wrote
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


def read_text(uri: str | os.PathLike[str], what: str = "file") -> str:
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

# Uploaded after every other one, in this order: their presence says the run is complete.
PUBLISHED_LAST = filenames.PUBLISHED_LAST
# In a run folder while it is not whole: readers ignore such a folder (monitor_lib.sinks.report.history).
INCOMPLETE = filenames.INCOMPLETE
TEST_PAUSE_ENV = "MODEL_MONITOR_TEST_PAUSE_AT"


def pause_for_tests(stage: str) -> None:
    """A test hook: with ``MODEL_MONITOR_TEST_PAUSE_AT=<stage>`` the process says so on stderr and sleeps at that
    point, so a test can kill it there (stages: ``written`` — some files of the run written, not all;
    ``publish`` — a local run staged, not yet swapped in; an s3:// run half uploaded). Nothing else reads it."""
    if os.environ.get(TEST_PAUSE_ENV) == stage:
        print(f"test hook: paused at {stage}", file=sys.stderr, flush=True)
        time.sleep(3600)


class _Staging:
    """A local folder standing in for an ``s3://`` output folder while a job writes into it.

    The objects directly in the output folder are copied in first, so the job's own rules (overwrite,
    remove a stale file) apply to them unchanged; deeper folders are mirrored on demand
    (:meth:`OutputFolder.mirror_folders`) as empty placeholders. :meth:`publish` then uploads what the job wrote
    (one PUT per object), deletes the objects whose local copy the job removed, and uploads
    :data:`PUBLISHED_LAST` last.

    For a run (``run=True``) the folder is marked incomplete (the :data:`INCOMPLETE` object) before the first
    object of the run changes in S3 — at :meth:`publish`, or earlier when executors are handed the output
    (:meth:`OutputFolder.destination`) — and the marker is deleted after the last upload.
    """

    def __init__(self, uri: str, kms_key: str | None, run: bool = False):
        self.uri = uri.rstrip("/")
        self.kms_key = kms_key
        self.run = run
        self.marked = False
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
            if rel in self.mirrored or os.path.exists(local) or rel == INCOMPLETE:
                continue
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "wb") as fh:
                if content:
                    fh.write(s3.fetch(s3.join(self.uri, rel), self.settings, "output_path", decompress=False))
            st = os.stat(local)
            self.mirrored[rel] = (st.st_ino, st.st_mtime_ns)

    def mark_incomplete(self) -> None:
        if self.run and not self.marked:
            target = s3.join(self.uri, INCOMPLETE)
            with s3.write_errors("output_path", target):
                s3.upload_stream(io.BytesIO(), target, self.settings, self.kms_key)
            self.marked = True

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
                if self.mirrored.get(rel) != (st.st_ino, st.st_mtime_ns) and rel != INCOMPLETE:
                    written.append(rel)
        removed = sorted(r for r in self.mirrored if not os.path.exists(os.path.join(self.dir, r)))
        last = [r for name in PUBLISHED_LAST for r in written if r == name]
        self.mark_incomplete()
        for i, rel in enumerate([r for r in written if r not in last]):
            s3.upload(os.path.join(self.dir, rel), s3.join(self.uri, rel), self.settings, self.kms_key)
            if i == 0:
                pause_for_tests("publish")
        for rel in removed:
            s3.delete(s3.join(self.uri, rel), self.settings)
        for rel in last:
            s3.upload(os.path.join(self.dir, rel), s3.join(self.uri, rel), self.settings, self.kms_key)
        if self.marked:
            s3.delete(s3.join(self.uri, INCOMPLETE), self.settings)
        log.info("uploaded %d file(s) to %s%s, removed %d stale object(s)", len(written), self.uri,
                 " (SSE-KMS)" if self.kms_key else "", len(removed))

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# renameat2(2) flags and the "current directory" file descriptor (linux/fcntl.h)
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: str, b: str) -> bool:
    """Swap two paths in one step (``renameat2(..., RENAME_EXCHANGE)``, Linux 3.15+, glibc 2.28+). False when
    the system or the file system does not offer it; raises OSError for other failures (EXDEV, EBUSY…)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), b)


def _siblings(final: str, kind: str) -> list[str]:
    """The hidden ``.<name>.<kind>-<id>`` folders next to ``final`` (staging folders, old runs set aside)."""
    parent, name = os.path.split(final)
    prefix = f".{name}.{kind}-"
    try:
        return sorted(os.path.join(parent, n) for n in os.listdir(parent) if n.startswith(prefix))
    except FileNotFoundError:
        return []


class _LocalStaging:
    """A whole local run written beside its output and swapped in at the end.

    The folder ``<parent>/.<name>.staging-<id>`` starts as a copy of the output (so the job's rules — overwrite,
    remove what it no longer writes — apply unchanged) holding the :data:`INCOMPLETE` marker; the job writes
    into it; :meth:`publish` removes the marker and swaps it with the output in one step
    (``renameat2(RENAME_EXCHANGE)``), or, where that call is missing, renames the output aside and the staging
    folder into place (a kill between the two is repaired by the next run, :func:`_recover_local`). When the
    output cannot be renamed at all (a mount point: EBUSY, EXDEV), the files are moved into it one by one
    under the :data:`INCOMPLETE` marker. The old run is deleted afterwards. With ``inside`` (an existing output
    whose parent this process cannot write) the staging folder is ``<output>/.model-monitor.staging-<id>`` and
    the files are always moved in under the marker.
    """

    def __init__(self, final: str, inside: bool = False):
        self.final = final
        self.inside = inside
        parent, name = os.path.split(final)
        self.dir = (os.path.join(final, f"{INSIDE_PREFIX}staging-{uuid.uuid4().hex[:12]}") if inside
                    else os.path.join(parent, f".{name}.staging-{uuid.uuid4().hex[:12]}"))

        def skipped(folder: str, names: list[str]) -> list[str]:
            top = os.path.abspath(folder) == final
            return [n for n in names if n.startswith(".") and n.endswith(".tmp")
                    or top and n.startswith(INSIDE_PREFIX)]

        try:
            if os.path.isdir(final):
                shutil.copytree(final, self.dir, symlinks=True, ignore=skipped)
            else:
                os.makedirs(self.dir)
            with open(os.path.join(self.dir, INCOMPLETE), "wb"):
                pass
        except OSError as e:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise StorageError(f"output_path {final} cannot be staged in {self.dir}: {e.strerror or e}") from None
        self.cloned = set(_files_below(self.dir)) - {INCOMPLETE}

    def publish(self) -> None:
        try:
            os.remove(os.path.join(self.dir, INCOMPLETE))
            pause_for_tests("publish")
            if self.inside:
                self._move_into()
                return
            if not os.path.lexists(self.final):
                os.rename(self.dir, self.final)
                return
            try:
                if _exchange(self.dir, self.final):
                    shutil.rmtree(self.dir, ignore_errors=True)  # now the previous run
                    return
                aside = os.path.join(os.path.dirname(self.final),
                                     f".{os.path.basename(self.final)}.old-{uuid.uuid4().hex[:12]}")
                os.rename(self.final, aside)
            except OSError as e:
                if e.errno not in (errno.EBUSY, errno.EXDEV, errno.EPERM, errno.EACCES):
                    raise
                self._move_into()
                return
            try:
                os.rename(self.dir, self.final)
            except OSError:
                os.rename(aside, self.final)  # the previous run back in place
                raise
            shutil.rmtree(aside, ignore_errors=True)
        except OSError as e:
            raise StorageError(f"output_path {self.final} cannot be published from {self.dir}: "
                               f"{e.strerror or e}") from None

    def _move_into(self) -> None:
        """The output folder cannot be swapped: move the files in under the marker, delete what the job removed."""
        marker = os.path.join(self.final, INCOMPLETE)
        with open(marker, "wb"):
            pass
        staged = set(_files_below(self.dir))
        for rel in sorted(staged):
            target = os.path.join(self.final, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                os.replace(os.path.join(self.dir, rel), target)
            except OSError as e:
                if e.errno != errno.EXDEV:
                    raise
                tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{uuid.uuid4().hex}.tmp")
                shutil.copy2(os.path.join(self.dir, rel), tmp)
                os.replace(tmp, target)
        for rel in sorted(self.cloned - staged):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.final, rel))
        os.remove(marker)
        shutil.rmtree(self.dir, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _files_below(folder: str) -> list[str]:
    out = []
    for root, _dirs, names in os.walk(folder):
        out += [os.path.relpath(os.path.join(root, n), folder) for n in names]
    return out


def _recover_local(final: str) -> None:
    """Under the output's lock, before a run stages: put back an output a killed run had renamed aside (killed
    between its two renames), and delete what killed runs left (staging folders, old runs set aside)."""
    if os.path.isdir(final):
        for name in os.listdir(final):
            if name.startswith(f"{INSIDE_PREFIX}staging-"):
                shutil.rmtree(os.path.join(final, name), ignore_errors=True)
    for old in _siblings(final, "old"):
        if not os.path.lexists(final):
            log.warning("output_path %s: restoring the previous run from %s (a run was killed while publishing)",
                        final, old)
            os.rename(old, final)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for staging in _siblings(final, "staging"):
        log.info("output_path %s: removing %s, left by a run that did not finish", final, staging)
        shutil.rmtree(staging, ignore_errors=True)


# Inside an output whose parent folder cannot be written: its lock file and staging folders.
INSIDE_PREFIX = ".model-monitor."


def _writable(folder: str) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


# final output folder -> its staging folder, while a run writes: paths below the output handed to Spark
# executors (destination()) go to the staging folder, not to the published run.
_ACTIVE_LOCAL: dict[str, _LocalStaging] = {}


def _staged_path(path: str) -> str:
    """``path`` in the staging folder of the run writing it when it lies below that run's output, else as given."""
    staging = _active_run(path)
    return path if staging is None else staging.dir + os.path.abspath(path)[len(staging.final):]


def _active_run(path: str) -> _LocalStaging | None:
    """The staging of the local run whose output holds ``path`` (a folder below it), if one is being written."""
    full = os.path.abspath(path)
    return next((staging for final, staging in _ACTIVE_LOCAL.items()
                 if full == final or full.startswith(final + os.sep)), None)


def incomplete_run(folder: str) -> bool:
    """True when the run folder ``folder`` (local or ``s3://``) is marked as not whole (:data:`INCOMPLETE`): a
    run was killed while publishing it (or is publishing it now). Readers ignore such a folder."""
    if s3.is_s3(folder):
        settings = s3.S3Settings.from_environment()
        with s3.boto_errors("run folder", folder, "listed"):
            return any(name == INCOMPLETE for name, _ in s3.list_children(folder, settings))
    return os.path.exists(os.path.join(local_path(folder), INCOMPLETE))


@dataclass(frozen=True)
class Destination:
    """A folder that Spark executors write files into themselves, bypassing the driver: a local folder (the
    executors share the driver's file system, as in local mode) or an ``s3://`` prefix (each executor PUTs
    its objects with its own boto3 client). Small and picklable: it travels to the executors in closures.

    Paths below it (``rel``) use ``/`` and must stay inside it.
    """

    root: str  # an absolute local folder or an s3:// URI, without a trailing separator
    settings: s3.S3Settings | None = None  # where the S3 API is (s3:// only), resolved on the driver
    kms_key: str | None = None  # SSE-KMS key of the objects written (s3:// only)

    @property
    def is_s3(self) -> bool:
        return self.settings is not None

    def location(self, rel: str) -> str:
        """The path or URI of ``rel`` below the folder ('' is the folder itself)."""
        parts = [p for p in rel.replace(os.sep, "/").split("/") if p not in ("", ".")]
        if ".." in parts:
            raise StorageError(f"{rel!r} is not inside the output {self.root}")
        if self.is_s3:
            return s3.join(self.root, *parts)
        return os.path.join(self.root, *parts)

    def write(self, rel: str, fileobj: BinaryIO) -> str:
        """Store the bytes of ``fileobj`` (from its current position) as the file ``rel``, whole or not at all:
        one PUT (or multipart upload) for S3; a hidden temporary file renamed into place locally. Returns
        its location."""
        target = self.location(rel)
        if self.is_s3:
            with s3.write_errors("output_path", target):
                s3.upload_stream(fileobj, target, self.settings, self.kms_key)
            return target
        folder, name = os.path.split(target)
        tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
        try:
            os.makedirs(folder, exist_ok=True)
            with open(tmp, "wb") as fh:
                shutil.copyfileobj(fileobj, fh)
            os.replace(tmp, target)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise StorageError(f"output_path {target} cannot be written: {e}") from None
        return target

    def names(self, rel_folder: str) -> list[str]:
        """The names of the files directly in the folder ``rel_folder`` (none when it does not exist), sorted."""
        folder = self.location(rel_folder)
        if self.is_s3:
            with s3.write_errors("output_path", folder, "listed"):
                return sorted(name for name, _size in s3.list_children(folder, self.settings))
        if not os.path.isdir(folder):
            return []
        return sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n)))

    def remove(self, rel: str) -> None:
        """Delete the file ``rel`` (nothing happens when it is not there)."""
        target = self.location(rel)
        if self.is_s3:
            with s3.write_errors("output_path", target, "deleted"):
                s3.delete(target, self.settings)
            return
        with contextlib.suppress(FileNotFoundError):
            os.remove(target)


class OutputFolder(str):
    """Where a job writes its outputs: the local folder it writes into — the ``str`` value itself, so
    ``os.path.join(out, name)`` and plain file functions work — and where those files end up.

    For a plain local output that folder is the output. For a run's local output (``output_location(...,
    run=True)``) it is the hidden staging folder beside it, swapped in when the run is done. For an ``s3://``
    output it is a local staging folder that :func:`output_location` uploads when the job is done. In both
    staged cases :meth:`public` says where a file written into it ends up; :meth:`mirror_folders` prepares
    subfolders of an ``s3://`` output the job clears. Spark executors write to :meth:`destination`.
    """

    uri: str  # the output as configured: a local folder or an s3:// URI
    kms_key: str | None

    def __new__(cls, path: str, uri: str | None = None, kms_key: str | None = None,
                staging: _Staging | _LocalStaging | None = None) -> OutputFolder:
        folder = super().__new__(cls, os.path.abspath(path))
        folder.uri = (uri or str(folder)).rstrip("/")
        folder.kms_key = kms_key
        folder._staging = staging
        return folder

    @property
    def staged(self) -> bool:
        """True when the folder stands in for the output (uploaded to ``s3://`` or swapped in at the end)."""
        return self._staging is not None

    def public(self, path: str) -> str:
        """Where a file written in this folder ends up: its ``s3://`` URI or its path in the published local
        folder for a staged output, the path itself otherwise (and for any path outside the folder, an
        ``s3://`` URI included)."""
        if self._staging is None or s3.is_s3(path):
            return path
        rel = os.path.relpath(os.path.abspath(path), self)
        if rel == ".":
            return self.uri
        if rel == ".." or rel.startswith(".." + os.sep):
            return path
        if isinstance(self._staging, _LocalStaging):
            return os.path.join(self.uri, rel)
        return s3.join(self.uri, rel.replace(os.sep, "/"))

    def mirror_folders(self, rels) -> None:
        """Before a job clears and rewrites subfolders (relative to this folder) of a staged ``s3://`` output:
        bring in the names of the objects already there (empty placeholders), so the ones it removes are
        deleted from S3 too. Nothing to do for a local output (its staging folder is a copy of it)."""
        if not isinstance(self._staging, _Staging):
            return
        for rel in rels:
            folder = os.path.normpath(rel.replace("/", os.sep))
            self._staging.mirror("" if folder == "." else folder.replace(os.sep, "/"), content=False)

    def destination(self) -> Destination:
        """The output itself, for files written by Spark executors: the ``s3://`` prefix of a staged output
        (they bypass the staging folder and its upload; a run's folder is marked incomplete first), else this
        folder (a local run's staging folder: executors share the driver's disk in local mode)."""
        if isinstance(self._staging, _Staging):
            self._staging.mark_incomplete()
            return Destination(self.uri, self._staging.settings, self.kms_key)
        return Destination(str(self))


# s3:// output -> the staging of the run writing it: executors handed a URI below it mark the run incomplete.
_ACTIVE_S3: dict[str, _Staging] = {}


def destination(output: str, kms_key: str | None = None) -> Destination:
    """Where Spark executors write the files of ``output``: an :class:`OutputFolder` (see
    :meth:`OutputFolder.destination`), an ``s3://`` URI, or a local folder (created). A path or URI below the
    output of a run being written is that run's: its local staging folder; its ``s3://`` folder, marked
    incomplete first."""
    if isinstance(output, OutputFolder):
        return output.destination()
    if s3.is_s3(output):
        uri = output.rstrip("/")
        for root, staging in _ACTIVE_S3.items():
            if uri == root or uri.startswith(root + "/"):
                staging.mark_incomplete()
        return Destination(uri, s3.S3Settings.from_environment(), kms_key)
    return Destination(os.path.abspath(ensure_dir(_staged_path(output))))


@contextlib.contextmanager
def output_location(uri: str, kms_key: str | None = None, run: bool = False) -> Iterator[OutputFolder]:
    """The :class:`OutputFolder` of ``uri``: the folder itself for a local path; for ``s3://`` a staging
    folder uploaded when the block ends without error (nothing is uploaded on failure; files that executors
    wrote to its :meth:`~OutputFolder.destination` are in S3 already). ``kms_key`` encrypts the uploaded
    objects with SSE-KMS. An :class:`OutputFolder` given as ``uri`` is used as it is.

    ``run=True`` — the output folder of a run, whole or absent, one writer at a time: the block holds the
    output's lock (:mod:`monitor_lib.io.lock`); a local output is staged beside it and swapped in when the block
    ends without error (:class:`_LocalStaging`; on failure or a kill the previous run stays as it was); an
    ``s3://`` output is marked :data:`INCOMPLETE` while its objects change (readers ignore it) and unmarked
    after the last upload."""
    if isinstance(uri, OutputFolder):
        yield uri
        return
    if run:
        with _run_output(uri, kms_key) as out:
            yield out
        return
    if not s3.is_s3(uri):
        path = local_path(uri)
        active = _active_run(path)  # a folder inside a run's output (metrics beside its files): staged with the run
        if active is not None:
            yield OutputFolder(ensure_dir(_staged_path(path)), os.path.abspath(path), None, active)
        else:
            yield OutputFolder(ensure_dir(path))
        return
    staging = _Staging(uri, kms_key)
    try:
        staging.mirror("", content=True)
        yield OutputFolder(staging.dir, uri, kms_key, staging)
        staging.publish()
    finally:
        shutil.rmtree(staging.dir, ignore_errors=True)


@contextlib.contextmanager
def _run_output(uri: str, kms_key: str | None) -> Iterator[OutputFolder]:
    from monitor_lib.io.lock import output_lock

    if s3.is_s3(uri):
        uri = uri.rstrip("/")
        with output_lock(uri):
            staging = _Staging(uri, kms_key, run=True)
            _ACTIVE_S3[uri] = staging
            try:
                staging.mirror("", content=True)
                yield OutputFolder(staging.dir, uri, kms_key, staging)
                staging.publish()
            finally:
                _ACTIVE_S3.pop(uri, None)
                staging.discard()
        return
    final = os.path.abspath(local_path(uri))
    if os.path.islink(final):
        final = os.path.realpath(final)
    if os.path.exists(final) and not os.path.isdir(final):
        raise StorageError(f"output_path {uri} is a file, not a folder")
    try:
        os.makedirs(os.path.dirname(final), exist_ok=True)
    except OSError as e:
        raise StorageError(f"output_path {uri}: its folder {os.path.dirname(final)} cannot be created: "
                           f"{e.strerror or e}") from None
    # an output folder in a folder this process cannot write (a mounted volume): its lock and staging go inside it
    inside = os.path.isdir(final) and not _writable(os.path.dirname(final))
    with output_lock(final, os.path.join(final, f"{INSIDE_PREFIX}lock") if inside else None):
        _recover_local(final)
        staging = _LocalStaging(final, inside)
        _ACTIVE_LOCAL[final] = staging
        try:
            yield OutputFolder(staging.dir, final, None, staging)
            staging.publish()
        finally:
            _ACTIVE_LOCAL.pop(final, None)
            staging.discard()
