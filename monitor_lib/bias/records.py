"""Locate the label, the prediction, the facets and the features of every record, in Spark.

:func:`bias_records` gives one frame of strings per source, one row per record::

    status, kind   null for a record to analyse | "reject" / "skip" and why (malformed records, bad payloads)
    file, line     where it came from (the rejected-records sample)
    label, pred, prob   the ground truth, the predicted label, the predicted score (null when absent)
    x              array<string>: the record's columns (a dataset) or the model input's features (captures)

and the names of ``x`` (None when unknown: positions only). Facets and the group variable are elements of
``x``, found by name or 0-based index.

* **A labelled dataset** (csv, JSON Lines, parquet — a Clarify processing job's input): ``x`` holds every
  column; the label is ``label``, the prediction ``predicted_label`` (analysis config) or
  ``inference_attribute``, the score ``probability_attribute``. ``headers`` name the columns of a CSV
  file without a header row.
* **Merged records** (captured requests + their ground truth, the model-quality merge): the label is the
  ground truth, the prediction / score come from the endpoint output (``inference_attribute``,
  ``probability_attribute``: positions for CSV, JSON paths for JSON), ``x`` is the request — the fields of
  a CSV payload, or the JSON value at ``features_attribute`` (default the whole request): an array, or an
  object whose values are taken by name. Its names are the config's ``headers`` without the label (and
  predicted label).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor_lib.bias.config import BiasConfig
from monitor_lib.errors import ConfigError
from monitor_lib.io.dataset_format import DatasetFormat


@dataclass
class BiasSource:
    frame: object  # pyspark DataFrame: status, kind, file, line, label, pred, prob, x
    names: list[str] | None  # names of the elements of x
    files: list[str]
    excluded: frozenset[int] = frozenset()  # positions of x that are no feature (label, prediction, score)

    def position(self, name_or_index: str | int, field: str, where: str) -> int:
        """The position in ``x`` of a column given by name or 0-based index."""
        from monitor_lib.quality.extract import column_index

        if isinstance(name_or_index, int):
            if self.names is not None and not 0 <= name_or_index < len(self.names):
                raise ConfigError(f"{field} {name_or_index} is not a column index of {where}: it has "
                                  f"{len(self.names)} columns")
            return name_or_index
        if self.names is None:
            if name_or_index.isdigit():
                return int(name_or_index)
            raise ConfigError(f"{field} {name_or_index!r} names a column but {where} has no column names: give "
                              "headers in the analysis config, or a 0-based index")
        return column_index(name_or_index, self.names, field, where)


def bias_records(spark, params, config: BiasConfig, source: str, fmt: DatasetFormat) -> BiasSource | None:
    """The records of a labelled dataset or of merged records (None: no merged file in the window). ``spark``
    is a callable that gives the session: a dataset's columns are checked against the config before it starts
    where the file tells them (CSV header, Parquet schema)."""
    if fmt.kind == "merge":
        return _merged(spark(), params, config, source, fmt)
    return _dataset(spark, params, config, source, fmt)


def column_names(config, source: str, fmt: DatasetFormat, found: list[str] | None) -> list[str] | None:
    """The dataset's column names (a Clarify config's ``headers`` name a header-less CSV's columns)."""
    if found is not None and config.headers is not None and fmt.kind == "csv" and not fmt.header:
        if len(config.headers) != len(found):
            raise ConfigError(f"{config.source}: headers names {len(config.headers)} columns but {source} has "
                              f"{len(found)}")
        return list(config.headers)
    return found


def early_column_names(source: str, fmt: DatasetFormat, files: list[str]) -> list[str] | None:
    """Column names read on the driver, without Spark (None where only Spark can tell: JSON, s3:// Parquet)."""
    from monitor_lib.io import s3
    from monitor_lib.io.readers import csv_header

    if fmt.kind == "csv":
        return csv_header(files, fmt.header, source)
    if fmt.kind == "parquet" and files and not s3.is_s3(files[0]):
        import pyarrow.parquet as pq

        from monitor_lib.io.storage import local_path

        try:
            return list(pq.read_schema(local_path(files[0])).names)
        except Exception:  # not a Parquet file: Spark's reader says so with its own words
            return None
    return None


