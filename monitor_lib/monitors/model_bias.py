"""Model bias (``--type model-bias``, SageMaker ``MODEL_BIAS``): Clarify's pre- and post-training bias metrics of a
labelled dataset (the baseline: ``analysis.json``, which is also the constraints), and of each window's captured
predictions merged with their ground truth (monitoring: the same metrics, checked against the baseline's as
``bias_drift_check`` violations).

Every metric but FT comes from one Spark aggregation (:mod:`monitor_lib.bias.aggregate`); the formulas are pure
Python over its counts (:mod:`monitor_lib.bias.metrics`); FT fits its nearest neighbours on group a and predicts
group d in the executors (:mod:`monitor_lib.bias.flip`).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

from monitor_lib import filenames
from monitor_lib.errors import ConfigError, EmptyDatasetError, MonitorError, UnreadableInputError
from monitor_lib.formats.clarify import config_asks_for, shap_only
from monitor_lib.formats.jsonfmt import write_json_atomic
from monitor_lib.formats.violations import Violation
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.monitors.base import Document, Phase, RunContext, RunOutcome, Trend
from monitor_lib.monitors.clarify import ClarifyArtifacts, ClarifyMonitor
from monitor_lib.monitors.common import (
    DEFAULT_CAPTURE_FORMAT,
    DEFAULT_MERGE_FORMAT,
    FORMAT_HELP,
    MonitoringParams,
    merge_rejected,
    no_data_counts,
    parse_dataset_format,
    rejection_failure,
)
from monitor_lib.params import integer, number, param

log = logging.getLogger(__name__)

ATTRIBUTES = "attributes"


@dataclass(frozen=True)
class ModelBiasParams(MonitoringParams):
    """A model-bias run. Without ``baseline_constraints`` it is a baseline (the metrics of a labelled dataset);
    with it, a monitoring run (the metrics of the window's merged records checked against the baseline's
    analysis.json)."""

    FORMAT_CHOICES = ("capture", "merged", "csv", "json", "parquet")

    dataset_source: str = param("dataset_source", "the labelled dataset, merged records or capture root (a file, "
                                "folder or s3:// URI)", flag="--dataset", required=True, path="input")
    dataset_format: DatasetFormat | None = param(
        "dataset_format", FORMAT_HELP, parse=parse_dataset_format,
        default_text="the analysis config's dataset_type; monitoring: sagemakerCaptureJson with "
                     "ground_truth_source, else sagemakerMergeJson")
    analysis_config: str = param("analysis_config", "Clarify's analysis_config.json: label, "
                                 "label_values_or_threshold, facet, group_variable, headers, methods",
                                 required=True, path="input_file")
    baseline_constraints: str | None = param("baseline_constraints", "the baseline's analysis.json (monitoring "
                                             "runs)", path="input_file")
    ground_truth_source: str | None = param("ground_truth_source", "monitoring: ground-truth root; the window's "
                                            "captures are merged with it first", flag="--ground-truth",
                                            path="input")
    inference_attribute: str | None = param("inference_attribute", "the predicted label: 0-based position or JSON "
                                            "path in the endpoint output (a dataset column for datasets)",
                                            group=ATTRIBUTES)
    probability_attribute: str | None = param("probability_attribute", "the predicted score: position or JSON path "
                                              "in the endpoint output (a dataset column for datasets)",
                                              group=ATTRIBUTES)
    probability_threshold_attribute: float | None = param(
        "probability_threshold_attribute", "predicted label = 1 when the score is above this threshold",
        parse=number, default_text="the config's probability_threshold, else 0.5", group=ATTRIBUTES)
    features_attribute: str | None = param("features_attribute", "JSON requests: the JSON path of the features "
                                           "array", group=ATTRIBUTES)
    ground_truth_attribute: str | None = param("ground_truth_attribute", "the label inside the ground-truth data "
                                               "(position or JSON path)", default_text="the whole value",
                                               group=ATTRIBUTES)
    flip_test_rows: int = param("flip_test_rows", "FT: group a rows the nearest neighbours are fitted on; beyond "
                                "it a seeded sample", parse=integer(1), default=100_000)
    seed: int = param("seed", "seed of the flip test's sample", parse=integer(), default=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        fmt = self.dataset_format
        if fmt is not None and fmt.kind == "capture" and not self.ground_truth_source:
            raise ConfigError("dataset_format sagemakerCaptureJson holds no labels: give ground_truth_source "
                              "(the merge runs first) or analyse merged records with sagemakerMergeJson")
        if self.probability_threshold_attribute is not None and not self.probability_attribute:
            raise ConfigError("probability_threshold_attribute needs probability_attribute")

    @property
    def is_baseline(self) -> bool:
        return not self.baseline_constraints


def _baseline_phase(params: ModelBiasParams) -> None:
    if params.baseline_constraints:
        raise ConfigError("baseline_constraints makes a monitoring run: use model-monitor monitor")


def _monitoring_phase(params: ModelBiasParams) -> None:
    if not params.baseline_constraints:
        raise ConfigError("--baseline-constraints is required: the analysis.json of the model-bias baseline")


# ---------------------------------------------------------------- the run


def _dataset_format(params: ModelBiasParams, config) -> DatasetFormat:
    from monitor_lib.bias.config import dataset_type_format

    if params.dataset_format is not None:
        return params.dataset_format
    if params.ground_truth_source:
        return DatasetFormat.parse(DEFAULT_CAPTURE_FORMAT, "dataset_format")
    if (fmt := dataset_type_format(config)) is not None:
        return fmt
    if not params.is_baseline:
        return DatasetFormat.parse(DEFAULT_MERGE_FORMAT, "dataset_format")
    raise ConfigError("dataset_format is required: give --format (csv, json, parquet) or dataset_type in the "
                      "analysis config")


def _threshold(params: ModelBiasParams, config) -> float | None:
    if not params.probability_attribute:
        return None
    if params.probability_threshold_attribute is not None:
        return params.probability_threshold_attribute
    return config.probability_threshold if config.probability_threshold is not None else 0.5


def run_bias(params: ModelBiasParams, ctx: RunContext) -> RunOutcome:
    from monitor_lib.bias.analysis import analysis_document, check_bias_drift
    from monitor_lib.bias.config import read_bias_config
    from monitor_lib.bias.job import analyse
    from monitor_lib.formats.clarify import metric_values
    from monitor_lib.formats.jsonfmt import load_json_file
    from monitor_lib.monitors import model_quality

    config = read_bias_config(params.analysis_config)
    baseline = None
    if not params.is_baseline:
        baseline = load_json_file(params.baseline_constraints)
        metric_values(baseline, params.baseline_constraints)  # a file that is no analysis.json fails here
    fmt = _dataset_format(params, config)
    config = _with_stages(config, params, fmt)
    source, merge = params.dataset_source, None
    if params.ground_truth_source:
        merge_params = model_quality.MergeParams(params.dataset_source, params.ground_truth_source,
                                                 os.path.join(ctx.out, filenames.MERGE_FOLDER), params.start_time,
                                                 params.end_time, output_kms_key=params.output_kms_key)
        merge = ctx.run_nested(model_quality.MONITOR, model_quality.MONITOR.phase("merge"), merge_params,
                               filenames.MERGE_FOLDER)
        source = ctx.public(os.path.join(ctx.out, filenames.MERGE_FOLDER))
        fmt = DatasetFormat("merge", capture_index_names=("endpointInput", "endpointOutput"))
    phase = "baseline" if params.is_baseline else "monitoring"
    art = ClarifyArtifacts(baseline=baseline)
    outcome = RunOutcome(
        monitor=MONITOR.name, phase=phase, job=f"model_bias_{phase}", start_time=params.start_time,
        end_time=params.end_time, scheduled_time=getattr(params, "scheduled_time", None),
        endpoint=params.endpoint_name, schedule=params.schedule_name, artifacts=art,
        details={"analysis_config": params.analysis_config, "baseline_constraints": params.baseline_constraints,
                 "methods": {k: list(v) for k, v in config.methods.items()}})
    if merge is not None:
        outcome.details["merge"] = merge.summary()
    try:
        run = analyse(ctx, params, config, source, fmt, _threshold(params, config))
    except MonitorError:
        raise
    except Exception as e:
        from monitor_lib.io.readers import spark_message

        raise UnreadableInputError(f"reading dataset_source {ctx.public(source)} failed: {spark_message(e)}") \
            from None
    outcome.files_read = len(run.files)
    outcome.data_files = list(run.files) if merge is None else None  # merged: the run's own files, not an input
    if "shap" in config_asks_for(params.analysis_config):  # Clarify would add explanations to the same file
        note = ("the analysis config also asks for methods.shap, which this run does not compute: run --type "
                "model-explainability (analysis_type MODEL_EXPLAINABILITY) with the same config")
        log.warning("%s", note)
        run.notes.append(note)
    t = run.tallies
    outcome.records, outcome.rejected, outcome.skipped = t.records, dict(t.rejected), dict(t.skipped)
    outcome.rejected_sample = t.sample
    outcome.details.update({"label_type": t.label_type, "facet_types": dict(t.facet_types),
                            "jobs_reading_input": t.jobs_reading_input, "notes": list(run.notes)})
    art.notes = list(run.notes)
    if not params.is_baseline:
        outcome.failure_reason = rejection_failure(t.records, {**merge_rejected(merge), **t.rejected}, t.skipped,
                                                   params.max_rejected_fraction, outcome.window_text, "analysed")
    if outcome.failure_reason:
        log.error("%s", outcome.failure_reason)
        return outcome.finish()
    if t.records == 0:
        reason = _no_data_reason(params, ctx.public(source), run, merge)
        if params.is_baseline:
            raise EmptyDatasetError(f"dataset_source {ctx.public(source)} has no records to analyse: {reason}")
        outcome.no_data_reason = reason
        log.warning("no data in window %s: %s", outcome.window_text, reason)
        return outcome.finish(has_data=False)
    doc = analysis_document(run.result, config.methods)
    if run.notes:
        doc["run_summary"] = {"notes": list(run.notes)}
    art.analysis = doc
    outcome.documents = [Document("analysis", filenames.ANALYSIS, lambda p: write_json_atomic(
        p, json.dumps(doc, indent=4) + "\n"))]
    if baseline is not None:
        drift = check_bias_drift(baseline, doc, params.baseline_constraints)
        art.drift = drift
        outcome.violations = [Violation(feature_name=None, constraint_check_type=v["constraint_check_type"],
                                        description=v["description"], metric_name=v["metric_name"],
                                        facet=v["facet"], facet_value=v["facet_value"],
                                        **_measured(drift, v)) for v in drift.violations]
        outcome.details.update({"metrics_compared": drift.compared, "not_compared": drift.not_compared})
        violations = list(drift.violations)
        outcome.documents.append(Document("violations", filenames.VIOLATIONS, lambda p: write_json_atomic(
            p, json.dumps({"version": "1.0", "violations": violations}, indent=4) + "\n")))
    return outcome.finish()


def _measured(drift, v: dict) -> dict:
    """The violation's value and threshold (the baseline's value), kept in memory for notifications."""
    value, threshold = drift.measured.get((v["metric_name"], v["facet"], v["facet_value"]), (None, None))
    return {"value": value, "threshold": threshold}


def _with_stages(config, params: ModelBiasParams, fmt: DatasetFormat):
    """The config with the stages this run can compute: post-training metrics need predictions (merged records
    always have them). A config without ``methods`` (the monitor's) on a dataset without predictions computes
    the pre-training metrics only; asking for post-training metrics there is an error."""
    from dataclasses import replace

    has_prediction = bool(params.probability_attribute or params.inference_attribute
                          or config.predicted_label is not None or fmt.kind in ("merge", "capture"))
    if "post_training_bias" not in config.methods or has_prediction:
        return config
    if not config.methods_given and config.methods.get("pre_training_bias"):
        log.info("no predicted labels in the dataset: pre-training metrics only")
        return replace(config, methods={"pre_training_bias": config.methods["pre_training_bias"]})
    raise ConfigError(f"{config.source}: post_training_bias needs predicted labels — give predicted_label (the "
                      "dataset column of the predictions), or inference_attribute / probability_attribute")


def _no_data_reason(params: ModelBiasParams, source: str, run, merge: RunOutcome | None) -> str:
    if merge is not None and merge.details.get("matched") == 0:
        c = merge.details
        if c.get("predictions") == 0:
            return f"no captured predictions under {params.dataset_source} in this window"
        return (f"none of the {c['predictions']} predictions has a ground-truth label yet "
                f"({c['labels']} label(s) read from {params.ground_truth_source})")
    if not run.files:
        return f"no files under {source} for this window"
    return f"{len(run.files)} file(s) read, no record to analyse: " + no_data_counts(run.tallies.rejected,
                                                                                     run.tallies.skipped)


# ---------------------------------------------------------------- the monitor


class ModelBiasMonitor(ClarifyMonitor):
    name = "model-bias"
    analysis_type = "MODEL_BIAS"
    title = "model bias"
    cloudwatch_metric_group = "bias-metrics"

    def alarm_plan(self, baseline, source: str, endpoint: str | None, schedule: str | None):
        from monitor_lib.alarms import bias_plan

        return bias_plan(baseline, source, endpoint, schedule)

    phases = (
        Phase("baseline", "baseline", ModelBiasParams, run_bias, job="model_bias_baseline",
              title="Model-bias baseline",
              help="Clarify's bias metrics of a labelled dataset: analysis.json, the constraints of monitoring runs",
              files=(filenames.ANALYSIS, filenames.VIOLATIONS),
              processing_input=("dataset", "/opt/ml/processing/input/data"), validate=_baseline_phase),
        Phase("monitoring", "monitor", ModelBiasParams, run_bias, job="model_bias_monitoring",
              title="Model-bias monitoring",
              help="merge the window's predictions with their labels, compute the bias metrics and check them "
                   "against the baseline's analysis.json (bias_drift_check)",
              files=(filenames.ANALYSIS, filenames.VIOLATIONS), validate=_monitoring_phase),
    )
    history_trends = (Trend("distance", "baseline", "bias_drift_check",
                            "distance from parity, |value − neutral| (dashed: the baseline's)"),)
    history_cards = False

    def claims_config(self, path: str) -> bool:
        """Every Clarify config but one that asks for SHAP only (the model-explainability monitor's)."""
        return not shap_only(path)

    def analysis_metrics(self, analysis: dict, params: ModelBiasParams) -> list[dict]:
        from monitor_lib.formats.cloudwatch import bias_metrics

        return bias_metrics(analysis, params.metric_timestamp, params.endpoint_name, params.schedule_name)

    def summary_lines(self, outcome: RunOutcome) -> list[str]:
        from monitor_lib.monitors.model_bias_report import summary_lines

        return summary_lines(outcome)

    def report_sections(self, outcome: RunOutcome) -> list[str]:
        from monitor_lib.monitors.model_bias_report import report_sections

        return report_sections(outcome)

    def history_values(self, outcome: RunOutcome) -> dict[str, dict]:
        """Per facet entry and metric: its distance from parity (``|value − neutral|``, the quantity the drift
        rule compares) and the baseline's, so a run above the dashed line is a violation."""
        from monitor_lib.bias.analysis import NEUTRAL, baseline_lookup, series_name
        from monitor_lib.formats.clarify import metric_values

        art = outcome.artifacts
        if art is None or art.analysis is None:
            return {}
        lookup = baseline_lookup(art.baseline)

        def distance(value: float | None, name: str) -> float | None:
            if value is None or value != value or abs(value) == float("inf"):
                return None
            return abs(value - NEUTRAL.get(name, 0.0))

        out = {}
        for v in metric_values(art.analysis):
            if distance(v.value, v.name) is None:
                continue
            out[series_name(v.facet, v.facet_value, v.name)] = {
                "distance": distance(v.value, v.name),
                "baseline": distance(b.value if (b := lookup(v)) else None, v.name)}
        return out

    def history_series(self, violation: Violation) -> str:
        from monitor_lib.bias.analysis import series_name

        return series_name(violation.facet or "", violation.facet_value or "", violation.metric_name or "")

    def claims_folder(self, statistics: dict, violations: list[Violation]) -> bool:
        return any(v.constraint_check_type == "bias_drift_check" for v in violations)


MONITOR = ModelBiasMonitor()
