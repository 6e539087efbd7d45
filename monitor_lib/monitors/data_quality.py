"""Data quality (``--type data-quality``, SageMaker ``DATA_QUALITY``): a baseline profiles a dataset in one pass
and suggests constraints; a monitoring run profiles the window's captured traffic (or a dataset) the same way
and runs SageMaker's six checks against the baseline."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from monitor_lib import filenames
from monitor_lib.checks.data_quality import (
    EXTRA_COLUMNS_CAP,
    CheckOutcome,
    check_data_quality,
    extra_columns,
    feature_measurements,
)
from monitor_lib.checks.suggest import suggest_constraints
from monitor_lib.errors import ConfigError, EmptyDatasetError, UnreadableInputError, UserScriptError
from monitor_lib.formats.constraints import (
    CATEGORICAL_DRIFT_METHODS,
    Constraints,
    parse_constraints,
    read_constraints,
    write_constraints,
)
from monitor_lib.formats.statistics import (
    DatasetStatistics,
    parse_statistics,
    read_statistics,
    write_statistics,
)
from monitor_lib.formats.violations import ConstraintViolations, write_violations
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.monitors.base import Document, Monitor, Phase, RunContext, RunOutcome, Trend
from monitor_lib.monitors.common import (
    FORMAT_HELP,
    DatasetParams,
    MonitoringParams,
    no_data_counts,
    parse_dataset_format,
    read_optional,
    rejection_failure,
)
from monitor_lib.params import enabled, existing_file, integer, one_of, param
from monitor_lib.profile.options import DEFAULT_MAX_CATEGORIES, ProfileOptions

log = logging.getLogger(__name__)

PROFILE_GROUP = "profiler"


@dataclass(frozen=True)
class ProfileParams:
    """The profiler's knobs, shared by the baseline and the monitoring run."""

    max_categories: int | None = param("max_categories", "categorical buckets / domains up to this many distinct "
                                       "values", parse=integer(), default_text=str(DEFAULT_MAX_CATEGORIES),
                                       group=PROFILE_GROUP)
    kll_k: int | None = param("kll_k", "KLL sketch size", parse=integer(), default_text="2048", group=PROFILE_GROUP)
    hll_lg_k: int | None = param("hll_lg_k", "HLL log2 registers", parse=integer(), default_text="14",
                                 group=PROFILE_GROUP)
    wide_max_columns: int | None = param("wide_max_columns", "profile tables of up to this many columns with one "
                                         "global aggregation instead of the unpivot (0: always unpivot; default: "
                                         "the global aggregation up to 64 columns when at least half are typed "
                                         "numbers, the faster plan for each; see BENCHMARKS.md)", parse=integer(),
                                         default_text="auto", group=PROFILE_GROUP)
    sketches: str | None = param("sketches", "where the KLL / frequent-items sketches are built: auto (native Spark "
                                 "aggregates when this Spark has them), native, python ($MODEL_MONITOR_SKETCHES "
                                 "when auto)", choices=("auto", "native", "python"),
                                 parse=one_of(("auto", "native", "python"), case_insensitive=True),
                                 default_text="auto", group=PROFILE_GROUP)

    @property
    def profile(self) -> ProfileOptions:
        given = {k: getattr(self, k) for k in ("max_categories", "kll_k", "hll_lg_k", "wide_max_columns", "sketches")
                 if getattr(self, k) is not None}
        return ProfileOptions(**given)


