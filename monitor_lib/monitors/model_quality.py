"""Model quality (``--type model-quality``, SageMaker ``MODEL_QUALITY``): a baseline computes the metrics of a
labelled validation set and suggests constraints; a monitoring run merges the window's captured predictions
with their ground-truth labels (the ``merge`` phase, SageMaker's ground-truth merger) and checks the metrics
against the constraints."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor_lib import filenames
from monitor_lib.errors import ConfigError, EmptyDatasetError, MonitorError, UnreadableInputError
from monitor_lib.formats.jsonfmt import write_json_atomic
from monitor_lib.formats.model_quality import (
    PROBLEM_TYPES,
    ModelQualityConstraints,
    ModelQualityStatistics,
    check_model_quality,
    parse_model_quality_constraints,
    parse_model_quality_statistics,
    read_model_quality_constraints,
    suggest_model_quality_constraints,
    write_model_quality_constraints,
    write_model_quality_statistics,
)
from monitor_lib.formats.violations import ConstraintViolations, Violation, write_violations
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.monitors.base import Document, Monitor, Phase, RunContext, RunOutcome, Trend
from monitor_lib.monitors.common import (
    DEFAULT_CAPTURE_FORMAT,
    DEFAULT_MERGE_FORMAT,
    END_OFFSET,
    FORMAT_HELP,
    SCHEDULED_TIME,
    START_OFFSET,
    WINDOW,
    MonitoringParams,
    check_window,
    counts_text,
    derive_window,
    merge_rejected,
    no_data_counts,
    parse_dataset_format,
    parse_scheduled_time,
    parse_window_duration,
    read_optional,
    record_lines,
    rejection_failure,
)
from monitor_lib.params import check_required, integer, number, param
from monitor_lib.timefmt import parse_time

log = logging.getLogger(__name__)

ATTRIBUTES = "attributes"


@dataclass(frozen=True)
class ModelQualityParams(MonitoringParams):
    """A model-quality run. Without ``baseline_constraints`` it is a baseline (metrics of a labelled validation
    set + suggested constraints); with it, a monitoring run (metrics of the window's merged records, or of a
    labelled batch dataset, checked against the constraints).

    Attributes locate values in a record: a column name or a 0-based position (csv, parquet, the CSV payloads
    of captures), or a simple JSON path (``$.a.b``, ``$[0]``, ``$.predictions[0].score``; a bare name means
    ``$.name``) for JSON. With a probability and ``probability_threshold_attribute`` the predicted label is
    probability >= threshold.
    """

    FORMAT_CHOICES = ("capture", "merged", "csv", "json", "parquet")
    # flags the --help example adds to the required ones (monitor_lib/cli_help.py)
    EXAMPLE_FLAGS = ("--inference-attribute", "prediction", "--ground-truth-attribute", "label")

    dataset_source: str = param("dataset_source", "the labelled dataset, merged records or capture root (a file, "
                                "folder or s3:// URI)", flag="--dataset", required=True, path="input")
    dataset_format: DatasetFormat = param(
        "dataset_format", FORMAT_HELP, parse=parse_dataset_format, required=True,
        default_text="required for a baseline; monitoring: sagemakerCaptureJson with ground_truth_source, else "
                     "sagemakerMergeJson")
    problem_type: str = param("problem_type", "the kind of model", choices=PROBLEM_TYPES, required=True,
                              group=ATTRIBUTES)
    inference_attribute: str | None = param("inference_attribute", "the prediction: column name, 0-based position "
                                            "or JSON path ($.predictions[0].label)", group=ATTRIBUTES)
    probability_attribute: str | None = param("probability_attribute", "binary: the predicted probability of the "
                                              "positive class (name, position or JSON path)", group=ATTRIBUTES)
    probability_threshold_attribute: float | None = param(
        "probability_threshold_attribute", "binary: predicted label = probability >= this threshold", parse=number,
        default_text="0.5 without inference_attribute", group=ATTRIBUTES)
    ground_truth_attribute: str | None = param("ground_truth_attribute", "the actual label in a labelled dataset "
                                               "(name, position or JSON path)", group=ATTRIBUTES)
    positive_label: str | None = param("positive_label", "binary: the positive class", default_text="1 / true",
                                       group=ATTRIBUTES)
    baseline_constraints: str | None = param("baseline_constraints", "constraints.json of the model-quality "
                                             "baseline (monitoring runs)", path="input_file")
    ground_truth_source: str | None = param("ground_truth_source", "monitoring: ground-truth root; the window's "
                                            "captures are merged with it first", flag="--ground-truth",
                                            path="input")
    seed: int = param("seed", "seed of the 5 bootstrap samples behind the standard deviations", parse=integer(),
                      default=0)

    @classmethod
    def complete_params(cls, raw: dict[str, Any]) -> dict[str, Any]:
        if raw.get("dataset_format") in (None, "") and raw.get("baseline_constraints"):
            raw["dataset_format"] = DEFAULT_CAPTURE_FORMAT if raw.get("ground_truth_source") else DEFAULT_MERGE_FORMAT
        return raw

    def __post_init__(self) -> None:
        super().__post_init__()
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


def _baseline_phase(params: ModelQualityParams) -> None:
    if params.baseline_constraints:
        raise ConfigError("baseline_constraints makes a monitoring run: use model-monitor monitor")


def _monitoring_phase(params: ModelQualityParams) -> None:
    if not params.baseline_constraints:
        raise ConfigError("--baseline-constraints is required: the constraints.json of the model-quality baseline")


@dataclass(frozen=True)
class MergeParams:
    """SageMaker's ground-truth merger: capture records of the window joined with their labels."""

    dataset_source: str = param("dataset_source", "capture root ({endpoint}/{variant}/yyyy/mm/dd/hh)",
                                flag="--dataset", required=True, path="input")
    ground_truth_source: str = param("ground_truth_source", "ground-truth root (every file is read: labels arrive "
                                     "after the predictions)", flag="--ground-truth", required=True,
                                     path="input")
    output_path: str = param("output_path", "the folder (or s3:// URI) that receives the merged records",
                             flag="--output", required=True, path="output")
    start_time: datetime | None = param("start_time", "window start, ISO-8601 UTC (inclusive)", parse=parse_time)
    end_time: datetime | None = param("end_time", "window end, ISO-8601 UTC (exclusive)", parse=parse_time)
    output_kms_key: str | None = param("output_kms_key", "s3:// outputs: encrypt the uploaded objects with this KMS "
                                       "key (SSE-KMS)", flag="--kms-key")
    scheduled_time: datetime | None = param(*SCHEDULED_TIME, parse=parse_scheduled_time)
    window: timedelta | None = param(*WINDOW, parse=parse_window_duration, default_text="PT1H")
    start_offset: timedelta | None = param(*START_OFFSET, parse=parse_window_duration)
    end_offset: timedelta | None = param(*END_OFFSET, parse=parse_window_duration)

    def __post_init__(self) -> None:
        check_required(self)
        derive_window(self)
        check_window(self.start_time, self.end_time)


