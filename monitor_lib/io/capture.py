"""SageMaker data-capture files: list one time window, decode the records into named values.

Listing (:func:`list_capture_files`): ``dataset_source`` is walked recursively; folders laid out as
``…/yyyy/mm/dd/hh`` (the capture layout ``{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl``) are only
descended into when they overlap ``[start_time, end_time)``; files outside such folders (a flat
directory) are all read and filtered by their records' time.

Decoding (:func:`capture_entries`) happens in Spark, one expression per line, no Python UDF:

1. A line that is not valid UTF-8 is ``invalid_utf8``; not a JSON object, ``malformed_json``; a JSON
   object without ``captureData``, ``not_a_capture_record``. Shadow-experiment traffic
   (``eventMetadata.invocationSource == "ShadowExperiment"``) is skipped, as the real image does.
   ``eventMetadata.inferenceTime`` missing or unparseable is ``missing_inference_time``; records
   outside ``[start_time, end_time)`` are skipped (``outside_window``).
2. Each part named by ``captureIndexNames`` (``endpointInput``, ``endpointOutput``) is decoded by its
   ``encoding``: ``CSV`` and ``JSON`` as text, ``BASE64`` decoded (``invalid_base64``; bytes that are not
   UTF-8 are ``invalid_utf8``) and then parsed by its ``observedContentType`` (``…csv…`` or ``…json…``,
   else ``unsupported_content_type``). Another encoding is ``unsupported_encoding``. A part absent from
   the record contributes nothing (capture mode Input or Output only).
3. A payload holds one or more *records*:
   * CSV: one record per line (a trailing newline is ignored), fields by position.
   * JSON: ``{"instances": [...]}``, ``{"inputs": [...]}``, ``{"predictions": [...]}`` and
     ``{"outputs": [...]}`` hold one record per element (TF Serving's convention: ``{"instances":
     [1.0, 2.0]}`` is two one-value records); a bare array of arrays or of objects holds one record per
     element; a bare array of scalars is one record by position; an object is one record by key
     (``{"features": [...]}`` — the SageMaker algorithms' shape — is one record by position); a scalar is
     a one-value record. ``application/jsonlines`` payloads hold one such JSON text per line. Text that
     does not parse is ``malformed_payload``.
   The input's and the output's records pair up by index; different counts are
   ``record_count_mismatch``; an empty list of records is skipped (``empty_payload``).
4. Names: a record by key keeps its keys. Values by position take the baseline's feature names —
   the outputs the first names (``output_columns_position`` START) or the last ones (END), the inputs
   the names at the other end. When input and output are both positional their counts must add up to
   the number of baseline features, else the record is ``wrong_field_count``; a single positional
   part must not have more values than there are names. Keys absent from the baseline become extra
   columns.

Every line yields *entries* ``(c, s)``: one ``(name, value)`` per value of each good record plus one
marker per record: ``RECORD`` for a profiled record, ``REJECT + kind`` for a rejected one and
``SKIP + kind`` for a skipped one. The profiler groups the entries by ``c``, so the markers' group sizes
are the record counts — all in the same single aggregation.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.io.storage import list_data_files
from monitor_lib.spark import is_valid_utf8
from monitor_lib.timefmt import iso_utc

log = logging.getLogger(__name__)

RECORD = "\x00record"
REJECT = "\x00reject:"
SKIP = "\x00skip:"

_WRAPPERS = ("instances", "inputs", "predictions", "outputs")
_PART = "struct<observedContentType: string, mode: string, data: string, encoding: string>"
CAPTURE_SCHEMA = (
    f"captureData struct<endpointInput: {_PART}, endpointOutput: {_PART}>, "
    "eventMetadata struct<eventId: string, inferenceId: string, inferenceTime: string, invocationSource: string>, "
    "eventVersion string, __bad string"
)


# ------------------------------------------------------------------ listing


def folder_range(parts: list[str]) -> tuple[datetime, datetime] | None:
    """The time span a ``…/yyyy[/mm[/dd[/hh]]]`` folder covers, or None when it is not a date folder."""
    for i, part in enumerate(parts):
        if re.fullmatch(r"\d{4}", part) and 1970 <= int(part) <= 2999:
            rest = parts[i + 1:]
            if len(rest) > 3 or not all(re.fullmatch(r"\d{2}", p) for p in rest):
                continue
            values = [int(part), *(int(p) for p in rest)]
            try:
                start = datetime(values[0], *(values[1:3] or [1]), *([1] if len(values) < 3 else []),
                                 tzinfo=UTC) if len(values) < 4 else datetime(*values, tzinfo=UTC)
            except ValueError:
                return None
            if len(values) == 1:
                return start, start.replace(year=start.year + 1)
            if len(values) == 2:
                return start, (start.replace(day=28) + timedelta(days=4)).replace(day=1)
            if len(values) == 3:
                return start, start + timedelta(days=1)
            return start, start + timedelta(hours=1)
    return None


def list_capture_files(source: str, start: datetime | None, end: datetime | None) -> list[str]:
    """Capture files under ``source`` whose hour folder overlaps ``[start, end)`` (all files when no window)."""

    def keep(parts: list[str]) -> bool:
        span = folder_range(parts)
        if span is None:
            return True
        lo, hi = span
        return (end is None or lo < end) and (start is None or hi > start)

    files = list_data_files(source, keep_dir=keep, allow_empty=True)
    log.info("capture window %s – %s: %d file(s) under %s", iso_utc(start) or "-∞", iso_utc(end) or "+∞",
             len(files), source)
    return files


# ------------------------------------------------------------------ decoding


@dataclass(frozen=True)
class CaptureSpec:
    """How to turn capture lines into named values."""

    names: tuple[str, ...]  # baseline feature names, in order
    fmt: DatasetFormat
    start: datetime | None = None
    end: datetime | None = None

    @property
    def parts(self) -> tuple[str, ...]:
        return self.fmt.capture_index_names


def _micros(t: datetime) -> int:
    return int((t - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def read_capture_lines(spark, files: list[str]):
    """The raw lines of the capture files (gzip handled), empty lines dropped, with their file."""
    from pyspark.sql import functions as F

    from monitor_lib.io import s3
    from monitor_lib.io.storage import spark_reads_s3

    if files and s3.is_s3(files[0]) and not spark_reads_s3():  # read by boto3 in the executors
        return s3.lines_frame(spark, files).select("line", "file")
    df = spark.read.text(files).select(F.col("value").alias("line"), F.input_file_name().alias("file"))
    return df.where(F.length(F.trim("line")) > 0)


def _parsed_lines(lines):
    from pyspark.sql import functions as F

    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "__bad"}
    return lines.select("line", "file", F.from_json("line", CAPTURE_SCHEMA, options).alias("j"))


def _line_verdict(spec: CaptureSpec, j):
    """REJECT/SKIP + reason for a line that yields no record, else null (``j``: the parsed line)."""
    from pyspark.sql import functions as F

    line = F.col("line")
    ts = F.try_to_timestamp(j["eventMetadata"]["inferenceTime"])
    us = F.unix_micros(ts)
    kind = (
        F.when(~is_valid_utf8(line), F.lit(REJECT + "invalid_utf8"))
        .when(j.isNull() | j["__bad"].isNotNull() | ~F.ltrim(line).startswith("{"), F.lit(REJECT + "malformed_json"))
        .when(j["captureData"].isNull(), F.lit(REJECT + "not_a_capture_record"))
        .when(F.coalesce(j["eventMetadata"]["invocationSource"], F.lit("")) == "ShadowExperiment",
              F.lit(SKIP + "shadow_experiment"))
        .when(ts.isNull(), F.lit(REJECT + "missing_inference_time"))
    )
    if spec.start is not None:
        kind = kind.when(us < F.lit(_micros(spec.start)), F.lit(SKIP + "outside_window"))
    if spec.end is not None:
        kind = kind.when(us >= F.lit(_micros(spec.end)), F.lit(SKIP + "outside_window"))
    return kind


# Each stage is a separate projection so that every parse runs once per value: Spark does not
# eliminate common subexpressions inside CASE branches or lambda functions.


def _stage_raw(p: str, part) -> list:
    from pyspark.sql import functions as F

    enc = F.upper(F.trim(part["encoding"]))
    return [
        part.isNotNull().alias(f"{p}_has"),
        enc.alias(f"{p}_enc"),
        F.lower(F.coalesce(part["observedContentType"], F.lit(""))).alias(f"{p}_ct"),
        part["data"].alias(f"{p}_data"),
        F.when(enc == "BASE64", F.try_to_binary(part["data"], F.lit("base64"))).alias(f"{p}_raw"),
    ]


def _stage_text(p: str) -> list:
    """format (csv | json | jsonl), decoded text and decoding error of a part."""
    from pyspark.sql import functions as F

    has, enc, ctype, data, raw = (F.col(f"{p}_{x}") for x in ("has", "enc", "ct", "data", "raw"))
    text = F.when(enc.isin("CSV", "JSON"), data).when(enc == "BASE64", raw.cast("string"))
    is_jsonl = ctype.contains("jsonl") | ctype.contains("json-lines") | ctype.contains("jsonlines")
    fmt = (
        F.when(enc == "CSV", F.lit("csv"))
        .when((enc == "JSON") & is_jsonl, F.lit("jsonl"))
        .when(enc == "JSON", F.lit("json"))
        .when((enc == "BASE64") & ctype.contains("csv"), F.lit("csv"))
        .when((enc == "BASE64") & is_jsonl, F.lit("jsonl"))
        .when((enc == "BASE64") & ctype.contains("json"), F.lit("json"))
    )
    error = (
        F.when(~has, F.lit(None).cast("string"))
        .when(enc.isNull() | ~enc.isin("CSV", "JSON", "BASE64"), F.lit("unsupported_encoding"))
        .when(data.isNull(), F.lit("malformed_payload"))
        .when((enc == "BASE64") & raw.isNull(), F.lit("invalid_base64"))
        .when(~is_valid_utf8(text), F.lit("invalid_utf8"))
        .when(fmt.isNull(), F.lit("unsupported_content_type"))
    )
    ok = has & error.isNull()
    return [F.when(ok, fmt).alias(f"{p}_fmt"), F.when(ok, F.trim(text)).alias(f"{p}_text"), error.alias(f"{p}_err")]


def _stage_json_prep(p: str) -> list:
    """For JSON payloads: the wrapper's value and the bare array, parsed once."""
    from pyspark.sql import functions as F

    fmt, t = F.col(f"{p}_fmt"), F.col(f"{p}_text")
    wrapped = F.coalesce(*[F.get_json_object(t, f"$.{w}") for w in _WRAPPERS])
    return [
        F.when((fmt == "json") & t.startswith("{"), F.trim(wrapped)).alias(f"{p}_wrapped"),
        F.when((fmt == "json") & t.startswith("["), F.from_json(t, "array<string>")).alias(f"{p}_bare"),
    ]


