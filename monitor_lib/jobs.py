"""The one entry point for every edge: a typed job config in, a result (and files) out."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from monitor_lib.checks.data_quality import CheckOutcome, check_data_quality, feature_measurements
from monitor_lib.checks.suggest import suggest_constraints
from monitor_lib.config import BaselineConfig, MergeConfig, ModelQualityConfig, MonitoringConfig, iso_utc
from monitor_lib.errors import ConfigError, EmptyDatasetError, MonitorError, UnreadableInputError
from monitor_lib.formats.constraints import Constraints, read_constraints, write_constraints
from monitor_lib.formats.jsonfmt import write_json_atomic
from monitor_lib.formats.model_quality import (
    ModelQualityConstraints,
    ModelQualityStatistics,
    check_model_quality,
    read_model_quality_constraints,
    suggest_model_quality_constraints,
    write_model_quality_constraints,
    write_model_quality_statistics,
)
from monitor_lib.formats.statistics import DatasetStatistics, read_statistics, write_statistics
from monitor_lib.formats.violations import ConstraintViolations, Violation, write_violations
from monitor_lib.io.readers import read_dataset, spark_message
from monitor_lib.io.s3 import is_s3
from monitor_lib.io.s3 import join as s3_join
from monitor_lib.io.storage import output_location, public_path
from monitor_lib.profile.profiler import REJECTED_SAMPLE_SIZE, ProfileRun, profile_dataset, profile_entries
from monitor_lib.profile.state import PROFILE_FILE_NAME, Profile, write_profile
from monitor_lib.profile.summarize import statistics_from_profile
from monitor_lib.quality.results import QualityTallies, statistics_from_tallies
from monitor_lib.sinks.message import completed_message
from monitor_lib.sinks.report.run import REPORT_FILE, load_run, render_run_report

if TYPE_CHECKING:
    from monitor_lib.quality.merge import MergeCounts

log = logging.getLogger(__name__)

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
VIOLATIONS_FILE = "constraint_violations.json"
REJECTED_SAMPLE_FILE = "rejected_records_sample.jsonl"
RUN_SUMMARY_FILE = "run_summary.json"


@dataclass
class BaselineResult:
    statistics: DatasetStatistics
    constraints: Constraints
    run: ProfileRun
    output_path: str
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    spark_master: str = ""

    @property
    def message(self) -> str:
        return completed_message(0)

    def summary(self) -> dict:
        p = self.run.profile
        types: dict[str, int] = {}
        for f in self.statistics.features:
            types[f.inferred_type] = types.get(f.inferred_type, 0) + 1
        return {
            "job": "baseline",
            "status": "Completed",
            "records_read": p.item_count + sum(p.rejected.values()),
            "records_profiled": p.item_count,
            "records_rejected": dict(p.rejected),
            "features": len(self.statistics.features),
            "inferred_types": types,
            "profile_strategy": self.run.strategy,
            "spark_master": self.spark_master,
            "seconds": round(self.seconds, 3),
            "files": self.files,
            "message": self.message,
        }


def run_baseline(config: BaselineConfig, spark=None) -> BaselineResult:
    """Profile the baseline dataset in one pass; write statistics.json, constraints.json and the profile state."""
    from monitor_lib.spark import get_spark

    started = time.monotonic()
    spark = spark or get_spark("model-monitor-baseline")
    dataset = read_dataset(spark, config.dataset_source, config.dataset_format)
    run = profile_dataset(dataset, config.profile)
    profile = run.profile
    if profile.item_count == 0:
        rejected = sum(profile.rejected.values())
        raise EmptyDatasetError(
            f"dataset_source {config.dataset_source} has no records to profile"
            + (f": all {rejected} record(s) are malformed (see the sample below)" if rejected else "")
            + (f"; first malformed record in {run.rejected_sample[0]['file']}: {run.rejected_sample[0]['record']!r}"
               if run.rejected_sample else "")
        )
    statistics = statistics_from_profile(profile)
    constraints = suggest_constraints(statistics, config.categorical_drift_method)
    with output_location(config.output_path, config.output_kms_key) as out:
        result = _write_baseline(config, spark, run, statistics, constraints, out, started)
    return _published(result, config.output_path)


def _published(result, output_path: str):
    """The result of a run whose outputs were staged for ``output_path``: paths as where they now are."""
    if is_s3(output_path):
        result.output_path = output_path
    return result


def _write_baseline(config: BaselineConfig, spark, run: ProfileRun, statistics: DatasetStatistics,
                    constraints: Constraints, out: str, started: float) -> BaselineResult:
    profile = run.profile
    files = {
        "statistics": os.path.join(out, STATISTICS_FILE),
        "constraints": os.path.join(out, CONSTRAINTS_FILE),
        "profile": os.path.join(out, PROFILE_FILE_NAME),
    }
    write_statistics(statistics, files["statistics"])
    write_constraints(constraints, files["constraints"])
    write_profile(profile, files["profile"])
    _write_rejected_sample(out, run.rejected_sample, files)
    result = BaselineResult(statistics, constraints, run, out, files, time.monotonic() - started,
                            spark.sparkContext.master)
    _write_summary_and_report(result)
    log.info("baseline written to %s", public_path(out))
    return result


def _write_summary_and_report(result) -> None:
    """``run_summary.json`` and ``report.html`` (drawn from the files just written). A report that cannot be
    drawn is logged and left out: the SageMaker outputs the platform reads are complete by then."""
    out, files = result.output_path, result.files
    summary_path, report_path = os.path.join(out, RUN_SUMMARY_FILE), os.path.join(out, REPORT_FILE)
    files["summary"], files["report"] = summary_path, report_path
    for name, path in files.items():  # where they will be: s3:// URIs for a staged s3 output
        files[name] = public_path(path)
    summary = result.summary()
    try:
        page = render_run_report(load_run(out, summary))
    except Exception:
        log.exception("%s could not be drawn; the run's other outputs are complete", files.pop("report"))
        summary, page = result.summary(), None
    write_json_atomic(summary_path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    if page is not None:
        write_json_atomic(report_path, page)
        log.info("report: %s (%d kB)", files["report"], len(page.encode()) // 1024)


def _write_rejected_sample(out: str, sample: list[dict], files: dict[str, str]) -> None:
    path = os.path.join(out, REJECTED_SAMPLE_FILE)
    if sample:
        files["rejected_sample"] = path
        write_json_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample))
    else:
        _remove_stale(out, (REJECTED_SAMPLE_FILE,))  # re-running into the same output leaves no stale sample


def _remove_stale(out: str, names: tuple[str, ...]) -> None:
    for name in names:
        path = os.path.join(out, name)
        if os.path.exists(path):
            os.remove(path)


# ---------------------------------------------------------------- data-quality monitoring


@dataclass
class MonitoringResult:
    config: MonitoringConfig
    outcome: CheckOutcome | None  # None: no data in the window
    statistics: DatasetStatistics | None
    records: int  # records profiled
    rejected: dict[str, int]  # kind -> records
    skipped: dict[str, int]  # kind -> records (outside the window, shadow traffic, dropped by the preprocessor)
    files_read: int
    rejected_sample: list[dict]
    output_path: str
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    spark_master: str = ""
    no_data_reason: str = ""
    measurements: list[dict] = field(default_factory=list)  # per present baseline feature (feature_measurements)

    @property
    def violations(self) -> list[Violation]:
        return self.outcome.violations if self.outcome else []

    @property
    def status(self) -> str:
        return _run_status(self.outcome is not None, self.violations)

    @property
    def message(self) -> str:
        return _run_message(self.outcome is not None, self.violations, self.config, self.no_data_reason)

    def summary(self) -> dict:
        by_check: dict[str, int] = {}
        for v in self.violations:
            by_check[v.constraint_check_type] = by_check.get(v.constraint_check_type, 0) + 1
        c = self.config
        return {
            "job": "data_quality_monitoring",
            "status": self.status,
            **_schedule(c),
            "window": {"start_time": iso_utc(c.start_time), "end_time": iso_utc(c.end_time)},
            "baseline_constraints": c.baseline_constraints,
            "baseline_statistics": c.baseline_statistics,
            "files_read": self.files_read,
            "records_profiled": self.records,
            "records_rejected": dict(self.rejected),
            "records_skipped": dict(self.skipped),
            "features": len(self.statistics.features) if self.statistics else 0,
            "violations": len(self.violations),
            "violations_by_check": by_check,
            "features_measured": self.measurements,
            "spark_master": self.spark_master,
            "seconds": round(self.seconds, 3),
            "files": self.files,
            "message": self.message,
        }


def _schedule(c: MonitoringConfig | ModelQualityConfig) -> dict:
    return {"endpoint": c.endpoint_name, "schedule": c.schedule_name}


def _run_status(has_data: bool, violations: list[Violation]) -> str:
    if not has_data:
        return "NoData"
    return "CompletedWithViolations" if violations else "Completed"


def _run_message(has_data: bool, violations: list[Violation], config, no_data_reason: str) -> str:
    if not has_data:
        return f"Completed: No data in window {_window(config)}: {no_data_reason}."
    return completed_message(len(violations))


def _window(c: MonitoringConfig | ModelQualityConfig | MergeConfig) -> str:
    return f"[{iso_utc(c.start_time) or 'beginning'}, {iso_utc(c.end_time) or 'end'})"


def _load_baseline(config: MonitoringConfig) -> tuple[Constraints, DatasetStatistics]:
    constraints = read_constraints(config.baseline_constraints)
    if config.baseline_statistics:
        statistics = read_statistics(config.baseline_statistics)
    else:
        log.warning("baseline_statistics is not set: drift (baseline_drift_check) cannot be measured")
        statistics = DatasetStatistics(0, [])
    return constraints, statistics


def _profile_capture(spark, config: MonitoringConfig, names: list[str]):
    """(profile, rejected, skipped, files, sample) of the capture window."""
    from pyspark.sql import functions as F

    from monitor_lib.io import capture as cap

    files = cap.list_capture_files(config.dataset_source, config.start_time, config.end_time)
    if not files:
        return None, {}, {}, files, []
    spec = cap.CaptureSpec(tuple(names), config.dataset_format, config.start_time, config.end_time)
    lines = cap.read_capture_lines(spark, files)
    if config.record_preprocessor_script:
        entries = cap.preprocessed_entries(lines, spec, config.record_preprocessor_script, config.script_environment)
    else:
        entries = cap.capture_entries(lines, spec)
    try:
        profile, counts = profile_entries(entries, names, config.dataset_source, config.profile,
                                          markers=(cap.RECORD, cap.REJECT, cap.SKIP))
    except Exception as e:
        failure = _preprocessor_failure(str(e)) if config.record_preprocessor_script else None
        if failure:
            raise MonitorError(failure) from None
        raise UnreadableInputError(f"reading dataset_source {config.dataset_source} failed: {spark_message(e)}") from None
    rejected = {k[len(cap.REJECT):]: v for k, v in sorted(counts.items()) if k.startswith(cap.REJECT)}
    skipped = {k[len(cap.SKIP):]: v for k, v in sorted(counts.items()) if k.startswith(cap.SKIP)}
    sample: list[dict] = []
    if rejected:
        # filter on the exploded entries: a filter on `entries` itself would be pushed down through the
        # decoding stages and inline them (see profile_entries)
        bad = entries.select("line", "file", F.explode_outer("entries").alias("x")).where(
            F.col("x.c").startswith(cap.REJECT))
        rows = bad.select(F.col("x.c").alias("kind"), "file", "line").limit(REJECTED_SAMPLE_SIZE).collect()
        sample = [{"kind": r["kind"][len(cap.REJECT):], "file": r["file"], "record": r["line"]} for r in rows]
    return profile, rejected, skipped, files, sample


def _preprocessor_failure(text: str) -> str | None:
    """The script's failure message inside a Spark error (the worker's traceback), or None."""
    from monitor_lib.io.preprocess import NOT_IMPLEMENTED, PREPROCESS_ERROR

    for marker in (PREPROCESS_ERROR, NOT_IMPLEMENTED):
        if marker in text:
            return marker + text.split(marker, 1)[1].split("\n", 1)[0]
    return None


def run_data_quality(config: MonitoringConfig, spark=None) -> MonitoringResult:
    """Profile the monitored data (a capture window, or a csv/json/parquet dataset) in one pass, run the
    six checks against the baseline and write SageMaker's reports, metrics and summary."""
    from monitor_lib.spark import get_spark

    started = time.monotonic()
    constraints, baseline = _load_baseline(config)
    spark = spark or get_spark("model-monitor-data-quality")
    with output_location(config.output_path, config.output_kms_key) as out:
        result = _data_quality(config, spark, constraints, baseline, out, started)
    return _published(result, config.output_path)


