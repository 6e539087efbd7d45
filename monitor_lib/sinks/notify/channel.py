"""What the channels share: the run's notification (built once per run), the rule of ``notify_on``, one POST
recorded in ``run_summary.json`` ``deliveries.<channel>``."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from typing import Any

from monitor_lib.io import http
from monitor_lib.sinks.base import FAILED, SENT, SKIPPED, SinkContext, record_delivery
from monitor_lib.sinks.notify import message, settings

log = logging.getLogger("monitor_lib.sinks.notify")

_built: dict[str, message.Notification] = {}  # run id/outcome → its notification: one per run, shared by the channels
RAISED = "raised"  # in a failed_context outcome's details: the phase raised


def notification(ctx: SinkContext) -> message.Notification:
    """The run's notification, built once (the first channel to ask builds it)."""
    key = f"{ctx.run_id or ctx.outcome.run_id}/{id(ctx.outcome)}"
    found = _built.get(key)
    if found is None:
        _built.clear()  # only the current run is kept
        found = message.build(ctx.outcome, getattr(ctx.params, "report_url", None), datetime.now(UTC))
        _built[key] = found
    return found


def skipped_by_notify_on(ctx: SinkContext, channel: str) -> bool:
    """True (and recorded as skipped) when ``notify_on`` does not ask for this run."""
    notify_on = getattr(ctx.params, "notify_on", None) or "violations"
    if message.wants(notify_on, ctx.outcome.status):
        return False
    record_delivery(ctx, channel, SKIPPED, reason=f"notify_on is {notify_on} and the run is {ctx.outcome.status}")
    return True


destination = http.destination  # a URL named without its path, query or credentials


def post(ctx: SinkContext, channel: str, url: str, body: bytes, headers: dict[str, str], where: str,
         **extra: Any) -> http.Answer | None:
    """POST with the run's timeout and retries; the result recorded as ``deliveries.<channel>``: sent (2xx),
    failed with the HTTP status and an excerpt of the answer, or failed with the one-line reason no answer came.
    Never raises for a delivery failure."""
    how = settings.delivery(ctx.params)
    try:
        answer = http.post(url, body, headers, where=where, timeout_seconds=how.timeout_seconds,
                           max_retries=how.max_retries, backoff_seconds=how.backoff_seconds)
    except http.HttpError as e:
        error = " ".join(str(e).split())
        log.warning("%s: not delivered: %s", channel, error)
        record_delivery(ctx, channel, FAILED, attempts=how.max_retries + 1, error=error, **extra)
        return None
    if answer.ok:
        log.info("%s: delivered (HTTP %d, %d attempt%s)", channel, answer.status, answer.attempts,
                 "s" if answer.attempts > 1 else "")
        record_delivery(ctx, channel, SENT, http_status=answer.status, attempts=answer.attempts, **extra)
    else:
        error = f"{where} answered HTTP {answer.status}: {http.excerpt(answer.text)}"
        log.warning("%s: not delivered: %s", channel, error)
        record_delivery(ctx, channel, FAILED, http_status=answer.status, attempts=answer.attempts, error=error,
                        **extra)
    return answer


def failed_context(ctx: SinkContext, error: BaseException) -> SinkContext:
    """The context of a run whose phase raised ``error``: a Failed outcome from its parameters (window, endpoint,
    schedule), the error's one line as the reason. Its deliveries are logged only: the run writes no summary."""
    from monitor_lib.monitors.base import FAILED as FAILED_STATUS
    from monitor_lib.monitors.base import RunOutcome

    p = ctx.params
    reason = f"{type(error).__name__}: {' '.join(str(error).split())}"[:1000]
    outcome = RunOutcome(getattr(ctx.monitor, "name", ""), getattr(ctx.phase, "name", ""), "", status=FAILED_STATUS,
                         message=f"{FAILED_STATUS}: {reason}", start_time=getattr(p, "start_time", None),
                         end_time=getattr(p, "end_time", None), endpoint=getattr(p, "endpoint_name", None),
                         schedule=getattr(p, "schedule_name", None), output_path=ctx.public(ctx.out),
                         failure_reason=reason, run_id=ctx.run_id, details={RAISED: True})
    return dataclasses.replace(ctx, outcome=outcome)


def on_failure(write):
    """A sink's ``fail``: the phase raised; ``write`` sends the Failed notification (not for an interrupt)."""

    def fail(ctx: SinkContext, error: BaseException) -> None:
        if isinstance(error, Exception):
            write(failed_context(ctx, error))

    return fail
