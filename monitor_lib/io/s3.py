"""S3 through boto3: listing on the driver, object bodies in the executors, uploads of the outputs.

No ``hadoop-aws`` jar is needed. The driver lists keys (:func:`list_files`; capture windows level by
level with ``Delimiter='/'`` so only the window's hour prefixes are listed) and reads single small
objects (baselines, scripts, configs); the executors fetch the data objects themselves
(:func:`fetch`), each Python worker with its own client. Where to connect is resolved once on the
driver (:class:`S3Settings`: the standard ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` and the
region) and travels to the executors inside the closures; credentials come from the standard boto3
chain of each process (environment, profile, instance / container role).
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from monitor_lib.errors import DatasetNotFoundError, EmptyDatasetError, StorageError, UnreadableInputError
from monitor_lib.io.uri import SCHEMES, hidden, is_s3  # noqa: F401  (is_s3 is part of this module's interface)

log = logging.getLogger(__name__)


# Every ListObjectsV2 prefix of the recent listings, as (bucket, prefix, delimiter): diagnostics for
# "what did the run look at" (the tests check that a capture window lists only its hour prefixes).
LISTED: deque[tuple[str, str, str]] = deque(maxlen=10_000)


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing said about an object: the run's lineage records it instead of reading the data again."""

    size: int
    etag: str  # without its quotes (an MD5 of the body for single-part uploads; multipart: "<md5>-<parts>")
    last_modified: str  # ISO-8601 UTC


# uri -> ObjectInfo of the objects the recent listings returned (bounded: cleared when it grows past the cap)
LISTED_OBJECTS: dict[str, ObjectInfo] = {}
LISTED_OBJECTS_CAP = 200_000


def _remember(uri: str, obj: dict) -> None:
    if len(LISTED_OBJECTS) >= LISTED_OBJECTS_CAP:
        LISTED_OBJECTS.clear()
    modified = obj.get("LastModified")
    LISTED_OBJECTS[uri] = ObjectInfo(int(obj.get("Size") or obj.get("ContentLength") or 0),
                                     str(obj.get("ETag") or "").strip('"'),
                                     modified.strftime("%Y-%m-%dT%H:%M:%SZ") if modified is not None else "")


def object_info(uri: str, settings: S3Settings | None = None) -> ObjectInfo:
    """Size, ETag and last modification of an object: from the listing that found it, else a HEAD request."""
    known = LISTED_OBJECTS.get(uri)
    if known is not None:
        return known
    settings = settings or S3Settings.from_environment()
    bucket, key = split(uri)
    with boto_errors("input", uri):
        head = settings.client().head_object(Bucket=bucket, Key=key)
    _remember(uri, head)
    return LISTED_OBJECTS[uri]