def _data_quality(config: MonitoringConfig, spark, constraints: Constraints, baseline: DatasetStatistics,
                  out: str, started: float) -> MonitoringResult:
    names = [f.name for f in constraints.features]
    files: dict[str, str] = {}
    if config.dataset_format.kind == "capture":
        profile, rejected, skipped, data_files, sample = _profile_capture(spark, config, names)
    else:
        dataset = read_dataset(spark, config.dataset_source, config.dataset_format)
        run = profile_dataset(dataset, config.profile)
        profile, rejected, skipped = run.profile, dict(run.profile.rejected), {}
        data_files, sample = dataset.files, run.rejected_sample

    result = MonitoringResult(config, None, None, 0, rejected, skipped, len(data_files), sample, out, files,
                              spark_master=spark.sparkContext.master)
    _write_rejected_sample(out, sample, files)
    if profile is None or profile.item_count == 0:
        result.no_data_reason = _no_data_reason(config, data_files, rejected, skipped)
        _remove_stale(out, (STATISTICS_FILE, CONSTRAINTS_FILE, VIOLATIONS_FILE, PROFILE_FILE_NAME))
        log.warning("no data in window %s: %s", _window(config), result.no_data_reason)
    else:
        _check_and_write(config, constraints, baseline, profile, result)
    result.seconds = time.monotonic() - started
    _write_summary_and_report(result)
    _postprocess(config.post_analytics_processor_script)
    return result


