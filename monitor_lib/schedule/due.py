"""Which scheduled times exist and which are due at a given clock: pure functions, the clock injected (``now``).

A schedule's scheduled times are its cron expression's times in its time zone (daylight-saving days as Debian's
cron treats them, :mod:`.cron`), in UTC, **truncated to the whole hour** (SageMaker's schedules start on whole
hours; a cron minute other than 0 only says when a plain cron would fire, the execution is still named by its
hour), from ``start_date`` on. A scheduled time ``T`` is due at ``now`` when ``T + grace <= now`` (the capture
of the window's last minutes is uploaded a few minutes late) and its execution record says it should run:

* no record: it never ran;
* ``Failed`` or ``Stopped`` with ``attempts <= max_retries``: a retry (``attempts`` counts the claims, so
  ``max_retries`` 2 allows three runs);
* ``reprocess="failed"``: every ``Failed`` / ``Stopped`` record, whatever its attempts;
* ``reprocess="all"``: every record that is not ``InProgress`` (a running execution is never taken over here: a
  tick first marks an abandoned one Failed).

``Pending``, ``InProgress``, ``Completed``, ``CompletedWithViolations`` and ``NoData`` records are not due
(without ``reprocess="all"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from monitor_lib.errors import ConfigError
from monitor_lib.schedule.model import FAILED, IN_PROGRESS, STOPPED, ExecutionRecord
from monitor_lib.timefmt import parse_time

REPROCESS = ("none", "failed", "all")  # Airflow's reprocess_behavior words


def _utc(value, name: str) -> datetime:
    t = parse_time(value, name)
    if t is None:
        raise ConfigError(f"{name} is empty: give an ISO-8601 time like 2026-11-20T11:00:00Z")
    return t


def _hour(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def scheduled_times(spec, after: datetime, until: datetime) -> list[datetime]:
    """The schedule's scheduled times ``t`` (UTC, whole hours, ascending) with ``start_date <= t`` and
    ``after < t <= until``."""
    after, until = _utc(after, "after"), _utc(until, "until")
    lower = max(after, spec.start_date - timedelta(microseconds=1))
    if until <= lower:
        return []
    times: list[datetime] = []
    # a fire at hh:mm is the scheduled time hh:00: start an hour early so that hh:00 > after is not missed
    for fired in spec.cron.times(lower - timedelta(hours=1), until + timedelta(hours=1)):
        t = _hour(fired)
        if lower < t <= until and (not times or t > times[-1]):
            times.append(t)
    return times


def is_due(record: ExecutionRecord | None, max_retries: int, reprocess: str = "none") -> bool:
    """Whether a scheduled time with this execution record (None: none yet) should run (the module's rules)."""
    if record is None:
        return True
    if record.status == IN_PROGRESS:
        return False
    if reprocess == "all":
        return True
    if record.status in (FAILED, STOPPED):
        return reprocess == "failed" or record.attempts <= max_retries
    return False


def check_reprocess(reprocess: str, name: str = "--reprocess") -> str:
    if reprocess not in REPROCESS:
        raise ConfigError(f"{name} must be one of {', '.join(REPROCESS)}, got {reprocess!r}")
    return reprocess


def due_times(spec, now: datetime, records: Mapping[datetime, ExecutionRecord],
              reprocess: str = "none") -> list[datetime]:
    """The scheduled times due at ``now`` (``t + grace <= now``, from ``start_date``), oldest first, not capped
    (the caller takes at most ``max_windows_per_tick``). ``records``: the execution records by scheduled time."""
    check_reprocess(reprocess)
    now = _utc(now, "now")
    by_time = {_hour(_utc(t, "record time")): r for t, r in records.items()}
    start = spec.start_date - timedelta(microseconds=1)
    return [t for t in scheduled_times(spec, start, now - spec.grace)
            if is_due(by_time.get(t), spec.max_retries, reprocess)]
