"""Dataset readers: CSV (with or without header), JSON (Lines or documents) and Parquet.

A reader returns a :class:`Dataset`: a DataFrame whose columns carry internal names ``__c0``,
``__c1``, … (so any original name — spaces, dots, backticks, unicode, duplicates — is safe in Spark
expressions) plus the original names, and the name of the column that flags malformed records.
Malformed records are never dropped silently: the profiler counts them and keeps a sample.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass

from monitor_lib.errors import EmptyDatasetError, MonitorError, UnreadableInputError
from monitor_lib.io import s3
from monitor_lib.io.dataset_format import DatasetFormat, register_format
from monitor_lib.io.storage import list_data_files, read_first_line, spark_reads_s3

log = logging.getLogger(__name__)

CORRUPT_COLUMN = "__corrupt"
FILE_COLUMN = "__file"

# What a malformed record is called in reports, by format.
REJECT_KIND = {"csv": "wrong_field_count", "json": "malformed_json"}


@dataclass
class Dataset:
    df: object  # pyspark DataFrame with columns __c0.. (+ CORRUPT_COLUMN when corrupt_column is set)
    names: list[str]  # original column names, in order
    source: str
    files: list[str]
    format: DatasetFormat
    corrupt_column: str | None = None
    with_file: object | None = None  # df + FILE_COLUMN, where Spark's input_file_name() cannot tell the file

    def frame_with_file(self):
        """(frame, column): the records with the file each came from (for samples of malformed records)."""
        from pyspark.sql import functions as F

        if self.with_file is not None:
            return self.with_file, F.col(FILE_COLUMN)
        return self.df, F.input_file_name()

    @property
    def internal_names(self) -> list[str]:
        return [internal_name(i) for i in range(len(self.names))]

    @property
    def reject_kind(self) -> str:
        return REJECT_KIND.get(self.format.kind, "malformed_record")


def internal_name(i: int) -> str:
    return f"__c{i}"


def read_dataset(spark, source: str, fmt: DatasetFormat) -> Dataset:
    files = list_data_files(source)
    log.info("reading %s: %d %s file(s)", source, len(files), fmt.kind)
    readers = _READERS.get(fmt.kind)
    if readers is None:
        raise MonitorError(f"dataset_format {fmt.kind!r} has no reader: register one with "
                           "monitor_lib.io.readers.register_reader")
    local, remote = readers
    reader = remote if s3.is_s3(source) and not spark_reads_s3() else local  # s3: boto3 in the executors
    try:
        return reader(spark, source, files, fmt)
    except MonitorError:
        raise
    except Exception as e:  # Spark failed to open a file (Parquet footer, JSON schema pass, ...)
        raise UnreadableInputError(f"dataset_source {source} cannot be read as {format_title(fmt.kind)} "
                                   f"(--format {fmt.kind}): {spark_message(e)}") from None


def format_title(kind: str) -> str:
    """``parquet`` -> ``Parquet``: a format as messages name it."""
    return {"csv": "CSV", "json": "JSON", "parquet": "Parquet"}.get(kind, kind)


def spark_message(e: Exception) -> str:
    """The first meaningful line of a Spark/Py4J error, which names the file where Spark knows it."""
    messages = []
    java = getattr(e, "java_exception", None)
    while java is not None and len(messages) < 10:  # Py4J: walk the Java cause chain
        messages.append(str(java.getMessage() or java.toString()))
        java = java.getCause()
    messages.append(str(getattr(e, "desc", None) or e))
    lines = [ln.strip() for m in messages for ln in m.splitlines()[:1] if ln.strip()]
    # prefer the innermost message that names a file, else the outermost one
    named = [ln for ln in lines if "file" in ln.lower()]
    text = named[-1] if named else (lines[0] if lines else type(e).__name__)
    return text[:500]


def csv_header(files: list[str], header: bool, source: str) -> list[str]:
    """Column names from the first line of the first non-empty file (``_c0``, ``_c1``… without header)."""
    names = _csv_names(files, header)
    if names is None:
        raise EmptyDatasetError(f"dataset_source {source} has no records: all {len(files)} file(s) are empty")
    return names


def _csv_names(files: list[str], header: bool) -> list[str] | None:
    """:func:`csv_header`, or None when every file is empty."""
    for f in files:
        line = read_first_line(f)
        if line is not None:
            fields = next(csv.reader([line]))
            if header:
                return fields
            return [f"_c{i}" for i in range(len(fields))]
    return None


def _no_records(spark, source, files, fmt) -> Dataset:
    """A dataset whose files hold no record: empty files are read like a header-only CSV (no record, no
    column), so both end the same way — a baseline refuses them, a monitoring run has no data."""
    from pyspark.sql import types as T

    log.info("dataset_source %s: all %d file(s) are empty", source, len(files))
    df = spark.createDataFrame([], T.StructType([T.StructField(CORRUPT_COLUMN, T.StringType())]))
    return Dataset(df, [], source, files, fmt, CORRUPT_COLUMN)


def _read_csv(spark, source, files, fmt) -> Dataset:
    from pyspark.sql import types as T

    names = _csv_names(files, fmt.header)
    if names is None:
        return _no_records(spark, source, files, fmt)
    # Spark compares header lines with the schema's names and warns on every file when they differ,
    # so the schema carries the real names when Spark can hold them (unique, case-insensitively),
    # and the columns are renamed by position right after.
    unique = len({n.lower() for n in names}) == len(names) and CORRUPT_COLUMN not in names
    schema_names = names if unique else [internal_name(i) for i in range(len(names))]
    schema = T.StructType(
        [T.StructField(n, T.StringType()) for n in schema_names] + [T.StructField(CORRUPT_COLUMN, T.StringType())]
    )
    # Every value is read as a string: types are inferred by Deequ's rules in the profiler, exactly as
    # SageMaker does. Empty fields are null (missing); rows with the wrong number of fields land in
    # CORRUPT_COLUMN.
    df = (
        spark.read.schema(schema)
        .option("header", fmt.header)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_COLUMN)
        .option("enforceSchema", True)
        .csv(files)
    )
    df = df.toDF(*[internal_name(i) for i in range(len(names))], CORRUPT_COLUMN)
    return Dataset(df, names, source, files, fmt, CORRUPT_COLUMN)


def _read_csv_s3(spark, source, files, fmt) -> Dataset:
    """CSV objects read in the executors: their lines (headers dropped per object) parsed by ``from_csv``
    with the same PERMISSIVE rules as Spark's CSV reader; the file of each line is kept."""
    from pyspark.sql import functions as F

    names = _csv_names(files, fmt.header)
    if names is None:
        return _no_records(spark, source, files, fmt)
    internal = [internal_name(i) for i in range(len(names))]
    ddl = ", ".join(f"{n} STRING" for n in [*internal, CORRUPT_COLUMN])
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN}
    lines = s3.lines_frame(spark, files, skip_header=fmt.header)
    with_file = lines.select(F.from_csv("line", ddl, options).alias("r"), F.col("file").alias(FILE_COLUMN)).select(
        *[F.col("r")[n].alias(n) for n in [*internal, CORRUPT_COLUMN]], FILE_COLUMN)
    return Dataset(with_file.drop(FILE_COLUMN), names, source, files, fmt, CORRUPT_COLUMN, with_file)


