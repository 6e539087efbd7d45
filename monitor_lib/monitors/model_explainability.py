"""Feature attribution (``--type model-explainability``, SageMaker ``MODEL_EXPLAINABILITY``): KernelSHAP global
attributions of a dataset (the baseline: ``analysis.json`` with ``explanations.kernel_shap``, Clarify's layout,
which is also the constraints) and of each window's captured requests (monitoring: the same, and per label the
NDCG of the window's feature ranking against the baseline's, a ``feature_attribution_drift_check`` violation
below the threshold).

The records are explained in the Spark executors (:mod:`monitor_lib.explain.kernel`): the model is a Python
model loaded there, a SageMaker endpoint or any HTTP endpoint (:mod:`monitor_lib.explain.predictor`); the
attributions and the check are pure Python (:mod:`monitor_lib.explain.analysis`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from monitor_lib import filenames
from monitor_lib.errors import ConfigError, EmptyDatasetError, MonitorError, UnreadableInputError
from monitor_lib.formats.clarify import shap_only
from monitor_lib.formats.jsonfmt import write_json_atomic
from monitor_lib.formats.violations import Violation
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.monitors.base import Document, Phase, RunContext, RunOutcome, Trend
from monitor_lib.monitors.clarify import ClarifyArtifacts, ClarifyMonitor
from monitor_lib.monitors.common import (
    FORMAT_HELP,
    MonitoringParams,
    no_data_counts,
    parse_dataset_format,
    rejection_failure,
)
from monitor_lib.params import integer, number, param

log = logging.getLogger(__name__)

DEFAULT_MAX_RECORDS = 10_000
INPUT_FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}'


@dataclass(frozen=True)
class ModelExplainabilityParams(MonitoringParams):
    """A feature-attribution run. Without ``baseline_constraints`` it is a baseline (the attributions of a
    dataset); with it, a monitoring run (the window's captured requests, checked against the baseline's
    analysis.json by NDCG)."""

    FORMAT_CHOICES = ("capture", "csv", "json", "parquet")

    dataset_source: str = param("dataset_source", "the dataset (baseline) or capture root (monitoring): a file, "
                                "folder or s3:// URI", flag="--dataset", required=True, path="input")
    dataset_format: DatasetFormat | None = param(
        "dataset_format", FORMAT_HELP, parse=parse_dataset_format,
        default_text="the analysis config's dataset_type; monitoring: sagemakerCaptureJson (the requests)")
    analysis_config: str = param("analysis_config", "Clarify's analysis_config.json: methods.shap, predictor (the "
                                 "model), headers, label", required=True, path="input_file")
    baseline_constraints: str | None = param("baseline_constraints", "the baseline's analysis.json (monitoring "
                                             "runs)", path="input_file")
    features_attribute: str | None = param("features_attribute", "JSON requests: the JSON path of the features",
                                           group="attributes")
    max_records: int = param("max_explained_records", "records explained per run; beyond it a seeded sample of "
                             "this many (the rest counted as skipped)", parse=integer(1),
                             default=DEFAULT_MAX_RECORDS)
    drift_threshold: float = param("feature_attribution_drift_threshold", "a label violates when the NDCG of its "
                                   "feature ranking against the baseline's is below this", parse=number,
                                   default=0.9)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.drift_threshold <= 1:
            raise ConfigError(f"feature_attribution_drift_threshold must be in (0, 1], got {self.drift_threshold}")

    @property
    def is_baseline(self) -> bool:
        return not self.baseline_constraints


def _baseline_phase(params: ModelExplainabilityParams) -> None:
    if params.baseline_constraints:
        raise ConfigError("baseline_constraints makes a monitoring run: use model-monitor monitor")


def _monitoring_phase(params: ModelExplainabilityParams) -> None:
    if not params.baseline_constraints:
        raise ConfigError("--baseline-constraints is required: the analysis.json of the feature-attribution "
                          "baseline")


def _dataset_format(params: ModelExplainabilityParams, config) -> DatasetFormat:
    from monitor_lib.bias.config import dataset_type_format

    if params.dataset_format is not None:
        fmt = params.dataset_format
        if fmt.kind == "capture" and params.dataset_format.capture_index_names != ("endpointInput",):
            return DatasetFormat.parse(INPUT_FORMAT, "dataset_format")  # the requests are what is explained
        return fmt
    if not params.is_baseline:
        return DatasetFormat.parse(INPUT_FORMAT, "dataset_format")
    if (fmt := dataset_type_format(config)) is not None:
        return fmt
    raise ConfigError("dataset_format is required: give --format (csv, json, parquet) or dataset_type in the "
                      "analysis config")


def _background_uri(baseline_constraints: str) -> str:
    from monitor_lib.explain.job import BACKGROUND_FILE

    return baseline_constraints.rsplit("/", 1)[0] + "/" + BACKGROUND_FILE if "/" in baseline_constraints \
        else BACKGROUND_FILE


def run_explain(params: ModelExplainabilityParams, ctx: RunContext) -> RunOutcome:
    from monitor_lib.explain import job
    from monitor_lib.explain.analysis import check_attribution_drift, explanations, global_values, kernel_shap
    from monitor_lib.explain.config import feature_names, read_explain_config
    from monitor_lib.explain.records import capture_records, dataset_records
    from monitor_lib.formats.jsonfmt import load_json_file

    config = read_explain_config(params.analysis_config)
    if config.predictor is None:
        raise ConfigError(f"{config.source}: predictor is required — the model to explain: model_uri, "
                          "model_factory, endpoint_name or endpoint_url")
    baseline = base_features = None
    if not params.is_baseline:
        baseline = load_json_file(params.baseline_constraints)
        section = kernel_shap(baseline, params.baseline_constraints)
        base_features = list(next(iter(section.values()))["global_shap_values"])
    fmt = _dataset_format(params, config)
    phase = "baseline" if params.is_baseline else "monitoring"
    art = ClarifyArtifacts(baseline=baseline)
    shap = config.shap
    outcome = RunOutcome(
        monitor=MONITOR.name, phase=phase, job=f"model_explainability_{phase}", start_time=params.start_time,
        end_time=params.end_time, scheduled_time=getattr(params, "scheduled_time", None),
        endpoint=params.endpoint_name, schedule=params.schedule_name, artifacts=art,
        details={"analysis_config": params.analysis_config, "baseline_constraints": params.baseline_constraints,
                 "model": config.predictor.where, "agg_method": shap.agg_method, "use_logit": shap.use_logit,
                 "seed": shap.seed, "max_explained_records": params.max_records})
    source = params.dataset_source
    try:
        if fmt.kind == "capture":
            features = feature_names(config, config.headers) or base_features
            if not features:
                raise ConfigError(f"{config.source}: headers is required to name the features of captured requests "
                                  "(or a baseline analysis.json that names them)")
            src, files = capture_records(ctx.spark, config, params, source, fmt, features)
        else:
            src = dataset_records(lambda: ctx.spark, config, source, fmt)
            files = src.files
        outcome.files_read = len(files)
        outcome.data_files = list(files)
        tallies = job.ExplainTallies()
        if src is not None:
            job.count_records(src.frame, tallies)
    except MonitorError:
        raise
    except Exception as e:
        from monitor_lib.io.readers import spark_message

        raise UnreadableInputError(f"reading dataset_source {ctx.public(source)} failed: {spark_message(e)}") \
            from None
    outcome.rejected, outcome.skipped, outcome.rejected_sample = dict(tallies.rejected), dict(tallies.skipped), \
        tallies.sample
    if not params.is_baseline:
        outcome.failure_reason = rejection_failure(tallies.records, tallies.rejected, tallies.skipped,
                                                   params.max_rejected_fraction, outcome.window_text, "explained")
    if outcome.failure_reason:
        log.error("%s", outcome.failure_reason)
        return outcome.finish()
    if tallies.records == 0:
        reason = (f"no capture files under {source} for this window" if not files else
                  f"{len(files)} file(s) read, no record to explain: "
                  + no_data_counts(tallies.rejected, tallies.skipped))
        if params.is_baseline:
            raise EmptyDatasetError(f"dataset_source {ctx.public(source)} has no records to explain: {reason}")
        outcome.no_data_reason = reason
        log.warning("no data in window %s: %s", outcome.window_text, reason)
        return outcome.finish(has_data=False)
    features = src.features
    good = src.frame.where("status IS NULL").select("x")
    background = job.given_background(config, features)
    where = "methods.shap.baseline"
    if background is None and not params.is_baseline:
        where = _background_uri(params.baseline_constraints)
        try:
            text = job.read_background_text(where, "the baseline's background")
        except MonitorError as e:
            raise ConfigError(f"{e} — the background rows of the baseline are needed to explain this window the "
                              "same way: keep explanations_shap/baseline.csv beside its analysis.json, or give "
                              "methods.shap.baseline") from None
        background = job.parse_background(text, features, where)
    elif background is None:
        background = job.kmeans_background(good, config, len(features))
        tallies.jobs_reading_input += 1
        where = f"K-means, {len(background)} centroids"
    log.info("explaining up to %d of %d records, %d features, background %d rows (%s), model %s",
             params.max_records, tallies.records, len(features), len(background), where, config.predictor.where)
    explained = job.explain(ctx.spark, good, config, features, background, params.max_records)
    tallies.jobs_reading_input += 1
    outcome.records = explained.n
    if tallies.records > explained.n:
        outcome.skipped["beyond_max_explained_records"] = tallies.records - explained.n
        art.notes.append(f"{explained.n} of {tallies.records} records explained: a seeded sample (seed "
                         f"{shap.seed}) of max_explained_records")
    values = global_values(explained.phi, shap.agg_method)
    doc = {"version": "1.0", "explanations": explanations(explained.labels, features, values, explained.expected)}
    art.analysis = doc
    outcome.details.update({
        "features": features, "labels": explained.labels, "records_to_explain": tallies.records,
        "records_explained": explained.n, "num_samples": explained.nsamples, "background_rows": len(background),
        "background": where, "model_calls": explained.model_calls,
        "model_calls_per_record": round(explained.model_calls / explained.n, 4),
        "additivity_error": job.additivity_error(explained, shap.use_logit),
        "jobs_reading_input": tallies.jobs_reading_input, "notes": list(art.notes)})
    bg_text = job.background_text(background)
    outcome.documents = [
        Document("analysis", filenames.ANALYSIS, lambda p: write_json_atomic(p, json.dumps(doc, indent=4) + "\n")),
        Document("background", job.BACKGROUND_FILE, lambda p: write_json_atomic(p, bg_text))]
    if shap.save_local_shap_values:
        local = job.local_values_text(explained)
        outcome.documents.append(Document("local_shap_values", job.LOCAL_VALUES_FILE,
                                          lambda p: write_json_atomic(p, local)))
    if baseline is not None:
        drift = check_attribution_drift(baseline, doc, params.drift_threshold, params.baseline_constraints)
        art.drift = drift
        outcome.violations = [Violation(feature_name=None, constraint_check_type=v["constraint_check_type"],
                                        description=v["description"], metric_name=v["metric_name"],
                                        label=v["label"], value=drift.ndcg.get(v["label"]),
                                        threshold=drift.threshold) for v in drift.violations]
        outcome.details.update({"threshold": params.drift_threshold, "ndcg": dict(drift.ndcg),
                                "not_compared": drift.not_compared, "features_missing": drift.missing})
        violations = list(drift.violations)
        if violations:  # as the real container: no constraint_violations.json without violations
            outcome.documents.append(Document("violations", filenames.VIOLATIONS, lambda p: write_json_atomic(
                p, json.dumps({"version": "1.0", "violations": violations}, indent=4) + "\n")))
    return outcome.finish()


# ---------------------------------------------------------------- the monitor


class ModelExplainabilityMonitor(ClarifyMonitor):
    name = "model-explainability"
    analysis_type = "MODEL_EXPLAINABILITY"
    title = "feature attribution"
    cloudwatch_metric_group = "explainability-metrics"

    def alarm_plan(self, baseline, source: str, endpoint: str | None, schedule: str | None):
        from monitor_lib.alarms import not_alarmable

        raise not_alarmable(self.name, "its check (the NDCG of a window's feature ranking against the baseline's) "
                            "is not a published metric, and the published global SHAP values have no threshold in "
                            "the baseline; notify on its violations instead (sns_topic_arn, webhook_url)")

    phases = (
        Phase("baseline", "baseline", ModelExplainabilityParams, run_explain, job="model_explainability_baseline",
              title="Feature-attribution baseline",
              help="KernelSHAP global attributions of a dataset: analysis.json, the constraints of monitoring runs",
              files=(filenames.ANALYSIS, filenames.VIOLATIONS, "explanations_shap/baseline.csv",
                     "explanations_shap/out.csv"),
              processing_input=("dataset", "/opt/ml/processing/input/data"), validate=_baseline_phase),
        Phase("monitoring", "monitor", ModelExplainabilityParams, run_explain,
              job="model_explainability_monitoring", title="Feature-attribution monitoring",
              help="explain the window's captured requests and check each label's feature ranking against the "
                   "baseline's (NDCG, feature_attribution_drift_check)",
              files=(filenames.ANALYSIS, filenames.VIOLATIONS, "explanations_shap/baseline.csv",
                     "explanations_shap/out.csv"), validate=_monitoring_phase),
    )
    history_trends = (Trend("ndcg", "threshold", "feature_attribution_drift_check",
                            "NDCG of the feature ranking against the baseline's (dashed: the threshold)"),)
    history_cards = False
    violations_optional = True  # as the real container: a Completed run has no constraint_violations.json

    def claims_config(self, path: str) -> bool:
        """A Clarify config that asks for SHAP and no bias metric."""
        return shap_only(path)

    def analysis_metrics(self, analysis: dict, params: ModelExplainabilityParams) -> list[dict]:
        from monitor_lib.formats.cloudwatch import explainability_metrics

        return explainability_metrics(analysis, params.metric_timestamp, params.endpoint_name, params.schedule_name)

    def summary_lines(self, outcome: RunOutcome) -> list[str]:
        from monitor_lib.monitors.model_explainability_report import summary_lines

        return summary_lines(outcome)

    def report_sections(self, outcome: RunOutcome) -> list[str]:
        from monitor_lib.monitors.model_explainability_report import report_sections

        return report_sections(outcome)

    def history_values(self, outcome: RunOutcome) -> dict[str, dict]:
        """Per label: the NDCG of the window against the baseline, and the threshold."""
        ndcg = outcome.details.get("ndcg") or {}
        threshold = outcome.details.get("threshold")
        return {str(label): {"ndcg": float(v), "threshold": threshold} for label, v in ndcg.items()}

    def history_series(self, violation: Violation) -> str:
        return violation.label or ""

    def claims_folder(self, statistics: dict, violations: list[Violation]) -> bool:
        return any(v.constraint_check_type == "feature_attribution_drift_check" for v in violations)


MONITOR = ModelExplainabilityMonitor()
