"""The execution records of a schedule: one JSON object per scheduled time, in a local folder or an ``s3://``
prefix, claimed create-if-absent and changed compare-and-swap.

Layout (the same for both): ``{state_store}/{schedule}/executions/{T:%Y%m%dT%H%M%SZ}.json``, the body being
:meth:`ExecutionRecord.to_json` (SageMaker's ``MonitoringExecutionSummary`` names plus ours).

Why two ticks can never run the same window twice: a tick runs a window only after :meth:`ExecutionStore.claim`
created its record (status InProgress), and creation is atomic and exclusive:

* S3: ``PutObject(IfNoneMatch="*")`` — of two concurrent creators S3 accepts one; the other gets
  ``412 PreconditionFailed`` (or ``409 ConditionalRequestConflict`` while the first is in flight);
* local: the record is written to a temporary file and hard-linked to its name (``link`` fails when the name
  exists: create-if-absent with the content complete, never an empty file seen half-written); where hard links
  are refused, ``O_CREAT|O_EXCL``.

Every later change (a retry's new claim, the final status, a stale record marked Failed) is a compare-and-swap on
the version the writer read: S3 ``PutObject(IfMatch=<ETag>)``; local: under an exclusive ``flock`` of
``executions/.lock`` (the kernel drops it if the holder dies), the file's current bytes are compared with the
version read (a SHA-256 of them) and the new record is written to a temporary file and renamed over it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime

from monitor_lib.errors import MonitorError, StorageError
from monitor_lib.io import s3
from monitor_lib.schedule.model import ExecutionRecord

log = logging.getLogger(__name__)

_VERSION = "_store_version"  # the attribute a record read or written by a store carries: its ETag / digest


class ExecutionConflictError(MonitorError):
    """The record a tick owns was changed by someone else (another tick marked it Failed as stale, ...)."""


def record_name(scheduled_time: datetime) -> str:
    """``20261120T110000Z.json``."""
    return f"{scheduled_time:%Y%m%dT%H%M%SZ}.json"


def _encode(record: ExecutionRecord) -> bytes:
    return (json.dumps(record.to_json(), indent=2) + "\n").encode("utf-8")


def version_of(record: ExecutionRecord) -> str | None:
    """The version (S3 ETag, local SHA-256) of the stored object ``record`` was read from or written as."""
    return getattr(record, _VERSION, None)


def _set_version(record: ExecutionRecord, version: str) -> ExecutionRecord:
    object.__setattr__(record, _VERSION, version)
    return record


class ExecutionStore:
    """One schedule's records. ``location``: ``{state_store}/{schedule}/executions``."""

    location: str

    def __init__(self, location: str):
        self.location = location.rstrip("/")
        self._versions: dict[datetime, str] = {}  # the last version this store read or wrote per scheduled time

    def uri(self, scheduled_time: datetime) -> str:
        return f"{self.location}/{record_name(scheduled_time)}"

    # ---------------------------------------------------------------- interface

    def get(self, scheduled_time: datetime) -> ExecutionRecord | None:
        found = self._read(record_name(scheduled_time))
        return None if found is None else self._seen(*found)

    def list(self) -> list[ExecutionRecord]:
        """Every record, sorted by scheduled time."""
        out = []
        for name in self._names():
            found = self._read(name)
            if found is not None:
                out.append(self._seen(*found))
        return sorted(out, key=lambda r: r.scheduled_time)

    def claim(self, record: ExecutionRecord) -> bool:
        """Create ``record``'s object if there is none: True when this call created it, False when it exists."""
        version = self._create(record_name(record.scheduled_time), _encode(record))
        if version is None:
            return False
        self._written(record, version)
        return True

    def replace(self, old: ExecutionRecord, new: ExecutionRecord) -> bool:
        """Write ``new`` over ``old`` if the stored object is still the one ``old`` was read as; else False."""
        expected = version_of(old) or self._versions.get(old.scheduled_time)
        if expected is None:
            raise ValueError(f"replace: the record of {old.scheduled_time} was not read from this store")
        version = self._swap(record_name(new.scheduled_time), expected, _encode(new))
        if version is None:
            return False
        self._written(new, version)
        return True

    def update(self, record: ExecutionRecord) -> None:
        """The claimant's own write: compare-and-swap on the version it holds; raises
        :class:`ExecutionConflictError` when someone else changed the record meanwhile."""
        expected = version_of(record) or self._versions.get(record.scheduled_time)
        if expected is None:
            raise ValueError(f"update: the record of {record.scheduled_time} was not claimed through this store")
        version = self._swap(record_name(record.scheduled_time), expected, _encode(record))
        if version is None:
            current = self.get(record.scheduled_time)
            what = (f"it is now {current.status} (owner {current.owner or '?'})" if current is not None
                    else "it was deleted")
            raise ExecutionConflictError(f"the execution record {self.uri(record.scheduled_time)} was changed by "
                                         f"another tick while this one ran it: {what}; this tick's result is "
                                         "not recorded")
        self._written(record, version)

    # ---------------------------------------------------------------- bookkeeping

    def _seen(self, record: ExecutionRecord, version: str) -> ExecutionRecord:
        self._versions[record.scheduled_time] = version
        return _set_version(record, version)

    def _written(self, record: ExecutionRecord, version: str) -> None:
        self._versions[record.scheduled_time] = version
        _set_version(record, version)

    def _parse(self, name: str, data: bytes) -> ExecutionRecord:
        where = f"execution record {self.location}/{name}"
        try:
            doc = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise StorageError(f"{where} is not valid JSON ({e}): delete it to run that window again") from None
        if not isinstance(doc, dict):
            raise StorageError(f"{where} is not a JSON object: delete it to run that window again")
        try:
            return ExecutionRecord.from_json(doc, where)
        except TypeError as e:
            raise StorageError(f"{where} is not an execution record ({e}): delete it to run that window "
                               "again") from None

    # ---------------------------------------------------------------- storage (subclasses)

    def _names(self) -> list[str]:
        raise NotImplementedError

    def _read(self, name: str) -> tuple[ExecutionRecord, str] | None:
        raise NotImplementedError

    def _create(self, name: str, body: bytes) -> str | None:
        raise NotImplementedError

    def _swap(self, name: str, expected: str, body: bytes) -> str | None:
        raise NotImplementedError


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalExecutionStore(ExecutionStore):
    """A local (or mounted) folder. Create-if-absent by hard link (``O_EXCL`` where links are refused); changes
    under an exclusive ``flock`` of ``.lock`` with write-temp + rename."""

    def __init__(self, location: str):
        super().__init__(os.path.abspath(location))

    def _folder(self) -> str:
        try:
            os.makedirs(self.location, exist_ok=True)
        except OSError as e:
            raise StorageError(f"state_store {self.location} cannot be created: {e.strerror}") from None
        return self.location

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        path = os.path.join(self._folder(), ".lock")
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as e:
            raise StorageError(f"state_store {self.location}: its lock {path} cannot be opened: {e.strerror}") \
                from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held for one compare-and-write; dropped by the kernel if we die
            yield
        finally:
            os.close(fd)

    def _names(self) -> list[str]:
        try:
            names = os.listdir(self.location)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise StorageError(f"state_store {self.location} cannot be listed: {e.strerror}") from None
        return sorted(n for n in names if n.endswith(".json") and not n.startswith("."))

    def _bytes(self, name: str) -> bytes | None:
        path = os.path.join(self.location, name)
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StorageError(f"execution record {path} cannot be read: {e.strerror}") from None

    def _read(self, name: str) -> tuple[ExecutionRecord, str] | None:
        data = self._bytes(name)
        return None if data is None else (self._parse(name, data), _digest(data))

    def _temp(self, body: bytes) -> str:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self._folder())
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        return tmp

    def _create(self, name: str, body: bytes) -> str | None:
        path = os.path.join(self._folder(), name)
        try:
            tmp = self._temp(body)
        except OSError as e:
            raise StorageError(f"execution record {path} cannot be written: {e.strerror}") from None
        try:
            os.link(tmp, path)  # fails if the name exists: create-if-absent, the content complete
        except FileExistsError:
            return None
        except OSError:  # no hard links on this file system: O_EXCL, written under the lock readers wait on
            with self._locked():
                try:
                    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    return None
                except OSError as e:
                    raise StorageError(f"execution record {path} cannot be created: {e.strerror}") from None
                try:
                    os.write(fd, body)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
        return _digest(body)

    def _swap(self, name: str, expected: str, body: bytes) -> str | None:
        path = os.path.join(self._folder(), name)
        with self._locked():
            current = self._bytes(name)
            if current is None or _digest(current) != expected:
                return None
            try:
                tmp = self._temp(body)
                os.replace(tmp, path)
            except OSError as e:
                raise StorageError(f"execution record {path} cannot be written: {e.strerror}") from None
        return _digest(body)