def _stage_texts(p: str) -> list:
    """The part's record texts: CSV lines, JSON lines, or the JSON records of one document."""
    from pyspark.sql import functions as F

    fmt, t, wrapped, bare = (F.col(f"{p}_{x}") for x in ("fmt", "text", "wrapped", "bare"))
    first = F.trim(F.try_element_at(bare, F.lit(1)))
    nested = F.coalesce(first.startswith("[") | first.startswith("{"), F.lit(False))
    lines = F.filter(F.split(t, r"\r?\n"), lambda x: F.length(F.trim(x)) > 0)
    texts = (
        F.when(fmt.isin("csv", "jsonl"), lines)
        .when(wrapped.startswith("["), F.from_json(wrapped, "array<string>"))
        .when(wrapped.isNotNull(), F.array(wrapped))
        .when(nested, bare)
        .when(fmt == "json", F.array(t))
    )
    return [fmt.alias(f"{p}_fmt"), texts.alias(f"{p}_texts")]


def _stage_parse(p: str, width: int) -> list:
    """Parse every record text once: CSV fields (and their count), or JSON as a map and as an array."""
    from pyspark.sql import functions as F

    fmt, texts = F.col(f"{p}_fmt"), F.col(f"{p}_texts")
    schema = ", ".join(f"f{i} STRING" for i in range(width))

    def csv_line(x):
        unquoted = F.regexp_replace(x, '"[^"]*"', "")
        n = F.length(unquoted) - F.length(F.regexp_replace(unquoted, ",", "")) + 1
        return F.struct(F.from_csv(x, schema).alias("p"), n.alias("n"))

    def json_text(x):
        t = F.trim(x)
        return F.struct(
            t.alias("t"),
            F.when(t.startswith("{"), F.from_json(t, "map<string,string>")).alias("m"),
            F.when(t.startswith("["), F.from_json(t, "array<string>")).alias("a"),
            F.when(~t.startswith("{") & ~t.startswith("["),
                   F.from_json(F.concat(F.lit("["), t, F.lit("]")), "array<string>")).alias("v"),
        )

    return [
        F.when(fmt == "csv", F.transform(texts, csv_line)).alias(f"{p}_csv"),
        F.when(fmt.isin("json", "jsonl"), F.transform(texts, json_text)).alias(f"{p}_json"),
    ]