@dataclass(frozen=True)
class BaselineParams(ProfileParams, DatasetParams):
    """A data-quality baseline: profile ``dataset_source``, write statistics.json + constraints.json."""

    categorical_drift_method: str | None = param("categorical_drift_method", "drift method of String features "
                                                 "written into constraints.json", choices=CATEGORICAL_DRIFT_METHODS,
                                                 default_text="LInfinity")
    string_accepts_numeric: bool = param("string_accepts_numeric", "write our constraints.json extension "
                                         "string_accepts_numeric: true, under which String features accept "
                                         "numeric-looking values (a zipcode column of 85086.0 and Unknown) in "
                                         "data_type_check; SageMaker does not know the key (Enabled or Disabled)",
                                         parse=enabled, default=False, default_text="Disabled", switch=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dataset_format.kind in ("capture", "merge"):
            raise ConfigError("dataset_format: a baseline is profiled from csv, json or parquet; "
                              "sagemakerCaptureJson is the input of monitoring runs")
        if self.categorical_drift_method not in (None, *CATEGORICAL_DRIFT_METHODS):
            raise ConfigError(f"categorical_drift_method must be one of {', '.join(CATEGORICAL_DRIFT_METHODS)}, "
                              f"got {self.categorical_drift_method!r}")
        self.profile  # noqa: B018  (validates the knobs now, not after Spark started)


@dataclass(frozen=True)
class MonitoringRunParams(ProfileParams, MonitoringParams):
    """A data-quality monitoring run: profile the window of ``dataset_source``, check it against the baseline."""

    FORMAT_CHOICES = ("capture", "csv", "json", "parquet")

    dataset_source: str = param("dataset_source", "capture root ({endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl, or a flat "
                                "folder) or dataset; a folder, file or s3:// URI", flag="--dataset", required=True,
                                path="input")
    dataset_format: DatasetFormat = param("dataset_format", FORMAT_HELP, parse=parse_dataset_format, required=True,
                                          default_text="sagemakerCaptureJson of endpointInput and endpointOutput")
    baseline_constraints: str = param("baseline_constraints", "constraints.json of the baseline", required=True,
                                      path="input_file")
    baseline_statistics: str | None = param("baseline_statistics", "statistics.json of the baseline (without it "
                                            "drift cannot be measured)", path="input_file")
    record_preprocessor_script: str | None = param(
        "record_preprocessor_script", "a .py defining preprocess_handler(inference_record[, logger])",
        parse=existing_file)
    output_columns_position: str | None = param(
        "output_columns_position", "capture: model outputs take the first (START) or last (END) baseline columns",
        choices=("START", "END"), parse=one_of(("START", "END"), case_insensitive=True), default_text="START")
    # custom keys of the SageMaker Environment: set in the executors' Python workers for the scripts
    extra_environment: tuple[tuple[str, str], ...] = ()

    @classmethod
    def complete_params(cls, raw: dict[str, Any]) -> dict[str, Any]:
        from monitor_lib.monitors.common import DEFAULT_CAPTURE_FORMAT

        if raw.get("dataset_format") in (None, ""):
            raw["dataset_format"] = DEFAULT_CAPTURE_FORMAT
        return raw

    def __post_init__(self) -> None:
        super().__post_init__()
        fmt = self.dataset_format
        if self.output_columns_position is not None:
            if fmt.kind != "capture":
                raise ConfigError("output_columns_position applies to sagemakerCaptureJson; for csv set it inside "
                                  "dataset_format, e.g. {\"csv\": {\"output_columns_position\": \"END\"}}")
            object.__setattr__(self, "dataset_format", fmt.with_output_columns_position(self.output_columns_position))
        if fmt.kind == "merge":
            raise ConfigError("dataset_format: sagemakerMergeJson is the model-quality input; "
                              "set analysis_type=MODEL_QUALITY (--type model-quality)")
        if self.record_preprocessor_script and fmt.kind == "parquet":
            raise ConfigError("record_preprocessor_script: Preprocessor script not supported for format parquet")
        self.profile  # noqa: B018


@dataclass
class DataQualityArtifacts:
    """The in-memory results of a data-quality run (the report draws them)."""

    statistics: DatasetStatistics | None = None  # of the profiled data
    constraints: Constraints | None = None  # suggested (baseline) or the baseline's (monitoring)
    baseline: DatasetStatistics | None = None  # monitoring: the baseline statistics
    check: CheckOutcome | None = None  # monitoring: the six checks
    run: Any = None  # baseline: the ProfileRun (profile state, strategy)
    profile: Any = None  # the Profile
    measurements: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------- baseline


def run_baseline(params: BaselineParams, ctx: RunContext) -> RunOutcome:
    """Profile the baseline dataset in one pass; statistics.json, constraints.json and the profile state."""
    from monitor_lib.io.readers import read_dataset
    from monitor_lib.profile.profiler import profile_dataset
    from monitor_lib.profile.state import write_profile
    from monitor_lib.profile.summarize import statistics_from_profile

    dataset = read_dataset(ctx.spark, params.dataset_source, params.dataset_format)
    run = profile_dataset(dataset, params.profile)
    profile = run.profile
    if profile.item_count == 0:
        rejected = sum(profile.rejected.values())
        raise EmptyDatasetError(
            f"dataset_source {params.dataset_source} has no records to profile"
            + (f": all {rejected} record(s) are malformed (see the sample below)" if rejected else "")
            + (f"; first malformed record in {run.rejected_sample[0]['file']}: {run.rejected_sample[0]['record']!r}"
               if run.rejected_sample else ""))
    statistics = statistics_from_profile(profile)
    constraints = suggest_constraints(statistics, params.categorical_drift_method, params.string_accepts_numeric)
    types: dict[str, int] = {}
    for f in statistics.features:
        types[f.inferred_type] = types.get(f.inferred_type, 0) + 1
    outcome = RunOutcome(
        monitor=MONITOR.name, phase="baseline", job="baseline", files_read=len(dataset.files),
        records=profile.item_count, rejected=dict(profile.rejected), rejected_sample=run.rejected_sample,
        data_files=list(dataset.files),
        details={"records_read": profile.item_count + sum(profile.rejected.values()),
                 "records_profiled": profile.item_count, "features": len(statistics.features),
                 "inferred_types": types, "profile_strategy": run.strategy,
                 "input_reads": run.reads},
        documents=[Document("statistics", filenames.STATISTICS, lambda p: write_statistics(statistics, p)),
                   Document("constraints", filenames.CONSTRAINTS, lambda p: write_constraints(constraints, p)),
                   Document("profile", filenames.PROFILE, lambda p: write_profile(profile, p))],
        artifacts=DataQualityArtifacts(statistics, constraints, run=run, profile=profile))
    return outcome.finish()


# ---------------------------------------------------------------- monitoring


def load_baseline(params: MonitoringRunParams) -> tuple[Constraints, DatasetStatistics]:
    """The baseline's constraints and statistics (none: drift cannot be measured, said once)."""
    constraints = read_constraints(params.baseline_constraints)
    if params.baseline_statistics:
        statistics = read_statistics(params.baseline_statistics)
    else:
        log.warning("baseline_statistics is not set: drift (baseline_drift_check) cannot be measured")
        statistics = DatasetStatistics(0, [])
    return constraints, statistics


def _profile_capture(spark, params: MonitoringRunParams, names: list[str]):
    """(profile, rejected, skipped, files, sample) of the capture window."""
    from pyspark.sql import functions as F

    from monitor_lib.io import capture as cap
    from monitor_lib.io.readers import spark_message
    from monitor_lib.profile.profiler import REJECTED_SAMPLE_SIZE, profile_entries

    files = cap.list_capture_files(params.dataset_source, params.start_time, params.end_time)
    if not files:
        return None, {}, {}, files, []
    spec = cap.CaptureSpec(tuple(names), params.dataset_format, params.start_time, params.end_time)
    lines = cap.read_capture_lines(spark, files)
    if params.record_preprocessor_script:
        entries = cap.preprocessed_entries(lines, spec, params.record_preprocessor_script, params.extra_environment)
    else:
        entries = cap.capture_entries(lines, spec)
    try:
        profile, counts = profile_entries(entries, names, params.dataset_source, params.profile,
                                          markers=(cap.RECORD, cap.REJECT, cap.SKIP))
    except Exception as e:
        failure = _preprocessor_failure(str(e)) if params.record_preprocessor_script else None
        if failure:
            raise UserScriptError(failure) from None
        raise UnreadableInputError(f"reading dataset_source {params.dataset_source} failed: "
                                   f"{spark_message(e)}") from None
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


@dataclass
class CaptureWindow:
    """One window's part of a backfill's shared Spark job (:func:`precompute_monitoring`): what
    :func:`_profile_capture` returns for that window alone, and entries for its run_summary.json."""

    profile: Any  # Profile, None when the window has no capture file
    rejected: dict[str, int]
    skipped: dict[str, int]
    files: list[str]
    sample: list[dict]
    details: dict[str, Any] = field(default_factory=dict)  # the backfill adds {"backfill": {...}}
    baseline: tuple | None = None  # (constraints, statistics): read once for every window (they are the same)

    def as_tuple(self):
        return self.profile, dict(self.rejected), dict(self.skipped), list(self.files), list(self.sample)


def _shared_settings(params: MonitoringRunParams) -> tuple:
    """What must be equal for windows to share one job: everything but the window and the output."""
    return (params.dataset_source, params.dataset_format, params.baseline_constraints, params.baseline_statistics,
            params.profile, params.record_preprocessor_script)


def precompute_monitoring(spark, params_list: list[MonitoringRunParams]) -> list[CaptureWindow | None]:
    """The data-quality backfill (``Phase.precompute``): the capture of every window read and decoded once, every
    window's profile computed in one aggregation grouped by (window, column), so that each window's run writes
    exactly what its single run writes: the same files listed (files_read), the same records profiled, rejected
    and skipped (``outside_window`` per window: a record of a file read by two windows is inside one and outside
    the other, as in their single runs), the same first rejected records.

    Returns None for a window whose run must read its data itself: datasets (csv, json, parquet) have no
    per-record time to split them by window, a record preprocessor script runs per window, and Spark without
    the native sketch aggregates (3.5) builds its sketches per run."""
    from monitor_lib.io import capture as cap
    from monitor_lib.io.readers import spark_message
    from monitor_lib.profile.profiler import profile_entries_by_window
    from monitor_lib.profile.python_sketches import sketch_backend

    if not params_list:
        return []
    first = params_list[0]
    why = None
    if first.dataset_format.kind != "capture":
        why = f"dataset_format {first.dataset_format.kind} has no per-record time to split the windows by"
    elif first.record_preprocessor_script:
        why = "record_preprocessor_script runs once per window"
    elif any(_shared_settings(p) != _shared_settings(first) for p in params_list):
        why = "the windows do not share their dataset, baseline and profile settings"
    elif sketch_backend(spark, first.profile.sketches) != "native":
        why = "this Spark lacks the native sketch aggregates (the Python sketches profile one window at a time)"
    if why:
        log.info("backfill: each window reads its own data (%s)", why)
        return [None] * len(params_list)
    baseline = load_baseline(first)
    names = [f.name for f in baseline[0].features]
    files = [cap.list_capture_files(p.dataset_source, p.start_time, p.end_time) for p in params_list]
    bounds = [(p.start_time, p.end_time) for p in params_list]
    results = [CaptureWindow(None, {}, {}, f, [], baseline=baseline) for f in files]
    lines = cap.window_lines(spark, files, bounds)
    if lines is None:
        return results
    n_files = len({f for window in files for f in window})
    log.info("backfill: reading %d capture file(s) of %d window(s) once, profiling every window in one "
             "aggregation", n_files, len(params_list))
    spec = cap.CaptureSpec(tuple(names), first.dataset_format, bounds=("w_start", "w_end"))
    entries = cap.capture_entries(lines, spec, carry=(*cap.WINDOW_COLUMNS, *cap.LINE_ORDER))
    try:
        done = profile_entries_by_window(entries, names, first.dataset_source, first.profile,
                                         markers=(cap.RECORD, cap.REJECT, cap.SKIP), reject=cap.REJECT,
                                         order=cap.LINE_ORDER)
    except Exception as e:
        raise UnreadableInputError(f"reading dataset_source {first.dataset_source} failed: "
                                   f"{spark_message(e)}") from None
    for w, result in enumerate(results):
        if not result.files:
            continue
        counts = done.counts.get(w, {})
        result.profile = done.profiles.get(w)
        if result.profile is None:  # files without a line
            from monitor_lib.profile.state import Profile

            opts = first.profile
            result.profile = Profile(0, [], {}, opts.kll_k, opts.hll_lg_k, opts.max_categories)
        result.rejected = {k[len(cap.REJECT):]: v for k, v in sorted(counts.items()) if k.startswith(cap.REJECT)}
        result.skipped = {k[len(cap.SKIP):]: v for k, v in sorted(counts.items()) if k.startswith(cap.SKIP)}
        result.sample = done.samples.get(w, []) if result.rejected else []
    return results


def _preprocessor_failure(text: str) -> str | None:
    """The script's failure message inside a Spark error (the worker's traceback), or None."""
    from monitor_lib.io.preprocess import NOT_IMPLEMENTED, PREPROCESS_ERROR

    for marker in (PREPROCESS_ERROR, NOT_IMPLEMENTED):
        if marker in text:
            return marker + text.split(marker, 1)[1].split("\n", 1)[0]
    return None


def run_monitoring(params: MonitoringRunParams, ctx: RunContext) -> RunOutcome:
    """Profile the monitored data (a capture window, or a csv/json/parquet dataset) in one pass and run the six
    checks against the baseline."""
    from monitor_lib.io.readers import read_dataset
    from monitor_lib.profile.profiler import profile_dataset

    shared = ctx.precomputed if isinstance(ctx.precomputed, CaptureWindow) else None
    constraints, baseline = shared.baseline if shared is not None and shared.baseline else load_baseline(params)
    names = [f.name for f in constraints.features]
    if shared is not None:  # a backfill read this window with the others (precompute_monitoring)
        profile, rejected, skipped, data_files, sample = shared.as_tuple()
        ctx.spark  # noqa: B018 — the session the shared job ran on (run_summary.json spark_master, as a single run)
    elif params.dataset_format.kind == "capture":
        profile, rejected, skipped, data_files, sample = _profile_capture(ctx.spark, params, names)
    else:
        dataset = read_dataset(ctx.spark, params.dataset_source, params.dataset_format)
        run = profile_dataset(dataset, params.profile)
        profile, rejected, skipped = run.profile, dict(run.profile.rejected), {}
        data_files, sample = dataset.files, run.rejected_sample
    outcome = RunOutcome(
        monitor=MONITOR.name, phase="monitoring", job="data_quality_monitoring", start_time=params.start_time,
        end_time=params.end_time, scheduled_time=getattr(params, "scheduled_time", None),
        endpoint=params.endpoint_name, schedule=params.schedule_name,
        files_read=len(data_files), rejected=rejected, skipped=skipped, rejected_sample=sample,
        data_files=list(data_files),
        details={"baseline_constraints": params.baseline_constraints,
                 "baseline_statistics": params.baseline_statistics, "records_profiled": 0, "features": 0,
                 "features_measured": [], **(shared.details if shared is not None else {})},
        artifacts=DataQualityArtifacts(constraints=constraints, baseline=baseline))
    profiled = profile.item_count if profile is not None else 0
    outcome.failure_reason = rejection_failure(profiled, rejected, skipped, params.max_rejected_fraction,
                                               outcome.window_text)
    if outcome.failure_reason:  # nothing (trustworthy) to check: no statistics, no violations
        outcome.records = outcome.details["records_profiled"] = profiled
        log.error("%s", outcome.failure_reason)
        return outcome.finish()
    if profile is None or profile.item_count == 0:
        if not data_files:
            outcome.no_data_reason = f"no capture files under {params.dataset_source} for this window"
        else:
            outcome.no_data_reason = (f"{len(data_files)} capture file(s) read, no record to profile: "
                                      f"{no_data_counts(rejected, skipped)}")
        log.warning("no data in window %s: %s", outcome.window_text, outcome.no_data_reason)
        return outcome.finish(has_data=False)
    check = check_profile(outcome, constraints, baseline, profile)
    log.info("%d violation(s)", len(check.violations))
    return outcome.finish()


def check_profile(outcome: RunOutcome, constraints: Constraints, baseline: DatasetStatistics, profile):
    """The six checks of a monitored profile against the baseline, into ``outcome``: violations, statistics,
    artifacts, counts and the SageMaker files it writes (a monitoring run's, a roll-up's). Returns the check."""
    from monitor_lib.profile.state import bounded_profile, write_profile
    from monitor_lib.profile.summarize import statistics_from_profile

    check = check_data_quality(constraints, baseline, profile)
    # statistics.json and profile.json keep the baseline's columns and the first EXTRA_COLUMNS_CAP extra ones
    extras = extra_columns(constraints, profile)
    profile = bounded_profile(profile, extras[EXTRA_COLUMNS_CAP:])
    statistics = statistics_from_profile(profile)
    measurements = feature_measurements(constraints, check)
    art = outcome.artifacts
    art.statistics, art.check, art.profile, art.measurements = statistics, check, profile, measurements
    outcome.records, outcome.violations = profile.item_count, list(check.violations)
    outcome.details.update(records_profiled=profile.item_count, features=len(statistics.features),
                           features_measured=measurements)
    if extras:
        outcome.details.update(extra_columns=len(extras),
                               extra_columns_not_written=max(0, len(extras) - EXTRA_COLUMNS_CAP))
    outcome.documents = [
        Document("statistics", filenames.STATISTICS, lambda p: write_statistics(statistics, p)),
        Document("constraints", filenames.CONSTRAINTS, lambda p: write_constraints(constraints, p)),
        Document("violations", filenames.VIOLATIONS,
                 lambda p: write_violations(ConstraintViolations(check.violations), p)),
        Document("profile", filenames.PROFILE, lambda p: write_profile(profile, p))]
    return check


# ---------------------------------------------------------------- the monitor


def worst_features(measured: list[dict], n: int = 3) -> list[str]:
    """``AGE 0.31 (threshold 0.1), …``: the ``n`` features with the largest drift relative to their threshold."""
    drifted = [m for m in measured if m.get("drift_distance") is not None]
    drifted.sort(key=lambda m: -(m["drift_distance"] / m["drift_threshold"] if m.get("drift_threshold")
                                 else m["drift_distance"]))
    return [f"{m['name']} {m['drift_distance']:.4g} (threshold {m['drift_threshold']:.4g})"
            for m in drifted[:n] if m["drift_distance"] > 0]


class DataQualityMonitor(Monitor):
    name = "data-quality"
    analysis_type = "DATA_QUALITY"
    title = "data quality"
    cloudwatch_metric_group = "data-metrics"

    def alarm_plan(self, baseline, source: str, endpoint: str | None, schedule: str | None):
        from monitor_lib.alarms import data_quality_plan

        return data_quality_plan(baseline, source, endpoint, schedule)

    phases = (
        Phase("baseline", "baseline", BaselineParams, run_baseline, job="baseline", title="Data-quality baseline",
              help="profile a dataset; write statistics.json and constraints.json",
              files=(filenames.STATISTICS, filenames.CONSTRAINTS, filenames.PROFILE),
              processing_input=("baseline_dataset_input", "/opt/ml/processing/input/baseline_dataset_input")),
        Phase("monitoring", "monitor", MonitoringRunParams, run_monitoring, job="data_quality_monitoring",
              title="Data-quality monitoring",
              help="check captured traffic (or a dataset) against a baseline; write constraint_violations.json",
              files=(filenames.STATISTICS, filenames.CONSTRAINTS, filenames.VIOLATIONS, filenames.PROFILE),
              processing_input=("endpoint_input", "/opt/ml/processing/input/endpoint"),
              precompute=precompute_monitoring),
    )
    history_trends = (Trend("drift_distance", "drift_threshold", "baseline_drift_check", "drift distance", rank=True),
                      Trend("completeness", "completeness_threshold", "completeness_check", "completeness",
                            percent=True))

    def summary_lines(self, outcome: RunOutcome) -> list[str]:
        from monitor_lib.monitors.common import record_lines

        d = outcome.details
        if outcome.phase == "baseline":
            types = ", ".join(f"{n} {t}" for t, n in sorted(d.get("inferred_types", {}).items()))
            return (record_lines(outcome, f"{d.get('records_profiled', outcome.records)} profiled", files=False)
                    + [f"  features: {d.get('features', 0)} ({types})",
                       f"  profile: {d.get('profile_strategy')}"])
        lines = record_lines(outcome, f"{d.get('records_profiled', outcome.records)} profiled")
        if outcome.violations:
            lines.append("  violations: " + ", ".join(f"{k}: {v}" for k, v in outcome.violations_by_check.items()))
            for v in outcome.violations[:10]:
                lines.append(f"    {v.constraint_check_type:<26}{v.feature_name or '':<24}{v.description}")
            if len(outcome.violations) > 10:
                lines.append(f"    ... {len(outcome.violations) - 10} more in {outcome.files.get('violations')}")
        worst = worst_features(d.get("features_measured") or [])
        if worst:
            lines.append("  most drifted: " + "; ".join(worst))
        return lines

    def report_sections(self, outcome: RunOutcome) -> list[str]:
        from monitor_lib.monitors.data_quality_report import feature_sections

        art = outcome.artifacts or DataQualityArtifacts()
        return feature_sections(art.statistics, art.constraints, art.baseline,
                                outcome.details.get("features_measured") or [], outcome.violations)

    def load_artifacts(self, outcome: RunOutcome, folder: str) -> list[str]:
        import os

        notes: list[str] = []
        art = DataQualityArtifacts()
        art.statistics = read_optional(os.path.join(folder, filenames.STATISTICS), parse_statistics, notes)
        art.constraints = read_optional(os.path.join(folder, filenames.CONSTRAINTS), parse_constraints, notes)
        baseline_path = outcome.details.get("baseline_statistics")
        if baseline_path:
            art.baseline = read_optional(baseline_path, parse_statistics, notes)
            from monitor_lib.io.uri import is_s3

            if art.baseline is None and not is_s3(baseline_path) and not os.path.exists(baseline_path):
                notes.append(f"baseline statistics {baseline_path} not found: baseline distributions not shown")
        outcome.artifacts = art
        return notes

    def cloudwatch_metrics(self, outcome: RunOutcome, params: MonitoringRunParams) -> list[dict] | None:
        from monitor_lib.formats.cloudwatch import data_quality_metrics

        art = outcome.artifacts
        if outcome.phase != "monitoring" or art is None or art.check is None:
            return None
        return data_quality_metrics(art.check.features, art.statistics, params.metric_timestamp,
                                    params.endpoint_name, params.schedule_name)

    def history_values(self, outcome: RunOutcome) -> dict[str, dict]:
        from monitor_lib.monitors.data_quality_report import completeness

        measured = outcome.details.get("features_measured")
        if measured is not None:
            return {m["name"]: m for m in measured}
        # the real container's folder: completeness from statistics.json, drift only from violation texts
        values: dict[str, dict] = {}
        art = outcome.artifacts
        for f in art.statistics.features if art is not None and art.statistics is not None else []:
            values[f.name] = {"completeness": completeness(f)}
        for v in outcome.violations:
            parsed = drift_from_text(v.description)
            if v.feature_name and parsed:
                values.setdefault(v.feature_name, {}).update(drift_distance=parsed[0], drift_threshold=parsed[1])
        return values


def drift_from_text(description: str) -> tuple[float, float] | None:
    """``(distance, threshold)`` of a ``Baseline drift distance: d exceeds threshold: t`` text, or None."""
    import re

    match = re.search(r"distance: (\S+) exceeds threshold: (\S+)", description)
    if not match:
        return None
    try:
        return float(match.group(1)), float(match.group(2))
    except ValueError:
        return None


MONITOR = DataQualityMonitor()
