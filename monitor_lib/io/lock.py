"""One writer per output: a lock next to the output folder, taken before a run stages anything and released
when it has published (or failed).

Local output ``<parent>/<name>``: the file ``<parent>/.<name>.lock``, created with ``O_EXCL`` and held open
with an exclusive ``flock`` for the run's lifetime; it holds the holder's host, pid, start time and a token
(JSON). The kernel drops the ``flock`` when the holder dies (SIGKILL included), so a lock file whose ``flock``
can be taken and whose pid is dead (same host) — or, for another host, which is older than the stale timeout —
is stale: the taker holds its ``flock`` while it checks and rewrites it, so two takers never both win.

``s3://`` output ``s3://bucket/parent/name``: the object ``s3://bucket/parent/.name.lock``, created with
``PutObject(IfNoneMatch="*")`` (create-if-absent). A stale one (same rule) is taken over with
``PutObject(IfMatch=<its ETag>)``: of two takers only the first matches. Released with a delete conditional on
our ETag, so a run never removes a lock another run took over.

A second run into a locked output fails with :class:`~monitor_lib.errors.OutputLockedError` naming the holder,
or waits up to ``MODEL_MONITOR_LOCK_WAIT_SECONDS`` (default 0) for it. ``MODEL_MONITOR_LOCK_STALE_SECONDS``
(default 21600, 6 h) is the age after which a lock of another host counts as stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from monitor_lib.errors import ConfigError, OutputLockedError, StorageError
from monitor_lib.io import s3

log = logging.getLogger(__name__)

WAIT_ENV = "MODEL_MONITOR_LOCK_WAIT_SECONDS"
STALE_ENV = "MODEL_MONITOR_LOCK_STALE_SECONDS"
DEFAULT_STALE_SECONDS = 6 * 3600
_POLL = 0.2
_UNREADABLE_GRACE = 10.0  # seconds: an empty or unparsable lock file younger than this is being written


@dataclass(frozen=True)
class Holder:
    """Who holds a lock (the JSON in the lock file / object)."""

    host: str
    pid: int
    started: str  # ISO 8601, UTC
    token: str
    output: str
    pid_started: str = ""  # the process's start time in clock ticks since boot (/proc), to tell a reused pid

    @staticmethod
    def me(output: str) -> Holder:
        return Holder(socket.gethostname(), os.getpid(), datetime.now(UTC).isoformat(timespec="seconds"),
                      uuid.uuid4().hex, output, _process_start(os.getpid()))

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self)) + "\n").encode()

    @staticmethod
    def parse(data: bytes) -> Holder | None:
        try:
            d = json.loads(data.decode("utf-8"))
            return Holder(str(d["host"]), int(d["pid"]), str(d["started"]), str(d["token"]), str(d.get("output", "")),
                          str(d.get("pid_started", "")))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, started {self.started}"

    def age(self) -> float:
        try:
            return (datetime.now(UTC) - datetime.fromisoformat(self.started)).total_seconds()
        except ValueError:
            return float("inf")


_RETRY = Holder("?", 0, "", "", "")  # no holder known (released, being written, or taken meanwhile): try again


def _seconds(env: str, default: float) -> float:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{env}={raw!r} is not a number of seconds") from None
    if value < 0:
        raise ConfigError(f"{env}={raw!r} must be 0 or more seconds")
    return value


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_start(pid: int) -> str:
    """When process ``pid`` started (field 22 of /proc/<pid>/stat, clock ticks since boot); "" where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        return stat[stat.rindex(")") + 2:].split()[19]
    except (OSError, ValueError, IndexError):
        return ""


def is_stale(holder: Holder, stale_after: float) -> bool:
    """Dead pid on this host — or a live pid that is another process (its start time differs: the pid was
    reused, e.g. in a new container with the same host name); on another host, older than ``stale_after``."""
    if holder.host == socket.gethostname():
        if not _pid_alive(holder.pid):
            return True
        now = _process_start(holder.pid)
        return bool(holder.pid_started and now and now != holder.pid_started)
    return holder.age() > stale_after


def lock_location(output: str) -> str:
    """``<parent>/.<name>.lock`` of a local folder or an ``s3://`` prefix."""
    output = output.rstrip("/")
    if s3.is_s3(output):
        parent, _, name = output.rpartition("/")
        return f"{parent}/.{name}.lock"
    parent, name = os.path.split(os.path.abspath(output))
    return os.path.join(parent, f".{name}.lock")


def _refused(output: str, lock: str, holder: Holder | None, waited: float) -> OutputLockedError:
    who = holder.describe() if holder else "a run whose lock file cannot be read"
    tail = f" (waited {waited:.0f} s)" if waited else ""
    return OutputLockedError(
        f"output_path {output} is being written by another run ({who}){tail}: wait for it to finish, set "
        f"{WAIT_ENV} to wait, or delete {lock} if that run is gone")


# ---------------------------------------------------------------- local


