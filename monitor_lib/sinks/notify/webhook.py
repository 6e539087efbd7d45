"""The generic webhook: the run's notification POSTed as JSON to ``webhook_url``, signed per Standard Webhooks 1.0.

Headers: ``webhook-id`` (``msg_<run id>``: the same for every retry and re-delivery of this run's message, so a
receiver can drop duplicates), ``webhook-timestamp`` (Unix seconds), ``webhook-signature``
(``v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>``, the key being ``MODEL_MONITOR_WEBHOOK_SECRET``
without its ``whsec_`` prefix, base64-decoded).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from monitor_lib.sinks.base import Sink, SinkContext
from monitor_lib.sinks.notify import channel, settings

NAME = "webhook"


def message_id(run_id: str, raised: bool = False) -> str:
    """``msg_<run id>``; ``msg_<run id>_failed`` for the message of a run whose phase raised (a distinct
    message even if the run's own notification went out before an output failed)."""
    return f"msg_{run_id}_failed" if raised else f"msg_{run_id}"


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``{id}.{timestamp}.{body}`` (Standard Webhooks 1.0, symmetric)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def signed_headers(key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "spark-model-monitor",
            "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(key, msg_id, timestamp, body)}


def _enabled(ctx: SinkContext) -> bool:
    return settings.is_monitoring(ctx.params) and bool(getattr(ctx.params, "webhook_url", None))


def _check(ctx: SinkContext) -> None:
    """The signing secret, when the run starts (before Spark): a ConfigError naming the variable."""
    if _enabled(ctx):
        settings.webhook_secret()


def _write(ctx: SinkContext) -> None:
    if channel.skipped_by_notify_on(ctx, NAME):
        return
    url = ctx.params.webhook_url
    n = channel.notification(ctx)
    body = n.body()
    msg_id = message_id(n.run_id, bool(ctx.outcome.details.get(channel.RAISED)))
    headers = signed_headers(settings.webhook_secret(), msg_id, int(time.time()), body)
    channel.post(ctx, NAME, url, body, headers, f"webhook_url {channel.destination(url)}",
                 webhook_id=headers["webhook-id"])


SINK = Sink(NAME, _write, _enabled, check=_check, fail=channel.on_failure(_write), best_effort=True)
