"""Executions: claim a scheduled time's window, run it (or submit it), record its final status.

``claim_window`` creates the record of a scheduled time (status InProgress, attempts 1) with the store's
create-if-absent write, or replaces a retryable one (attempts + 1) compare-and-swap: whoever else ticks, each
claim of a window succeeds once. ``run_execution`` runs a claimed window in this process through
:func:`monitor_lib.runner.run` and records the outcome; ``tick`` follows earlier remote executions, marks stale
ones Failed, then claims and runs (or submits) the due windows. The CLI: ``schedule due``, ``schedule tick``,
``executions``.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from monitor_lib.errors import MonitorError
from monitor_lib.monitors import base
from monitor_lib.schedule.model import (
    COMPLETED,
    COMPLETED_WITH_VIOLATIONS,
    FAILED,
    IN_PROGRESS,
    NO_DATA,
    PENDING,
    STOPPED,
    ExecutionRecord,
)
from monitor_lib.schedule.spec import check_target_options  # noqa: F401 (checked when the file is read)
from monitor_lib.schedule.store import ExecutionConflictError, ExecutionStore
from monitor_lib.timefmt import iso_utc

log = logging.getLogger(__name__)

_OUTCOME_STATUS = {base.COMPLETED: COMPLETED, base.WITH_VIOLATIONS: COMPLETED_WITH_VIOLATIONS,
                   base.NO_DATA: NO_DATA, base.FAILED: FAILED}
_TICK_ID = uuid.uuid4().hex[:12]  # one per process: the owner of what this process claims


# ---------------------------------------------------------------- owners


@dataclass(frozen=True)
class Owner:
    """Who claimed a record: ``<host>:<pid>:<tick id>`` (and the process's start time, to tell a reused pid)."""

    host: str
    pid: int
    tick: str
    started: str = ""  # /proc start time of the pid ("" where unknown)

    @property
    def text(self) -> str:
        return f"{self.host}:{self.pid}:{self.tick}"

    @staticmethod
    def me() -> Owner:
        from monitor_lib.io.lock import _process_start

        return Owner(socket.gethostname(), os.getpid(), _TICK_ID, _process_start(os.getpid()))

    @staticmethod
    def parse(text: str, started: str = "") -> Owner | None:
        host, sep, rest = text.rpartition(":")  # host:pid:tick (a host name holds no ':')
        host, sep2, pid = host.rpartition(":")
        if not sep or not sep2 or not pid.isdigit():
            return None
        return Owner(host, int(pid), rest, started)


def owner_alive(owner: Owner) -> bool:
    """Is the process that claimed (on this host) still running? A pid now used by another process (its start
    time differs) is not."""
    from monitor_lib.io.lock import _pid_alive, _process_start

    if not _pid_alive(owner.pid):
        return False
    now = _process_start(owner.pid)
    return not (owner.started and now and now != owner.started)


# ---------------------------------------------------------------- pure rules


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def retryable(record: ExecutionRecord, max_retries: int, reprocess: str = "none") -> bool:
    """May ``record`` be claimed again? The due rules of :func:`monitor_lib.schedule.due.is_due` (none: Failed /
    Stopped with attempts <= max_retries; failed: any Failed / Stopped; all: anything not running); a record
    InProgress or Pending is never taken over here (a tick first marks an abandoned one Failed)."""
    from monitor_lib.schedule.due import is_due

    return record.status not in (IN_PROGRESS, PENDING) and is_due(record, max_retries, reprocess)


def status_from_outcome(outcome: base.RunOutcome) -> tuple[str, str, dict[str, Any]]:
    """(execution status, failure reason, extra) of a run's outcome."""
    status = _OUTCOME_STATUS.get(outcome.status, FAILED)
    reason = ""
    if status == FAILED:
        reason = one_line(outcome.failure_reason or outcome.message or f"the run ended {outcome.status}")
    extra: dict[str, Any] = {"violations": len(outcome.violations), "message": outcome.message,
                             "records": outcome.records}
    if outcome.rejected:
        extra["records_rejected"] = dict(outcome.rejected)
    if outcome.no_data_reason:
        extra["no_data_reason"] = outcome.no_data_reason
    return status, reason, extra


def status_from_summary(doc: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(execution status, failure reason, extra) of a ``run_summary.json`` (what a remote run wrote)."""
    status = _OUTCOME_STATUS.get(str(doc.get("status") or ""), FAILED)
    reason = ""
    if status == FAILED:
        reason = one_line(str(doc.get("failure_reason") or doc.get("message") or
                              f"the run ended {doc.get('status') or 'without a status'}"))
    extra: dict[str, Any] = {"violations": int(doc.get("violations") or 0), "message": str(doc.get("message") or ""),
                             "records": int(doc.get("records") or 0)}
    if doc.get("no_data_reason"):
        extra["no_data_reason"] = str(doc["no_data_reason"])
    return status, reason, extra


def one_line(text: str, limit: int = 1000) -> str:
    """A message as one line (SageMaker's FailureReason is at most 1024 characters)."""
    return " ".join(str(text).split())[:limit]


def failure_text(e: BaseException) -> str:
    """An exception as a record's FailureReason: our errors' messages are for users; anything else is a bug,
    named as the CLI names it. Never a traceback."""
    if isinstance(e, MonitorError):
        return one_line(str(e))
    return one_line(f"internal error ({type(e).__name__}: {e})")


def stale_reason(record: ExecutionRecord, now: datetime, max_runtime, host: str,
                 alive=owner_alive) -> str | None:
    """Why an InProgress (or Pending) record no tick will ever finish is stale, or None.

    A record whose owner ran it in-process (no EMR step or processing job recorded) is stale when that owner
    is on this host and its process is gone (``alive``: injected by tests), or when it has not changed for
    longer than ``max_runtime`` (an owner on another host cannot be asked). A submitted remote run is followed
    through its job instead."""
    if record.status not in (IN_PROGRESS, PENDING) or record.emr_step_id or record.processing_job_arn:
        return None
    owner = Owner.parse(record.owner, str(record.extra.get("owner_started", "")))
    if owner is not None and owner.host == host and not alive(owner):
        return f"the tick {record.owner} that ran it ended without recording a result (killed?)"
    changed = record.last_modified_time or record.creation_time
    if changed is not None and now - changed > max_runtime:
        from monitor_lib.schedule.windows import duration_text

        return (f"the tick {record.owner or '?'} that ran it recorded no result within max_runtime "
                f"{duration_text(max_runtime)} (last change {iso_utc(changed)})")
    return None


# ---------------------------------------------------------------- claims and runs


def new_record(spec, scheduled_time: datetime, owner: Owner, now: datetime) -> ExecutionRecord:
    w = spec.window_for(scheduled_time)
    return ExecutionRecord(
        monitoring_schedule_name=spec.name, scheduled_time=w.scheduled_time, monitoring_type=spec.monitor_type,
        status=IN_PROGRESS, creation_time=now, last_modified_time=now, endpoint_name=spec.endpoint or "",
        window_start=w.start, window_end=w.end, output_uri=spec.output_for(scheduled_time), attempts=1,
        owner=owner.text, extra={"owner_started": owner.started} if owner.started else {})


def claim_window(spec, store: ExecutionStore, scheduled_time: datetime, reprocess: str = "none",
                 now: datetime | None = None, owner: Owner | None = None) -> ExecutionRecord | None:
    """Claim the window of ``scheduled_time``: create its record (InProgress, attempts 1), or replace a
    retryable one (``retryable``, attempts + 1). None when another tick has it or it is not to run again."""
    now = now or _now()
    owner = owner or Owner.me()
    fresh = new_record(spec, scheduled_time, owner, now)
    existing = store.get(fresh.scheduled_time)
    if existing is None:
        if store.claim(fresh):
            return fresh
        existing = store.get(fresh.scheduled_time)  # someone was first: may it be retried? (usually not)
        if existing is None:
            return None
    if not retryable(existing, spec.max_retries, reprocess):
        return None
    again = replace(fresh, creation_time=existing.creation_time or now, attempts=existing.attempts + 1)
    again.extra = dict(fresh.extra, previous_failure=existing.failure_reason) if existing.failure_reason \
        else dict(fresh.extra)
    return again if store.replace(existing, again) else None


def run_execution(spec, store: ExecutionStore, record: ExecutionRecord, spark=None,
                  precomputed: Any = None) -> ExecutionRecord:
    """Run the claimed window of ``record`` in this process (``runner.run`` of the schedule's monitoring phase)
    and record its final status: Completed / CompletedWithViolations / NoData from the outcome, Failed with the
    error's one-line reason when it raised (or the run Failed)."""
    from monitor_lib import runner

    t = record.scheduled_time
    record.status = IN_PROGRESS
    record.last_modified_time = _now()
    record.output_uri = spec.output_for(t)
    store.update(record)
    log.info("%s %s: running window [%s, %s) -> %s (attempt %d)", spec.name, iso_utc(t),
             iso_utc(record.window_start), iso_utc(record.window_end), record.output_uri, record.attempts)
    keep = {k: v for k, v in record.extra.items() if k in ("owner_started", "previous_failure")}
    try:
        outcome = runner.run(spec.monitor, spec.phase, spec.typed_params(t), spark=spark, precomputed=precomputed)
    except KeyboardInterrupt:
        record.status, record.failure_reason = STOPPED, "the tick was interrupted while it ran this window"
        record.last_modified_time = _now()
        store.update(record)
        raise
    except Exception as e:  # noqa: BLE001 — recorded: a window's failure must not stop the tick
        record.status, record.failure_reason, record.extra = FAILED, failure_text(e), keep
    else:
        status, reason, extra = status_from_outcome(outcome)
        record.status, record.failure_reason, record.extra = status, reason, {**keep, **extra}
        record.run_id = outcome.run_id
        record.output_uri = outcome.output_path or record.output_uri
    record.last_modified_time = _now()
    store.update(record)
    log.info("%s %s: %s%s", spec.name, iso_utc(t), record.status,
             f" ({record.failure_reason})" if record.failure_reason else "")
    return record


# ---------------------------------------------------------------- remote targets


EMR_STEP_FINAL = {"COMPLETED": COMPLETED, "CANCELLED": STOPPED, "FAILED": FAILED, "INTERRUPTED": FAILED}
PROCESSING_FINAL = {"Completed": COMPLETED, "Stopped": STOPPED, "Failed": FAILED}
def job_flags(spec, scheduled_time: datetime) -> list[str]:
    """The flags of ``model-monitor monitor`` that run the execution of ``scheduled_time`` (``--type`` first):
    what a remote target's step or job runs. ``--flag=value``, so that negative offsets (-P1D) stay values."""
    from monitor_lib.schedule.export import job_flags as flags_of

    params = spec.run_params(scheduled_time)
    return ["--type", spec.monitor_type, *flags_of(spec.phase.params, params, f"{spec.source} params")]


def job_spec(spec, scheduled_time: datetime):
    """The :class:`~monitor_lib.driver.jobspec.JobSpec` of that execution, checked as ``submit`` checks it."""
    from monitor_lib.driver.jobspec import parse_job

    return parse_job(spec.phase.command, job_flags(spec, scheduled_time))


def _clients(spec):
    """boto3 clients of the schedule's region (target_options.region, else the boto3 chain)."""
    from monitor_lib.driver.submit import _client

    region = spec.target_options.get("region")
    return lambda service: _client(service, region)


def processing_job_name(spec, record: ExecutionRecord) -> str:
    """Unique per attempt: ``<prefix or schedule>-<yyyymmdd-hhmm>-a<attempt>`` (at most 63 characters)."""
    prefix = str(spec.target_options.get("job_name_prefix") or spec.name)
    tail = f"-{record.scheduled_time:%Y%m%d-%H%M}-a{record.attempts}"
    return prefix[:63 - len(tail)].rstrip("-") + tail


def submit_emr(spec, record: ExecutionRecord, clients) -> str:
    """Upload the package, add the step; ``<cluster id>/<step id>``."""
    import dataclasses
    import tempfile

    from monitor_lib.driver.emr import add_step, step_definition, upload_package
    from monitor_lib.driver.package import build_package
    from monitor_lib.schedule.export import emr_options

    job = job_spec(spec, record.scheduled_time)
    options = emr_options(spec)
    if not spec.target_options.get("step_name"):  # one name per execution
        options = dataclasses.replace(options, step_name=f"{spec.name} {iso_utc(record.scheduled_time)}")
    with tempfile.TemporaryDirectory(prefix="model-monitor-tick-") as tmp:
        uris = upload_package(clients("s3"), build_package(tmp), options.code_uri, job.script)
    step_id = add_step(clients("emr"), options.cluster_id, step_definition(job, uris, options))
    return f"{options.cluster_id}/{step_id}"


def submit_sagemaker(spec, record: ExecutionRecord, clients) -> str:
    """Create the Processing job; its ARN."""
    from monitor_lib.driver.sagemaker import processing_job_request
    from monitor_lib.schedule.export import processing_options

    job = job_spec(spec, record.scheduled_time)
    options = processing_options(spec, processing_job_name(spec, record))
    return clients("sagemaker").create_processing_job(**processing_job_request(job, options))["ProcessingJobArn"]


def run_spark_submit(spec, record: ExecutionRecord) -> ExecutionRecord:
    """target standalone: ``submit --target standalone`` of the execution, waited for; the status from the
    run_summary.json it published (from spark-submit's exit code when there is none)."""
    import argparse

    from monitor_lib.driver.submit import _submit_spark

    o = spec.target_options
    from monitor_lib.schedule.export import spark_conf

    args = argparse.Namespace(target=spec.target, master=o.get("master"),
                              conf=[f"{k}={v}" for k, v in spark_conf(spec)],
                              python=o.get("python"), spark_submit=o.get("spark_submit"))
    code = _submit_spark(args, job_spec(spec, record.scheduled_time))
    summary = read_summary(record.output_uri) if code in (0, 3) else None
    if summary is not None:
        record.status, record.failure_reason, extra = status_from_summary(summary)
        record.extra = {**record.extra, **extra}
        record.run_id = str(summary.get("run_id") or "")
    else:
        record.status = FAILED
        record.failure_reason = f"spark-submit exited with code {code} (its output is in the tick's log)"
    return record


def read_summary(output_uri: str) -> dict | None:
    """The ``run_summary.json`` of an execution folder (local or ``s3://``), None when there is none."""
    import json

    from monitor_lib.errors import DatasetNotFoundError
    from monitor_lib.io import s3

    uri = output_uri.rstrip("/") + "/run_summary.json"
    try:
        text = s3.read_text(uri, "run_summary.json") if s3.is_s3(uri) else open(uri, encoding="utf-8").read()
    except (FileNotFoundError, DatasetNotFoundError):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _finish_from_job(record: ExecutionRecord, status: str, reason: str, what: str) -> ExecutionRecord:
    """A remote run ended: its final status; a completed one takes the monitor's status from run_summary.json."""
    record.last_modified_time = _now()
    if status == COMPLETED:
        summary = read_summary(record.output_uri)
        if summary is not None:
            record.status, record.failure_reason, extra = status_from_summary(summary)
            record.extra = {**record.extra, **extra}
            record.run_id = str(summary.get("run_id") or "")
        else:
            record.status, record.failure_reason = COMPLETED, ""
            record.extra = {**record.extra, "message": f"the {what} completed; its output has no run_summary.json, "
                                                      "so the status comes from the job's state"}
    else:
        record.status, record.failure_reason = status, one_line(reason or f"the {what} ended {status}")
    return record


def follow_remote(record: ExecutionRecord, clients) -> ExecutionRecord | None:
    """The record of a submitted run brought up to date (a copy), or None while its job still runs (or cannot be
    asked now: tried again on the next tick)."""
    from botocore.exceptions import BotoCoreError, ClientError

    rec = replace(record, extra=dict(record.extra))
    try:
        if record.emr_step_id:
            cluster, _, step_id = record.emr_step_id.partition("/")
            step = clients("emr").describe_step(ClusterId=cluster, StepId=step_id)["Step"]
            state = step["Status"]["State"]
            if state not in EMR_STEP_FINAL:
                return None
            failure = step["Status"].get("FailureDetails") or {}
            reason = "; ".join(str(failure[k]) for k in ("Reason", "Message", "LogFile") if failure.get(k)) or \
                step["Status"].get("StateChangeReason", {}).get("Message", "")
            return _finish_from_job(rec, EMR_STEP_FINAL[state], f"EMR step {state}: {reason}" if reason else "",
                                    f"EMR step {record.emr_step_id}")
        name = record.processing_job_arn.rsplit("/", 1)[-1]
        job = clients("sagemaker").describe_processing_job(ProcessingJobName=name)
        state = job["ProcessingJobStatus"]
        if state not in PROCESSING_FINAL:
            return None
        reason = job.get("FailureReason") or job.get("ExitMessage") or ""
        return _finish_from_job(rec, PROCESSING_FINAL[state], reason, f"processing job {name}")
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code in ("ValidationException", "ResourceNotFound", "InvalidRequestException"):
            rec.status, rec.last_modified_time = FAILED, _now()
            rec.failure_reason = one_line(f"its job can no longer be described ({code}: {e})")
            return rec
        log.warning("%s: cannot follow %s now (%s); next tick", iso_utc(record.scheduled_time),
                    record.emr_step_id or record.processing_job_arn, e)
        return None
    except BotoCoreError as e:
        log.warning("%s: cannot follow %s now (%s); next tick", iso_utc(record.scheduled_time),
                    record.emr_step_id or record.processing_job_arn, e)
        return None


# ---------------------------------------------------------------- the tick


def due_times(spec, now: datetime, records, reprocess: str = "none") -> list[datetime]:
    """The scheduled times due at ``now`` (``monitor_lib.schedule.due``)."""
    from monitor_lib.schedule.due import due_times as due

    return due(spec, now, records, reprocess)


@dataclass
class Action:
    """One thing a tick did (or, dry, would do) to a window."""

    kind: str  # followed | stale | ran | submitted | due | lost
    record: ExecutionRecord


def tick_actions(spec, now: datetime | None = None, max_windows: int | None = None, dry_run: bool = False,
                 spark=None, store: ExecutionStore | None = None, clients=None) -> list[Action]:
    """What :func:`tick` does, as actions in order (a stale window retried appears as ``stale`` then ``ran``)."""
    from monitor_lib.schedule.store import open_store

    now = now or _now()
    store = store or open_store(spec)
    clients = clients or _clients(spec)
    host = socket.gethostname()
    actions: list[Action] = []
    records = {r.scheduled_time: r for r in store.list()}
    # (a) follow submitted runs, (b) mark the ones no tick will finish Failed
    for t, record in sorted(records.items()):
        if record.status not in (IN_PROGRESS, PENDING):
            continue
        if record.emr_step_id or record.processing_job_arn:
            if dry_run:
                continue
            done = follow_remote(record, clients)
            if done is not None and store.replace(record, done):
                records[t] = done
                actions.append(Action("followed", done))
                log.info("%s %s: %s %s", spec.name, iso_utc(t), record.emr_step_id or record.processing_job_arn,
                         done.status)
            continue
        reason = stale_reason(record, now, spec.max_runtime, host)
        if reason is None:
            continue
        failed = replace(record, status=FAILED, failure_reason=reason, last_modified_time=now,
                         extra=dict(record.extra))
        if dry_run:
            records[t] = failed
            actions.append(Action("stale", failed))
        elif store.replace(record, failed):
            records[t] = failed
            actions.append(Action("stale", failed))
            log.warning("%s %s: marked Failed: %s", spec.name, iso_utc(t), reason)
    # (c) claim the due windows, oldest first, and run or submit them
    limit = max_windows or spec.max_windows_per_tick
    claimed = 0
    for t in due_times(spec, now, records):
        if claimed >= limit:
            break
        if dry_run:
            previous = records.get(t)
            preview = new_record(spec, t, Owner.me(), now)
            preview.status = PENDING
            preview.attempts = (previous.attempts if previous else 0) + 1
            actions.append(Action("due", preview))
            claimed += 1
            continue
        record = claim_window(spec, store, t, now=now)
        if record is None:
            log.info("%s %s: claimed by another tick", spec.name, iso_utc(t))
            continue
        claimed += 1
        try:
            actions.append(_execute(spec, store, record, spark, clients))
        except ExecutionConflictError as e:  # marked stale by another tick meanwhile: its record stands
            log.warning("%s %s: %s", spec.name, iso_utc(t), e)
            actions.append(Action("lost", record))
    return actions


def _execute(spec, store: ExecutionStore, record: ExecutionRecord, spark, clients) -> Action:
    if spec.target == "local":
        return Action("ran", run_execution(spec, store, record, spark=spark))
    try:
        if spec.target == "standalone":
            log.info("%s %s: spark-submit to %s", spec.name, iso_utc(record.scheduled_time),
                     spec.target_options.get("master"))
            run_spark_submit(spec, record)
            kind = "ran"
        elif spec.target == "emr":
            record.emr_step_id = submit_emr(spec, record, clients)
            kind = "submitted"
        else:
            record.processing_job_arn = submit_sagemaker(spec, record, clients)
            kind = "submitted"
    except Exception as e:  # noqa: BLE001 — recorded: one window's failure must not stop the tick
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(e, ClientError | BotoCoreError):
            e = MonitorError(f"submitting to {spec.target} failed: {e}")
        record.status, record.failure_reason, kind = FAILED, failure_text(e), "ran"
    record.last_modified_time = _now()
    store.update(record)
    log.info("%s %s: %s %s", spec.name, iso_utc(record.scheduled_time), kind,
             record.emr_step_id or record.processing_job_arn or record.status)
    return Action(kind, record)


def tick(spec, now: datetime | None = None, max_windows: int | None = None, dry_run: bool = False,
         spark=None) -> list[ExecutionRecord]:
    """Follow earlier remote executions, mark stale ones Failed, then claim up to ``max_windows`` (default
    ``spec.max_windows_per_tick``) due windows oldest first and run (local, standalone) or submit (emr,
    sagemaker) them. The records it wrote, in order; ``dry_run``: the ones it would claim (status Pending),
    writing nothing. Safe to call every few minutes from any trigger, from several machines at once."""
    return [a.record for a in tick_actions(spec, now, max_windows, dry_run, spark)]


# ---------------------------------------------------------------- command line

EXIT_HELP = """exit codes:
  0    the tick ran: every window it ran, submitted or followed ended Completed, CompletedWithViolations,
       NoData or is still running (or nothing was due)
  1    an internal error (MODEL_MONITOR_DEBUG=1 prints the traceback)
  2    the tick could not run: a bad schedule file or flag, an unreachable or refused state store (one line)
  3    some window's last state recorded by this tick is Failed (its FailureReason is printed and recorded;
       it is retried by later ticks up to max_retries): cron mail and Kubernetes show it"""

TICK_EPILOG = f"""examples:
  model-monitor schedule tick --schedule conf/schedule.yaml
  model-monitor schedule tick --schedule s3://bucket/schedules/hourly.yaml --max-windows 4
  model-monitor schedule tick --schedule conf/schedule.yaml --now 2026-11-20T12:30:00Z --dry-run
  crontab, every 5 minutes:  */5 * * * *  model-monitor schedule tick --schedule /etc/model-monitor/hourly.yaml

A tick (1) follows the EMR steps / processing jobs earlier ticks submitted and records how they ended, (2) marks
Failed the InProgress executions no tick will finish (their tick died, or max_runtime passed), (3) claims the
due windows oldest first (at most --max-windows) and runs them (target local: one after the other in this
process; standalone: spark-submit, waited for) or submits them (emr, sagemaker: followed by later ticks).
Claims are create-if-absent writes in the state store: ticks started together never run a window twice.

{EXIT_HELP}"""

DUE_EPILOG = """examples:
  model-monitor schedule due --schedule conf/schedule.yaml
  model-monitor schedule due --schedule conf/schedule.yaml --now 2026-11-21T00:30:00Z --json

Lists the scheduled times a tick at --now would claim (no record yet, or Failed / Stopped with retries left),
oldest first, with their windows and output folders. Reads the state store; writes nothing.

exit codes:
  0    listed (possibly nothing)
  1    an internal error
  2    a bad schedule file or flag, an unreachable state store (one line)"""

EXECUTIONS_EPILOG = """examples:
  model-monitor executions --schedule conf/schedule.yaml
  model-monitor executions --schedule conf/schedule.yaml --status Failed --status Stopped
  model-monitor executions --schedule conf/schedule.yaml --from 2026-11-20T00:00:00Z --to 2026-11-21T00:00:00Z --json

One row per scheduled time, like ListMonitoringExecutions: status, window, attempts, the failure reason or the
EMR step / processing job, the output folder. --from is inclusive, --to exclusive (on the scheduled time).

exit codes:
  0    listed (possibly nothing)
  1    an internal error
  2    a bad schedule file or flag, an unreachable state store (one line)"""


def add_parsers(schedule_actions, sub) -> None:
    """``schedule due``, ``schedule tick`` (under ``schedule_actions``) and ``executions`` (under ``sub``)."""
    import argparse

    from monitor_lib.schedule.model import STATUSES
    from monitor_lib.schedule.spec import add_schedule_flag

    def _now_flag(parser) -> None:
        parser.add_argument("--now", default="now", metavar="T", help="the clock: an ISO-8601 UTC time (default now)")

    raw = argparse.RawDescriptionHelpFormatter
    d = schedule_actions.add_parser("due", help="list the windows that are due (claims nothing)",
                                    description="The due windows of a schedule at a time.", epilog=DUE_EPILOG,
                                    formatter_class=raw)
    add_schedule_flag(d)
    _now_flag(d)
    d.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    d.set_defaults(func=cmd_due)

    t = schedule_actions.add_parser("tick", help="follow, claim and run (or submit) the due windows",
                                    description="Claim the due windows of a schedule and run or submit them; "
                                                "record every execution.", epilog=TICK_EPILOG, formatter_class=raw)
    add_schedule_flag(t)
    _now_flag(t)
    t.add_argument("--max-windows", type=int, metavar="N",
                   help="claim at most N windows (default the schedule's max_windows_per_tick)")
    t.add_argument("--dry-run", action="store_true", help="print what it would claim and mark; write nothing")
    t.set_defaults(func=cmd_tick)

    e = sub.add_parser("executions", help="list a schedule's execution records (ListMonitoringExecutions)",
                       description="The execution records of a schedule, like SageMaker's "
                                   "ListMonitoringExecutions.", epilog=EXECUTIONS_EPILOG, formatter_class=raw)
    add_schedule_flag(e)
    e.add_argument("--status", action="append", choices=STATUSES, help="only this status (repeatable)")
    e.add_argument("--from", dest="from_time", metavar="T", help="scheduled at or after T (ISO-8601 UTC)")
    e.add_argument("--to", dest="to_time", metavar="T", help="scheduled before T (ISO-8601 UTC)")
    e.add_argument("--json", action="store_true", help="a JSON list of the records instead of a table")
    e.set_defaults(func=cmd_executions)


def _clock(value: str) -> datetime:
    from monitor_lib.errors import ConfigError
    from monitor_lib.timefmt import parse_time

    if value.strip().lower() == "now":
        return _now()
    t = parse_time(value, "--now")
    if t is None:
        raise ConfigError("--now is empty: give an ISO-8601 UTC time like 2026-11-20T12:30:00Z, or now")
    return t


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def due_rows(spec, now: datetime, records) -> list[dict[str, Any]]:
    """The due windows at ``now`` as ``schedule due`` prints them (JSON names)."""
    out = []
    for t in due_times(spec, now, records):
        w = spec.window_for(t)
        previous = records.get(t)
        out.append({"ScheduledTime": iso_utc(t), "WindowStart": iso_utc(w.start), "WindowEnd": iso_utc(w.end),
                    "OutputUri": spec.output_for(t), "Attempt": (previous.attempts if previous else 0) + 1,
                    "PreviousStatus": previous.status if previous else ""})
    return out


def cmd_due(args) -> int:
    import json

    from monitor_lib.schedule.spec import read_schedule
    from monitor_lib.schedule.store import open_store

    spec = read_schedule(args.schedule)
    now = _clock(args.now)
    records = {r.scheduled_time: r for r in open_store(spec).list()}
    rows = due_rows(spec, now, records)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"{spec.name}: nothing due at {iso_utc(now)}")
        return 0
    head = ["scheduled time", "window", "attempt", "output"]
    body = [[r["ScheduledTime"], f"[{r['WindowStart']}, {r['WindowEnd']})",
             str(r["Attempt"]) + (f" (after {r['PreviousStatus']})" if r["PreviousStatus"] else ""), r["OutputUri"]]
            for r in rows]
    print("\n".join(_table([head, *body])))
    print(f"{len(rows)} due at {iso_utc(now)}; a tick claims at most {spec.max_windows_per_tick}")
    return 0


def _detail(r: ExecutionRecord) -> str:
    if r.failure_reason:
        return r.failure_reason
    job = r.emr_step_id and f"EMR step {r.emr_step_id}" or r.processing_job_arn
    if r.status in (NO_DATA,) and r.extra.get("no_data_reason"):
        return str(r.extra["no_data_reason"])
    if r.status == COMPLETED_WITH_VIOLATIONS and r.extra.get("violations") is not None:
        return f"{r.extra['violations']} violations" + (f"; {job}" if job else "")
    return job or ""


def cmd_tick(args) -> int:
    from monitor_lib.errors import EXIT_RUN_FAILED, ConfigError
    from monitor_lib.schedule.spec import read_schedule

    spec = read_schedule(args.schedule)
    if args.max_windows is not None and args.max_windows < 1:
        raise ConfigError(f"--max-windows must be 1 or more, got {args.max_windows}")
    now = _clock(args.now)
    actions = tick_actions(spec, now, args.max_windows, args.dry_run)
    verbs = {"followed": "followed", "stale": "marked", "ran": "ran", "submitted": "submitted", "due": "would run",
             "lost": "lost"}
    for a in actions:
        r = a.record
        verb = "would mark" if args.dry_run and a.kind == "stale" else verbs[a.kind]
        detail = _detail(r)
        print(f"{iso_utc(r.scheduled_time)}  {verb:<10} {r.status:<23} attempt {r.attempts}  {r.output_uri}"
              + (f"  {detail}" if detail else ""))
    if not actions:
        print(f"{spec.name}: nothing to do at {iso_utc(now)}")
    last = {a.record.scheduled_time: a.record.status for a in actions if a.kind != "due"}
    failed = sorted(t for t, status in last.items() if status == FAILED)
    if failed and not args.dry_run:
        print(f"{len(failed)} window(s) Failed: {', '.join(iso_utc(t) for t in failed)}", file=sys.stderr)
        return EXIT_RUN_FAILED
    return 0


def filter_records(records: list[ExecutionRecord], statuses: list[str] | None = None,
                   after: datetime | None = None, before: datetime | None = None) -> list[ExecutionRecord]:
    """``executions``' filters: any of ``statuses``, ``after <= scheduled time < before``."""
    return [r for r in records if (not statuses or r.status in statuses)
            and (after is None or r.scheduled_time >= after) and (before is None or r.scheduled_time < before)]


def cmd_executions(args) -> int:
    import json

    from monitor_lib.schedule.spec import read_schedule
    from monitor_lib.schedule.store import open_store
    from monitor_lib.timefmt import parse_time

    spec = read_schedule(args.schedule)
    records = filter_records(open_store(spec).list(), args.status, parse_time(args.from_time, "--from"),
                             parse_time(args.to_time, "--to"))
    if args.json:
        print(json.dumps([r.to_json() for r in records], indent=2))
        return 0
    if not records:
        print(f"{spec.name}: no executions" + (" match" if args.status or args.from_time or args.to_time else ""))
        return 0
    head = ["scheduled time", "status", "window", "attempts", "reason / job", "output"]
    body = [[iso_utc(r.scheduled_time), r.status, f"[{iso_utc(r.window_start)}, {iso_utc(r.window_end)})",
             str(r.attempts), _detail(r), r.output_uri] for r in records]
    print("\n".join(_table([head, *body])))
    return 0