class S3ExecutionStore(ExecutionStore):
    """An ``s3://`` prefix. Create-if-absent: ``PutObject(IfNoneMatch="*")``; changes: ``PutObject(IfMatch=ETag)``
    (S3 has had both since 2024; the moto server of the tests implements them)."""

    def __init__(self, location: str, settings: s3.S3Settings | None = None):
        super().__init__(location)
        self.settings = settings or s3.S3Settings.from_environment()
        self.bucket, prefix = s3.split(self.location)
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as e:
            raise StorageError(state_store_error(self.location, what, e)) from None
        except BotoCoreError as e:
            raise StorageError(f"state_store {self.location} cannot be reached ({what}): {e}") from None

    def _names(self) -> list[str]:
        client = self.settings.client()
        names = []
        with self._errors("list"):
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix,
                                                                        Delimiter="/"):
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(self.prefix):]
                    if name.endswith(".json") and not name.startswith("."):
                        names.append(name)
        return sorted(names)

    def _read(self, name: str) -> tuple[ExecutionRecord, str] | None:
        from botocore.exceptions import ClientError

        client = self.settings.client()
        with self._errors(f"read {name}"):
            try:
                got = client.get_object(Bucket=self.bucket, Key=self.prefix + name)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                    return None
                raise
            data = got["Body"].read()
        return self._parse(name, data), got["ETag"]

    def _create(self, name: str, body: bytes) -> str | None:
        from botocore.exceptions import ClientError

        client = self.settings.client()
        with self._errors(f"create {name}"):
            try:
                return client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=body,
                                         ContentType="application/json", IfNoneMatch="*")["ETag"]
            except ClientError as e:
                if conditional_failed(e):
                    return None
                raise

    def _swap(self, name: str, expected: str, body: bytes) -> str | None:
        from botocore.exceptions import ClientError

        client = self.settings.client()
        with self._errors(f"write {name}"):
            try:
                return client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=body,
                                         ContentType="application/json", IfMatch=expected)["ETag"]
            except ClientError as e:
                if conditional_failed(e) or e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return None
                raise


