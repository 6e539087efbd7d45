"""The records to explain, as one frame of ``status, kind, file, line, x`` (``x``: array<double>, the features
in order; ``status``/``kind`` null for a record to explain, else ``reject`` / ``skip`` and why).

* **A dataset** (csv, JSON Lines, parquet — the baseline, or a Clarify processing job's input): every column
  but ``label``, ``predicted_label`` and ``excluded_columns`` is a feature; ``headers`` name a header-less
  CSV's columns.
* **Captured requests** (``sagemakerCaptureJson``): the ``endpointInput`` of each capture line, decoded by the
  capture stages every monitor uses (:mod:`monitor_lib.io.capture_stages`: encodings, CSV / JSON / JSON Lines
  payloads, ``instances`` wrappers, several records per request), after ``features_attribute`` (a JSON path to
  the features inside a JSON request) when given. A record by position must have one value per feature; a
  record by name (a JSON object) takes the features by their names.

A feature that is not a number (or is missing) rejects its record (``feature_not_numeric``): KernelSHAP
perturbs numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor_lib.errors import ConfigError
from monitor_lib.explain.config import ExplainConfig, feature_names
from monitor_lib.io.dataset_format import DatasetFormat


@dataclass
class ExplainSource:
    frame: object  # status, kind, file, line, x
    features: list[str]
    files: list[str]


def _typed(df, x_text):
    """``x`` as doubles, with the records whose features do not all parse rejected."""
    from pyspark.sql import functions as F

    from monitor_lib.spark import try_cast_double

    x = F.transform(x_text, lambda v: try_cast_double(F.trim(v)))
    bad = F.exists(x, lambda v: v.isNull() | F.isnan(v))
    status = F.coalesce(F.col("status"), F.when(bad, F.lit("reject")))
    kind = F.coalesce(F.col("kind"), F.when(bad, F.lit("feature_not_numeric")))
    return df.select(status.alias("status"), kind.alias("kind"), "file", "line", x.alias("x"))


def dataset_records(spark, config: ExplainConfig, source: str, fmt: DatasetFormat) -> ExplainSource:
    """``spark``: a callable giving the session (the columns are checked first where the file tells them)."""
    from pyspark.sql import functions as F

    from monitor_lib.bias.records import column_names, early_column_names
    from monitor_lib.io.readers import CORRUPT_COLUMN, read_dataset
    from monitor_lib.io.storage import list_data_files
    from monitor_lib.quality.extract import _as_text, record_text

    files = list_data_files(source)
    early = column_names(config, source, fmt, early_column_names(source, fmt, files))
    if early is not None:
        _features(config, early, source)
    dataset = read_dataset(spark(), source, fmt)
    names = column_names(config, source, fmt, list(dataset.names))
    features, positions = _features(config, names, source)
    df = dataset.df
    columns = [F.col(c) if fmt.kind == "csv" else _as_text(F.col(c), df.schema[c].dataType)
               for c in dataset.internal_names]
    corrupt = F.col(CORRUPT_COLUMN).isNotNull() if dataset.corrupt_column else F.lit(False)
    frame, file = dataset.frame_with_file()
    raw = frame.select(F.when(corrupt, F.lit("reject")).alias("status"),
                       F.when(corrupt, F.lit(dataset.reject_kind)).alias("kind"), file.alias("file"),
                       record_text(dataset).alias("line"), F.array(*[columns[i] for i in positions]).alias("xs"))
    return ExplainSource(_typed(raw, F.col("xs")), features, dataset.files)


def _features(config: ExplainConfig, names: list[str], source: str) -> tuple[list[str], list[int]]:
    for what, column in (("label", config.label), *[("excluded_columns", c) for c in config.dropped]):
        if isinstance(column, str) and column not in names:
            raise ConfigError(f"{config.source}: {what} {column!r} is not a column of {source} (columns: "
                              f"{', '.join(names)})")
        if isinstance(column, int) and not 0 <= column < len(names):
            raise ConfigError(f"{config.source}: {what} {column} is not a column index of {source}: it has "
                              f"{len(names)} columns")
    label = config.label_name if config.label_name is not None else config.label
    kept = feature_names(ExplainConfig(config.shap, None, names, label, config.dropped), names)
    if not kept:
        raise ConfigError(f"{source} has no feature column left once the label and excluded columns are dropped")
    return kept, [names.index(n) for n in kept]


def capture_records(spark, config: ExplainConfig, params, source: str, fmt: DatasetFormat,
                    features: list[str]) -> tuple[ExplainSource | None, list[str]]:
    """The window's captured requests, one row per record (None when no capture file is in the window)."""
    from pyspark.sql import functions as F

    from monitor_lib.io import capture as cap
    from monitor_lib.io import capture_stages as stage
    from monitor_lib.quality.extract import json_path

    files = cap.list_capture_files(source, params.start_time, params.end_time)
    if not files:
        return None, files
    width = len(features) + 1
    spec = stage.CaptureSpec(tuple(features), fmt, params.start_time, params.end_time)
    j = F.col("j")
    df = stage.parse_lines(cap.read_capture_lines(spark, files))
    df = df.select("line", "file", stage.line_verdict(spec, j).alias("verdict"),
                   *stage.part_fields("in", j["captureData"]["endpointInput"]))
    keep = [F.col("line"), F.col("file"), F.col("verdict")]
    df = df.select(*keep, "in_has", *stage.part_text("in"))
    if params.features_attribute:  # the features inside a JSON request
        inner = F.get_json_object("in_text", json_path(params.features_attribute))
        is_json = F.col("in_fmt").isin("json", "jsonl")
        df = df.withColumns({"in_err": F.when(is_json & inner.isNull() & F.col("in_err").isNull(),
                                              F.lit("features_attribute_not_found")).otherwise(F.col("in_err")),
                             "in_text": F.when(is_json, F.trim(inner)).otherwise(F.col("in_text"))})
    df = df.select(*keep, "in_has", F.col("in_err"), F.col("in_fmt"), F.col("in_text"),
                   *stage.part_json_documents("in"))
    df = df.select(*keep, "in_has", "in_err", *stage.part_record_texts("in"))
    df = df.select(*keep, "in_has", "in_err", "in_fmt", *stage.parse_record_texts("in", width))
    df = df.select(*keep, "in_has", *stage.part_records("in", width))
    line_kind = F.regexp_replace(F.col("verdict"), "^\\x00(reject|skip):", "")
    line_status = F.when(F.col("verdict").startswith(stage.SKIP), F.lit("skip")).otherwise(F.lit("reject"))
    failed = (F.when(F.col("verdict").isNotNull(), F.struct(line_status.alias("status"), line_kind.alias("kind")))
              .when(~F.col("in_has"), F.struct(F.lit("reject").alias("status"),
                                               F.lit("missing_endpoint_input").alias("kind")))
              .when(F.col("in_err").isNotNull(), F.struct(F.lit("reject").alias("status"),
                                                          F.col("in_err").alias("kind")))
              .when(F.col("in_records").isNull(), F.struct(F.lit("reject").alias("status"),
                                                           F.lit("malformed_payload").alias("kind")))
              .when(F.size("in_records") == 0, F.struct(F.lit("skip").alias("status"),
                                                        F.lit("empty_payload").alias("kind"))))
    one = F.struct(F.lit(None).cast("string").alias("status"), F.lit(None).cast("string").alias("kind"),
                   F.lit(None).cast(stage.RECORDS_TYPE).getItem(0).alias("r"))
    rows = F.when(failed.isNotNull(), F.array(F.struct(failed["status"].alias("status"),
                                                       failed["kind"].alias("kind"),
                                                       one["r"].alias("r")))).otherwise(
        F.transform("in_records", lambda r: F.struct(F.lit(None).cast("string").alias("status"),
                                                     F.lit(None).cast("string").alias("kind"), r.alias("r"))))
    df = df.select("line", "file", F.explode(rows).alias("e"))
    r = F.col("e")["r"]
    named = F.map_from_entries(r["named"])
    by_name = F.array(*[F.element_at(named, F.lit(n)) for n in features])
    x = F.when(r["pos"].isNotNull(), r["pos"]).otherwise(by_name)
    wrong = (F.when(r["bad"], F.coalesce(r["kind"], F.lit("malformed_payload")))  # duplicate_key, too_deeply_nested …
             .when(r["too_many"] | (r["pos"].isNotNull() & (F.size(r["pos"]) != len(features))),
                   F.lit("wrong_field_count"))
             .when(r["named"].isNotNull() & F.exists(by_name, lambda v: v.isNull()), F.lit("missing_feature")))
    status = F.coalesce(F.col("e")["status"], F.when(wrong.isNotNull(), F.lit("reject")))
    kind = F.coalesce(F.col("e")["kind"], wrong)
    raw = df.select(status.alias("status"), kind.alias("kind"), "file", "line",
                    F.when(status.isNull(), x).alias("xs"))
    return ExplainSource(_typed(raw, F.col("xs")), list(features), files), files