def _stage_records(p: str, width: int) -> list:
    """The part's records: array of struct(pos: values by position, named: (name, value) pairs, bad)."""
    from pyspark.sql import functions as F

    csv, js = F.col(f"{p}_csv"), F.col(f"{p}_json")
    no_pairs = F.lit(None).cast("array<struct<c: string, s: string>>")

    def from_csv(x):
        values = F.array(*[x["p"][f"f{i}"] for i in range(width)])
        n = x["n"]
        return F.struct(F.when(n < width, F.slice(values, 1, n)).alias("pos"), no_pairs.alias("named"),
                        F.lit(False).alias("bad"), (n >= width).alias("too_many"))

    def from_json(x):
        m, a, v = x["m"], x["a"], x["v"]
        features = F.when(F.size(m) == 1, F.try_element_at(m, F.lit("features")))
        positional_object = F.coalesce(F.trim(features).startswith("["), F.lit(False))
        pos = F.when(m.isNotNull() & positional_object, F.from_json(features, "array<string>")).otherwise(
            F.coalesce(a, v))
        named = F.when(m.isNotNull() & ~positional_object, F.transform(
            F.map_entries(m), lambda e: F.struct(e["key"].alias("c"), e["value"].alias("s"))))
        bad = F.when(x["t"].startswith("{"), m.isNull()).otherwise(pos.isNull())
        return F.struct(F.when(~bad, pos).alias("pos"), named.alias("named"), bad.alias("bad"),
                        F.lit(False).alias("too_many"))

    records = F.coalesce(F.transform(csv, from_csv), F.transform(js, from_json))
    return [F.col(f"{p}_err"), records.alias(f"{p}_records"), F.col(f"{p}_fmt")]


