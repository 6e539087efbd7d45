"""``model-monitor backfill``: the executions of a schedule scheduled in ``(A, B]``, many windows in one Spark job.

Which windows: the schedule's scheduled times ``T`` with ``A < T <= B`` (from its ``start_date``), whose
``T + grace`` has passed — for an hourly schedule without offsets exactly the windows covering ``[A, B)``. Their
execution records decide, with the rules of ``schedule due`` (:func:`monitor_lib.schedule.due.is_due`, Airflow's
``reprocess_behavior`` words): no record runs; Completed, CompletedWithViolations, NoData and InProgress are
skipped; Failed / Stopped run again while retries are left — ``--reprocess failed`` reruns every Failed / Stopped,
``--reprocess all`` everything not InProgress.

How: each window is claimed (:func:`.tick.claim_window`, create-if-absent: a tick or another backfill running
at the same time never runs it twice), then the monitor's ``Phase.precompute`` reads the data of every claimed
window in ONE Spark job (data quality: the capture files listed once per window, read once, one aggregation
grouped by window and column) and each window runs through :func:`.tick.run_execution` with its part, so its
outputs and execution record are exactly what its single run (``monitor --scheduled-time T``) writes. A monitor
without a precompute, a dataset without per-record times, or ``--sequential``: the windows run one after the
other. The precompute's Spark jobs are counted (a job group; the stages that read input from Spark's status
REST API) and written into each window's ``run_summary.json`` under ``backfill``.

The process is the Spark driver: target local (``local[*]`` unless Spark is configured) and standalone (the
schedule's ``target_options.master``). Targets emr and sagemaker are refused: submit this command as a step /
job, or run it on the cluster.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor_lib.errors import ConfigError
from monitor_lib.schedule.model import FAILED, ExecutionRecord
from monitor_lib.timefmt import iso_utc

log = logging.getLogger(__name__)

CLOUDWATCH_MAX_AGE = timedelta(days=14)  # PutMetricData refuses older points (sinks/cloudwatch_api.MAX_AGE)
EXIT_FAILED = 3  # some window ended Failed (as schedule tick)


# ---------------------------------------------------------------- which windows (pure)


@dataclass
class Plan:
    """What a backfill of ``(start, end]`` does: the scheduled times it runs, and the ones it leaves, with why."""

    run: list[datetime] = field(default_factory=list)
    skipped: list[tuple[datetime, str]] = field(default_factory=list)  # (scheduled time, why)


def plan_windows(spec, start: datetime, end: datetime, records: Mapping[datetime, ExecutionRecord],
                 reprocess: str = "none", now: datetime | None = None) -> Plan:
    """The scheduled times in ``(start, end]`` to run, oldest first, and those skipped: done or running (unless
    ``reprocess``), out of retries, or not due yet (``T + grace`` after ``now``)."""
    from monitor_lib.schedule.due import check_reprocess, is_due, scheduled_times

    check_reprocess(reprocess)
    now = now or datetime.now(UTC)
    plan = Plan()
    for t in scheduled_times(spec, start, end):
        record = records.get(t)
        if t + spec.grace > now:
            plan.skipped.append((t, f"not due before {iso_utc(t + spec.grace)} (grace)"))
        elif is_due(record, spec.max_retries, reprocess):
            plan.run.append(t)
        elif record is not None and record.status == FAILED:
            plan.skipped.append((t, f"Failed after {record.attempts} attempt(s), no retry left (--reprocess "
                                    "failed runs it)"))
        else:
            plan.skipped.append((t, f"{record.status if record else '?'} (--reprocess all runs it)"))
    return plan


def old_windows(spec, times: list[datetime], now: datetime) -> int:
    """How many of the windows have a CloudWatch timestamp (the window start) older than PutMetricData takes."""
    return sum(1 for t in times if spec.window_for(t).metric_time < now - CLOUDWATCH_MAX_AGE)


def check_target(spec) -> None:
    if spec.target in ("emr", "sagemaker"):
        raise ConfigError(f"{spec.source}: target {spec.target}: a backfill runs where its Spark driver is; run "
                          "model-monitor backfill on the cluster (an EMR step or a processing job running this "
                          "command), or use schedule tick, which submits one window per job")


# ---------------------------------------------------------------- counting Spark's work


def _rest(spark, path: str):
    import urllib.request

    sc = spark.sparkContext
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/{path}"
    with urllib.request.urlopen(url, timeout=10) as r:  # the driver's own UI
        return json.load(r)


def job_counts(spark, job_ids: list[int], wait: float = 10.0) -> dict[str, Any]:
    """``spark_jobs`` (the job group's jobs, from the status tracker) and, from Spark's status REST API,
    ``input_reads`` (stages that read input) and ``input_records`` (records they read); those two are None
    when the UI is off (``spark.ui.enabled=false``)."""
    counts: dict[str, Any] = {"spark_jobs": len(job_ids), "input_reads": None, "input_records": None}
    if not job_ids or not spark.sparkContext.uiWebUrl:
        return counts
    deadline = time.monotonic() + wait
    while True:  # the REST API is fed by the listener bus: wait until every stage is final
        try:
            stages = [s for j in job_ids for s in _rest(spark, f"jobs/{j}")["stageIds"]]
            attempts = [a for s in stages for a in _rest(spark, f"stages/{s}")]
        except Exception as e:  # noqa: BLE001 — the count is informative; never fail a backfill for it
            log.debug("Spark REST API: %s", e)
            return counts
        final = all(a["status"] in ("COMPLETE", "SKIPPED", "FAILED") for a in attempts)
        if final or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    reads = [a["inputRecords"] for a in attempts if a["status"] == "COMPLETE" and a["inputRecords"] > 0]
    counts.update(input_reads=len(reads), input_records=sum(reads))
    return counts


def precompute(spark, phase, params: list, group: str) -> tuple[list[Any], dict[str, Any]]:
    """``phase.precompute`` over every window's parameters inside a Spark job group; (its results, the counts).
    A failure is logged and every window then reads its own data (its run records its own error)."""
    sc = spark.sparkContext
    sc.setJobGroup(group, "model-monitor backfill: every window's data in one job")
    started = time.monotonic()
    try:
        results = phase.precompute(spark, params)
    except Exception as e:  # noqa: BLE001
        from monitor_lib.schedule.tick import failure_text

        log.error("backfill: the shared job failed (%s); each window reads its own data", failure_text(e))
        results = [None] * len(params)
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)
    counts = job_counts(spark, sorted(sc.statusTracker().getJobIdsForGroup(group)))
    counts["seconds"] = round(time.monotonic() - started, 3)
    return results, counts


# ---------------------------------------------------------------- the backfill


def _spark(spec):
    """The session the runs share: the configured / local one (target local), the schedule's master
    (standalone)."""
    from monitor_lib.spark import get_spark

    master = spec.target_options.get("master")
    if spec.target == "standalone" and master and "--master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        from pyspark.sql import SparkSession

        if SparkSession.getActiveSession() is None:
            os.environ["PYSPARK_SUBMIT_ARGS"] = f"--master {master} pyspark-shell"
    return get_spark(f"model-monitor-backfill-{spec.name}")


def backfill(spec, start: datetime, end: datetime, reprocess: str = "none", sequential: bool = False,
             dry_run: bool = False, now: datetime | None = None, spark=None) -> tuple[Plan, list[ExecutionRecord]]:
    """Run the executions of ``spec`` scheduled in ``(start, end]`` (see the module). Returns the plan and the
    records written (in order); ``dry_run``: the plan only, nothing claimed or written."""
    from monitor_lib.schedule.store import open_store
    from monitor_lib.schedule.tick import claim_window, run_execution

    check_target(spec)
    if end <= start:
        raise ConfigError(f"--to {iso_utc(end)} must be after --from {iso_utc(start)}")
    now = now or datetime.now(UTC)
    store = open_store(spec)
    records = {r.scheduled_time: r for r in store.list()}
    plan = plan_windows(spec, start, end, records, reprocess, now)
    log.info("backfill %s (%s, %s]: %d window(s) to run, %d skipped", spec.name, iso_utc(start), iso_utc(end),
             len(plan.run), len(plan.skipped))
    if dry_run or not plan.run:
        return plan, []
    old = old_windows(spec, plan.run, now)
    if old and getattr(spec.typed_params(plan.run[0]), "put_metric_data", False):
        log.warning("backfill: %d window(s) start more than 14 days ago: PutMetricData leaves their points out "
                    "(CloudWatch takes at most two weeks old ones); their metric files are written", old)
    claimed = []
    for t in plan.run:
        record = claim_window(spec, store, t, reprocess)
        if record is None:
            log.warning("backfill %s %s: claimed by someone else meanwhile, left to them", spec.name, iso_utc(t))
            plan.skipped.append((t, "claimed by another tick or backfill"))
        else:
            claimed.append(record)
    if not claimed:
        return plan, []
    phase = spec.phase
    spark = spark or _spark(spec)
    shared: list[Any] = [None] * len(claimed)
    if phase.precompute is not None and not sequential:
        params = [spec.typed_params(r.scheduled_time) for r in claimed]
        log.info("backfill %s: reading the data of %d window(s) in one Spark job", spec.name, len(claimed))
        shared, counts = precompute(spark, phase, params, f"model-monitor-backfill-{uuid.uuid4().hex[:12]}")
        info = {"windows": len(claimed), **counts}
        log.info("backfill %s: shared job done in %.1f s: %d Spark job(s), input read by %s stage(s)", spec.name,
                 counts["seconds"], counts["spark_jobs"], counts["input_reads"] if counts["input_reads"] is not None
                 else "? (Spark UI off)")
        for part in shared:
            details = getattr(part, "details", None)
            if isinstance(details, dict):  # a precompute's part may carry run_summary.json entries
                details["backfill"] = info
    done = []
    for i, (record, part) in enumerate(zip(claimed, shared, strict=True), 1):
        record = run_execution(spec, store, record, spark=spark, precomputed=part)
        log.info("backfill %s: window %d/%d [%s, %s) %s%s", spec.name, i, len(claimed),
                 iso_utc(record.window_start), iso_utc(record.window_end), record.status,
                 f": {record.failure_reason}" if record.failure_reason else "")
        done.append(record)
    return plan, done


# ---------------------------------------------------------------- command line

EPILOG = f"""examples:
  model-monitor backfill --schedule conf/schedule.yaml --from 2026-11-01T00:00:00Z --to 2026-11-08T00:00:00Z
  model-monitor backfill --schedule conf/schedule.yaml --from 2026-11-01T00:00:00Z --to 2026-11-02T00:00:00Z \\
      --reprocess failed --dry-run

Runs the executions scheduled in (--from, --to] (an hourly schedule: the windows covering [--from, --to)) that
have no record, or are Failed / Stopped with retries left; --reprocess failed reruns every Failed / Stopped one,
--reprocess all every one not InProgress. The data of all of them is read by one Spark job and every window
writes its own folder and execution record, exactly as its own run would (--sequential: one run per window).
Runs here (target local or standalone); for emr / sagemaker run it on the cluster.

exit codes:
  0    every window it ran ended Completed, CompletedWithViolations or NoData (or there was nothing to run)
  1    an internal error (MODEL_MONITOR_DEBUG=1 prints the traceback)
  2    a bad schedule file or flag, an unreachable state store (one line)
  {EXIT_FAILED}    some window ended Failed (its FailureReason is printed and recorded)"""


def add_parser(sub) -> None:
    """``backfill``."""
    import argparse

    from monitor_lib.schedule.spec import add_schedule_flag

    b = sub.add_parser("backfill", help="run a schedule's past windows, all read by one Spark job",
                       description="Run the executions of a schedule scheduled in (--from, --to]: every window's "
                                   "data read in one Spark job, each window's outputs and record as its own run.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_schedule_flag(b)
    b.add_argument("--from", dest="from_time", required=True, metavar="A",
                   help="scheduled after A (ISO-8601 UTC, exclusive)")
    b.add_argument("--to", dest="to_time", required=True, metavar="B",
                   help="scheduled at or before B (ISO-8601 UTC, inclusive)")
    b.add_argument("--reprocess", default="none", choices=("none", "failed", "all"),
                   help="none (default): skip windows done or running; failed: rerun every Failed / Stopped; "
                        "all: rerun every window not InProgress")
    b.add_argument("--sequential", action="store_true", help="one Spark run per window instead of one shared job")
    b.add_argument("--dry-run", action="store_true", help="print the windows it would run and skip; run nothing")
    b.add_argument("--json", action="store_true", help="print the plan / the records as JSON")
    b.set_defaults(func=cmd_backfill)


def _time(value: str, flag: str) -> datetime:
    from monitor_lib.timefmt import parse_time

    t = parse_time(value, flag)
    if t is None:
        raise ConfigError(f"{flag} is empty: give an ISO-8601 UTC time like 2026-11-20T00:00:00Z")
    return t


def cmd_backfill(args) -> int:
    from monitor_lib.schedule.spec import read_schedule

    start, end = _time(args.from_time, "--from"), _time(args.to_time, "--to")
    spec = read_schedule(args.schedule)
    plan, records = backfill(spec, start, end, args.reprocess, args.sequential, args.dry_run)
    out = sys.stdout
    if args.json:
        doc = {"run": [iso_utc(t) for t in plan.run] if args.dry_run else [r.to_json() for r in records],
               "skipped": [{"scheduled_time": iso_utc(t), "reason": why} for t, why in plan.skipped]}
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        if args.dry_run:
            for t in plan.run:
                w = spec.window_for(t)
                out.write(f"would run  {iso_utc(t)}  [{iso_utc(w.start)}, {iso_utc(w.end)})  "
                          f"{spec.output_for(t)}\n")
        for r in records:
            out.write(f"{r.status:<24} {iso_utc(r.scheduled_time)}  [{iso_utc(r.window_start)}, "
                      f"{iso_utc(r.window_end)})  {r.failure_reason or r.output_uri}\n")
        for t, why in plan.skipped:
            out.write(f"{'skipped':<24} {iso_utc(t)}  {why}\n")
        out.write(f"{len(records) if not args.dry_run else len(plan.run)} window(s) "
                  f"{'to run' if args.dry_run else 'run'}, {len(plan.skipped)} skipped\n")
    return EXIT_FAILED if any(r.status == FAILED for r in records) else 0