def _postprocess(script: str | None) -> None:
    """The user's ``postprocess_handler()``, after the reports are written."""
    if script:
        from monitor_lib.io.preprocess import run_postprocessor

        try:
            run_postprocessor(script)
        except RuntimeError as e:
            raise MonitorError(str(e)) from None


def _counts_detail(rejected: dict[str, int], skipped: dict[str, int]) -> str:
    """``3 rejected (malformed_json: 2, …); 1 skipped (…)`` — or that there was nothing at all."""
    parts = [f"{sum(counts.values())} {name} (" + ", ".join(f"{k}: {v}" for k, v in counts.items()) + ")"
             for name, counts in (("rejected", rejected), ("skipped", skipped)) if counts]
    return "; ".join(parts) if parts else "the files hold no records"


def _check_and_write(config: MonitoringConfig, constraints: Constraints, baseline: DatasetStatistics,
                     profile: Profile, result: MonitoringResult) -> None:
    from monitor_lib.sinks.cloudwatch import data_quality_metrics, write_metrics

    out, files = result.output_path, result.files
    statistics = statistics_from_profile(profile)
    outcome = check_data_quality(constraints, baseline, profile)
    result.outcome, result.statistics, result.records = outcome, statistics, profile.item_count
    result.measurements = feature_measurements(constraints, outcome)
    files.update({
        "statistics": os.path.join(out, STATISTICS_FILE),
        "constraints": os.path.join(out, CONSTRAINTS_FILE),
        "violations": os.path.join(out, VIOLATIONS_FILE),
        "profile": os.path.join(out, PROFILE_FILE_NAME),
    })
    write_statistics(statistics, files["statistics"])
    write_constraints(constraints, files["constraints"])
    write_violations(ConstraintViolations(outcome.violations), files["violations"])
    write_profile(profile, files["profile"])
    if config.publish_cloudwatch_metrics:
        when = config.metric_time or config.start_time or datetime.now(UTC)
        metrics = data_quality_metrics(outcome.features, statistics, when, config.endpoint_name, config.schedule_name)
        files["cloudwatch_metrics"] = write_metrics(config.metrics_directory, metrics, config.output_kms_key)
    log.info("%d violation(s); reports in %s", len(outcome.violations), public_path(out))