@dataclass
class ModelQualityArtifacts:
    statistics: ModelQualityStatistics | None = None
    constraints: ModelQualityConstraints | None = None  # suggested (baseline) or the baseline's (monitoring)
    tallies: Any = None  # QualityTallies
    merge: RunOutcome | None = None


# ---------------------------------------------------------------- merge


def run_merge(params: MergeParams, ctx: RunContext) -> RunOutcome:
    """The window's captures joined with their labels, written as ``sagemakerMergeJson`` records in the
    capture's folder layout."""
    from monitor_lib.quality.merge import merge_window

    merged = merge_window(ctx.spark, params.dataset_source, params.ground_truth_source, params.start_time,
                          params.end_time)
    return _merge_outcome(params, ctx, merged)


def _merge_outcome(params: MergeParams, ctx: RunContext, merged) -> RunOutcome:
    """Write a merge (a :class:`~monitor_lib.quality.merge.MergeOutcome`, of this run or of a backfill's shared
    job) into the run's folder and describe it."""
    from monitor_lib.quality.merge import write_merged_records

    ctx.spark  # noqa: B018 — the session the merge runs in: its summary names the master, as a run's own merge
    try:
        written = [ctx.public(w) for w in write_merged_records(merged.merged, ctx.public(ctx.out), merged.folders,
                                                              params.output_kms_key)]
    finally:
        merged.release()
    c = merged.counts
    outcome = RunOutcome(
        monitor=MONITOR.name, phase="merge", job="ground_truth_merge", start_time=params.start_time,
        end_time=params.end_time, scheduled_time=params.scheduled_time, files_read=c.capture_files, records=c.matched,
        rejected={**{f"capture_{k}": v for k, v in c.captures_rejected.items()},
                  **{f"label_{k}": v for k, v in c.labels_rejected.items()}},
        skipped=dict(c.captures_skipped), details={**c.to_dict(), "merged_files": len(written)},
        artifacts=written)
    sample = merged.sample
    if sample:
        outcome.documents.append(Document("sample", filenames.MERGED_SAMPLE, lambda p: write_json_atomic(
            p, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample))))
    outcome.message = (f"Completed: Merged {c.matched} of {c.predictions} predictions with ground truth "
                       f"({c.unmatched_predictions} without a label, {c.unmatched_labels} unmatched labels, "
                       f"{c.duplicate_labels} duplicate labels).")
    log.info("%s", outcome.message)
    return outcome


