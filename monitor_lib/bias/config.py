"""Clarify's ``analysis_config.json`` for bias (clarify-contract §1), read and checked before any Spark work.

Both shapes are accepted: a Clarify processing job's full config (``dataset_type``, ``headers``, ``label``,
``predicted_label``, ``probability_threshold``, ``methods``) and the model bias monitor's ``BiasAnalysisConfig``
(``label_values_or_threshold``, ``facet``, ``group_variable``, ``headers``, ``label``; no ``methods``, which
means every metric of both stages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monitor_lib.bias.metrics import STAGES
from monitor_lib.errors import ConfigError

if TYPE_CHECKING:
    from monitor_lib.io.dataset_format import DatasetFormat

DATASET_TYPES = {"text/csv": "csv", "application/jsonlines": "json", "application/json": "json",
                 "application/x-parquet": "parquet"}
KNOWN_KEYS = {"version", "dataset_type", "headers", "label", "label_values_or_threshold", "facet", "group_variable",
              "probability_threshold", "methods", "predicted_label", "predictor", "features", "excluded_columns",
              "joinsource_name_or_index", "predicted_label_dataset_uri", "predicted_label_headers",
              "facet_dataset_uri", "facet_headers", "report"}


@dataclass(frozen=True)
class Facet:
    name_or_index: str | int
    values: list | None  # value_or_threshold; None = one entry per distinct value (one-vs-rest)


@dataclass(frozen=True)
class BiasConfig:
    label_values: list
    facets: list[Facet]
    label: str | int | None = None
    group_variable: str | int | None = None
    headers: list[str] | None = None
    probability_threshold: float | None = None
    predicted_label: str | int | None = None
    dataset_type: str | None = None
    methods: dict[str, tuple[str, ...]] = field(default_factory=dict)  # stage key -> metric names
    methods_given: bool = False  # False: the monitor's config without methods (every metric of both stages)
    source: str = "analysis_config.json"

    @property
    def label_name(self) -> str:
        """The label's name in analysis.json: the configured name, its header, or ``label``."""
        if isinstance(self.label, str):
            return self.label
        if isinstance(self.label, int) and self.headers and 0 <= self.label < len(self.headers):
            return self.headers[self.label]
        return "label"

    @property
    def feature_headers(self) -> list[str] | None:
        """The headers of a captured request (the model's input): the headers without label and predicted label."""
        if self.headers is None:
            return None
        dropped = {self.label_name, self.predicted_label if isinstance(self.predicted_label, str) else None}
        return [h for h in self.headers if h not in dropped]

    def wants(self, stage: str) -> tuple[str, ...]:
        return self.methods.get(stage, ())


def _fail(source: str, what: str) -> ConfigError:
    return ConfigError(f"{source}: {what}")


def _name_or_index(value: Any, where: str, source: str) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise _fail(source, f"{where} must be a column name or a 0-based index, got {value!r}")
    return value


def _value_list(value: Any, where: str, source: str) -> list:
    if not isinstance(value, list):
        value = [value]
    for v in value:
        if isinstance(v, (dict, list)) or v is None:
            raise _fail(source, f"{where} holds {v!r}: give category values or one numeric threshold")
    return value


def _methods(raw: Any, source: str) -> dict[str, tuple[str, ...]]:
    if raw is None:  # the monitor's BiasAnalysisConfig: both stages, every metric
        return {stage: names for stage, names in STAGES.items()}
    if not isinstance(raw, dict):
        raise _fail(source, f"methods must be an object, got {type(raw).__name__}")
    chosen: dict[str, tuple[str, ...]] = {}
    for stage, names in STAGES.items():
        if stage not in raw:
            continue
        entry = raw[stage]
        wanted = entry.get("methods", "all") if isinstance(entry, dict) else entry
        if wanted == "all" or wanted == ["all"]:
            chosen[stage] = names
            continue
        if isinstance(wanted, str):
            wanted = [wanted]
        if not isinstance(wanted, list) or not wanted:
            raise _fail(source, f"methods.{stage}.methods must be \"all\" or a list of metric names")
        unknown = [m for m in wanted if m not in names]
        if unknown:
            raise _fail(source, f"methods.{stage}.methods: unknown metric {unknown[0]!r} — choose from "
                                f"{', '.join(names)} (or \"all\")")
        chosen[stage] = tuple(sorted(set(wanted)))
    if not chosen and not {"shap", "pdp", "report", "asymmetric_shapley_value"} & set(raw):
        raise _fail(source, "methods names neither pre_training_bias nor post_training_bias")
    return chosen


