"""Typed job configurations, built from SageMaker environment variables, YAML files or CLI flags.

Every edge (the ``analyze`` container entrypoint, ``model-monitor baseline``, ``spark-submit
jobs/baseline.py``) turns its inputs into one of these dataclasses and calls the same function in
``monitor_lib.jobs``. Invalid input fails here, with the field name and the fix in the message.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from monitor_lib.errors import ConfigError
from monitor_lib.io.dataset_format import CAPTURE_INDEX_NAMES, DatasetFormat, as_bool  # noqa: F401
from monitor_lib.io.uri import is_s3
from monitor_lib.profile.options import DEFAULT_MAX_CATEGORIES, ProfileOptions  # noqa: F401
from monitor_lib.timefmt import iso_utc, parse_time  # noqa: F401

CATEGORICAL_DRIFT_METHODS = ("LInfinity", "ChiSquared")


@dataclass(frozen=True)
class BaselineConfig:
    """A data-quality baseline: profile ``dataset_source``, write statistics.json + constraints.json."""

    dataset_source: str
    dataset_format: DatasetFormat
    output_path: str
    categorical_drift_method: str | None = None
    profile: ProfileOptions = field(default_factory=ProfileOptions)
    output_kms_key: str | None = None  # s3:// outputs: SSE-KMS with this key

    def __post_init__(self) -> None:
        if not self.dataset_source:
            raise ConfigError("dataset_source is required: the file or directory of the baseline dataset")
        if not self.output_path:
            raise ConfigError("output_path is required: the directory that receives statistics.json and constraints.json")
        if self.dataset_format.kind in ("capture", "merge"):
            raise ConfigError("dataset_format: a baseline is profiled from csv, json or parquet; "
                              "sagemakerCaptureJson is the input of monitoring runs")
        if self.categorical_drift_method not in (None, *CATEGORICAL_DRIFT_METHODS):
            raise ConfigError(
                f"categorical_drift_method must be one of {', '.join(CATEGORICAL_DRIFT_METHODS)}, "
                f"got {self.categorical_drift_method!r}"
            )


def _check_window(start: datetime | None, end: datetime | None) -> None:
    if start and end and start >= end:
        raise ConfigError(f"start_time {iso_utc(start)} must be before end_time {iso_utc(end)}")


def _enabled(value: Any, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "Disabled").strip().lower()
    if text in ("enabled", "true"):
        return True
    if text in ("disabled", "false", ""):
        return False
    raise ConfigError(f"{field_name} must be Enabled or Disabled, got {value!r}")


@dataclass(frozen=True)
class MonitoringConfig:
    """A data-quality monitoring run: profile the window of ``dataset_source`` and check it against the baseline."""

    dataset_source: str
    dataset_format: DatasetFormat
    output_path: str
    baseline_constraints: str
    baseline_statistics: str | None = None  # without it there is nothing to measure drift against
    start_time: datetime | None = None  # records with start_time <= inferenceTime < end_time (capture only)
    end_time: datetime | None = None
    metric_time: datetime | None = None  # CloudWatch timestamp; default start_time, else the run's start
    endpoint_name: str | None = None
    schedule_name: str | None = None
    publish_cloudwatch_metrics: bool = False
    cloudwatch_metrics_directory: str | None = None  # default <opt/ml root>/output/metrics/cloudwatch
    record_preprocessor_script: str | None = None
    post_analytics_processor_script: str | None = None
    profile: ProfileOptions = field(default_factory=ProfileOptions)
    # custom keys of the SageMaker Environment: set in the executors' Python workers for the scripts
    script_environment: tuple[tuple[str, str], ...] = ()
    output_kms_key: str | None = None  # s3:// outputs (and metrics directory): SSE-KMS with this key

    def __post_init__(self) -> None:
        if not self.dataset_source:
            raise ConfigError("dataset_source is required: the capture directory (or dataset) to monitor")
        if not self.output_path:
            raise ConfigError("output_path is required: the directory that receives constraint_violations.json")
        if not self.baseline_constraints:
            raise ConfigError("baseline_constraints is required: the constraints.json of the baseline")
        _check_window(self.start_time, self.end_time)
        for name in ("record_preprocessor_script", "post_analytics_processor_script"):
            path = getattr(self, name)
            if path and not is_s3(path) and not os.path.isfile(path):
                raise ConfigError(f"{name} {path} does not exist or is not a file")
        if self.dataset_format.kind == "merge":
            raise ConfigError("dataset_format: sagemakerMergeJson is the model-quality input; "
                              "set analysis_type=MODEL_QUALITY")
        if self.record_preprocessor_script and self.dataset_format.kind == "parquet":
            raise ConfigError("record_preprocessor_script: Preprocessor script not supported for format parquet")

    @property
    def metrics_directory(self) -> str:
        return self.cloudwatch_metrics_directory or os.path.join(opt_ml_root(), "output", "metrics", "cloudwatch")


# monitoring settings beyond the baseline ones; names as in the SageMaker environment (spec §3.2)
MONITORING_KEYS = (
    "dataset_source", "dataset_format", "output_path", "baseline_constraints", "baseline_statistics",
    "start_time", "end_time", "metric_time", "sagemaker_endpoint_name", "sagemaker_monitoring_schedule_name",
    "publish_cloudwatch_metrics", "CLOUDWATCH_METRICS_DIRECTORY", "record_preprocessor_script",
    "post_analytics_processor_script", "output_columns_position", "max_categories", "kll_k", "hll_lg_k",
    "wide_max_columns", "output_kms_key", "sketches",
)


def monitoring_config_from_params(params: dict[str, Any], source: str = "environment") -> MonitoringConfig:
    """Build a MonitoringConfig from flat parameters (SageMaker env names, YAML keys or CLI flags)."""
    for key in ("dataset_source", "dataset_format", "output_path", "baseline_constraints"):
        if params.get(key) in (None, ""):
            raise ConfigError(f"{key} is required ({source})")
    fmt = DatasetFormat.parse(params["dataset_format"])
    if fmt.kind != "capture" and params.get("output_columns_position") not in (None, ""):
        raise ConfigError("output_columns_position applies to sagemakerCaptureJson; for csv set it inside "
                          "dataset_format, e.g. {\"csv\": {\"output_columns_position\": \"END\"}}")
    fmt = fmt.with_output_columns_position(params.get("output_columns_position"))
    start = parse_time(params.get("start_time"), "start_time")
    return MonitoringConfig(
        dataset_source=str(params["dataset_source"]),
        dataset_format=fmt,
        output_path=str(params["output_path"]),
        baseline_constraints=str(params["baseline_constraints"]),
        baseline_statistics=params.get("baseline_statistics") or None,
        start_time=start,
        end_time=parse_time(params.get("end_time"), "end_time"),
        metric_time=parse_time(params.get("metric_time"), "metric_time") or start,
        endpoint_name=params.get("sagemaker_endpoint_name") or None,
        schedule_name=params.get("sagemaker_monitoring_schedule_name") or None,
        publish_cloudwatch_metrics=_enabled(params.get("publish_cloudwatch_metrics"), "publish_cloudwatch_metrics"),
        cloudwatch_metrics_directory=params.get("CLOUDWATCH_METRICS_DIRECTORY") or None,
        record_preprocessor_script=params.get("record_preprocessor_script") or None,
        post_analytics_processor_script=params.get("post_analytics_processor_script") or None,
        profile=_profile_options(params),
        script_environment=tuple(sorted((str(k), str(v)) for k, v in params.items()
                                        if k not in ANALYZER_KEYS and k not in MONITORING_KEYS)),
        output_kms_key=params.get("output_kms_key") or None,
    )


# --- the SageMaker container contract -----------------------------------------------------------

# Environment keys the analyzer understands (spec §3.2). Others are passed through to scripts.
ANALYZER_KEYS = (
    "dataset_source", "dataset_format", "output_path", "publish_cloudwatch_metrics", "baseline_constraints",
    "baseline_statistics", "start_time", "end_time", "metric_time", "sagemaker_endpoint_name",
    "sagemaker_monitoring_schedule_name", "sagemaker_endpoint_datacapture_prefix", "record_preprocessor_script",
    "post_analytics_processor_script", "analysis_type", "problem_type", "inference_attribute",
    "probability_attribute", "probability_threshold_attribute", "ground_truth_attribute", "ground_truth_source",
    "positive_label", "exclude_features_attribute", "categorical_drift_method", "CLOUDWATCH_METRICS_DIRECTORY",
    "output_columns_position", "output_kms_key",
)


def opt_ml_root() -> str:
    """The ``/opt/ml`` root; ``MODEL_MONITOR_OPT_ML`` redirects it so the container contract runs anywhere."""
    return os.environ.get("MODEL_MONITOR_OPT_ML", "/opt/ml")


def _config_json(path: str):
    """A file of ``<opt/ml root>/config`` parsed; unreadable or invalid JSON names the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path} is not readable JSON: {e}") from None