# ---------------------------------------------------------------- baseline and monitoring


def _evaluation_time() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def run_quality(params: ModelQualityParams, ctx: RunContext) -> RunOutcome:
    """A baseline (no ``baseline_constraints``: statistics.json + suggested constraints.json) or a monitoring run
    (the window's metrics checked against the constraints; with ``ground_truth_source`` the captures are merged
    with their labels first, into ``output_path/merge``)."""
    from monitor_lib.io.readers import spark_message
    from monitor_lib.quality.aggregate import aggregate_quality
    from monitor_lib.quality.extract import labelled_records
    from monitor_lib.quality.results import statistics_from_tallies

    constraints = None if params.is_baseline else read_model_quality_constraints(params.baseline_constraints)
    if constraints is not None and constraints.problem_type != params.problem_type:
        raise ConfigError(f"baseline_constraints {params.baseline_constraints} holds {constraints.problem_type} "
                          f"constraints but problem_type is {params.problem_type}")
    source, fmt, merge, tallies, pre = params.dataset_source, params.dataset_format, None, _READ, None
    if params.ground_truth_source:
        merge_params = MergeParams(params.dataset_source, params.ground_truth_source,
                                   os.path.join(ctx.out, filenames.MERGE_FOLDER), params.start_time, params.end_time,
                                   output_kms_key=params.output_kms_key)
        merge_phase = MONITOR.phase("merge")
        pre = ctx.precomputed if isinstance(ctx.precomputed, PrecomputedWindow) else None
        if pre is not None:  # a backfill: this window's part of the shared merge, written here
            merge_phase = replace(merge_phase, run=lambda p, c: _merge_outcome(p, c, pre.merge))
        merge = ctx.run_nested(MONITOR, merge_phase, merge_params, filenames.MERGE_FOLDER)
        source = ctx.public(os.path.join(ctx.out, filenames.MERGE_FOLDER))
        fmt = DatasetFormat("merge", capture_index_names=("endpointOutput",))
        if pre is not None:
            labelled, data_files, tallies = _precomputed_records(params, ctx, pre, merge, source)
    if tallies is _READ:
        labelled, data_files = labelled_records(ctx.spark, params, source, fmt)
    phase = "baseline" if params.is_baseline else "monitoring"
    art = ModelQualityArtifacts(constraints=constraints, merge=merge)
    outcome = RunOutcome(
        monitor=MONITOR.name, phase=phase, job=f"model_quality_{phase}", start_time=params.start_time,
        end_time=params.end_time, scheduled_time=getattr(params, "scheduled_time", None),
        endpoint=params.endpoint_name, schedule=params.schedule_name,
        files_read=len(data_files), artifacts=art,
        data_files=list(data_files) if merge is None else None,  # merged: the run's own files, not an input
        details={"problem_type": params.problem_type, "baseline_constraints": params.baseline_constraints,
                 "records_evaluated": 0, "metrics": {}, "violations_by_metric": {}})
    if merge is not None:
        outcome.details["merge"] = merge.summary()
    if pre is not None:
        outcome.details.update(pre.details)
    if tallies is _READ:
        tallies = None
    elif isinstance(tallies, MonitorError):  # what aggregating this window alone raises
        raise tallies
    if labelled is not None and tallies is None:
        log.info("evaluating %s metrics of %d file(s) under %s", params.problem_type, len(data_files),
                 ctx.public(source))
        try:
            tallies = aggregate_quality(labelled, params, by_text=fmt.kind == "merge")
        except MonitorError:
            raise
        except Exception as e:
            raise UnreadableInputError(f"reading dataset_source {ctx.public(source)} failed: "
                                       f"{spark_message(e)}") from None
    art.tallies = tallies
    if tallies is not None:
        outcome.records, outcome.rejected, outcome.skipped = (tallies.records, dict(tallies.rejected),
                                                              dict(tallies.skipped))
        outcome.rejected_sample = tallies.sample
        outcome.details["records_evaluated"] = tallies.records
    if not params.is_baseline:
        outcome.failure_reason = rejection_failure(
            outcome.records, {**merge_rejected(merge), **outcome.rejected}, outcome.skipped,
            params.max_rejected_fraction, outcome.window_text, "evaluated")
    if outcome.failure_reason:
        log.error("%s", outcome.failure_reason)
        return outcome.finish()
    if tallies is None or tallies.records == 0:
        reason = _no_labels_reason(params, ctx.public(source), fmt, data_files, tallies, merge)
        if params.is_baseline:
            raise EmptyDatasetError(f"dataset_source {ctx.public(source)} has no labelled records to evaluate: "
                                    f"{reason}")
        outcome.no_data_reason = reason
        log.warning("no data in window %s: %s", outcome.window_text, reason)
        return outcome.finish(has_data=False)
    statistics = statistics_from_tallies(tallies, _evaluation_time())
    art.statistics = statistics
    if params.is_baseline:
        art.constraints = suggest_model_quality_constraints(statistics)
    else:
        outcome.violations = check_model_quality(constraints, statistics)
    suggested = art.constraints
    outcome.details["metrics"] = {k: m.value for k, m in statistics.metrics.items()}
    outcome.details["violations_by_metric"] = {v.metric_name: v.constraint_check_type for v in outcome.violations}
    outcome.documents = [
        Document("statistics", filenames.STATISTICS, lambda p: write_model_quality_statistics(statistics, p)),
        Document("constraints", filenames.CONSTRAINTS, lambda p: write_model_quality_constraints(suggested, p))]
    if not params.is_baseline:
        violations = list(outcome.violations)
        outcome.documents.append(Document("violations", filenames.VIOLATIONS,
                                          lambda p: write_violations(ConstraintViolations(violations), p)))
        outcome.documents += quality_state_documents(tallies)
    return outcome.finish()