def split(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` → ``("bucket", "a/b")``."""
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise DatasetNotFoundError(f"{uri} names no bucket: use s3://bucket/prefix")
    return bucket, key


def join(uri: str, *parts: str) -> str:
    out = uri.rstrip("/")
    for p in parts:
        if p:
            out += "/" + p.strip("/")
    return out


@dataclass(frozen=True)
class S3Settings:
    """Where the S3 API is: resolved on the driver, shipped to the executors (their environment may differ)."""

    endpoint_url: str | None = None
    region: str | None = None

    @staticmethod
    def from_environment() -> S3Settings:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            import boto3

            region = boto3.session.Session().region_name
        return S3Settings(endpoint, region or "us-east-1")

    def client(self):
        return _client(self)


_CLIENTS: dict[S3Settings, object] = {}
_LOCK = threading.Lock()


def _client(settings: S3Settings):
    """A cache, not state: one boto3 client per :class:`S3Settings` and process (a Python worker reuses its
    client across tasks instead of paying the client's setup for every object). Equal settings give an
    equivalent client, so what a call does depends only on its arguments."""
    with _LOCK:
        if settings not in _CLIENTS:
            import boto3

            _CLIENTS[settings] = boto3.session.Session().client(
                "s3", endpoint_url=settings.endpoint_url, region_name=settings.region)
        return _CLIENTS[settings]


@contextlib.contextmanager
def boto_errors(what: str, uri: str, verb: str = "read", also: tuple[type[Exception], ...] = ()):
    """boto3 failures (and ``also``) inside the block as our errors, naming ``what`` and ``uri``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as e:
        raise _error(e, what, uri) from None
    except (BotoCoreError, *also) as e:
        raise UnreadableInputError(f"{what} {uri} cannot be {verb}: {e}") from None


@contextlib.contextmanager
def write_errors(what: str, uri: str, verb: str = "written"):
    """boto3 failures while writing or deleting ``uri`` as a :class:`StorageError` naming ``what`` and ``uri``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        raise StorageError(f"{what} {uri} cannot be {verb}: {code or type(e).__name__}: {e}") from None
    except BotoCoreError as e:
        raise StorageError(f"{what} {uri} cannot be {verb}: {e}") from None


def _error(e: Exception, what: str, uri: str) -> Exception:
    """A boto3 failure as our error, naming the URI."""
    code = getattr(e, "response", {}).get("Error", {}).get("Code", "") if hasattr(e, "response") else ""
    if code in ("NoSuchBucket",):
        return DatasetNotFoundError(f"{what} {uri} does not exist: there is no bucket {split(uri)[0]}")
    if code in ("NoSuchKey", "404", "NotFound"):
        return DatasetNotFoundError(f"{what} {uri} does not exist")
    if code in ("AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return UnreadableInputError(f"{what} {uri} cannot be read: access denied ({code}); check the credentials "
                                    "of the boto3 chain and the bucket policy")
    return UnreadableInputError(f"{what} {uri} cannot be read: {type(e).__name__}: {e}")


def _pages(client, bucket: str, prefix: str, delimiter: str) -> Iterator[dict]:
    LISTED.append((bucket, prefix, delimiter))
    args = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        args["Delimiter"] = delimiter
    yield from client.get_paginator("list_objects_v2").paginate(**args)


def list_files(uri: str, what: str = "dataset_source", keep_dir: Callable[[list[str]], bool] | None = None,
               allow_empty: bool = False, settings: S3Settings | None = None) -> list[str]:
    """Every data object under ``uri`` (an object, or a prefix taken as a folder), as sorted ``s3://`` URIs.

    Same rules as local folders: names starting with ``_`` or ``.`` (files or folders) are not data;
    ``keep_dir`` gets a folder's names below ``uri`` and prunes it (listing then goes level by level
    with ``Delimiter='/'``, so pruned prefixes are never listed). Missing bucket or prefix, access
    denied, and a prefix without data objects (unless ``allow_empty``) raise, naming ``uri``.
    """
    from botocore.exceptions import ClientError

    settings = settings or S3Settings.from_environment()
    client = settings.client()
    bucket, key = split(uri)
    scheme = uri.split("://", 1)[0] + "://"
    with boto_errors(what, uri, "listed"):
        if key and not key.endswith("/"):
            try:
                _remember(uri, client.head_object(Bucket=bucket, Key=key))
                return [uri]
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
        prefix = key if not key or key.endswith("/") else key + "/"
        found_any = False
        keys: list[str] = []
        if keep_dir is None:
            for page in _pages(client, bucket, prefix, ""):
                for obj in page.get("Contents", []):
                    found_any = True
                    rel = obj["Key"][len(prefix):]
                    if rel and not rel.endswith("/") and not any(hidden(p) for p in rel.split("/") if p):
                        keys.append(obj["Key"])
                        _remember(f"{scheme}{bucket}/{obj['Key']}", obj)
        else:
            pending = [(prefix, [])]
            while pending:
                here, parts = pending.pop()
                for page in _pages(client, bucket, here, "/"):
                    for obj in page.get("Contents", []):
                        found_any = True
                        name = obj["Key"][len(here):]
                        if name and not hidden(name):
                            keys.append(obj["Key"])
                            _remember(f"{scheme}{bucket}/{obj['Key']}", obj)
                    for cp in page.get("CommonPrefixes", []):
                        found_any = True
                        name = cp["Prefix"][len(here):].rstrip("/")
                        if name and not hidden(name) and keep_dir([*parts, name]):
                            pending.append((cp["Prefix"], [*parts, name]))
    if not found_any:
        raise DatasetNotFoundError(f"{what} {uri} does not exist (no object under s3://{bucket}/{prefix})")
    if not keys and not allow_empty:
        raise EmptyDatasetError(f"{what} {uri} contains no data files")
    return sorted(f"{scheme}{bucket}/{k}" for k in keys)


# ---------------------------------------------------------------- reading


def fetch(uri: str, settings: S3Settings, what: str = "input", decompress: bool = True) -> bytes:
    """The bytes of one object (gunzipped when its name ends in ``.gz``)."""
    bucket, key = split(uri)
    with boto_errors(what, uri):
        body = settings.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    if decompress and key.endswith(".gz"):
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as e:
            raise UnreadableInputError(f"{what} {uri} is not valid gzip: {e}") from None
    return body


def first_line(uri: str, settings: S3Settings, what: str = "dataset_source") -> str | None:
    """The first non-blank line of an object, streamed (a CSV header is read without the whole object)."""
    bucket, key = split(uri)
    with boto_errors(what, uri, also=(OSError, EOFError)):
        body = settings.client().get_object(Bucket=bucket, Key=key)["Body"]
        stream = gzip.GzipFile(fileobj=body) if key.endswith(".gz") else body.iter_lines(keepends=True)
        try:
            for raw in stream:
                for line in raw.splitlines():  # a lone \r also ends a line
                    if line:
                        return line.decode("utf-8", errors="replace")
        finally:
            body.close()
    return None


def fetch_range(uri: str, settings: S3Settings, byte_range: str) -> bytes:
    bucket, key = split(uri)
    return settings.client().get_object(Bucket=bucket, Key=key, Range=byte_range)["Body"].read()


def read_text(uri: str, what: str = "file") -> str:
    """A single (small) object as UTF-8 text, read on the driver."""
    return fetch(uri, S3Settings.from_environment(), what).decode("utf-8")


# ---------------------------------------------------------------- writing


def _encryption(kms_key: str | None) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}


def upload(path: str, uri: str, settings: S3Settings, kms_key: str | None = None) -> None:
    """One PUT per object: readers see the old object or the new one, never a part."""
    bucket, key = split(uri)
    with open(path, "rb") as fh:
        settings.client().put_object(Bucket=bucket, Key=key, Body=fh, **_encryption(kms_key))


def upload_stream(fileobj, uri: str, settings: S3Settings, kms_key: str | None = None) -> None:
    """The bytes of ``fileobj`` (read from its current position) as one object. Large bodies go up as a
    multipart upload, which S3 also shows only once complete: readers never see a part."""
    bucket, key = split(uri)
    settings.client().upload_fileobj(fileobj, bucket, key, ExtraArgs=_encryption(kms_key) or None)


def delete(uri: str, settings: S3Settings) -> None:
    bucket, key = split(uri)
    settings.client().delete_object(Bucket=bucket, Key=key)


def list_children(uri: str, settings: S3Settings) -> list[tuple[str, int]]:
    """(name, size) of the objects directly under the folder ``uri`` (not below its subfolders)."""
    bucket, key = split(uri)
    prefix = key if not key or key.endswith("/") else key + "/"
    out = []
    for page in _pages(settings.client(), bucket, prefix, "/"):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(prefix):]
            if name:
                out.append((name, int(obj["Size"])))
    return out


# ---------------------------------------------------------------- Spark: object bodies read in the executors


def _slices(spark, n_files: int) -> int:
    return max(1, min(n_files, spark.sparkContext.defaultParallelism * 4))


def _file_lines(uri: str, settings: S3Settings, skip_header: bool,
                keep_blank: bool = False) -> Iterator[tuple[bytes, str, int]]:
    """(line bytes, uri, position) of one object: lines split like Hadoop's (\\n, \\r\\n, \\r), blank
    lines dropped unless ``keep_blank``; with ``skip_header`` the first non-blank line (a CSV header) too."""
    header_pending = skip_header
    for i, line in enumerate(fetch(uri, settings, "input").splitlines()):
        if not line.strip():
            if keep_blank:
                yield bytearray(line), uri, i
            continue
        if header_pending:
            header_pending = False
            continue
        yield bytearray(line), uri, i


def lines_frame(spark, uris: list[str], skip_header: bool = False, settings: S3Settings | None = None,
                keep_blank: bool = False):
    """DataFrame ``line string, file string, pos long`` of the objects' non-blank lines (every line with
    ``keep_blank``: the capture reader counts blank ones), read in the executors. Lines keep their bytes
    (binary cast to string): ``is_valid_utf8`` sees invalid UTF-8 exactly as after Spark's own text reader."""
    from pyspark.sql import functions as F

    settings = settings or S3Settings.from_environment()

    def read(part):
        for uri in part:
            yield from _file_lines(uri, settings, skip_header, keep_blank)

    rdd = spark.sparkContext.parallelize(uris, _slices(spark, len(uris))).mapPartitions(read)
    df = spark.createDataFrame(rdd, "raw binary, file string, pos long")
    return df.select(F.col("raw").cast("string").alias("line"), "file", "pos")


def documents_rdd(spark, uris: list[str], whole: bool, settings: S3Settings | None = None):
    """RDD of text for ``spark.read.json``: one element per non-blank line, or per object (``whole``)."""
    settings = settings or S3Settings.from_environment()

    def read(part):
        for uri in part:
            if whole:
                data = fetch(uri, settings, "input")
                if data.strip():
                    yield data.decode("utf-8", errors="replace")
            else:
                for line, _, _ in _file_lines(uri, settings, skip_header=False):
                    yield line.decode("utf-8", errors="replace")

    return spark.sparkContext.parallelize(uris, _slices(spark, len(uris))).mapPartitions(read)


def parquet_schema(uri: str, settings: S3Settings):
    """The Arrow schema in a Parquet object's footer, from two ranged GETs (the object is not downloaded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    end = fetch_range(uri, settings, "bytes=-8")
    if len(end) < 8 or end[4:] != b"PAR1":
        raise UnreadableInputError(f"dataset_source: {uri} is not a Parquet file (no PAR1 footer)")
    n = int.from_bytes(end[:4], "little")
    tail = fetch_range(uri, settings, f"bytes=-{n + 8}")
    try:
        return pq.read_schema(pa.BufferReader(b"PAR1" + tail))
    except (pa.ArrowException, OSError) as e:
        raise UnreadableInputError(f"dataset_source: {uri} has an unreadable Parquet footer: {e}") from None


def parquet_frame(spark, uris: list[str], settings: S3Settings | None = None):
    """The Parquet objects as one DataFrame with the first object's schema, decoded by pyarrow in the executors."""
    from pyspark.sql.pandas.types import from_arrow_schema

    settings = settings or S3Settings.from_environment()
    schema = parquet_schema(uris[0], settings)

    def read(batches):
        import pyarrow as pa
        import pyarrow.parquet as pq

        for batch in batches:
            for uri in batch.column(0).to_pylist():
                try:
                    table = pq.read_table(pa.BufferReader(fetch(uri, settings, "dataset_source")))
                    table = table.select(schema.names).cast(schema)
                except (pa.ArrowException, KeyError) as e:
                    raise UnreadableInputError(f"dataset_source: {uri} cannot be read as Parquet with the "
                                               f"schema of {uris[0]}: {e}") from None
                yield from table.to_batches()

    keys = spark.sparkContext.parallelize([(u,) for u in uris], _slices(spark, len(uris))).toDF("uri string")
    return keys.mapInArrow(read, from_arrow_schema(schema))