def _stage_entries(spec: CaptureSpec) -> object:
    """Pair input and output records by index, name their values, one marker per record."""
    from pyspark.sql import functions as F

    names = F.array(*[F.lit(n) for n in spec.names]) if spec.names else F.array().cast("array<string>")
    n_names = len(spec.names)
    start = spec.fmt.output_columns_position == "START"
    empty_pairs = F.array().cast("array<struct<c: string, s: string>>")
    ins, outs = F.col("in_records"), F.col("out_records")

    def name_pairs(pos, first: bool):
        """Positional values named from the first (``first``) or the last baseline names."""
        offset = F.lit(0) if first else F.lit(n_names) - F.size(pos)
        return F.coalesce(F.transform(pos, lambda v, i: F.struct(
            F.try_element_at(names, offset + i + 1).alias("c"), v.alias("s"))), empty_pairs)

    def entries(pair):
        i, o = pair["i"], pair["o"]
        n_ip = F.coalesce(F.size(i["pos"]), F.lit(0))
        n_op = F.coalesce(F.size(o["pos"]), F.lit(0))
        both_positional = i["pos"].isNotNull() & o["pos"].isNotNull()
        wrong = (
            F.coalesce(i["too_many"], F.lit(False)) | F.coalesce(o["too_many"], F.lit(False))
            | F.when(both_positional, n_ip + n_op != n_names).otherwise((n_ip > n_names) | (n_op > n_names))
        )
        bad = F.coalesce(i["bad"], F.lit(False)) | F.coalesce(o["bad"], F.lit(False))
        pairs = F.concat(
            name_pairs(o["pos"], start), F.coalesce(o["named"], empty_pairs),
            name_pairs(i["pos"], not start), F.coalesce(i["named"], empty_pairs),
        )
        marker = (F.when(bad, F.lit(REJECT + "malformed_payload"))
                  .when(wrong, F.lit(REJECT + "wrong_field_count"))
                  .otherwise(F.lit(RECORD)))
        head = F.array(F.struct(marker.alias("c"), F.lit(None).cast("string").alias("s")))
        return F.when(marker == RECORD, F.concat(head, pairs)).otherwise(head)

    n_in, n_out = F.size(ins), F.size(outs)
    empty_records = F.array().cast(_RECORD_TYPE)
    zipped = F.arrays_zip(F.coalesce(ins, empty_records).alias("i"), F.coalesce(outs, empty_records).alias("o"))
    part_error = F.coalesce(F.col("in_err"), F.col("out_err"))
    return (
        F.when(F.col("verdict").isNotNull(), _marker(F.col("verdict")))
        .when(part_error.isNotNull(), _marker(F.concat(F.lit(REJECT), part_error)))
        .when((F.col("in_fmt").isNotNull() & ins.isNull()) | (F.col("out_fmt").isNotNull() & outs.isNull()),
              _marker(REJECT + "malformed_payload"))
        .when(ins.isNotNull() & outs.isNotNull() & (n_in != n_out), _marker(REJECT + "record_count_mismatch"))
        .when(F.coalesce(n_in, F.lit(0)) + F.coalesce(n_out, F.lit(0)) == 0, _marker(SKIP + "empty_payload"))
        .otherwise(F.flatten(F.transform(zipped, entries)))
    )