def dataset_type_format(config) -> DatasetFormat | None:
    """The dataset_format a Clarify config's ``dataset_type`` means (a CSV has a header row unless ``headers``
    names its columns); None without one."""
    from monitor_lib.io.dataset_format import DatasetFormat

    if not config.dataset_type:
        return None
    kind = DATASET_TYPES[config.dataset_type]
    header = kind == "csv" and config.headers is None
    raw = {"csv": {"header": header}} if kind == "csv" else {kind: {"lines": True} if kind == "json" else {}}
    return DatasetFormat.parse(raw, "dataset_type")


def common_fields(raw: Any, source: str, known: set[str]) -> tuple[str | None, list[str] | None]:
    """The fields every Clarify config checks the same way — a JSON object of known keys, ``version``,
    ``dataset_type``, ``headers`` — returned as (dataset_type, headers)."""
    if not isinstance(raw, dict):
        raise _fail(source, "must be a JSON object")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(source, f"unknown key {unknown[0]!r} — known keys: {', '.join(sorted(known))}")
    if str(raw.get("version", "1.0")) != "1.0":
        raise _fail(source, f"version {raw['version']!r} is not supported: use \"1.0\"")
    dataset_type = raw.get("dataset_type")
    if dataset_type is not None and dataset_type not in DATASET_TYPES:
        raise _fail(source, f"dataset_type {dataset_type!r} is not supported — use one of "
                            f"{', '.join(DATASET_TYPES)}")
    headers = raw.get("headers")
    if headers is not None and (not isinstance(headers, list) or not all(isinstance(h, str) for h in headers)):
        raise _fail(source, "headers must be a list of column names")
    return dataset_type, headers


def parse_bias_config(raw: Any, source: str = "analysis_config.json") -> BiasConfig:
    """A checked :class:`BiasConfig`; every problem names the field and what to give instead."""
    dataset_type, headers = common_fields(raw, source, KNOWN_KEYS)
    label_values = raw.get("label_values_or_threshold")
    if label_values in (None, [], ""):
        raise _fail(source, "label_values_or_threshold is required: the positive label values, or one threshold "
                            "for a numeric label (positive = label > threshold)")
    label_values = _value_list(label_values, "label_values_or_threshold", source)
    facets_raw = raw.get("facet")
    if not facets_raw:
        raise _fail(source, "facet is required: a list of {\"name_or_index\": …, \"value_or_threshold\": [...]}")
    if isinstance(facets_raw, dict):
        facets_raw = [facets_raw]
    facets = []
    for i, f in enumerate(facets_raw):
        if not isinstance(f, dict) or "name_or_index" not in f:
            raise _fail(source, f"facet[{i}] needs name_or_index (the sensitive column's name or index)")
        values = f.get("value_or_threshold")
        facets.append(Facet(_name_or_index(f["name_or_index"], f"facet[{i}].name_or_index", source),
                            None if values in (None, []) else _value_list(values, f"facet[{i}].value_or_threshold",
                                                                           source)))
    label = raw.get("label")
    group = raw.get("group_variable")
    predicted = raw.get("predicted_label")
    threshold = raw.get("probability_threshold")
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise _fail(source, f"probability_threshold must be a number, got {threshold!r}")
        threshold = float(threshold)
    return BiasConfig(
        label_values=label_values, facets=facets,
        label=None if label is None else _name_or_index(label, "label", source),
        group_variable=None if group in (None, "") else _name_or_index(group, "group_variable", source),
        headers=headers, probability_threshold=threshold,
        predicted_label=None if predicted is None else _name_or_index(predicted, "predicted_label", source),
        dataset_type=dataset_type,
        methods=_methods(raw.get("methods"), source), methods_given=raw.get("methods") is not None, source=source)


def read_bias_config(path: str) -> BiasConfig:
    from monitor_lib.formats.jsonfmt import load_json_file

    return parse_bias_config(load_json_file(path), str(path))