def sagemaker_environment(root: str | None = None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Parameters as the real analyzer sees them.

    ``<root>/config/processingjobconfig.json["Environment"]`` is the base (it is authoritative in a real
    Processing job); process environment variables of the same names override it, so a local run can
    tweak one value without editing the file.
    """
    root = root or opt_ml_root()
    environ = dict(os.environ) if environ is None else environ
    params: dict[str, str] = {}
    path = os.path.join(root, "config", "processingjobconfig.json")
    if os.path.exists(path):
        doc = _config_json(path)
        env = doc.get("Environment") if isinstance(doc, dict) else None
        if env is not None and not isinstance(env, dict):
            raise ConfigError(f"{path}: \"Environment\" must be an object of strings")
        params.update({str(k): str(v) for k, v in (env or {}).items()})
        # the job's output KMS key (CreateProcessingJob's ProcessingOutputConfig.KmsKeyId) encrypts what
        # this container itself uploads when output_path is an s3:// URI
        outputs = doc.get("ProcessingOutputConfig") if isinstance(doc, dict) else None
        if isinstance(outputs, dict) and outputs.get("KmsKeyId") and not params.get("output_kms_key"):
            params["output_kms_key"] = str(outputs["KmsKeyId"])
    for key in ANALYZER_KEYS:
        if environ.get(key) not in (None, ""):
            params[key] = environ[key]
    return params


@dataclass(frozen=True)
class Hosts:
    """``<root>/config/resourceconfig.json``: the instances of a Processing job. The analysis runs in
    Spark local mode on the first host listed; the others have nothing to do (see :func:`idle_host_message`)."""

    current: str
    hosts: tuple[str, ...]

    @property
    def primary(self) -> str:
        return self.hosts[0]

    @property
    def is_primary(self) -> bool:
        return self.current == self.primary


def resource_hosts(root: str | None = None) -> Hosts | None:
    """The hosts of the job, or None without a resourceconfig.json (a local run: one host)."""
    path = os.path.join(root or opt_ml_root(), "config", "resourceconfig.json")
    if not os.path.exists(path):
        return None
    doc = _config_json(path)
    hosts = doc.get("hosts") if isinstance(doc, dict) else None
    current = doc.get("current_host") if isinstance(doc, dict) else None
    if (not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) and h for h in hosts)
            or len(set(hosts)) != len(hosts)):
        raise ConfigError(f"{path}: \"hosts\" must be a non-empty list of distinct host names, got {hosts!r}")
    if current not in hosts:
        raise ConfigError(f"{path}: \"current_host\" {current!r} is not one of the hosts {hosts}")
    return Hosts(current=current, hosts=tuple(hosts))


def idle_host_message(hosts: Hosts) -> str:
    """What a host other than the first writes to /opt/ml/output/message before exiting 0."""
    return (f"Idle: host {hosts.current} ({hosts.hosts.index(hosts.current) + 1} of {len(hosts.hosts)}) has nothing "
            f"to do: the analysis runs on {hosts.primary}, the first host of resourceconfig.json, in Spark local "
            "mode. Use InstanceCount=1: the other instances stay idle.")


def sharded_inputs(root: str | None = None) -> list[str]:
    """Names of the ProcessingInputs of processingjobconfig.json downloaded with ``ShardedByS3Key``: with
    several hosts each gets only a part of them, and the first host alone would analyse a part of the data."""
    path = os.path.join(root or opt_ml_root(), "config", "processingjobconfig.json")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, json.JSONDecodeError):
        return []  # a missing or broken file is reported by sagemaker_environment
    inputs = doc.get("ProcessingInputs") if isinstance(doc, dict) else None
    names = []
    for i, item in enumerate(inputs if isinstance(inputs, list) else []):
        s3 = item.get("S3Input") if isinstance(item, dict) else None
        if isinstance(s3, dict) and s3.get("S3DataDistributionType") == "ShardedByS3Key":
            names.append(str(item.get("InputName") or f"ProcessingInputs[{i}]"))
    return names


def baseline_config_from_params(params: dict[str, Any], source: str = "environment") -> BaselineConfig:
    """Build a BaselineConfig from flat parameters (SageMaker env names, YAML keys or CLI flags)."""
    for key in ("dataset_source", "dataset_format", "output_path"):
        if params.get(key) in (None, ""):
            raise ConfigError(f"{key} is required ({source})")
    return BaselineConfig(
        dataset_source=str(params["dataset_source"]),
        dataset_format=DatasetFormat.parse(params["dataset_format"]),
        output_path=str(params["output_path"]),
        categorical_drift_method=params.get("categorical_drift_method") or None,
        profile=_profile_options(params),
        output_kms_key=params.get("output_kms_key") or None,
    )


def _profile_options(params: dict[str, Any]) -> ProfileOptions:
    args = {}
    for f in fields(ProfileOptions):
        value = params.get(f.name)
        if value in (None, ""):
            continue
        if f.name == "sketches":
            args[f.name] = str(value).strip().lower()
            continue
        try:
            args[f.name] = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{f.name} must be an integer, got {value!r}") from None
    return ProfileOptions(**args)


# --- model quality ------------------------------------------------------------------------------

PROBLEM_TYPES = ("BinaryClassification", "MulticlassClassification", "Regression")


@dataclass(frozen=True)
class ModelQualityConfig:
    """A model-quality run. Without ``baseline_constraints`` it is a baseline (metrics of a labelled
    validation set + suggested constraints); with it, a monitoring run (metrics of the window's merged
    records, or of a labelled batch dataset, checked against the constraints).

    Attributes locate values in a record: a column name or a 0-based position (csv, parquet, the CSV
    payloads of captures), or a simple JSON path (``$.a.b``, ``$[0]``, ``$.predictions[0].score``; a bare
    name means ``$.name``) for JSON. ``inference_attribute`` is the predicted label (or value),
    ``probability_attribute`` the predicted probability of the positive class; with a probability and
    ``probability_threshold_attribute`` the predicted label is probability >= threshold.
    """

    dataset_source: str
    dataset_format: DatasetFormat
    output_path: str
    problem_type: str
    inference_attribute: str | None = None
    probability_attribute: str | None = None
    probability_threshold_attribute: float | None = None
    ground_truth_attribute: str | None = None  # the label in a labelled dataset; merged records use groundTruthData
    positive_label: str | None = None  # binary: this label value is the positive class (default 1 / true)
    baseline_constraints: str | None = None
    ground_truth_source: str | None = None  # monitor command: merge captures with these labels first
    start_time: datetime | None = None
    end_time: datetime | None = None
    metric_time: datetime | None = None
    endpoint_name: str | None = None
    schedule_name: str | None = None
    publish_cloudwatch_metrics: bool = False
    cloudwatch_metrics_directory: str | None = None
    post_analytics_processor_script: str | None = None
    seed: int = 0  # of the bootstrap samples (5 random 80 % samples for the standard deviations)
    output_kms_key: str | None = None  # s3:// outputs: SSE-KMS with this key

    def __post_init__(self) -> None:
        for name, what in (("dataset_source", "the labelled dataset, merged records or capture directory"),
                           ("output_path", "the directory that receives the reports")):
            if not getattr(self, name):
                raise ConfigError(f"{name} is required: {what}")
        if self.problem_type not in PROBLEM_TYPES:
            raise ConfigError(f"problem_type must be one of {', '.join(PROBLEM_TYPES)}, got {self.problem_type!r}")
        if self.dataset_format.kind == "capture" and not self.ground_truth_source:
            raise ConfigError("dataset_format sagemakerCaptureJson holds no labels: give ground_truth_source "
                              "(the merge runs first) or analyse merged records with sagemakerMergeJson")
        if self.problem_type == "BinaryClassification":
            if not (self.inference_attribute or self.probability_attribute):
                raise ConfigError("BinaryClassification needs inference_attribute (the predicted label) or "
                                  "probability_attribute (the predicted probability of the positive class)")
        elif not self.inference_attribute:
            raise ConfigError(f"{self.problem_type} needs inference_attribute: the column, position or JSON path "
                              "of the prediction")
        if self.probability_threshold_attribute is not None and not self.probability_attribute:
            raise ConfigError("probability_threshold_attribute needs probability_attribute")
        if self.dataset_format.kind in ("csv", "json", "parquet") and not self.ground_truth_attribute:
            raise ConfigError(f"ground_truth_attribute is required for a {self.dataset_format.kind} dataset: "
                              "the column, position or JSON path of the actual label")
        _check_window(self.start_time, self.end_time)
        path = self.post_analytics_processor_script
        if path and not is_s3(path) and not os.path.isfile(path):
            raise ConfigError(f"post_analytics_processor_script {path} does not exist or is not a file")

    @property
    def is_baseline(self) -> bool:
        return not self.baseline_constraints

    @property
    def threshold(self) -> float | None:
        """The probability threshold that turns probabilities into labels (None: use inference_attribute)."""
        if self.probability_threshold_attribute is not None:
            return self.probability_threshold_attribute
        if self.probability_attribute and not self.inference_attribute:
            return 0.5
        return None

    @property
    def metrics_directory(self) -> str:
        return self.cloudwatch_metrics_directory or os.path.join(opt_ml_root(), "output", "metrics", "cloudwatch")


MODEL_QUALITY_KEYS = (
    "dataset_source", "dataset_format", "output_path", "problem_type", "inference_attribute",
    "probability_attribute", "probability_threshold_attribute", "ground_truth_attribute", "positive_label",
    "baseline_constraints", "ground_truth_source", "start_time", "end_time", "metric_time",
    "sagemaker_endpoint_name", "sagemaker_monitoring_schedule_name", "publish_cloudwatch_metrics",
    "CLOUDWATCH_METRICS_DIRECTORY", "post_analytics_processor_script", "seed", "output_kms_key",
)


def model_quality_config_from_params(params: dict[str, Any], source: str = "environment") -> ModelQualityConfig:
    """Build a ModelQualityConfig from flat parameters (SageMaker env names, YAML keys or CLI flags)."""
    for key in ("dataset_source", "dataset_format", "output_path", "problem_type"):
        if params.get(key) in (None, ""):
            raise ConfigError(f"{key} is required ({source})")
    threshold = params.get("probability_threshold_attribute")
    if threshold not in (None, ""):
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise ConfigError(f"probability_threshold_attribute must be a number, got {threshold!r}") from None
    else:
        threshold = None
    seed = params.get("seed")
    try:
        seed = int(seed) if seed not in (None, "") else 0
    except (TypeError, ValueError):
        raise ConfigError(f"seed must be an integer, got {seed!r}") from None
    start = parse_time(params.get("start_time"), "start_time")

    def text(key: str) -> str | None:
        value = params.get(key)
        return None if value in (None, "") else str(value)

    return ModelQualityConfig(
        dataset_source=str(params["dataset_source"]),
        dataset_format=DatasetFormat.parse(params["dataset_format"]),
        output_path=str(params["output_path"]),
        problem_type=str(params["problem_type"]),
        inference_attribute=text("inference_attribute"),
        probability_attribute=text("probability_attribute"),
        probability_threshold_attribute=threshold,
        ground_truth_attribute=text("ground_truth_attribute"),
        positive_label=text("positive_label"),
        baseline_constraints=text("baseline_constraints"),
        ground_truth_source=text("ground_truth_source"),
        start_time=start,
        end_time=parse_time(params.get("end_time"), "end_time"),
        metric_time=parse_time(params.get("metric_time"), "metric_time") or start,
        endpoint_name=text("sagemaker_endpoint_name"),
        schedule_name=text("sagemaker_monitoring_schedule_name"),
        publish_cloudwatch_metrics=_enabled(params.get("publish_cloudwatch_metrics"), "publish_cloudwatch_metrics"),
        cloudwatch_metrics_directory=text("CLOUDWATCH_METRICS_DIRECTORY"),
        post_analytics_processor_script=text("post_analytics_processor_script"),
        seed=seed,
        output_kms_key=text("output_kms_key"),
    )


@dataclass(frozen=True)
class MergeConfig:
    """SageMaker's ground-truth merger: capture records of the window joined with their labels."""

    dataset_source: str  # capture root
    ground_truth_source: str  # ground-truth root (every file is read: labels arrive late)
    output_path: str  # merged records, in the capture's folder layout
    start_time: datetime | None = None
    end_time: datetime | None = None
    output_kms_key: str | None = None  # s3:// outputs: SSE-KMS with this key

    def __post_init__(self) -> None:
        for name, what in (("dataset_source", "the capture directory"),
                           ("ground_truth_source", "the directory of ground-truth records"),
                           ("output_path", "the directory that receives the merged records")):
            if not getattr(self, name):
                raise ConfigError(f"{name} is required: {what}")
        _check_window(self.start_time, self.end_time)


MERGE_KEYS = ("dataset_source", "ground_truth_source", "output_path", "start_time", "end_time", "output_kms_key")


def merge_config_from_params(params: dict[str, Any], source: str = "environment") -> MergeConfig:
    for key in ("dataset_source", "ground_truth_source", "output_path"):
        if params.get(key) in (None, ""):
            raise ConfigError(f"{key} is required ({source})")
    return MergeConfig(
        dataset_source=str(params["dataset_source"]),
        ground_truth_source=str(params["ground_truth_source"]),
        output_path=str(params["output_path"]),
        start_time=parse_time(params.get("start_time"), "start_time"),
        end_time=parse_time(params.get("end_time"), "end_time"),
        output_kms_key=params.get("output_kms_key") or None,
    )