def conditional_failed(e) -> bool:
    """A conditional ``PutObject`` refused: 412 PreconditionFailed (the condition is false) or 409
    ConditionalRequestConflict (a concurrent conditional write to the same key is in flight)."""
    err = e.response.get("Error", {})
    return err.get("Code") in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409") or \
        e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (409, 412)


def state_store_error(location: str, what: str, e) -> str:
    """One line for a refused S3 call on the state store."""
    code = e.response.get("Error", {}).get("Code", "") or type(e).__name__
    if code in ("AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return (f"state_store {location}: access denied ({code}) to {what}: the tick needs s3:GetObject, "
                "s3:PutObject and s3:ListBucket on it; check the credentials of the boto3 chain and the bucket policy")
    if code in ("NoSuchBucket",):
        return f"state_store {location}: there is no bucket {s3.split(location)[0]}: create it or fix state_store"
    return f"state_store {location} cannot {what}: {code}: {e}"


def store_location(state_store: str, schedule: str) -> str:
    return f"{state_store.rstrip('/')}/{schedule}/executions"


def open_store(spec) -> ExecutionStore:
    """The execution records of the schedule ``spec`` (a :class:`~.spec.ScheduleSpec`)."""
    location = store_location(spec.state_store, spec.name)
    if s3.is_s3(location):
        return S3ExecutionStore(location)
    return LocalExecutionStore(location)
