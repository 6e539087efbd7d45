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
from monitor_lib.schedule.store import ExecutionStore
from monitor_lib.timefmt import iso_utc

log = logging.getLogger(__name__)

REPROCESS = ("none", "failed", "all")
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
    """May ``record`` be claimed again? none: Failed / Stopped with attempts <= max_retries; failed: Failed /
    Stopped whatever the attempts; all: anything not running (not InProgress / Pending)."""
    if reprocess == "all":
        return record.status not in (IN_PROGRESS, PENDING)
    if record.status not in (FAILED, STOPPED):
        return False
    return reprocess == "failed" or record.attempts <= max_retries


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


def add_parsers(schedule_actions, sub) -> None:
    """``schedule due``, ``schedule tick`` (under ``schedule_actions``) and ``executions`` (under ``sub``)."""
