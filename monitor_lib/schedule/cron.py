"""Cron expressions: Unix's five fields (``cronsim``, Debian cron's semantics) and SageMaker's ``cron(...)``.

SageMaker accepts only whole-hour schedules: hourly ``cron(0 * ? * * *)``, daily ``cron(0 H ? * * *)`` and every
N hours ``cron(0 H/N ? * * *)`` (``../shared/spec/operations.md`` §1). Those translate to Unix ``0 * * * *``,
``0 H * * *`` and ``0 H/N * * *`` by dropping the year field and reading ``?`` as ``*``; any other AWS form is
refused with the accepted ones named. Times are evaluated in the schedule's time zone (daylight-saving days
included, as Debian's cron) and returned in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor_lib.errors import ConfigError

SAGEMAKER_FORMS = ("cron(0 * ? * * *) (hourly), cron(0 H ? * * *) (daily at hour H), cron(0 H/N ? * * *) (every N "
                   "hours from H)")
_SAGEMAKER = re.compile(r"^cron\(\s*0\s+(\*|\d{1,2}(?:/\d{1,2})?)\s+\?\s+\*\s+\*\s+\*\s*\)$")


@dataclass(frozen=True)
class Cron:
    """A parsed schedule expression: the Unix expression it runs as, in a time zone."""

    expression: str  # as given
    unix: str  # the five-field expression cronsim evaluates
    timezone: str = "UTC"

    def times(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """The scheduled times ``t`` with ``after < t <= until``, ascending, UTC."""
        from cronsim import CronSim

        zone = zone_info(self.timezone)
        for t in CronSim(self.unix, after.astimezone(zone)):
            t = t.astimezone(UTC)
            if t > until:
                return
            yield t

    def previous(self, at: datetime) -> datetime | None:
        """The latest scheduled time ``<= at`` (None when there is none in the last 400 days)."""
        from cronsim import CronSim

        zone = zone_info(self.timezone)
        floor = at - timedelta(days=400)
        for t in CronSim(self.unix, (at + timedelta(seconds=1)).astimezone(zone), reverse=True):
            t = t.astimezone(UTC)
            return t if t >= floor else None
        return None


def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone {name!r} is not an IANA time zone (e.g. UTC, Europe/Berlin, "
                          "America/New_York)") from None


def parse_cron(expression: str, timezone: str = "UTC", name: str = "cron") -> Cron:
    """``expression`` (Unix five fields, or SageMaker's ``cron(...)`` subset) checked, in ``timezone``."""
    from cronsim import CronSim, CronSimError

    text = " ".join(str(expression).split())
    zone_info(timezone)
    if text.lower().startswith("cron("):
        m = _SAGEMAKER.match(text)
        if not m:
            raise ConfigError(f"{name} {expression!r} is not one of SageMaker's schedule expressions: "
                              f"{SAGEMAKER_FORMS}; or give a Unix cron expression of five fields")
        hour = m.group(1)
        start, _, every = hour.partition("/")
        if start != "*" and not 0 <= int(start) <= 23:
            raise ConfigError(f"{name} {expression!r}: the hour must be 0-23, got {start}")
        if every and not 1 <= int(every) <= 24:
            raise ConfigError(f"{name} {expression!r}: SageMaker runs every 1 to 24 hours, got every {every}")
        unix = f"0 {hour} * * *"
    else:
        if len(text.split()) != 5:
            raise ConfigError(f"{name} {expression!r} must be a Unix cron expression of five fields (minute hour "
                              f"day-of-month month day-of-week, e.g. '0 * * * *') or one of SageMaker's: "
                              f"{SAGEMAKER_FORMS}")
        unix = text
    try:
        CronSim(unix, datetime(2000, 1, 1))
    except CronSimError as e:
        raise ConfigError(f"{name} {expression!r} is not a valid cron expression: {e}") from None
    return Cron(expression=str(expression), unix=unix, timezone=timezone)
