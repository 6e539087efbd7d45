"""Scheduled time → window, as SageMaker computes it, and the folder an execution writes.

The rule itself (durations, the whole-hour truncation, the offsets) lives in :mod:`monitor_lib.scheduled_time`,
below the monitors, whose ``--scheduled-time`` uses it too; this module gives it the schedules' types. Output
folders are named by the scheduled (execution) hour, as SageMaker names them:
``{root}/{endpoint}/{schedule}/yyyy/mm/dd/hh`` — the execution of 11:00 analysing [10:00, 11:00) writes ``…/11``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor_lib.schedule.model import Window
from monitor_lib.scheduled_time import (  # noqa: F401 — the schedules' names for them
    DEFAULT_WINDOW,
    MAX_WINDOW,
    duration_text,
    parse_duration,
    scheduled_hour,
    window_bounds,
)


def window_for(scheduled_time: datetime, window: timedelta = DEFAULT_WINDOW, start_offset: timedelta | None = None,
               end_offset: timedelta | None = None) -> Window:
    """The window SageMaker gives the execution scheduled at ``scheduled_time``
    (:func:`monitor_lib.scheduled_time.window_bounds`)."""
    t, start, end = window_bounds(scheduled_time, window, start_offset, end_offset)
    return Window(scheduled_time=t, start=start, end=end)


def execution_folder(output_root: str, endpoint: str | None, schedule: str, scheduled_time: datetime) -> str:
    """Where the execution scheduled at ``scheduled_time`` writes: ``{root}/{endpoint}/{schedule}/yyyy/mm/dd/hh``
    (``{root}/{schedule}/…`` without an endpoint), the hour being the scheduled hour, as SageMaker's."""
    t = scheduled_hour(scheduled_time)
    parts = [p for p in (endpoint, schedule) if p] + [t.strftime("%Y"), t.strftime("%m"), t.strftime("%d"),
                                                       t.strftime("%H")]
    return output_root.rstrip("/") + "/" + "/".join(parts)