def _no_data_reason(config: MonitoringConfig, data_files: list[str], rejected: dict[str, int],
                    skipped: dict[str, int]) -> str:
    if not data_files:
        return f"no capture files under {config.dataset_source} for this window"
    return f"{len(data_files)} capture file(s) read, no record to profile: {_counts_detail(rejected, skipped)}"


# ---------------------------------------------------------------- model quality

MERGE_SUMMARY_FILE = "_merge_summary.json"  # "_": not data, the analysis skips it
MERGED_SAMPLE_FILE = "_merge_sample.jsonl"
MERGE_FOLDER = "merge"  # under output_path, when a model-quality run merges before it analyses


@dataclass
class MergeResult:
    config: MergeConfig
    counts: MergeCounts
    output_path: str
    written: list[str] = field(default_factory=list)
    sample: list[dict] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    spark_master: str = ""

    @property
    def message(self) -> str:
        c = self.counts
        return (f"Completed: Merged {c.matched} of {c.predictions} predictions with ground truth "
                f"({c.unmatched_predictions} without a label, {c.unmatched_labels} unmatched labels, "
                f"{c.duplicate_labels} duplicate labels).")

    def summary(self) -> dict:
        c = self.config
        return {
            "job": "ground_truth_merge",
            "status": "Completed",
            "window": {"start_time": iso_utc(c.start_time), "end_time": iso_utc(c.end_time)},
            **self.counts.to_dict(),
            "merged_files": len(self.written),
            "spark_master": self.spark_master,
            "seconds": round(self.seconds, 3),
            "files": self.files,
            "message": self.message,
        }


