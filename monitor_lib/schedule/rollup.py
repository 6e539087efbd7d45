"""``model-monitor rollup``: a schedule's hourly executions merged into days (``P1D``) and weeks (``P7D``) without
reading the data again.

A period is a UTC day (``P1D``, 00:00 to 24:00) or an ISO week (``P7D``, Monday 00:00 UTC to the next Monday). Its
executions are the schedule's scheduled times whose **window** lies inside the period (for an hourly schedule
without offsets: the 24 executions scheduled at 01:00 … 24:00). Their mergeable states — data quality's
``profile.json``, model quality's ``model_quality_state.json`` (:mod:`monitor_lib.quality.state`) — are merged and
checked against the schedule's baseline the way a monitoring run checks its own profile, then written as a run
folder of the schedule ``{name}-{period}``, named by the period's end (SageMaker names an execution's folder by its
scheduled time, which is its window's end)::

    {output_root}/{endpoint}/{name}-P1D/yyyy/mm/dd/00

(the day 2026-11-20 is ``…/{name}-P1D/2026/11/21/00``). The folder holds what a monitoring run writes
(statistics.json, constraints.json, constraint_violations.json, the merged state, run_summary.json, report.html,
the CloudWatch metric file when the schedule publishes, stamped with the period's start) and its
``run_summary.json`` names the executions merged and the missing ones with why (NoData, Failed, not run, …).
A period without any state is NoData.

The roll-up runs through :func:`monitor_lib.runner.run` with the monitoring phase's parameters (the schedule's,
with the period as the window and ``{name}-{period}`` as the schedule name) and a run function of its own, so the
sinks (files, CloudWatch, report, notifications, lineage, summary) are the monitoring run's. No Spark starts.

What is exact: data quality's counts, sums, means, min/max, completeness and standard deviations (Chan's merge of
the second moment: equal to one run over the period to floating-point rounding); quantiles, histograms and
distinct counts come from the merged KLL / HLL sketches, within the sketches' error (exact while a column holds
fewer values than the KLL keeps, 2048 by default, and few distinct values). Model quality: see
:mod:`monitor_lib.quality.state` (confusion- and error-sum metrics exact, AUC within the reported bound).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor_lib import filenames
from monitor_lib.errors import EXIT_OK, ConfigError, MonitorError
from monitor_lib.monitors.base import Document, RunContext, RunOutcome
from monitor_lib.schedule.model import COMPLETED, COMPLETED_WITH_VIOLATIONS, ExecutionRecord, Window
from monitor_lib.schedule.windows import execution_folder
from monitor_lib.timefmt import iso_utc, parse_time

log = logging.getLogger(__name__)

PERIODS = {"P1D": timedelta(days=1), "P7D": timedelta(days=7)}
NOT_RUN = "NotRun"  # no execution record and no run folder
INCOMPLETE = "Incomplete"  # the run folder is marked incomplete (a run killed while publishing it)
NO_STATE = "NoState"  # a completed run folder without the mergeable state (written before roll-ups existed)
UNREADABLE = "Unreadable"


# ---------------------------------------------------------------- periods (pure)


def check_period(period: str) -> str:
    text = str(period).strip().upper()
    if text not in PERIODS:
        raise ConfigError(f"--period must be one of {', '.join(PERIODS)} (a UTC day, an ISO week from Monday), "
                          f"got {period!r}")
    return text


def period_start(t: datetime, period: str) -> datetime:
    """The start of the period holding ``t``: 00:00 UTC of its day (P1D) or of its week's Monday (P7D)."""
    day = t.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if period == "P7D" else day


