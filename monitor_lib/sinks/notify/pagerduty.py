"""PagerDuty Events v2: an alert per violation, resolved when a later window of the same schedule is clean.

Every monitoring run (whatever ``notify_on``) sends ``trigger`` for each of its violations (the first
:data:`MAX_TRIGGERS`), ``dedup_key`` = ``{endpoint}/{schedule}/{check}/{feature or metric}`` (≤ 255 characters),
and ``resolve`` for each key the previous run of the schedule left open that this run did not violate. The open
keys are kept in ``run_summary.json`` ``deliveries.pagerduty.open``; the previous run is the latest whole run
folder before this one under the schedule's ``yyyy/mm/dd/hh`` folders (:mod:`.previous`).

A ``Failed`` run triggers ``{endpoint}/{schedule}/run_status/Failed`` (severity critical), resolved by the next
run that is not Failed; it neither resolves nor forgets the violations' keys (nothing was measured), nor does a
``NoData`` run. A run with a later run already in its schedule (a backfill) sends nothing: PagerDuty follows the
latest window. An output that is not an hour folder has no previous run: its alerts are triggered, never
resolved automatically.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from monitor_lib.io import http
from monitor_lib.sinks.base import FAILED, SENT, SKIPPED, Sink, SinkContext, record_delivery
from monitor_lib.sinks.notify import channel, message, previous, settings

NAME = "pagerduty"
MAX_TRIGGERS = 50  # events per run: PagerDuty throttles a routing key at about 120 events a minute
KEY_MAX = 255
SUMMARY_MAX = 1024
RUN_FAILED_CHECK, RUN_FAILED_SUBJECT = "run_status", "Failed"
CLIENT = "spark-model-monitor"


def dedup_key(endpoint: str | None, schedule: str | None, check: str, subject: str) -> str:
    """``{endpoint}/{schedule}/{check}/{subject}`` (``-`` for a missing name), cut to 255 characters with a
    digest of the whole key when longer (so two long keys stay distinct)."""
    key = f"{endpoint or '-'}/{schedule or '-'}/{check}/{subject}"
    if len(key) <= KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return key[:KEY_MAX - 17] + "~" + digest


def _links(n: message.Notification) -> dict[str, Any]:
    if not n.report_url.startswith(("http://", "https://")):
        return {}
    return {"links": [{"href": n.report_url, "text": "Model monitor report"}], "client_url": n.report_url}


def _details(n: message.Notification) -> dict[str, Any]:
    return {"monitor": n.monitor, "endpoint": n.endpoint, "schedule": n.schedule, "status": n.status,
            "window": {"start_time": n.window_start, "end_time": n.window_end}, "run_id": n.run_id,
            "report": n.report_url, "violations_total": n.violations_total, "counts": n.counts}


def trigger(routing_key: str, n: message.Notification, v: dict[str, Any]) -> dict[str, Any]:
    """The trigger event of one violation."""
    check, subject = v["constraint_check_type"], message.subject_of(v)
    measured = ""
    if v.get("value") is not None or v.get("threshold") is not None:
        measured = f": value {message.number_text(v.get('value'))}, threshold {message.number_text(v.get('threshold'))}"
    summary = f"{check} on {subject}{measured} ({n.where}, window {n.window_text})"
    return {"routing_key": routing_key, "event_action": "trigger",
            "dedup_key": dedup_key(n.endpoint, n.schedule, check, subject),
            "payload": {"summary": summary[:SUMMARY_MAX],
                        "source": n.endpoint or n.output, "severity": "error", "timestamp": n.timestamp,
                        "component": subject, "group": n.schedule or "-", "class": check,
                        "custom_details": {**_details(n), "violation": v}},
            "client": CLIENT, **_links(n)}


def trigger_failed(routing_key: str, n: message.Notification) -> dict[str, Any]:
    """The trigger event of a Failed run."""
    summary = f"model monitor run Failed ({n.where}, window {n.window_text}): {n.failure_reason}"
    return {"routing_key": routing_key, "event_action": "trigger",
            "dedup_key": dedup_key(n.endpoint, n.schedule, RUN_FAILED_CHECK, RUN_FAILED_SUBJECT),
            "payload": {"summary": summary[:SUMMARY_MAX], "source": n.endpoint or n.output, "severity": "critical",
                        "timestamp": n.timestamp, "component": "run", "group": n.schedule or "-",
                        "class": RUN_FAILED_CHECK, "custom_details": {**_details(n),
                                                                      "failure_reason": n.failure_reason}},
            "client": CLIENT, **_links(n)}


def resolve(routing_key: str, key: str) -> dict[str, Any]:
    return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": key}


@dataclass
class Plan:
    """The events of a run and the keys it leaves open if every one is delivered."""

    triggers: list[dict[str, Any]] = field(default_factory=list)
    resolves: list[str] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)  # open keys this run neither triggers nor resolves
    omitted: int = 0  # violations beyond MAX_TRIGGERS


def plan(routing_key: str, n: message.Notification, violations: list[dict[str, Any]],
         previously_open: list[str]) -> Plan:
    """What to send: triggers for this run's violations (or its failure), resolves for the keys the previous run
    left open that are clean now. ``violations`` is every violation of the run (not only the listed ones)."""
    failed_key = dedup_key(n.endpoint, n.schedule, RUN_FAILED_CHECK, RUN_FAILED_SUBJECT)
    out = Plan()
    if n.status == message.FAILED:
        out.triggers.append(trigger_failed(routing_key, n))
        out.carried = [k for k in previously_open if k != failed_key]
        return out
    if n.status == message.NO_DATA:  # nothing measured: only the failure alert is over
        out.resolves = [k for k in previously_open if k == failed_key]
        out.carried = [k for k in previously_open if k != failed_key]
        return out
    seen: set[str] = set()
    for v in violations:
        event = trigger(routing_key, n, v)
        if event["dedup_key"] in seen:
            continue
        seen.add(event["dedup_key"])
        if len(out.triggers) < MAX_TRIGGERS:
            out.triggers.append(event)
        else:
            out.omitted += 1
    out.resolves = [k for k in dict.fromkeys(previously_open) if k not in seen]
    return out


def _enabled(ctx: SinkContext) -> bool:
    return settings.is_monitoring(ctx.params) and settings.pagerduty_key(ctx.params) is not None


def _check(ctx: SinkContext) -> None:
    """A malformed MODEL_MONITOR_PAGERDUTY_URL is a ConfigError when the run starts (before Spark)."""
    if _enabled(ctx):
        settings.pagerduty_url()


def _open_keys(summary: dict) -> list[str]:
    record = (summary.get("deliveries") or {}).get(NAME) or {}
    keys = record.get("open") if isinstance(record, dict) else None
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def _write(ctx: SinkContext) -> None:
    routing_key = settings.pagerduty_key(ctx.params)
    url = settings.pagerduty_url()
    n = channel.notification(ctx)
    around = previous.neighbours(ctx.outcome.output_path)
    if around is not None and around.later is not None:
        record_delivery(ctx, NAME, SKIPPED, reason="a later window of the schedule has run (this is a backfill): "
                        "PagerDuty follows the latest window", later_run=around.later)
        return
    prior = around.previous if around is not None else None
    storage = previous.Storage.of(prior) if prior else None
    previously_open = _open_keys(storage.summary(prior)) if prior and storage else []
    todo = plan(routing_key, n, message.violation_entries(ctx.outcome.violations), previously_open)
    if not todo.triggers and not todo.resolves:
        record_delivery(ctx, NAME, SKIPPED, reason="no violation and no alert left open by the previous run",
                        open=todo.carried, previous_run=prior)
        return
    how = settings.delivery(ctx.params)
    where = f"PagerDuty Events API {channel.destination(url)}"
    sent_triggers: list[str] = []
    failed_triggers: list[str] = []
    resolved: list[str] = []
    unresolved: list[str] = []
    attempts, errors, unanswered = 0, [], False
    events = [(e["dedup_key"], e) for e in todo.triggers] + [(k, resolve(routing_key, k)) for k in todo.resolves]
    for key, event in events:
        ok = False
        if not unanswered:
            try:
                answer = http.post(url, json.dumps(event, ensure_ascii=False).encode("utf-8"),
                                   {"Content-Type": "application/json"}, where=where,
                                   timeout_seconds=how.timeout_seconds, max_retries=how.max_retries,
                                   backoff_seconds=how.backoff_seconds)
                attempts += answer.attempts
                ok = answer.ok
                if not ok:
                    errors.append(f"{where} answered HTTP {answer.status} to {event['event_action']} {key}: "
                                  f"{http.excerpt(answer.text)}")
            except http.HttpError as e:  # no answer: the other events would wait as long, give up on them
                attempts += how.max_retries + 1
                unanswered = True
                errors.append(" ".join(str(e).split()))
        if event["event_action"] == "trigger":
            (sent_triggers if ok else failed_triggers).append(key)
        else:
            (resolved if ok else unresolved).append(key)
    # keys left open: this run's triggers (sent or not: resolving a key PagerDuty never saw is harmless), the
    # ones it could not resolve, the ones it carried (NoData, Failed)
    still_open = sorted(set(sent_triggers) | set(failed_triggers) | set(unresolved) | set(todo.carried))
    failures = len(failed_triggers) + len(unresolved)
    info = {"triggered": len(sent_triggers), "resolved": len(resolved), "failed": failures, "attempts": attempts,
            "open": still_open, "previous_run": prior}
    if todo.omitted:
        info["omitted"] = todo.omitted
    if failures:
        channel.log.warning("%s: %d of %d events not delivered: %s", NAME, failures, len(events), errors[0])
        record_delivery(ctx, NAME, FAILED, error=errors[0], **info)
    else:
        channel.log.info("%s: %d triggered, %d resolved", NAME, len(sent_triggers), len(resolved))
        record_delivery(ctx, NAME, SENT, **info)


SINK = Sink(NAME, _write, _enabled, check=_check, best_effort=True)