def run_merge(config: MergeConfig, spark=None) -> MergeResult:
    """SageMaker's ground-truth merger: the window's captures joined with their labels, written as
    ``sagemakerMergeJson`` records in the capture's folder layout, plus ``merge_summary.json``."""
    from monitor_lib.spark import get_spark

    started = time.monotonic()
    spark = spark or get_spark("model-monitor-merge")
    with output_location(config.output_path, config.output_kms_key) as out:
        result = _merge(config, spark, out, started)
    return _published(result, config.output_path)


def _merge(config: MergeConfig, spark, out: str, started: float) -> MergeResult:
    from monitor_lib.quality.merge import merge_window, write_merged_records

    outcome = merge_window(spark, config.dataset_source, config.ground_truth_source, config.start_time,
                           config.end_time)
    try:
        written = [public_path(w) for w in write_merged_records(outcome.merged, out, outcome.folders)]
    finally:
        outcome.release()
    result = MergeResult(config, outcome.counts, out, written, outcome.sample, spark_master=spark.sparkContext.master)
    if outcome.sample:
        result.files["sample"] = os.path.join(out, MERGED_SAMPLE_FILE)
        write_json_atomic(result.files["sample"],
                          "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in outcome.sample))
    else:
        _remove_stale(out, (MERGED_SAMPLE_FILE,))
    result.seconds = time.monotonic() - started
    summary_path = os.path.join(out, MERGE_SUMMARY_FILE)
    result.files = {name: public_path(path) for name, path in {**result.files, "summary": summary_path}.items()}
    write_json_atomic(summary_path, json.dumps(result.summary(), indent=2, ensure_ascii=False) + "\n")
    log.info("%s", result.message)
    return result


@dataclass
class ModelQualityResult:
    config: ModelQualityConfig
    statistics: ModelQualityStatistics | None
    constraints: ModelQualityConstraints | None
    violations: list[Violation]
    tallies: QualityTallies | None
    files_read: int
    output_path: str
    files: dict[str, str] = field(default_factory=dict)
    merge: MergeResult | None = None
    seconds: float = 0.0
    spark_master: str = ""
    no_data_reason: str = ""

    @property
    def status(self) -> str:
        return _run_status(self.statistics is not None, self.violations)

    @property
    def message(self) -> str:
        return _run_message(self.statistics is not None, self.violations, self.config, self.no_data_reason)

    def summary(self) -> dict:
        c, t = self.config, self.tallies
        by_metric = {v.metric_name: v.constraint_check_type for v in self.violations}
        doc = {
            "job": "model_quality_baseline" if c.is_baseline else "model_quality_monitoring",
            "status": self.status,
            "problem_type": c.problem_type,
            **_schedule(c),
            "window": {"start_time": iso_utc(c.start_time), "end_time": iso_utc(c.end_time)},
            "baseline_constraints": c.baseline_constraints,
            "files_read": self.files_read,
            "records_evaluated": t.records if t else 0,
            "records_rejected": dict(t.rejected) if t else {},
            "records_skipped": dict(t.skipped) if t else {},
            "metrics": {k: m.value for k, m in self.statistics.metrics.items()} if self.statistics else {},
            "violations": len(self.violations),
            "violations_by_metric": by_metric,
        }
        if self.merge is not None:
            doc["merge"] = self.merge.summary()
        doc.update({"spark_master": self.spark_master, "seconds": round(self.seconds, 3), "files": self.files,
                    "message": self.message})
        return doc


def _evaluation_time() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def run_model_quality(config: ModelQualityConfig, spark=None) -> ModelQualityResult:
    """Model quality: a baseline (no ``baseline_constraints``: statistics.json + suggested constraints.json)
    or a monitoring run (metrics of the window checked against the constraints). With
    ``ground_truth_source`` the captures are merged with their labels first (into ``output_path/merge``)."""
    from monitor_lib.spark import get_spark

    started = time.monotonic()
    constraints = None if config.is_baseline else read_model_quality_constraints(config.baseline_constraints)
    if constraints is not None and constraints.problem_type != config.problem_type:
        raise ConfigError(f"baseline_constraints {config.baseline_constraints} holds {constraints.problem_type} "
                          f"constraints but problem_type is {config.problem_type}")
    spark = spark or get_spark("model-monitor-model-quality")
    with output_location(config.output_path, config.output_kms_key) as out:
        result = _model_quality(config, spark, constraints, out, started)
    if result.merge is not None and is_s3(config.output_path):
        result.merge.output_path = s3_join(config.output_path, MERGE_FOLDER)
    return _published(result, config.output_path)


def _model_quality(config: ModelQualityConfig, spark, constraints: ModelQualityConstraints | None, out: str,
                   started: float) -> ModelQualityResult:
    from monitor_lib.config import DatasetFormat
    from monitor_lib.quality.aggregate import aggregate_quality
    from monitor_lib.quality.extract import labelled_records

    source, fmt, merge = config.dataset_source, config.dataset_format, None
    if config.ground_truth_source:
        merge = run_merge(MergeConfig(config.dataset_source, config.ground_truth_source,
                                      os.path.join(out, MERGE_FOLDER), config.start_time, config.end_time), spark)
        source = merge.output_path
        fmt = DatasetFormat("merge", capture_index_names=("endpointOutput",))
    labelled, data_files = labelled_records(spark, config, source, fmt)
    result = ModelQualityResult(config, None, constraints, [], None, len(data_files), out, merge=merge,
                                spark_master=spark.sparkContext.master)
    files = result.files
    if labelled is not None:
        log.info("evaluating %s metrics of %d file(s) under %s", config.problem_type, len(data_files), source)
        try:
            result.tallies = aggregate_quality(labelled, config)
        except MonitorError:
            raise
        except Exception as e:
            raise UnreadableInputError(f"reading dataset_source {source} failed: {spark_message(e)}") from None
    tallies = result.tallies
    _write_rejected_sample(out, tallies.sample if tallies else [], files)
    reports = (STATISTICS_FILE, CONSTRAINTS_FILE, VIOLATIONS_FILE)
    if tallies is None or tallies.records == 0:
        reason = _no_labels_reason(config, source, fmt, data_files, tallies, merge)
        if config.is_baseline:
            raise EmptyDatasetError(f"dataset_source {source} has no labelled records to evaluate: {reason}")
        result.no_data_reason = reason
        _remove_stale(out, reports)
        log.warning("no data in window %s: %s", _window(config), reason)
    else:
        statistics = statistics_from_tallies(tallies, _evaluation_time())
        result.statistics = statistics
        files.update({"statistics": os.path.join(out, STATISTICS_FILE),
                      "constraints": os.path.join(out, CONSTRAINTS_FILE)})
        write_model_quality_statistics(statistics, files["statistics"])
        if config.is_baseline:
            result.constraints = suggest_model_quality_constraints(statistics)
            _remove_stale(out, (VIOLATIONS_FILE,))
        else:
            result.violations = check_model_quality(constraints, statistics)
            files["violations"] = os.path.join(out, VIOLATIONS_FILE)
            write_violations(ConstraintViolations(result.violations), files["violations"])
            if config.publish_cloudwatch_metrics:
                from monitor_lib.sinks.cloudwatch import model_quality_metrics, write_metrics

                when = config.metric_time or config.start_time or datetime.now(UTC)
                metrics = model_quality_metrics(statistics, when, config.endpoint_name, config.schedule_name)
                files["cloudwatch_metrics"] = write_metrics(config.metrics_directory, metrics,
                                                            config.output_kms_key)
        write_model_quality_constraints(result.constraints, files["constraints"])
    result.seconds = time.monotonic() - started
    _write_summary_and_report(result)
    _postprocess(config.post_analytics_processor_script)
    return result


def _no_labels_reason(config: ModelQualityConfig, source: str, fmt, data_files: list[str],
                      tallies: QualityTallies | None, merge: MergeResult | None) -> str:
    if merge is not None and merge.counts.matched == 0:
        c = merge.counts
        if c.predictions == 0:
            return f"no captured predictions under {config.dataset_source} in this window"
        return (f"none of the {c.predictions} predictions has a ground-truth label yet "
                f"({c.labels} label(s) read from {config.ground_truth_source}, {c.unmatched_labels} of other records)")
    if not data_files:
        what = "merged records" if fmt.kind == "merge" else "files"
        return f"no {what} under {source} for this window"
    detail = _counts_detail(tallies.rejected, tallies.skipped) if tallies else _counts_detail({}, {})
    return f"{len(data_files)} file(s) read, no record with a prediction and a ground-truth label: {detail}"
