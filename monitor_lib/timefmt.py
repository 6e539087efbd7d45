"""Instants as SageMaker writes them: ISO-8601 UTC, ``2026-11-20T10:00:00Z``."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor_lib.errors import ConfigError


def parse_time(value: str | datetime | None, field_name: str) -> datetime | None:
    """An ISO-8601 instant (``2026-11-20T10:00:00Z``); a value without an offset is UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        t = value
    else:
        text = str(value).strip()
        try:
            t = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise ConfigError(f"{field_name} must be an ISO-8601 UTC time like 2026-11-20T10:00:00Z, "
                              f"got {value!r}") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def iso_utc(t: datetime | None) -> str | None:
    """``2026-11-20T10:00:00Z`` — how SageMaker writes instants (inverse of :func:`parse_time`)."""
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")
