"""The one notification of a run: built once from its outcome (a pure function), then rendered per channel.

The document (the webhook body, SNS's default message) follows the Standard Webhooks payload structure
``{"type", "timestamp", "data"}``; ``data`` holds the monitor, endpoint, schedule, status, window, run id, counts,
the violations — each the entry of ``constraint_violations.json`` plus the ``value`` measured and the
``threshold`` it was held to (None where a check has none) — and the link to the report. At most
:data:`MAX_VIOLATIONS` violations are listed (``violations_omitted`` counts the others); a document still larger
than a channel's limit lists fewer (:func:`bounded`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from monitor_lib.formats.violations import ConstraintViolations, Violation, violations_to_dict
from monitor_lib.timefmt import iso_utc

MAX_VIOLATIONS = 50  # listed in a notification; the rest are counted
EVENT_PREFIX = "model_monitor.run."
COMPLETED, WITH_VIOLATIONS, NO_DATA, FAILED = "Completed", "CompletedWithViolations", "NoData", "Failed"
SUBJECT_MAX = 99  # SNS: ASCII, no line break, "less than 100 characters"
PRODUCER = "spark-model-monitor"


@dataclass(frozen=True)
class Notification:
    """What every channel says about one run."""

    monitor: str
    endpoint: str | None
    schedule: str | None
    status: str
    message: str
    window_start: str | None  # ISO-8601 UTC
    window_end: str | None
    run_id: str
    report_url: str
    output: str
    counts: dict[str, int]
    violations_by_check: dict[str, int]
    violations: list[dict[str, Any]] = field(default_factory=list)  # the first MAX_VIOLATIONS
    violations_total: int = 0
    timestamp: str = ""  # when the notification was built (ISO-8601 UTC)
    failure_reason: str = ""
    no_data_reason: str = ""

    @property
    def violations_omitted(self) -> int:
        return self.violations_total - len(self.violations)

    @property
    def event_type(self) -> str:
        """``model_monitor.run.completed_with_violations`` and the like (Standard Webhooks' dotted type)."""
        return EVENT_PREFIX + {COMPLETED: "completed", WITH_VIOLATIONS: "completed_with_violations",
                               NO_DATA: "no_data", FAILED: "failed"}.get(self.status, self.status.lower())

    @property
    def where(self) -> str:
        """``endpoint / schedule`` (or the output folder when neither is named)."""
        names = [n for n in (self.endpoint, self.schedule) if n]
        return " / ".join(names) if names else self.output

    @property
    def window_text(self) -> str:
        return f"{self.window_start or 'beginning'} to {self.window_end or 'end'}"

    @property
    def title(self) -> str:
        if self.status == WITH_VIOLATIONS:
            what = f"{self.violations_total} violation{'s' if self.violations_total != 1 else ''}"
        elif self.status == FAILED:
            what = "run failed"
        elif self.status == NO_DATA:
            what = "no data"
        else:
            what = "no violations"
        return f"{self.monitor} {self.status}: {what} on {self.where}, window {self.window_text}"

    def document(self) -> dict[str, Any]:
        """The JSON document (webhook body, SNS default message)."""
        data: dict[str, Any] = {
            "monitor": self.monitor, "endpoint": self.endpoint, "schedule": self.schedule, "status": self.status,
            "message": self.message, "window": {"start_time": self.window_start, "end_time": self.window_end},
            "run_id": self.run_id, "report_url": self.report_url, "output": self.output, "counts": self.counts,
            "violations_by_check": self.violations_by_check, "violations": self.violations,
            "violations_total": self.violations_total, "violations_omitted": self.violations_omitted}
        if self.failure_reason:
            data["failure_reason"] = self.failure_reason
        if self.no_data_reason:
            data["no_data_reason"] = self.no_data_reason
        return {"type": self.event_type, "timestamp": self.timestamp, "data": data}

    def body(self) -> bytes:
        """The document as compact UTF-8 JSON (what is signed and sent)."""
        return json.dumps(self.document(), separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")

    def text(self) -> str:
        """Plain text (SNS email subscribers, Slack's fallback): the title, the counts, the violations, the link."""
        lines = [self.title, "", f"Status: {self.status}", f"Window: {self.window_text}",
                 f"Records: {self.counts.get('records', 0)} analysed, {self.counts.get('rejected', 0)} rejected, "
                 f"{self.counts.get('skipped', 0)} skipped", f"Run id: {self.run_id}"]
        if self.failure_reason:
            lines.append(f"Failure: {self.failure_reason}")
        if self.no_data_reason:
            lines.append(f"No data: {self.no_data_reason}")
        if self.violations:
            lines += ["", "Violations:"] + [f"- {violation_line(v)}" for v in self.violations]
            if self.violations_omitted:
                lines.append(f"… and {self.violations_omitted} more")
        lines += ["", f"Report: {self.report_url}"]
        return "\n".join(lines)

    def subject(self) -> str:
        """An SNS subject: ASCII, no line breaks, at most :data:`SUBJECT_MAX` characters."""
        return ascii_line(self.title, SUBJECT_MAX)


def ascii_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    flat = "".join(c if 32 <= ord(c) < 127 else "?" for c in flat.replace("–", "-").replace("…", "..."))
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def subject_of(v: dict[str, Any]) -> str:
    """What a violation is about: the feature, the metric (of a facet value, of a label)."""
    parts = []
    if v.get("label") is not None:
        parts.append(f"label {v['label']}")
    if v.get("facet") is not None:
        parts.append(f"{v['facet']}={v.get('facet_value')}")
    for key in ("feature_name", "metric_name"):
        if v.get(key) is not None:
            parts.append(str(v[key]))
    return " ".join(parts) or "-"


def number_text(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


def violation_line(v: dict[str, Any]) -> str:
    measured = ""
    if v.get("value") is not None or v.get("threshold") is not None:
        measured = f" (value {number_text(v.get('value'))}, threshold {number_text(v.get('threshold'))})"
    return f"{v['constraint_check_type']} on {subject_of(v)}{measured}: {v['description']}"


def _finite(x: float | None) -> float | None:
    """A number JSON can carry (NaN and infinities as None)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def violation_entries(violations: list[Violation]) -> list[dict[str, Any]]:
    """Each violation as in ``constraint_violations.json``, plus its ``value`` and ``threshold``."""
    entries = violations_to_dict(ConstraintViolations(violations))["violations"]
    return [{**e, "value": _finite(v.value), "threshold": _finite(v.threshold)}
            for e, v in zip(entries, violations, strict=True)]


def report_link(outcome: Any, report_url: str | None) -> str:
    """``report_url``, else where report.html was published, else the run's output folder."""
    return report_url or outcome.files.get("report") or outcome.output_path


def build(outcome: Any, report_url: str | None, now: datetime, limit: int = MAX_VIOLATIONS) -> Notification:
    """The notification of ``outcome`` (a :class:`~monitor_lib.monitors.base.RunOutcome`)."""
    entries = violation_entries(outcome.violations)
    counts = {"files_read": outcome.files_read, "records": outcome.records,
              "rejected": sum(outcome.rejected.values()), "skipped": sum(outcome.skipped.values()),
              "violations": len(entries)}
    return Notification(
        monitor=outcome.monitor, endpoint=outcome.endpoint, schedule=outcome.schedule, status=outcome.status,
        message=outcome.message, window_start=iso_utc(outcome.start_time), window_end=iso_utc(outcome.end_time),
        run_id=outcome.run_id, report_url=report_link(outcome, report_url), output=outcome.output_path,
        counts=counts, violations_by_check=outcome.violations_by_check, violations=entries[:limit],
        violations_total=len(entries), timestamp=iso_utc(now) or "", failure_reason=outcome.failure_reason,
        no_data_reason=outcome.no_data_reason)


def bounded(n: Notification, max_bytes: int, size=lambda n: len(n.body())) -> Notification:
    """``n`` with as many of its violations as fit ``size(n) <= max_bytes`` (halving, then the longest
    prefix that fits); descriptions are cut to 1,000 characters first."""
    if size(n) <= max_bytes:
        return n
    cut = [{**v, "description": v["description"][:1000]} for v in n.violations]
    n = replace(n, violations=cut)
    keep = len(cut)
    while keep > 0 and size(replace(n, violations=cut[:keep])) > max_bytes:
        keep //= 2
    step = max(1, len(cut) // 16)
    while keep + step <= len(cut) and size(replace(n, violations=cut[:keep + step])) <= max_bytes:
        keep += step
    return replace(n, violations=cut[:keep])


def wants(notify_on: str | None, status: str) -> bool:
    """Whether a run of ``status`` notifies SNS, the webhook and Slack: ``violations`` (the default) for runs
    with violations and failed runs, ``always`` for every run."""
    if (notify_on or "violations") == "always":
        return True
    return status in (WITH_VIOLATIONS, FAILED)