def periods_between(first: datetime, last: datetime, period: str) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` of every period whose start lies in ``[period_start(first), last)``."""
    out, start = [], period_start(first, period)
    while start < last:
        out.append((start, start + PERIODS[period]))
        start += PERIODS[period]
    return out


def rollup_name(schedule: str, period: str) -> str:
    """The schedule name of a roll-up: ``{schedule}-P1D`` (its folders and CloudWatch dimension)."""
    return f"{schedule}-{period}"


def rollup_folder(spec, period: str, end: datetime) -> str:
    """The roll-up's run folder: the schedule-like folder of ``{name}-{period}`` named by the period's end."""
    return execution_folder(spec.output_root, spec.endpoint, rollup_name(spec.name, period), end)


def windows_in(spec, start: datetime, end: datetime) -> list[Window]:
    """The windows of the schedule's executions lying inside ``[start, end)``, by scheduled time."""
    from monitor_lib.schedule.due import scheduled_times

    probe = spec.window_for(start)
    lo, hi = start - (probe.start - probe.scheduled_time), end - (probe.end - probe.scheduled_time)
    windows = [spec.window_for(t) for t in scheduled_times(spec, lo - timedelta(seconds=1), hi)]
    return [w for w in windows if start <= w.start and w.end <= end]


def complete_at(spec, windows: list[Window]) -> datetime | None:
    """When every execution of the period is due (its last scheduled time plus the grace), None without any."""
    return max(w.scheduled_time for w in windows) + spec.grace if windows else None


# ---------------------------------------------------------------- the executions of a period


@dataclass
class HourState:
    """One execution of a period, as the roll-up found it."""

    window: Window
    folder: str  # its run folder
    status: str  # the record's / summary's status, or NOT_RUN, INCOMPLETE, NO_STATE, UNREADABLE
    state_file: str | None = None  # the mergeable state to merge (None: the execution is missing)
    summary: dict[str, Any] = field(default_factory=dict)  # its run_summary.json
    reason: str = ""  # why it is missing

    @property
    def merged(self) -> bool:
        return self.state_file is not None


@dataclass
class RollupInput:
    """What the roll-up's run function gets (``RunContext.precomputed``)."""

    period: str
    executions: list[HourState]

    @property
    def merged(self) -> list[HourState]:
        return [h for h in self.executions if h.merged]

    @property
    def missing(self) -> list[HourState]:
        return [h for h in self.executions if not h.merged]


def _listing(folder: str) -> set[str] | None:
    """The file names in a run folder (local or ``s3://``), None when there is no such folder."""
    from monitor_lib.io import s3

    if s3.is_s3(folder):
        settings = s3.S3Settings.from_environment()
        with s3.boto_errors("run folder", folder, "listed"):
            names = {name.rstrip("/") for name, _ in s3.list_children(folder, settings)}
        return names or None
    return set(os.listdir(folder)) if os.path.isdir(folder) else None


def _join(folder: str, name: str) -> str:
    return folder.rstrip("/") + "/" + name


def find_execution(window: Window, folder: str, record: ExecutionRecord | None, state_name: str) -> HourState:
    """What the execution of ``window`` left: its record (when the schedule's store has one) says whether it
    completed; its run folder holds the summary and the state."""
    from monitor_lib.io.storage import read_text

    hour = HourState(window, folder, NOT_RUN)
    if record is not None and record.status not in (COMPLETED, COMPLETED_WITH_VIOLATIONS):
        hour.status = record.status
        hour.reason = (record.failure_reason or str(record.extra.get("no_data_reason") or "")
                       or f"the execution is {record.status}")
        return hour
    names = _listing(folder)
    if names is None:
        hour.reason = "no run folder"
        return hour
    if filenames.INCOMPLETE in names:
        hour.status, hour.reason = INCOMPLETE, f"{filenames.INCOMPLETE}: the run was killed while being published"
        return hour
    if filenames.RUN_SUMMARY in names:
        try:
            hour.summary = json.loads(read_text(_join(folder, filenames.RUN_SUMMARY), "run summary"))
        except (ValueError, OSError, MonitorError) as e:
            hour.status, hour.reason = UNREADABLE, f"{filenames.RUN_SUMMARY} cannot be read: {e}"
            return hour
        hour.status = str(hour.summary.get("status") or COMPLETED)
    elif state_name in names:
        hour.status = COMPLETED  # a folder written without a summary (by hand): its state is all we need
    if hour.status not in (COMPLETED, COMPLETED_WITH_VIOLATIONS):
        hour.reason = str(hour.summary.get("no_data_reason") or hour.summary.get("failure_reason")
                          or hour.summary.get("message") or f"the run is {hour.status}")
        return hour
    if state_name not in names:
        hour.status, hour.reason = NO_STATE, f"no {state_name} in the run folder"
        return hour
    hour.state_file = _join(folder, state_name)
    return hour


def find_executions(spec, windows: list[Window], records: dict[datetime, ExecutionRecord],
                    state_name: str) -> list[HourState]:
    out = []
    for w in windows:
        record = records.get(w.scheduled_time)
        folder = (record.output_uri if record is not None and record.output_uri else None) or spec.output_for(
            w.scheduled_time)
        out.append(find_execution(w, folder, record, state_name))
    return out


def _records(spec) -> dict[datetime, ExecutionRecord]:
    """The schedule's execution records by scheduled time (none when its state store holds none)."""
    from monitor_lib.schedule.store import open_store

    return {r.scheduled_time: r for r in open_store(spec).list()}


def missing_text(missing: list[HourState]) -> str:
    """``NoData: 2, Failed: 1`` — the missing executions counted by status."""
    counts: dict[str, int] = {}
    for h in missing:
        counts[h.status] = counts.get(h.status, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


def _sum_counts(summaries: list[dict], key: str) -> dict[str, int]:
    total: dict[str, int] = {}
    for s in summaries:
        for kind, n in (s.get(key) or {}).items():
            total[kind] = total.get(kind, 0) + int(n)
    return dict(sorted(total.items()))


def rollup_details(data: RollupInput, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """run_summary.json ``rollup``: the period, the executions merged and the missing ones with why."""
    return {"period": data.period, "executions": len(data.executions), "merged": len(data.merged),
            "missing": len(data.missing),
            "executions_merged": [iso_utc(h.window.scheduled_time) for h in data.merged],
            "executions_missing": [{"scheduled_time": iso_utc(h.window.scheduled_time), "status": h.status,
                                    "reason": h.reason} for h in data.missing],
            "hourly_files_read": sum(int(h.summary.get("files_read") or 0) for h in data.merged),
            **(extra or {})}


def _base_outcome(params, data: RollupInput, monitor: str, job: str) -> RunOutcome:
    summaries = [h.summary for h in data.merged]
    return RunOutcome(
        monitor=monitor, phase="monitoring", job=job, start_time=params.start_time, end_time=params.end_time,
        scheduled_time=params.end_time,  # the period's "scheduled time": its end, as its folder's name
        endpoint=params.endpoint_name, schedule=params.schedule_name, files_read=len(data.merged),
        rejected=_sum_counts(summaries, "records_rejected"), skipped=_sum_counts(summaries, "records_skipped"),
        data_files=[h.state_file for h in data.merged])


def _finish(outcome: RunOutcome, data: RollupInput, has_data: bool) -> RunOutcome:
    if not has_data:
        outcome.no_data_reason = (f"none of the {len(data.executions)} execution(s) of the period has a mergeable "
                                  f"state ({missing_text(data.missing) or 'the schedule has no execution in it'})")
    outcome.finish(has_data)
    if data.missing and has_data:
        outcome.message += (f" {len(data.merged)} of {len(data.executions)} executions merged; "
                            f"{len(data.missing)} missing ({missing_text(data.missing)}).")
    return outcome


# ---------------------------------------------------------------- data quality


def run_data_quality_rollup(params, ctx: RunContext) -> RunOutcome:
    """The hours' profile.json merged, checked against the baseline as a monitoring run checks its profile."""
    from monitor_lib.monitors.data_quality import MONITOR, DataQualityArtifacts, check_profile, load_baseline
    from monitor_lib.rollup import merged_profile

    data: RollupInput = ctx.precomputed
    constraints, baseline = load_baseline(params)
    outcome = _base_outcome(params, data, MONITOR.name, "data_quality_rollup")
    outcome.details = {"baseline_constraints": params.baseline_constraints,
                       "baseline_statistics": params.baseline_statistics, "records_profiled": 0, "features": 0,
                       "features_measured": [], "rollup": rollup_details(data)}
    outcome.artifacts = DataQualityArtifacts(constraints=constraints, baseline=baseline)
    if not data.merged:
        return _finish(outcome, data, has_data=False)
    check_profile(outcome, constraints, baseline, merged_profile([h.state_file for h in data.merged]))
    return _finish(outcome, data, has_data=True)


# ---------------------------------------------------------------- model quality


def run_model_quality_rollup(params, ctx: RunContext) -> RunOutcome:
    """The hours' model_quality_state.json merged into the period's metrics, checked against the constraints."""
    from monitor_lib.formats.model_quality import (
        check_model_quality,
        read_model_quality_constraints,
        write_model_quality_constraints,
        write_model_quality_statistics,
    )
    from monitor_lib.formats.violations import ConstraintViolations, write_violations
    from monitor_lib.monitors.model_quality import MONITOR, ModelQualityArtifacts
    from monitor_lib.quality.results import statistics_from_tallies
    from monitor_lib.quality.state import (
        auc_estimate,
        merge_all,
        read_quality_state,
        tallies_from_state,
        write_quality_state,
    )

    data: RollupInput = ctx.precomputed
    constraints = read_model_quality_constraints(params.baseline_constraints)
    outcome = _base_outcome(params, data, MONITOR.name, "model_quality_rollup")
    outcome.details = {"problem_type": params.problem_type, "baseline_constraints": params.baseline_constraints,
                       "records_evaluated": 0, "metrics": {}, "violations_by_metric": {}}
    art = ModelQualityArtifacts(constraints=constraints)
    outcome.artifacts = art
    state = merge_all([(h.state_file, read_quality_state(h.state_file)) for h in data.merged])
    if state is not None and state.problem_type != params.problem_type:
        raise ConfigError(f"the executions' model_quality_state.json hold {state.problem_type} counts but the "
                          f"schedule's problem_type is {params.problem_type}")
    estimate = auc_estimate(state) if state is not None else None
    extra = {} if estimate is None else {"auc_error_bound": estimate.error_bound,
                                         "auc_pairs_in_shared_buckets": estimate.unordered_pairs,
                                         "auc_pairs": estimate.pairs}
    outcome.details["rollup"] = rollup_details(data, extra)
    if state is None or state.records == 0:
        return _finish(outcome, data, has_data=False)
    tallies = tallies_from_state(state)
    now = datetime.now(UTC)
    evaluated = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    statistics = statistics_from_tallies(tallies, evaluated)
    art.statistics, art.tallies = statistics, tallies
    outcome.records = outcome.details["records_evaluated"] = state.records
    outcome.violations = check_model_quality(constraints, statistics)
    outcome.details["metrics"] = {k: m.value for k, m in statistics.metrics.items()}
    outcome.details["violations_by_metric"] = {v.metric_name: v.constraint_check_type for v in outcome.violations}
    violations = list(outcome.violations)
    outcome.documents = [
        Document("statistics", filenames.STATISTICS, lambda p: write_model_quality_statistics(statistics, p)),
        Document("constraints", filenames.CONSTRAINTS, lambda p: write_model_quality_constraints(constraints, p)),
        Document("violations", filenames.VIOLATIONS, lambda p: write_violations(ConstraintViolations(violations), p)),
        Document("quality_state", filenames.QUALITY_STATE, lambda p: write_quality_state(state, p))]
    return _finish(outcome, data, has_data=True)


# monitor type -> (its mergeable state's file, the run function, run_summary.json job)
ROLLUPS: dict[str, tuple[str, Callable[[Any, RunContext], RunOutcome], str]] = {
    "data-quality": (filenames.PROFILE, run_data_quality_rollup, "data_quality_rollup"),
    "model-quality": (filenames.QUALITY_STATE, run_model_quality_rollup, "model_quality_rollup"),
}


def rollup_kind(spec) -> tuple[str, Callable[[Any, RunContext], RunOutcome], str]:
    if spec.monitor.name not in ROLLUPS:
        raise ConfigError(f"{spec.source}: monitor_type {spec.monitor.name} keeps no mergeable state: roll-ups merge "
                          f"{' and '.join(ROLLUPS)} schedules")
    return ROLLUPS[spec.monitor.name]


def rollup_params(spec, period: str, start: datetime, end: datetime):
    """The monitoring phase's parameters of a roll-up: the schedule's, with the period as the window, the
    roll-up's folder as the output and ``{name}-{period}`` as the schedule name."""
    from monitor_lib.params import from_params
    from monitor_lib.schedule.spec import PER_EXECUTION

    flat = {k: v for k, v in spec.run_params(end).items() if k not in PER_EXECUTION}
    flat.update(start_time=iso_utc(start), end_time=iso_utc(end), metric_time=iso_utc(start),
                output_path=rollup_folder(spec, period, end),
                sagemaker_monitoring_schedule_name=rollup_name(spec.name, period))
    return from_params(spec.phase.params, flat, f"{spec.source} params")


def rollup_phase(spec):
    """The monitoring phase with the roll-up's run function (not registered: ``model-monitor rollup`` runs it)."""
    _, run, job = rollup_kind(spec)
    phase = spec.phase
    return replace(phase, run=run, job=job, title=f"{phase.title} roll-up", precompute=None)


# ---------------------------------------------------------------- the command


@dataclass
class PeriodResult:
    period: str
    start: datetime
    end: datetime
    folder: str
    action: str  # written | skipped | incomplete
    outcome: RunOutcome | None = None
    note: str = ""


def rollup_exists(folder: str) -> bool:
    """A roll-up is already written there: its run_summary.json is, and the folder is whole."""
    names = _listing(folder)
    return names is not None and filenames.RUN_SUMMARY in names and filenames.INCOMPLETE not in names


def plan_periods(spec, period: str, now: datetime, first: datetime | None, last: datetime | None,
                 records: dict[datetime, ExecutionRecord]) -> list[tuple[datetime, datetime, list[Window]]]:
    """The periods to consider, with their executions' windows: those starting in ``[first, last)`` when given;
    else every period from the schedule's start up to ``now`` with executions in it (and, when the schedule's
    state store has records, one of them)."""
    explicit = first is not None or last is not None
    out = []
    for start, end in periods_between(first or spec.start_date, last or now, period):
        windows = windows_in(spec, start, end)
        if not explicit and (not windows or records and not any(w.scheduled_time in records for w in windows)):
            continue
        out.append((start, end, windows))
    return out


def rollup_periods(spec, period: str, now: datetime | None = None, first: datetime | None = None,
                   last: datetime | None = None, reprocess: bool = False, dry_run: bool = False) -> list[PeriodResult]:
    """Roll up the schedule's periods (see :func:`plan_periods`): complete ones only (every execution of the
    period due: its last scheduled time plus the grace has passed), skipping those already written unless
    ``reprocess``. Default (no ``first``/``last``): only periods with at least one execution found."""
    from monitor_lib.runner import run

    period = check_period(period)
    state_name, _, _ = rollup_kind(spec)
    now = now or datetime.now(UTC)
    explicit = first is not None or last is not None
    if first is not None and last is not None and first >= last:
        raise ConfigError(f"--from {iso_utc(first)} must be before --to {iso_utc(last)}")
    records = _records(spec)
    phase = rollup_phase(spec)
    results = []
    for start, end, windows in plan_periods(spec, period, now, first, last, records):
        folder = rollup_folder(spec, period, end)
        result = PeriodResult(period, start, end, folder, "skipped")
        ready = complete_at(spec, windows)
        if ready is not None and ready > now or ready is None and end > now:
            result.action, result.note = "incomplete", (f"not complete until {iso_utc(ready or end)}")
            if explicit:
                results.append(result)
            continue
        if not reprocess and rollup_exists(folder):
            result.note = "already rolled up (--reprocess to write it again)"
            results.append(result)
            continue
        hours = find_executions(spec, windows, records, state_name)
        if not explicit and not any(h.merged or h.status != NOT_RUN for h in hours):
            continue  # nothing ran in it: not a period of this schedule's history
        data = RollupInput(period, hours)
        if dry_run:
            result.action = "planned"
            result.note = (f"{len(data.merged)} of {len(hours)} execution(s) to merge"
                           + (f"; missing: {missing_text(data.missing)}" if data.missing else ""))
            results.append(result)
            continue
        log.info("rollup %s %s: merging %d of %d execution(s) into %s", period, iso_utc(start), len(data.merged),
                 len(hours), folder)
        result.outcome = run(spec.monitor, phase, rollup_params(spec, period, start, end), precomputed=data)
        result.action = "written"
        results.append(result)
    return results


def _time(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    t = parse_time(value, flag)
    if t is None:
        raise ConfigError(f"{flag} is empty: give an ISO-8601 time like 2026-11-20T00:00:00Z")
    return t


def cmd_rollup(args) -> int:
    from monitor_lib.schedule.spec import read_schedule

    spec = read_schedule(args.schedule)
    now = _time(args.now, "--now")
    results = rollup_periods(spec, args.period, now=now, first=_time(args.start, "--from"),
                             last=_time(args.end, "--to"), reprocess=args.reprocess, dry_run=args.dry_run)
    for r in results:
        label = f"{r.period} {r.start:%Y-%m-%d}"
        if r.outcome is not None:
            print(f"{label}: {r.outcome.message} -> {r.outcome.output_path}")
        else:
            print(f"{label}: {r.action}: {r.note} ({r.folder})")
    if not results:
        print(f"no {args.period} period to roll up: none is complete with executions and not yet rolled up")
    return EXIT_OK


EPILOG = """\
examples:
  model-monitor rollup --schedule conf/schedule.yaml --period P1D
      every complete UTC day with hourly executions and no roll-up yet
  model-monitor rollup --schedule conf/schedule.yaml --period P7D --from 2026-11-16 --to 2026-11-23
      the ISO week of Monday 2026-11-16 (written again with --reprocess)

A day's roll-up is written to {output_root}/{endpoint}/{name}-P1D/yyyy/mm/dd/00 of the day after (folders are
named by the period's end, as SageMaker names an execution by its scheduled time). Executions without a state
(NoData, Failed, not run) are listed in its run_summary.json; a period with none is NoData.
"""


def add_parser(sub) -> None:
    """``rollup``."""
    import argparse

    from monitor_lib.schedule.spec import add_schedule_flag

    p = sub.add_parser("rollup", help="merge a schedule's hourly profiles into days (P1D) or weeks (P7D), "
                                      "checked against the baseline, without reading the data again",
                       description="Merge a schedule's executions into UTC days (P1D) or ISO weeks (P7D) without "
                                   "reading the data again: their mergeable states (profile.json, "
                                   "model_quality_state.json) merged, checked against the baseline and written as a "
                                   "run of the schedule {name}-{period}.",
                       epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_schedule_flag(p)
    p.add_argument("--period", required=True, type=str.upper, choices=tuple(PERIODS),
                   help="P1D: UTC days; P7D: ISO weeks, Monday 00:00 UTC")
    p.add_argument("--from", dest="start", metavar="TIME", help="roll up the periods starting at or after the "
                   "period holding TIME (ISO-8601 UTC); default: every complete period with executions")
    p.add_argument("--to", dest="end", metavar="TIME", help="… and starting before TIME (default: now)")
    p.add_argument("--reprocess", action="store_true", help="write periods already rolled up again")
    p.add_argument("--dry-run", action="store_true", help="print the periods and executions, write nothing")
    p.add_argument("--now", metavar="TIME", help="the clock (default: now): which periods are complete")
    p.set_defaults(func=cmd_rollup)
