"""Scheduled time → window, SageMaker's rule, for every monitoring job (``--scheduled-time``) and every schedule.

SageMaker's rule (``../shared/spec/operations.md`` §1): the window of a recurring execution is the period before
its scheduled time; offsets (``StartTimeOffset`` / ``EndTimeOffset``, ``DataAnalysisStartTime`` /
``DataAnalysisEndTime``) are ISO-8601 durations relative to the scheduled time: with ``-P8D`` / ``-P1D`` the
execution of 2020-01-09T13:00 analyses [2020-01-01T13:00, 2020-01-08T13:00). So, for scheduled time ``T``:

* no offsets: ``[T - window, T)``;
* ``end_offset`` only: ``[T + end_offset - window, T + end_offset)`` (the hour a day late: ``-P1D``);
* ``start_offset`` only: ``[T + start_offset, T)``;
* both: ``[T + start_offset, T + end_offset)``.

``T`` is truncated to the whole hour first: SageMaker's schedules start on whole hours, and a trigger that only
knows "now" (cron, a Kubernetes CronJob) fires a few seconds or minutes after it.

This module sits below the monitors (their parameters derive the window here) and the schedules
(:mod:`monitor_lib.schedule.windows` adds the execution folder and the :class:`~monitor_lib.schedule.model.Window`
type), and depends on nothing but the errors and time formats.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor_lib.errors import ConfigError
from monitor_lib.timefmt import iso_utc, parse_time

DEFAULT_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=31)


def parse_duration(value, name: str) -> timedelta:
    """An ISO-8601 duration (``PT1H``, ``P1D``, ``-P1D``, ``-PT30M``, ``P1W``) as a timedelta; months and years
    (whose length varies) are refused, naming ``name``."""
    import isodate

    if isinstance(value, timedelta):
        return value
    text = str(value).strip()
    try:
        duration = isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError, TypeError):
        raise ConfigError(f"{name} must be an ISO-8601 duration like PT1H, P1D or -P1D, got {value!r}") from None
    if not isinstance(duration, timedelta):  # isodate.Duration: months or years
        raise ConfigError(f"{name} {text}: months and years have no fixed length; give days (P30D) or weeks "
                          "(P4W)")
    return duration


def duration_text(d: timedelta) -> str:
    """The ISO-8601 text of a duration (inverse of :func:`parse_duration`), e.g. ``PT1H``, ``-P1D``."""
    import isodate

    if d < timedelta(0):
        return "-" + isodate.duration_isoformat(-d)
    return isodate.duration_isoformat(d)


def scheduled_hour(value, name: str = "scheduled_time") -> datetime:
    """A scheduled time (ISO-8601, ``now``, or a datetime) truncated to its whole hour, UTC."""
    if isinstance(value, str) and value.strip().lower() == "now":
        t = datetime.now(UTC)
    else:
        t = parse_time(value, name)
        if t is None:
            raise ConfigError(f"{name} is empty: give an ISO-8601 time like 2026-11-20T11:00:00Z, or now")
    return t.replace(minute=0, second=0, microsecond=0)


def window_bounds(scheduled_time, window: timedelta = DEFAULT_WINDOW, start_offset: timedelta | None = None,
                  end_offset: timedelta | None = None) -> tuple[datetime, datetime, datetime]:
    """``(scheduled hour, start, end)`` of the window SageMaker gives the execution scheduled at
    ``scheduled_time`` (see the module's rule); ConfigError for a window that cannot be."""
    t = scheduled_hour(scheduled_time)
    if window <= timedelta(0) or window > MAX_WINDOW:
        raise ConfigError(f"window must be a positive duration of at most {MAX_WINDOW.days} days, got "
                          f"{duration_text(window)}")
    for name, offset in (("start_offset", start_offset), ("end_offset", end_offset)):
        if offset is not None and offset > timedelta(0):
            raise ConfigError(f"{name} must be zero or negative (the window cannot reach past its scheduled "
                              f"time), got {duration_text(offset)}")
    end = t + (end_offset or timedelta(0))
    start = t + start_offset if start_offset is not None else end - window
    if start >= end:
        raise ConfigError(f"start_offset {duration_text(start_offset or timedelta(0))} and end_offset "
                          f"{duration_text(end_offset or timedelta(0))} give an empty window [{iso_utc(start)}, "
                          f"{iso_utc(end)}): the start offset must be earlier")
    return t, start, end