def _positions(src: BiasSource, params, config: BiasConfig, source: str) -> tuple[int, int | None, int | None]:
    if config.label is None:
        raise ConfigError(f"{config.source}: label is required for a dataset: the name or index of the column of "
                          "observed labels")
    label_i = src.position(config.label, "label", source)
    prediction = config.predicted_label if config.predicted_label is not None else params.inference_attribute
    pred_i = None if prediction is None else src.position(prediction, "predicted_label", source)
    prob_i = None if not params.probability_attribute else src.position(params.probability_attribute,
                                                                        "probability_attribute", source)
    for i, f in enumerate(config.facets):
        src.position(f.name_or_index, f"facet[{i}].name_or_index", source)
    if config.group_variable is not None:
        src.position(config.group_variable, "group_variable", source)
    return label_i, pred_i, prob_i


def _frame(df, status, kind, file, line, label, pred, prob, x):
    from pyspark.sql import functions as F

    def text(c):
        return F.lit(None).cast("string") if c is None else c.cast("string")

    return df.select(status.alias("status"), kind.alias("kind"), file.alias("file"), line.alias("line"),
                     text(label).alias("label"), text(pred).alias("pred"), text(prob).alias("prob"),
                     x.alias("x"))


def _dataset(spark, params, config: BiasConfig, source: str, fmt: DatasetFormat) -> BiasSource:
    from pyspark.sql import functions as F

    from monitor_lib.io.readers import CORRUPT_COLUMN, read_dataset
    from monitor_lib.io.storage import list_data_files
    from monitor_lib.quality.extract import _as_text, record_text

    files = list_data_files(source)
    early = column_names(config, source, fmt, early_column_names(source, fmt, files))
    if early is not None:
        _positions(BiasSource(None, early, files), params, config, source)
    dataset = read_dataset(spark(), source, fmt)
    names = column_names(config, source, fmt, list(dataset.names))
    df = dataset.df
    columns = [F.col(c) if fmt.kind == "csv" else _as_text(F.col(c), df.schema[c].dataType)
               for c in dataset.internal_names]
    src = BiasSource(None, names, dataset.files)
    label_i, pred_i, prob_i = _positions(src, params, config, source)
    src.excluded = frozenset(i for i in (label_i, pred_i, prob_i) if i is not None)
    line = record_text(dataset)
    corrupt = F.col(CORRUPT_COLUMN).isNotNull() if dataset.corrupt_column else F.lit(False)
    frame, file = dataset.frame_with_file()
    src.frame = _frame(frame, F.when(corrupt, F.lit("reject")), F.when(corrupt, F.lit(dataset.reject_kind)), file,
                       line, columns[label_i], None if pred_i is None else columns[pred_i],
                       None if prob_i is None else columns[prob_i], F.array(*columns))
    return src


def _merged(spark, params, config: BiasConfig, source: str, fmt: DatasetFormat) -> BiasSource | None:
    from pyspark.sql import functions as F

    from monitor_lib.quality.extract import json_path, merged_payloads, merged_verdict, payload_value

    df, files = merged_payloads(spark, source, fmt, params.start_time, params.end_time, with_input=True)
    if df is None:
        return None
    status, kind = merged_verdict(with_input=True)
    label = payload_value("gt", params.ground_truth_attribute, default_whole=True)
    pred = payload_value("out", params.inference_attribute) if params.inference_attribute else None
    prob = payload_value("out", params.probability_attribute) if params.probability_attribute else None
    if pred is None and prob is None:  # CSV output without an attribute: the single value is the prediction
        pred = payload_value("out", "0")
    text, fmt_col = F.col("in_text"), F.col("in_fmt")
    csv_fields = F.transform(F.split(text, ","), lambda v: F.regexp_replace(F.trim(v), '^"(.*)"$', "$1"))
    features_path = json_path(params.features_attribute) if params.features_attribute else "$"
    value = F.get_json_object(text, features_path)
    is_object = F.ltrim(value).startswith("{")
    names = config.feature_headers
    by_name = (F.array(*[F.get_json_object(value, json_path(n)) for n in names]) if names
               else F.lit(None).cast("array<string>"))
    json_fields = F.when(is_object, by_name).otherwise(F.from_json(value, "array<string>"))
    x = F.when(fmt_col == "csv", csv_fields).when(fmt_col.isin("json", "jsonl"), json_fields)
    bad_input = F.col("in_fmt").isin("json", "jsonl") & x.isNull()
    why = F.when(is_object, F.lit("features_by_name_without_headers")).otherwise(F.lit("features_not_an_array"))
    kind = F.when(kind.isNull() & bad_input, why).otherwise(kind)
    status = F.when(status.isNull() & bad_input, F.lit("reject")).otherwise(status)
    frame = _frame(df, status, kind, F.col("file"), F.col("line"), label, pred, prob, x)
    return BiasSource(frame, config.feature_headers, files)