class _LocalLock:
    def __init__(self, output: str, path: str | None = None):
        self.output = os.path.abspath(output)
        self.path = path or lock_location(self.output)
        self.holder = Holder.me(self.output)
        self.fd: int | None = None

    def try_acquire(self, stale_after: float) -> Holder | None:
        """Take the lock (None) or return who holds it."""
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        except FileExistsError:
            return self._take_over_if_stale(stale_after)
        except OSError as e:
            raise StorageError(f"output_path {self.output}: the lock {self.path} cannot be created: "
                               f"{e.strerror}") from None
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocking: a taker checking this new file holds it for an instant
        os.write(fd, self.holder.to_json())
        os.fsync(fd)
        self.fd = fd
        return None

    def _take_over_if_stale(self, stale_after: float) -> Holder | None:
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return _RETRY  # released meanwhile: try again
        keep = False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its holder is alive
                return Holder.parse(_read_fd(fd)) or _RETRY
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # released and maybe re-created meanwhile: try again
                return _RETRY
            data = _read_fd(fd)
            holder = Holder.parse(data)
            if holder is None:
                if time.time() - os.fstat(fd).st_mtime < _UNREADABLE_GRACE:
                    return _RETRY
            elif not is_stale(holder, stale_after):
                return holder
            os.ftruncate(fd, 0)
            os.pwrite(fd, self.holder.to_json(), 0)
            os.fsync(fd)
            log.warning("took over the stale lock %s of %s", self.path,
                        holder.describe() if holder else "an unreadable lock file")
            self.fd, keep = fd, True
            return None
        finally:
            if not keep:
                os.close(fd)

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            if os.fstat(self.fd).st_ino == os.stat(self.path).st_ino:
                os.remove(self.path)
        except FileNotFoundError:
            pass
        finally:
            os.close(self.fd)
            self.fd = None


def _read_fd(fd: int) -> bytes:
    return os.pread(fd, 65536, 0)


# ---------------------------------------------------------------- s3


class _S3Lock:
    def __init__(self, output: str):
        self.output = output.rstrip("/")
        self.path = lock_location(self.output)
        self.holder = Holder.me(self.output)
        self.settings = s3.S3Settings.from_environment()
        self.etag: str | None = None

    def try_acquire(self, stale_after: float) -> Holder | None:
        from botocore.exceptions import ClientError

        bucket, key = s3.split(self.path)
        client = self.settings.client()
        with s3.write_errors("output_path lock", self.path, "created"):
            try:
                self.etag = client.put_object(Bucket=bucket, Key=key, Body=self.holder.to_json(),
                                              IfNoneMatch="*")["ETag"]
                return None
            except ClientError as e:
                if not _precondition_failed(e):
                    raise
            try:
                got = client.get_object(Bucket=bucket, Key=key)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return _RETRY  # released meanwhile: try again
                raise
            holder = Holder.parse(got["Body"].read())
            if holder is not None and not is_stale(holder, stale_after):
                return holder
            if holder is None and (datetime.now(UTC) - got["LastModified"]).total_seconds() < _UNREADABLE_GRACE:
                return _RETRY
            try:
                self.etag = client.put_object(Bucket=bucket, Key=key, Body=self.holder.to_json(),
                                              IfMatch=got["ETag"])["ETag"]
            except ClientError as e:
                if _precondition_failed(e):  # another taker was first
                    return _RETRY
                raise
        log.warning("took over the stale lock %s of %s", self.path,
                    holder.describe() if holder else "an unreadable lock object")
        return None

    def release(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if self.etag is None:
            return
        bucket, key = s3.split(self.path)
        try:
            try:
                self.settings.client().delete_object(Bucket=bucket, Key=key, IfMatch=self.etag)
            except ClientError as e:
                if _precondition_failed(e):
                    log.warning("lock %s was taken over by another run: left to it", self.path)
                elif e.response.get("Error", {}).get("Code") in ("NotImplemented", "InvalidArgument"):
                    self.settings.client().delete_object(Bucket=bucket, Key=key)  # no conditional deletes here
                else:
                    raise
        except (ClientError, BotoCoreError) as e:
            log.warning("lock %s could not be removed (%s): the next run takes it over once stale", self.path, e)
        self.etag = None


def _precondition_failed(e) -> bool:
    err = e.response.get("Error", {})
    return err.get("Code") in ("PreconditionFailed", "412", "ConditionalRequestConflict") or \
        e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (409, 412)


# ---------------------------------------------------------------- both


@contextlib.contextmanager
def output_lock(output: str, path: str | None = None) -> Iterator[str]:
    """Hold the lock of ``output`` (a local folder or an ``s3://`` prefix) for the block; yield the lock's path.
    Refuses (or waits, see :data:`WAIT_ENV`) while another live run holds it; takes over a stale one. ``path``:
    another place for a local lock file than :func:`lock_location` (inside an output whose parent is read-only)."""
    wait = _seconds(WAIT_ENV, 0.0)
    stale_after = _seconds(STALE_ENV, DEFAULT_STALE_SECONDS)
    lock = _S3Lock(output) if s3.is_s3(output) else _LocalLock(output, path)
    started = time.monotonic()
    while True:
        holder = lock.try_acquire(stale_after)
        if holder is None:
            break
        waited = time.monotonic() - started
        if holder.pid and waited >= wait:
            raise _refused(lock.output, lock.path, holder, waited if wait else 0.0)
        if not holder.pid and waited >= wait + _UNREADABLE_GRACE:
            raise _refused(lock.output, lock.path, None, waited)
        time.sleep(_POLL)
    try:
        yield lock.path
    finally:
        lock.release()
