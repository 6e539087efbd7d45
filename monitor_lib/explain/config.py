"""Clarify's ``analysis_config.json`` for feature attribution (clarify-contract §1.1, §1.2), read and checked
before any Spark work: ``methods.shap`` and ``predictor`` (with our ``model_uri`` / ``model_factory`` /
``endpoint_url`` beside SageMaker's ``endpoint_name``), ``headers``, ``label``, ``dataset_type``.

Both shapes are accepted: a Clarify processing job's config (headers with the label, ``label`` names it and
it is not a feature) and the explainability monitor's ``ExplainabilityAnalysisConfig`` (``headers`` = the
features only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor_lib.errors import ConfigError
from monitor_lib.explain.spec import SOURCES, PredictorSpec

AGG_METHODS = ("mean_abs", "median", "mean_sq")
DEFAULT_CLUSTERS = 10
SHAP_KEYS = {"baseline", "num_clusters", "num_samples", "agg_method", "use_logit", "save_local_shap_values", "seed",
             "features_to_explain", "text_config", "image_config"}
PREDICTOR_KEYS = set(SOURCES) | {
    "content_type", "accept_type", "content_template", "record_template", "label", "probability", "label_headers",
    "custom_attributes", "target_model", "model_name", "instance_type", "initial_instance_count",
    "endpoint_name_prefix", "accelerator_type", "max_records_per_request", "max_retries", "backoff_seconds",
    "requests_per_second", "timeout_seconds"}
CONTENT_TYPES = ("text/csv", "application/jsonlines", "application/json")


@dataclass(frozen=True)
class ShapConfig:
    baseline_rows: tuple[tuple, ...] | None = None  # methods.shap.baseline as rows
    baseline_uri: str | None = None  # methods.shap.baseline as a file (CSV rows of features, no header)
    num_clusters: int | None = None  # K-means centroids of the baseline data (the default: 10)
    num_samples: int | None = None  # coalitions per record (None: shap's auto, 2M + 2048)
    agg_method: str = "mean_abs"
    use_logit: bool = False
    seed: int = 0
    save_local_shap_values: bool = False


@dataclass(frozen=True)
class ExplainConfig:
    shap: ShapConfig
    predictor: PredictorSpec | None  # None: the config names no model (monitoring must have one)
    headers: list[str] | None = None
    label: str | int | None = None
    dropped: tuple = ()  # predicted_label, excluded_columns: columns of a dataset that are no feature
    dataset_type: str | None = None
    source: str = "analysis_config.json"

    @property
    def label_name(self) -> str | None:
        if isinstance(self.label, str):
            return self.label
        if isinstance(self.label, int) and self.headers and 0 <= self.label < len(self.headers):
            return self.headers[self.label]
        return None


def _fail(source: str, what: str) -> ConfigError:
    return ConfigError(f"{source}: {what}")


def _int(value: Any, where: str, source: str, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise _fail(source, f"{where} must be an integer ≥ {lo}, got {value!r}")
    return value


def _number(value: Any, where: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _fail(source, f"{where} must be a positive number, got {value!r}")
    return float(value)


def _bool(value: Any, where: str, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _fail(source, f"{where} must be true or false, got {value!r}")


def parse_shap(raw: Any, source: str) -> ShapConfig:
    if not isinstance(raw, dict):
        raise _fail(source, "methods.shap must be an object: {\"baseline\" or \"num_clusters\", \"num_samples\", "
                            "\"agg_method\", …}")
    unknown = sorted(set(raw) - SHAP_KEYS)
    if unknown:
        raise _fail(source, f"methods.shap: unknown key {unknown[0]!r} — known: {', '.join(sorted(SHAP_KEYS))}")
    for key in ("features_to_explain", "text_config", "image_config"):
        if raw.get(key) is not None:
            raise _fail(source, f"methods.shap.{key} is not supported: tabular features are explained, all of them")
    baseline = raw.get("baseline")
    if baseline is not None and raw.get("num_clusters") is not None:
        raise _fail(source, "methods.shap: give baseline or num_clusters, not both")
    rows = uri = None
    if isinstance(baseline, str):
        uri = baseline
    elif isinstance(baseline, list):
        if not baseline:
            raise _fail(source, "methods.shap.baseline is an empty list: give rows of feature values")
        rows_list = [r if isinstance(r, list) else [r] for r in baseline] if isinstance(baseline[0], list) else [
            baseline]
        for i, r in enumerate(rows_list):
            bad = [v for v in r if isinstance(v, bool) or not isinstance(v, (int, float))]
            if bad:
                raise _fail(source, f"methods.shap.baseline[{i}] holds {bad[0]!r}: baseline rows must be numbers "
                                    "(the features in headers order)")
        rows = tuple(tuple(float(v) for v in r) for r in rows_list)
    elif baseline is not None:
        raise _fail(source, f"methods.shap.baseline must be a list of rows or a file URI, got "
                            f"{type(baseline).__name__}")
    clusters = raw.get("num_clusters")
    agg = raw.get("agg_method", "mean_abs")
    if agg not in AGG_METHODS:
        raise _fail(source, f"methods.shap.agg_method {agg!r} — choose from {', '.join(AGG_METHODS)}")
    samples = raw.get("num_samples")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _fail(source, f"methods.shap.seed must be an integer, got {seed!r}")
    return ShapConfig(
        baseline_rows=rows, baseline_uri=uri,
        num_clusters=None if clusters is None else _int(clusters, "methods.shap.num_clusters", source),
        num_samples=None if samples is None else _int(samples, "methods.shap.num_samples", source, lo=2),
        agg_method=agg, use_logit=_bool(raw.get("use_logit", False), "methods.shap.use_logit", source), seed=seed,
        save_local_shap_values=_bool(raw.get("save_local_shap_values", False), "methods.shap.save_local_shap_values",
                                     source))


def _index_or_path(value: Any, where: str, source: str) -> int | str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
        raise _fail(source, f"{where} must be an index or a JSON path, got {value!r}")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def parse_predictor(raw: Any, source: str, feature_names: list[str] | None) -> PredictorSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail(source, "predictor must be an object")
    unknown = sorted(set(raw) - PREDICTOR_KEYS)
    if unknown:
        raise _fail(source, f"predictor: unknown key {unknown[0]!r} — known: {', '.join(sorted(PREDICTOR_KEYS))}")
    given = [s for s in SOURCES if raw.get(s)]
    if len(given) > 1:
        raise _fail(source, f"predictor gives {' and '.join(given)}: name one model — {', '.join(SOURCES)}")
    if not given:
        if raw.get("model_name"):
            raise _fail(source, f"predictor.model_name {raw['model_name']!r} needs a shadow SageMaker endpoint, "
                                "which this tool does not create: give endpoint_name (an endpoint serving it), "
                                "model_uri, model_factory or endpoint_url")
        raise _fail(source, f"predictor names no model: give one of {', '.join(SOURCES)}")
    content_type = raw.get("content_type", "text/csv")
    accept = raw.get("accept_type")
    for key, value in (("content_type", content_type), ("accept_type", accept)):
        if value is not None and value not in CONTENT_TYPES:
            raise _fail(source, f"predictor.{key} {value!r} is not supported — use one of {', '.join(CONTENT_TYPES)}")
    headers = raw.get("label_headers")
    if headers is not None and (not isinstance(headers, list) or not headers
                                or not all(isinstance(h, (str, int, float)) for h in headers)):
        raise _fail(source, "predictor.label_headers must be a list of output names")
    for key in ("content_template", "record_template", "custom_attributes", "target_model"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise _fail(source, f"predictor.{key} must be a string")
    extra = {}
    for key in ("max_records_per_request", "max_retries"):
        if key in raw:
            extra[key] = _int(raw[key], f"predictor.{key}", source, lo=0 if key == "max_retries" else 1)
    for key in ("backoff_seconds", "requests_per_second", "timeout_seconds"):
        if raw.get(key) is not None:
            extra[key] = _number(raw[key], f"predictor.{key}", source)
    return PredictorSpec(
        **{s: raw[s] for s in given}, content_type=content_type, accept_type=accept,
        content_template=raw.get("content_template"), record_template=raw.get("record_template"),
        label=_index_or_path(raw.get("label"), "predictor.label", source),
        probability=_index_or_path(raw.get("probability"), "predictor.probability", source),
        label_headers=None if headers is None else tuple(str(h) for h in headers),
        custom_attributes=raw.get("custom_attributes"), target_model=raw.get("target_model"),
        feature_names=tuple(feature_names or ()), **extra)


KNOWN_KEYS = {"version", "dataset_type", "headers", "label", "methods", "predictor", "features", "excluded_columns",
              "predicted_label", "joinsource_name_or_index", "probability_threshold", "label_values_or_threshold",
              "facet", "group_variable", "report"}


def parse_explain_config(raw: Any, source: str = "analysis_config.json") -> ExplainConfig:
    """A checked :class:`ExplainConfig`; every problem names the field and what to give instead."""
    from monitor_lib.bias.config import common_fields

    dataset_type, headers = common_fields(raw, source, KNOWN_KEYS)
    methods = raw.get("methods")
    if not isinstance(methods, dict) or "shap" not in methods:
        raise _fail(source, "methods.shap is required: {\"methods\": {\"shap\": {\"num_samples\": …}}}")
    label = raw.get("label")
    if label is not None and (isinstance(label, bool) or not isinstance(label, (str, int))):
        raise _fail(source, f"label must be a column name or a 0-based index, got {label!r}")
    dropped = [raw[k] for k in ("predicted_label",) if raw.get(k) is not None]
    excluded = raw.get("excluded_columns") or []
    if not isinstance(excluded, list):
        raise _fail(source, "excluded_columns must be a list of column names or indexes")
    dropped += excluded
    config = ExplainConfig(shap=parse_shap(methods["shap"], source), predictor=None, headers=headers, label=label,
                           dropped=tuple(dropped), dataset_type=dataset_type, source=source)
    features = feature_names(config, headers)
    from dataclasses import replace

    return replace(config, predictor=parse_predictor(raw.get("predictor"), source, features))


def feature_names(config: ExplainConfig, columns: list[str] | None) -> list[str] | None:
    """The features among a dataset's columns: every column but the label, predicted label and excluded ones."""
    if columns is None:
        return None
    drop = {config.label_name, *[c for c in config.dropped if isinstance(c, str)]}
    drop_i = {c for c in ([config.label] if isinstance(config.label, int) else []) + list(config.dropped)
              if isinstance(c, int)}
    return [c for i, c in enumerate(columns) if c not in drop and i not in drop_i]


def read_explain_config(path: str) -> ExplainConfig:
    from monitor_lib.formats.jsonfmt import load_json_file

    return parse_explain_config(load_json_file(path), str(path))