_RECORD_TYPE = ("array<struct<pos: array<string>, named: array<struct<c: string, s: string>>, bad: boolean, "
                "too_many: boolean>>")


def _marker(c):
    from pyspark.sql import functions as F

    c = F.lit(c) if isinstance(c, str) else c
    return F.array(F.struct(c.alias("c"), F.lit(None).cast("string").alias("s")))


def capture_entries(lines, spec: CaptureSpec):
    """Add ``entries: array<struct<c, s>>`` to a frame of capture ``line``s (see the module docstring)."""
    from pyspark.sql import functions as F

    width = max(len(spec.names), 1) + 1  # one more than any valid CSV record needs: detects extra fields
    parts = {"in": "endpointInput", "out": "endpointOutput"}
    chosen = [p for p, name in parts.items() if name in spec.parts]
    df = _parsed_lines(lines)
    j = F.col("j")
    df = df.select("line", "file", _line_verdict(spec, j).alias("verdict"),
                   *[c for p in chosen for c in _stage_raw(p, j["captureData"][parts[p]])])
    keep = [F.col("line"), F.col("file"), F.col("verdict")]
    df = df.select(*keep, *[c for p in chosen for c in _stage_text(p)])
    df = df.select(*keep, *[c for p in chosen for c in (
        [F.col(f"{p}_fmt"), F.col(f"{p}_text"), F.col(f"{p}_err"), *_stage_json_prep(p)])])
    df = df.select(*keep, *[c for p in chosen for c in [F.col(f"{p}_err"), *_stage_texts(p)]])
    df = df.select(*keep, *[c for p in chosen for c in [F.col(f"{p}_err"), F.col(f"{p}_fmt"), *_stage_parse(p, width)]])
    df = df.select(*keep, *[c for p in chosen for c in _stage_records(p, width)])
    for p in parts:
        if p not in chosen:
            df = df.withColumns({f"{p}_err": F.lit(None).cast("string"), f"{p}_fmt": F.lit(None).cast("string"),
                                 f"{p}_records": F.lit(None).cast(_RECORD_TYPE)})
    return df.select("line", "file", _stage_entries(spec).alias("entries"))


def preprocessed_entries(lines, spec: CaptureSpec, script_path: str, environment: tuple[tuple[str, str], ...] = ()):
    """Like :func:`capture_entries`, but each in-window record goes through the user's
    ``preprocess_handler`` in the executors; its flat dict is the record (``[]`` drops it)."""
    from pyspark.sql import functions as F

    from monitor_lib.io.preprocess import preprocessor_udf
    from monitor_lib.io.storage import read_text

    source = read_text(script_path, "record_preprocessor_script")
    parsed = _parsed_lines(lines)
    staged = parsed.select("line", "file", _line_verdict(spec, F.col("j")).alias("verdict"))
    # the verdict goes into the UDF so the handler only sees in-window, non-shadow capture records
    handler = preprocessor_udf(source, script_path, environment)
    processed = staged.select("line", "file", "verdict", handler(F.col("line"), F.col("verdict")).alias("out"))
    out_col = F.col("out")
    as_map = F.from_json(out_col, "map<string,string>")
    named = F.transform(F.map_entries(as_map), lambda e: F.struct(e["key"].alias("c"), e["value"].alias("s")))
    entries = (
        F.when(F.col("verdict").isNotNull(), _marker(F.col("verdict")))
        .when(out_col == "[]", _marker(SKIP + "dropped_by_preprocessor"))
        .when(as_map.isNull(), _marker(REJECT + "malformed_payload"))
        .otherwise(F.concat(_marker(RECORD), named))
    )
    return processed.select("line", "file", entries.alias("entries"))
