"""Locate the ground truth, the prediction and the probability of every record, in Spark.

The result of :func:`labelled_records` is a frame of strings, one row per record::

    status  null (a record to evaluate) | "reject" | "skip"
    kind    why a record is rejected or skipped (null for a good one)
    file, line   where it came from (for the rejected-records sample)
    truth, pred, prob   the located values as text (null when absent)

Attributes (``inference_attribute``, ``probability_attribute``, ``ground_truth_attribute``):

* csv datasets: a header name, or a 0-based position (``_c3`` works for header-less files too);
* parquet: a column name or position; json: a simple JSON path (``$.a.b``, ``$[0]``, ``$['a b']``) or a
  bare key (``label`` = ``$.label``);
* merged records (``sagemakerMergeJson``): the prediction and probability come from the decoded
  ``captureData.endpointOutput`` — by position for CSV payloads (``"0"`` is the first field), by JSON path
  for JSON payloads (a position ``i`` is ``$[i]``; position 0 of a scalar payload is the scalar). The
  ground truth is ``groundTruthData.data`` (CSV: the field at ``ground_truth_attribute``, default 0;
  JSON: the value at ``ground_truth_attribute``, default the whole value). One capture record holds one
  prediction: a CSV payload with several lines is rejected as ``multiple_records``.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from monitor_lib.errors import ConfigError
from monitor_lib.io.dataset_format import DatasetFormat

if TYPE_CHECKING:  # the parameters of the model-quality monitor: an annotation only, no import at run time
    from monitor_lib.monitors.model_quality import ModelQualityParams

log = logging.getLogger(__name__)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def json_path(attribute: str) -> str:
    """The JSON path an attribute means: ``$…`` as given, ``3`` → ``$[3]``, ``a.b`` → ``$.a.b``,
    anything else → ``$['…']``."""
    a = attribute.strip()
    if a.startswith("$"):
        return a
    if a.isdigit():
        return f"$[{a}]"
    if _IDENT.fullmatch(a):
        return "$." + a
    return "$['" + a.replace("'", "\\'") + "']"


def column_index(attribute: str, names: list[str], field: str, source: str) -> int:
    """The position of a column given by name or 0-based position."""
    if attribute in names:
        return names.index(attribute)
    a = attribute.strip()
    m = re.fullmatch(r"_c(\d+)", a)
    if a.isdigit() or m:
        i = int(m.group(1) if m else a)
        if i < len(names):
            return i
    shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
    raise ConfigError(f"{field} {attribute!r} is not a column of {source}: give a name or a 0-based position "
                      f"among the {len(names)} columns ({shown})")


def _attributes(config: ModelQualityParams) -> dict[str, tuple[str, str]]:
    """output name -> (parameter name, attribute) of the values to locate."""
    attrs = {}
    if config.ground_truth_attribute:
        attrs["truth"] = ("ground_truth_attribute", config.ground_truth_attribute)
    if config.inference_attribute:
        attrs["pred"] = ("inference_attribute", config.inference_attribute)
    if config.probability_attribute:
        attrs["prob"] = ("probability_attribute", config.probability_attribute)
    return attrs


def _frame(df, status, kind, file, line, values: dict, carry: tuple[str, ...] = ()):
    from pyspark.sql import functions as F

    none = F.lit(None).cast("string")
    return df.select(
        *carry, status.alias("status"), kind.alias("kind"), file.alias("file"), line.alias("line"),
        *[(values.get(c, none)).cast("string").alias(c) for c in ("truth", "pred", "prob")],
    )


def labelled_records(spark, config: ModelQualityParams, source: str | None = None,
                     fmt: DatasetFormat | None = None):
    """(frame, files) of a labelled dataset (csv / json / parquet) or of merged records."""
    source = source or config.dataset_source
    fmt = fmt or config.dataset_format
    if fmt.kind == "merge":
        return _merged_records(spark, config, source, fmt)
    return _dataset_records(spark, config, source, fmt)


def _dataset_records(spark, config: ModelQualityParams, source: str, fmt: DatasetFormat):
    from pyspark.sql import functions as F

    from monitor_lib.io.readers import CORRUPT_COLUMN, read_dataset

    dataset = read_dataset(spark, source, fmt)
    df = dataset.df
    attrs = _attributes(config)
    if fmt.kind == "json":
        # JSON paths address the record as a document: rebuild its text (nested values keep their shape)
        doc = _document(dataset)
        values = {out: F.get_json_object(doc, json_path(a)) for out, (_, a) in attrs.items()}
    else:
        values = {}
        for out, (field, a) in attrs.items():
            name = dataset.internal_names[column_index(a, dataset.names, field, source)]
            values[out] = F.col(name) if fmt.kind == "csv" else _as_text(F.col(name), df.schema[name].dataType)
    line = record_text(dataset)
    corrupt = F.col(CORRUPT_COLUMN).isNotNull() if dataset.corrupt_column else F.lit(False)
    status = F.when(corrupt, F.lit("reject"))
    kind = F.when(corrupt, F.lit(dataset.reject_kind))
    frame, file = dataset.frame_with_file()
    return _frame(frame, status, kind, file, line, values), dataset.files


def record_text(dataset):
    """A record as its file holds it, for samples of rejected records: a CSV line (empty fields kept), or a JSON
    document; a malformed record's own text."""
    from pyspark.sql import functions as F

    from monitor_lib.io.readers import CORRUPT_COLUMN

    if dataset.format.kind == "csv":
        text = F.concat_ws(",", *[F.coalesce(F.col(c), F.lit("")) for c in dataset.internal_names])
    else:
        text = _document(dataset)
    return F.coalesce(F.col(CORRUPT_COLUMN), text) if dataset.corrupt_column else text


