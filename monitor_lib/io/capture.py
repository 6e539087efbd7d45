"""SageMaker data-capture files: list one time window, decode the records into named values.

Listing (:func:`list_capture_files`): ``dataset_source`` is walked recursively; folders laid out as
``…/yyyy/mm/dd/hh`` (the capture layout ``{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl``) are only
descended into when they overlap ``[start_time, end_time)``; files outside such folders (a flat
directory) are all read and filtered by their records' time.

Decoding (:func:`capture_entries`) happens in Spark, one expression per line, no Python UDF, in the stages
of :mod:`monitor_lib.io.capture_stages`:

1. A blank line (white space only) is skipped (``blank_line``). A line over
   :data:`~monitor_lib.io.capture_stages.MAX_LINE_BYTES` (16 MiB) is ``record_too_large`` (never parsed);
   not valid UTF-8, ``invalid_utf8``; not a JSON object, ``malformed_json`` — or ``too_deeply_nested`` when
   it nests deeper than Spark's parser accepts (:data:`~monitor_lib.io.capture_stages.MAX_JSON_DEPTH`); a
   JSON object without ``captureData``, ``not_a_capture_record``. Shadow-experiment traffic
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
     does not parse is ``malformed_payload`` (``too_deeply_nested`` when nested too deep); an object that
     names a key twice is ``duplicate_key`` (no rule would count its feature once and say which value).
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
import os
import re
from datetime import UTC, datetime, timedelta

from monitor_lib.io import capture_stages as stage
from monitor_lib.io.capture_stages import CAPTURE_SCHEMA, RECORD, REJECT, SKIP, CaptureSpec  # noqa: F401
from monitor_lib.io.storage import list_data_files
from monitor_lib.timefmt import iso_utc

log = logging.getLogger(__name__)


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


def read_capture_lines(spark, files: list[str]):
    """Every line of the capture files (gzip handled) with its file — blank lines too: the stages count them
    (``blank_line``), so that every line read ends profiled, rejected or skipped."""
    from pyspark.sql import functions as F

    from monitor_lib.io import s3
    from monitor_lib.io.storage import spark_reads_s3

    if files and s3.is_s3(files[0]) and not spark_reads_s3():  # read by boto3 in the executors
        return s3.lines_frame(spark, files, keep_blank=True).select("line", "file")
    return spark.read.text(files).select(F.col("value").alias("line"), F.input_file_name().alias("file"))


def capture_entries(lines, spec: CaptureSpec, carry: tuple[str, ...] = (), fast: bool = True):
    """Add ``entries: array<struct<c, s>>`` to a frame of capture ``line``s (see the module docstring).
    ``carry``: more columns of ``lines`` kept (a backfill's window index, its bounds for ``spec.bounds``, the
    rows' order). ``fast``: decode the common lines by the fast path of :mod:`~monitor_lib.io.capture_stages`
    and the narrow envelope :data:`~monitor_lib.io.capture_stages.ENTRY_SCHEMA` — the same entries; False
    parses the whole :data:`~monitor_lib.io.capture_stages.CAPTURE_SCHEMA` and runs every line through the
    stages: the reference the tests compare the fast path to)."""
    from pyspark.sql import functions as F

    width = max(len(spec.names), 1) + 1  # one more than any valid CSV record needs: detects extra fields
    parts = {"in": "endpointInput", "out": "endpointOutput"}
    chosen = [p for p, name in parts.items() if name in spec.parts]
    df = stage.parse_lines(lines, carry, stage.ENTRY_SCHEMA if fast else stage.CAPTURE_SCHEMA)
    j = F.col("j")
    df = df.select("line", "file", *carry, stage.line_verdict(spec, j).alias("verdict"),
                   *[c for p in chosen for c in stage.part_fields(p, j["captureData"][parts[p]])])
    keep = [F.col("line"), F.col("file"), *[F.col(c) for c in carry], F.col("verdict")]
    fields = [f"{p}_{x}" for p in chosen for x in ("has", "enc", "ct", "data", "raw")]
    if fast:  # one projection per stage: each parse runs once per value
        df = df.select(*keep, *fields, *[c for p in chosen for c in stage.fast_kind(p)])
        df = df.select(*keep, *fields, *[c for p in chosen for c in stage.fast_parse(p)])
        df = df.select(*keep, *fields, *[c for p in chosen for c in stage.fast_part(p)])
        df = df.select(*keep, *fields, *stage.fast_pairs(spec, chosen))
        df = df.select(*keep, *fields, stage.fast_entries().alias("fast"))
        done = F.col("fast").isNotNull()
        # the stages see no part of a line the fast path decoded: their expressions skip it at the cost of a null
        df = df.select(*keep, "fast", *[(F.col(c) & ~done if c.endswith("_has") else F.when(~done, F.col(c))).alias(c)
                                        for c in fields])
        keep.append(F.col("fast"))
    df = df.select(*keep, *[c for p in chosen for c in stage.part_text(p)])
    df = df.select(*keep, *[c for p in chosen for c in (
        [F.col(f"{p}_fmt"), F.col(f"{p}_text"), F.col(f"{p}_err"), *stage.part_json_documents(p)])])
    df = df.select(*keep, *[c for p in chosen for c in [F.col(f"{p}_err"), *stage.part_record_texts(p)]])
    df = df.select(*keep, *[c for p in chosen for c in (
        [F.col(f"{p}_err"), F.col(f"{p}_fmt"), *stage.parse_record_texts(p, width)])])
    df = df.select(*keep, *[c for p in chosen for c in stage.part_records(p, width)])
    for p in parts:
        if p not in chosen:
            df = df.withColumns({f"{p}_err": F.lit(None).cast("string"), f"{p}_fmt": F.lit(None).cast("string"),
                                 f"{p}_records": F.lit(None).cast(stage.RECORDS_TYPE)})
    entries = stage.record_entries(spec)
    if fast:
        entries = F.when(F.col("fast").isNotNull(), F.col("fast")).otherwise(entries)
    return df.select("line", "file", *carry, entries.alias("entries"))


def preprocessed_entries(lines, spec: CaptureSpec, script_path: str, environment: tuple[tuple[str, str], ...] = ()):
    """Like :func:`capture_entries`, but each in-window record goes through the user's
    ``preprocess_handler`` in the executors; its flat dict is the record (``[]`` drops it)."""
    from pyspark.sql import functions as F

    from monitor_lib.io.preprocess import preprocessor_udf
    from monitor_lib.io.storage import read_text

    source = read_text(script_path, "record_preprocessor_script")
    parsed = stage.parse_lines(lines)
    staged = parsed.select("line", "file", stage.line_verdict(spec, F.col("j")).alias("verdict"))
    # the verdict goes into the UDF so the handler only sees in-window, non-shadow capture records
    handler = preprocessor_udf(source, script_path, environment)
    processed = staged.select("line", "file", "verdict", handler(F.col("line"), F.col("verdict")).alias("out"))
    out_col = F.col("out")
    as_map = F.from_json(out_col, "map<string,string>")
    named = F.transform(F.map_entries(as_map), lambda e: F.struct(e["key"].alias("c"), e["value"].alias("s")))
    entries = (
        F.when(F.col("verdict").isNotNull(), stage.marker(F.col("verdict")))
        .when(out_col == "[]", stage.marker(SKIP + "dropped_by_preprocessor"))
        .when(as_map.isNull(), stage.marker(REJECT + "malformed_payload"))
        .otherwise(F.concat(stage.marker(RECORD), named))
    )
    return processed.select("line", "file", entries.alias("entries"))


# ------------------------------------------------------------------ many windows in one job (a backfill)

WINDOW_COLUMNS = ("w", "w_start", "w_end")
"""The columns :func:`window_lines` adds: the window index and its bounds (microseconds since the epoch), the
per-row bounds of ``CaptureSpec(bounds=("w_start", "w_end"))``."""

LINE_ORDER = ("o_size", "o_file", "o_block", "o_row")
"""The columns :func:`window_lines` adds to order a window's lines as a single run of that window reads them:
Spark's file reader orders a scan's files by size, largest first (ties in the order given), then the lines of a
file in order (blocks by their offset, rows within a block); the boto3 reader of ``s3://`` capture reads the
files in the order given, line by line."""


def spark_file_name(uri: str) -> str:
    """A file name as written by the listing and as Spark's ``input_file_name()`` spells it, made comparable:
    ``file:`` URIs and percent-encoding removed, ``s3a://`` / ``s3n://`` read as ``s3://``."""
    from urllib.parse import unquote

    text = unquote(uri)
    for scheme in ("s3a://", "s3n://"):
        if text.startswith(scheme):
            return "s3://" + text[len(scheme):]
    if text.startswith("file://"):
        text = text[len("file://"):]
    elif text.startswith("file:"):
        text = text[len("file:"):]
    return text if "://" in text else os.path.abspath(text)  # a relative listing (demo-output/capture/...)