def quality_state_documents(tallies) -> list[Document]:
    """``model_quality_state.json``: the run's counts and sums, which ``model-monitor rollup`` merges into days and
    weeks (monitor_lib.quality.state); none when the tallies cannot be merged."""
    from monitor_lib.quality.state import mergeable, state_from_tallies, write_quality_state

    if not mergeable(tallies):
        return []
    state = state_from_tallies(tallies)
    return [Document("quality_state", filenames.QUALITY_STATE, lambda p: write_quality_state(state, p))]


# ---------------------------------------------------------------- many windows in one job (a backfill)

_READ = object()  # run_quality: the run reads and aggregates its records itself


class _SharedMerge:
    """The persisted frame behind a backfill's windows: freed when the last window has been written."""

    def __init__(self, merge, windows: int) -> None:
        self.merge, self.left = merge, windows

    def done(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.merge.release()


@dataclass
class PrecomputedWindow:
    """One window's part of :func:`precompute_quality`: its merge (counts, sample, folders, merged records to
    write) and the tallies of its merged records (an InputError when its single run would raise one), the
    merged records' ``file`` being their folder until the run knows where it wrote them."""

    merge: Any  # monitor_lib.quality.merge.MergeOutcome
    tallies: Any  # QualityTallies | MonitorError
    shared: _SharedMerge
    details: dict[str, Any] = field(default_factory=dict)  # run_summary.json entries (the backfill adds its own)


def _group_key(p: ModelQualityParams) -> tuple:
    """Windows that one shared job can compute: same capture and labels, same way of reading them."""
    return (p.dataset_source, p.ground_truth_source, p.problem_type, p.inference_attribute, p.probability_attribute,
            p.probability_threshold_attribute, p.ground_truth_attribute, p.positive_label, p.seed)


def precompute_quality(spark, params_list: list[ModelQualityParams]) -> list[PrecomputedWindow | None]:
    """The ``precompute`` of model-quality monitoring (``model-monitor backfill``): the windows' captures merged
    with the ground truth in ONE job (every capture file and the ground truth read once, one join), then ONE
    aggregation of the merged records grouped by window (and one AUC regroup grouped by window). Each window's
    run writes its merged records and gets the tallies its single run would compute after reading them back.
    None for runs that read for themselves: baselines, labelled datasets, runs without a window; and all the
    windows of a group whose shared evaluation failed (each run then fails or succeeds alone)."""
    from monitor_lib.quality.aggregate import aggregate_quality_windows
    from monitor_lib.quality.extract import merged_records_windows
    from monitor_lib.quality.merge import merge_windows

    out: list[PrecomputedWindow | None] = [None] * len(params_list)
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(params_list):
        if isinstance(p, ModelQualityParams) and not p.is_baseline and p.ground_truth_source \
                and p.start_time is not None and p.end_time is not None:
            groups.setdefault(_group_key(p), []).append(i)
    for indexes in groups.values():
        config = params_list[indexes[0]]
        windows = [(params_list[i].start_time, params_list[i].end_time) for i in indexes]
        log.info("model-quality backfill: merging and evaluating %d window(s) in one job", len(windows))
        merged = merge_windows(spark, config.dataset_source, config.ground_truth_source, windows)
        try:
            labelled = merged_records_windows(_window_bounds(merged.merged_lines(), windows), config)
            tallies = aggregate_quality_windows(labelled, config, list(range(len(windows))))
        except Exception as e:  # noqa: BLE001 — the windows then run alone, each with its own outcome
            merged.release()
            log.warning("model-quality backfill: the shared evaluation failed (%s); the %d window(s) run one by one",
                        str(e).splitlines()[0] if str(e) else type(e).__name__, len(windows))
            continue
        shared = _SharedMerge(merged, len(indexes))
        for j, i in enumerate(indexes):
            out[i] = PrecomputedWindow(merged.outcome(j), tallies[j], shared)
    return out


def _window_bounds(lines, windows):
    """``w``, ``rel``, ``line`` → ``line``, ``file`` (the folder: replaced by the run), ``w``, and its bounds
    ``w_start`` / ``w_end`` in microseconds (what the merged records are judged against, as a single run)."""
    from pyspark.sql import functions as F

    def micros(t: datetime) -> int:
        return int((t - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))

    starts = F.array(*[F.lit(micros(s)) for s, _ in windows])
    ends = F.array(*[F.lit(micros(e)) for _, e in windows])
    w1 = F.col("w") + 1
    return lines.select("line", F.col("rel").alias("file"), "w", F.element_at(starts, w1).alias("w_start"),
                        F.element_at(ends, w1).alias("w_end"))


def _precomputed_records(params: ModelQualityParams, ctx: RunContext, pre: PrecomputedWindow, merge: RunOutcome,
                         source: str):
    """(labelled, data_files, tallies) of a backfill's window after its merge was written: the files a single run
    would read (listed the same way) and the precomputed tallies — or ``_READ`` when the folder holds other
    merged files than the ones just written (a stale file of an earlier run): the run then reads them."""
    from monitor_lib.io.capture import list_capture_files

    ctx.spark  # noqa: B018 — the run's summary names the master of the session that evaluated it
    try:
        data_files = list_capture_files(source, params.start_time, params.end_time)
        roots = (os.path.join(ctx.out, filenames.MERGE_FOLDER), source)  # a local run lists its staging folder
        listed = {_folder_of(f, roots): f for f in data_files}
        if len(listed) != len(data_files) or sorted(listed) != sorted(_folder_of(f, roots)
                                                                      for f in merge.artifacts or []):
            log.info("merged folder %s holds other files than the merge wrote: reading it", source)
            return None, data_files, _READ
        if not data_files:
            return None, data_files, None
        tallies = pre.tallies
        if not isinstance(tallies, MonitorError):
            for item in tallies.sample:  # as the single run names the merged file it reads
                item["file"] = spark_uri(listed[item["file"]]) if item["file"] in listed else item["file"]
        return None, data_files, tallies
    finally:
        pre.shared.done()


def _same_name(path: str) -> str:
    return path if path.startswith("s3://") else os.path.abspath(path.removeprefix("file://"))


def _folder_of(path: str, roots: tuple[str, ...]) -> str:
    """The folder of a merged file relative to the first of ``roots`` it is under ('' at the top), as the merge
    names it (the path itself when it is under none)."""
    for root in roots:
        if root.startswith("s3://"):
            if path.startswith(root.rstrip("/") + "/"):
                return path.rsplit("/", 1)[0][len(root.rstrip("/")):].strip("/")
            continue
        folder, top = os.path.dirname(_same_name(path)), _same_name(root)
        if folder == top or folder.startswith(top + os.sep):
            rel = os.path.relpath(folder, top)
            return "" if rel == "." else rel.replace(os.sep, "/")
    return path


_URI_PATH_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-!.~'()*,;:$&+=/@")


def spark_uri(path: str) -> str:
    """How Spark's ``input_file_name()`` names a file written at ``path``: an ``s3://`` URI as it is, a local path
    as a ``file://`` URI (Hadoop quotes the characters a URI path may not hold, keeps other Unicode)."""
    if path.startswith(("s3://", "file:")):
        return path
    quoted = "".join(c if c in _URI_PATH_CHARS or ord(c) > 127 else "".join(f"%{b:02X}" for b in c.encode())
                     for c in os.path.abspath(path))
    return "file://" + quoted


def _no_labels_reason(params: ModelQualityParams, source: str, fmt, data_files: list[str], tallies,
                      merge: RunOutcome | None) -> str:
    if merge is not None and merge.details.get("matched") == 0:
        c = merge.details
        if c.get("predictions") == 0:
            return f"no captured predictions under {params.dataset_source} in this window"
        return (f"none of the {c['predictions']} predictions has a ground-truth label yet "
                f"({c['labels']} label(s) read from {params.ground_truth_source}, {c['unmatched_labels']} of other "
                "records)")
    if not data_files:
        what = "merged records" if fmt.kind == "merge" else "files"
        return f"no {what} under {source} for this window"
    detail = no_data_counts(tallies.rejected, tallies.skipped) if tallies else no_data_counts({}, {})
    return f"{len(data_files)} file(s) read, no record with a prediction and a ground-truth label: {detail}"


# ---------------------------------------------------------------- the monitor


class ModelQualityMonitor(Monitor):
    name = "model-quality"
    analysis_type = "MODEL_QUALITY"
    title = "model quality"
    cloudwatch_metric_group = "model-metrics"

    def alarm_plan(self, baseline, source: str, endpoint: str | None, schedule: str | None):
        from monitor_lib.alarms import model_quality_plan

        return model_quality_plan(baseline, source, endpoint, schedule)

    phases = (
        Phase("baseline", "baseline", ModelQualityParams, run_quality, job="model_quality_baseline",
              title="Model-quality baseline", help="the metrics of a labelled validation set and suggested constraints",
              files=(filenames.STATISTICS, filenames.CONSTRAINTS, filenames.VIOLATIONS),
              processing_input=("baseline_dataset_input", "/opt/ml/processing/input/baseline_dataset_input"),
              validate=_baseline_phase),
        Phase("monitoring", "monitor", ModelQualityParams, run_quality, job="model_quality_monitoring",
              title="Model-quality monitoring",
              help="merge the window's predictions with their labels and check the metrics against the constraints",
              files=(filenames.STATISTICS, filenames.CONSTRAINTS, filenames.VIOLATIONS, filenames.QUALITY_STATE),
              validate=_monitoring_phase, precompute=lambda spark, params: precompute_quality(spark, params)),
        Phase("merge", "merge", MergeParams, run_merge, job="ground_truth_merge", title="Ground-truth merge",
              help="join the window's captured predictions with their ground-truth labels (SageMaker's "
                   "ground-truth merger)",
              files=(filenames.MERGED_SAMPLE,), summary_file=filenames.MERGE_SUMMARY, report=False,
              environment_defaults={}),  # the merger takes no publish_cloudwatch_metrics
    )
    history_trends = (Trend("value", "threshold", None, "value"),)
    history_cards = False

    def environment_phase(self, params: dict[str, str], explicit: bool) -> str | None:
        if not explicit:  # the ground-truth merger container: no analysis_type, a ground-truth source and nothing
            # only an analysis takes (another monitor's config, constraints, attributes)
            from monitor_lib.monitors.registry import environment_names
            from monitor_lib.params import env_names

            analysis_only = set(environment_names()) - set(env_names(MergeParams))
            return "merge" if params.get("ground_truth_source") and not analysis_only & set(params) else None
        return "monitoring" if params.get("baseline_constraints") else "baseline"

    def summary_lines(self, outcome: RunOutcome) -> list[str]:
        d = outcome.details
        if outcome.phase == "merge":
            lines = [f"  captures: {d['capture_files']} file(s), {d['predictions']} predictions in the window; "
                     f"ground truth: {d['ground_truth_files']} file(s), {d['labels']} labels"]
            for name in ("captures_rejected", "labels_rejected", "captures_skipped"):
                if d.get(name):
                    lines.append(f"  {name.replace('_', ' ')}: {counts_text(d[name])}")
            lines.append(f"  {d['merged_files']} merged file(s) under {outcome.output_path}")
            return lines
        lines = []
        if d.get("merge"):
            lines.append("  merge: " + str(d["merge"].get("message", "")).removeprefix("Completed: "))
        lines += record_lines(outcome, f"{d.get('records_evaluated', outcome.records)} evaluated "
                                       f"({d.get('problem_type')})")
        art = outcome.artifacts
        if art is not None and art.statistics is not None:
            constraints = art.constraints.constraints if art.constraints else {}
            violated = {v.metric_name for v in outcome.violations}
            for name, m in art.statistics.metrics.items():
                if "best_constant" in name:
                    continue
                c = constraints.get(name)
                limit = f"  ({c.comparison_operator} {c.threshold:.6g})" if c else ""
                flag = "  VIOLATION" if name in violated else ""
                std = "" if m.standard_deviation is None else f" ± {m.standard_deviation:.4g}"
                lines.append(f"    {name:<22}{m.value:.6g}{std}{limit}{flag}")
        return lines

    def report_sections(self, outcome: RunOutcome) -> list[str]:
        from monitor_lib.monitors.model_quality_report import merge_section, metric_sections

        art = outcome.artifacts or ModelQualityArtifacts()
        return [merge_section(outcome.details.get("merge"))] + metric_sections(
            art.statistics, art.constraints, outcome.violations, baseline_run=outcome.phase == "baseline")

    def load_artifacts(self, outcome: RunOutcome, folder: str) -> list[str]:
        notes: list[str] = []
        art = ModelQualityArtifacts()
        art.statistics = read_optional(os.path.join(folder, filenames.STATISTICS), parse_model_quality_statistics,
                                       notes)
        art.constraints = read_optional(os.path.join(folder, filenames.CONSTRAINTS), parse_model_quality_constraints,
                                        notes)
        outcome.artifacts = art
        return notes

    def cloudwatch_metrics(self, outcome: RunOutcome, params: ModelQualityParams) -> list[dict] | None:
        from monitor_lib.formats.cloudwatch import model_quality_metrics

        art = outcome.artifacts
        if outcome.phase != "monitoring" or art is None or art.statistics is None:
            return None
        return model_quality_metrics(art.statistics, params.metric_timestamp, params.endpoint_name,
                                     params.schedule_name)

    def history_values(self, outcome: RunOutcome) -> dict[str, dict]:
        art = outcome.artifacts
        if art is None or art.statistics is None:
            return {}
        limits = art.constraints.constraints if art.constraints else {}
        return {name: {"value": float(m.value), "threshold": limits[name].threshold if name in limits else None}
                for name, m in art.statistics.metrics.items()}

    def claims_folder(self, statistics: dict, violations: list[Violation]) -> bool:
        return bool(statistics) and "features" not in statistics or any(v.metric_name for v in violations)


MONITOR = ModelQualityMonitor()