def _document(dataset):
    """The record as a JSON object with its original column names."""
    from pyspark.sql import functions as F

    return F.to_json(F.struct(*[F.col(c).alias(n) for c, n in zip(dataset.internal_names, dataset.names,
                                                                    strict=True)]))


def _as_text(col, data_type):
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if isinstance(data_type, (T.StructType, T.ArrayType, T.MapType)):
        return F.to_json(col)
    return col.cast("string")


def _merged_records(spark, config: ModelQualityParams, source: str, fmt: DatasetFormat):
    """Merged records (a capture record + ``groundTruthData``) of the window."""

    df, files = merged_payloads(spark, source, fmt, config.start_time, config.end_time)
    if df is None:
        return None, files
    return _merged_values(df, config), files


def _merged_values(df, config: ModelQualityParams, carry: tuple[str, ...] = ()):
    from pyspark.sql import functions as F

    truth = payload_value("gt", config.ground_truth_attribute, default_whole=True)
    values = {"truth": truth}
    if config.inference_attribute:
        values["pred"] = payload_value("out", config.inference_attribute)
    if config.probability_attribute:
        values["prob"] = payload_value("out", config.probability_attribute)
    status, kind = merged_verdict()
    return _frame(df, status, kind, F.col("file"), F.col("line"), values, carry)


def merged_records_windows(lines, config: ModelQualityParams, fmt: DatasetFormat | None = None):
    """The frame of :func:`labelled_records` for the merged records of many windows at once (a backfill), from
    their text instead of their files: ``lines`` has ``line``, ``file``, the window's index ``w`` and its bounds
    ``w_start`` / ``w_end`` (microseconds); the result keeps ``w``. Each record is judged as its window's single
    run judges the line it reads back from the merged file."""
    from monitor_lib.io import capture_stages as stage

    fmt = fmt or DatasetFormat("merge", capture_index_names=("endpointOutput",))
    spec = stage.CaptureSpec((), fmt, bounds=("w_start", "w_end"))
    return _merged_values(_payload_frame(lines, spec, carry=("w",)), config, carry=("w",))


def merged_payloads(spark, source: str, fmt: DatasetFormat, start, end, with_input: bool = False):
    """(frame, files) of the window's merged records: ``line``, ``file``, ``verdict`` and the decoded payloads
    ``out_*`` (the endpoint output), ``gt_*`` (the ground truth) and, ``with_input``, ``in_*`` (the request)."""

    from monitor_lib.io import capture as cap
    from monitor_lib.io import capture_stages as stage

    files = cap.list_capture_files(source, start, end)
    if not files:
        return None, files
    spec = stage.CaptureSpec((), fmt, start, end)
    lines = cap.read_capture_lines(spark, files)
    return _payload_frame(lines, spec, with_input), files