def _read_json_s3(spark, source, files, fmt) -> Dataset:
    """JSON objects read in the executors (one text per line, or per object for documents), parsed by
    Spark's JSON reader with the same options as local files. The file of a malformed record is not known."""
    return _read_json(spark, source, files, fmt, texts=s3.documents_rdd(spark, files, whole=not fmt.lines))


def _read_parquet_s3(spark, source, files, fmt) -> Dataset:
    df = s3.parquet_frame(spark, files)
    names = list(df.columns)
    return Dataset(df.toDF(*[internal_name(i) for i in range(len(names))]), names, source, files, fmt, None)


def _read_json(spark, source, files, fmt, texts=None) -> Dataset:
    """JSON files, or ``texts`` (an RDD of the files' JSON texts, each one document: an array is several records)."""
    # Spark infers the JSON schema with one pass over the input; that pass only decides column
    # names and types, the profile itself is still one aggregation.
    reader = spark.read.option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT_COLUMN)
    df = reader.option("multiLine", not fmt.lines).json(files) if texts is None else reader.json(texts)
    names = [c for c in df.columns if c != CORRUPT_COLUMN]
    corrupt = CORRUPT_COLUMN if CORRUPT_COLUMN in df.columns else None
    if not names and corrupt:  # not one line parsed as a JSON object (a CSV read as JSON, say)
        first = read_first_line(files[0]) if files else None
        raise UnreadableInputError(f"dataset_source {source} cannot be read as JSON (--format json): no record is "
                                   "a JSON object" + (f"; the first line is {first[:80]!r}" if first else ""))
    renamed = df.select(
        *[df[_quote(n)].alias(internal_name(i)) for i, n in enumerate(names)],
        *([df[CORRUPT_COLUMN]] if corrupt else []),
    )
    return Dataset(renamed, names, source, files, fmt, corrupt)


def _read_parquet(spark, source, files, fmt) -> Dataset:
    df = spark.read.parquet(*files)
    names = list(df.columns)
    return Dataset(df.toDF(*[internal_name(i) for i in range(len(names))]), names, source, files, fmt, None)


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# kind -> (reader of local files / Spark-readable URIs, reader of s3:// objects through boto3 in the executors)
_READERS: dict[str, tuple] = {}


def register_reader(key: str, reader, s3_reader=None) -> None:
    """An input format: ``reader(spark, source, files, fmt) -> Dataset`` for ``{"<key>": {...}}`` datasets
    (``fmt.option(name)`` gives its options); ``s3_reader`` for ``s3://`` sources where Spark has no S3
    filesystem (default: ``reader``). Registers the ``dataset_format`` key too."""
    _READERS[register_format(key)] = (reader, s3_reader or reader)


register_reader("csv", _read_csv, _read_csv_s3)
register_reader("json", _read_json, _read_json_s3)
register_reader("parquet", _read_parquet, _read_parquet_s3)