def window_lines(spark, files_by_window: list[list[str]], bounds: list[tuple[datetime, datetime]]):
    """The lines of the capture files of many windows, each file read once, each line repeated for every
    window whose file list holds its file (as a single run of that window would read it): columns ``line``,
    ``file``, :data:`WINDOW_COLUMNS` and :data:`LINE_ORDER`. ``files_by_window[i]`` is window ``i``'s
    :func:`list_capture_files`, ``bounds[i]`` its ``[start, end)``. Returns None when no window has a file."""
    from pyspark.sql import functions as F

    from monitor_lib.io import s3
    from monitor_lib.io.storage import spark_reads_s3

    union = sorted({f for files in files_by_window for f in files})
    if not union:
        return None
    index = {f: i for i, f in enumerate(union)}
    windows: dict[str, list[int]] = {}
    for w, files in enumerate(files_by_window):
        for f in files:
            windows.setdefault(f, []).append(w)
    if s3.is_s3(union[0]) and not spark_reads_s3():  # read by boto3 in the executors, in the order given
        lines = s3.lines_frame(spark, union, keep_blank=True).select(
            "line", "file", F.lit(0).cast("long").alias("o_size"), F.lit(0).cast("long").alias("o_block"),
            F.col("pos").alias("o_row"))
        names = {f: f for f in union}
    else:
        frame = spark.read.text(union)
        lines = frame.select(F.col("value").alias("line"), F.input_file_name().alias("file"),
                             (-F.col("_metadata.file_size")).alias("o_size"),
                             F.col("_metadata.file_block_start").alias("o_block"),
                             F.monotonically_increasing_id().alias("o_row"))
        by_name = {spark_file_name(f): f for f in union}
        names = {spark: by_name[spark_file_name(spark)] for spark in frame.inputFiles()
                 if spark_file_name(spark) in by_name}
        unmatched = set(union) - set(names.values())
        if unmatched:  # never seen; a line whose file is not in the map would be lost, so refuse
            raise RuntimeError(f"cannot match Spark's names of {len(unmatched)} capture file(s), e.g. "
                               f"{sorted(unmatched)[0]}, to the listing")
    file_info = F.create_map(*[x for spark_name, f in names.items() for x in (
        F.lit(spark_name), F.struct(F.lit(index[f]).alias("i"), F.array(*[F.lit(w) for w in windows[f]]).alias("w")))])
    starts = F.array(*[F.lit(stage._micros(s)) for s, _ in bounds])
    ends = F.array(*[F.lit(stage._micros(e)) for _, e in bounds])
    info = F.element_at(file_info, F.col("file"))
    tagged = lines.select("line", "file", "o_size", "o_block", "o_row", info["i"].alias("o_file"),
                          F.explode(info["w"]).alias("w"))
    w1 = F.col("w") + 1
    return tagged.select("line", "file", "w", F.element_at(starts, w1).alias("w_start"),
                         F.element_at(ends, w1).alias("w_end"), *LINE_ORDER)