def _payload_frame(lines, spec, with_input: bool = False, carry: tuple[str, ...] = ()):
    """Merged ``lines`` parsed: the verdict of ``spec`` and the decoded payloads (see :func:`merged_payloads`);
    ``carry``: more columns kept (the window of a backfill; its bounds are read by ``spec.bounds``)."""
    from pyspark.sql import functions as F

    from monitor_lib.io import capture_stages as stage

    bounds = tuple(spec.bounds or ())
    parsed = stage.parse_lines(lines, (*carry, *bounds))
    j = F.col("j")
    gt_json = F.get_json_object("line", "$.groundTruthData")
    gt_encoding = F.get_json_object("line", "$.groundTruthData.encoding")
    gt = F.when(gt_json.isNotNull(), F.struct(
        F.when(F.upper(F.trim(gt_encoding)) == "JSON", F.lit("application/json"))
        .otherwise(F.lit("text/csv")).alias("observedContentType"),
        F.lit(None).cast("string").alias("mode"),
        F.get_json_object("line", "$.groundTruthData.data").alias("data"),
        gt_encoding.alias("encoding"),
    ))
    parts = {"out": j["captureData"]["endpointOutput"], "gt": gt}
    if with_input:
        parts["in"] = j["captureData"]["endpointInput"]
    df = parsed.select("line", "file", *carry, stage.line_verdict(spec, j).alias("verdict"),
                       *[c for p, part in parts.items() for c in stage.part_fields(p, part)])
    return df.select("line", "file", *carry, "verdict", *[f"{p}_has" for p in parts],
                     *[c for p in parts for c in stage.part_text(p)])


def merged_verdict(with_input: bool = False):
    """(status, kind) of a merged record: null for a good one, else reject / skip and why."""
    from pyspark.sql import functions as F

    from monitor_lib.io import capture_stages as stage

    verdict = F.col("verdict")
    multiple = F.col("out_fmt").isin("csv", "jsonl") & F.col("out_text").contains("\n")
    kind = F.when(verdict.isNotNull(), F.regexp_replace(verdict, "^\\x00(reject|skip):", ""))
    if with_input:
        kind = kind.when(F.col("in_err").isNotNull(), F.col("in_err")).when(
            ~F.col("in_has"), F.lit("missing_endpoint_input"))
    kind = (
        kind.when(F.col("out_err").isNotNull(), F.col("out_err"))
        .when(~F.col("out_has"), F.lit("missing_endpoint_output"))
        .when(~F.col("gt_has"), F.lit("missing_ground_truth"))
        .when(F.col("gt_err").isNotNull(), F.concat(F.lit("ground_truth_"), F.col("gt_err")))
        .when(multiple, F.lit("multiple_records"))
    )
    status = F.when(verdict.startswith(stage.SKIP), F.lit("skip")).when(kind.isNotNull(), F.lit("reject"))
    return status, kind


def payload_value(p: str, attribute: str | None, default_whole: bool = False):
    """The value at ``attribute`` of a decoded payload (``{p}_fmt``, ``{p}_text``)."""
    from pyspark.sql import functions as F

    fmt, text = F.col(f"{p}_fmt"), F.col(f"{p}_text")
    if attribute is None and default_whole:
        csv_value = csv_field(text, 0)
        json_value = F.get_json_object(text, "$")
    else:
        a = (attribute or "0").strip()
        csv_value = csv_field(text, int(a)) if a.isdigit() else F.lit(None).cast("string")
        path = json_path(a)
        json_value = F.get_json_object(text, path)
        if a == "0":  # position 0 of a scalar payload is the scalar itself
            scalar = ~F.ltrim(text).startswith("[") & ~F.ltrim(text).startswith("{")
            json_value = F.coalesce(json_value, F.when(scalar, F.get_json_object(text, "$")))
    return F.when(fmt == "csv", csv_value).when(fmt.isin("json", "jsonl"), json_value)


def csv_field(text, i: int):
    from pyspark.sql import functions as F

    field = F.try_element_at(F.split(F.trim(text), ","), F.lit(i + 1))
    return F.regexp_replace(F.trim(field), '^"(.*)"$', "$1")

