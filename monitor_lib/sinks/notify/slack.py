"""Slack incoming webhook: ``{"text": <fallback>, "blocks": [Block Kit]}`` POSTed to ``slack_webhook_url`` (or
``MODEL_MONITOR_SLACK_WEBHOOK_URL``). The URL is a secret: it is named "slack" in messages and never written.

Blocks (within Slack's limits: 50 blocks, a header's text 150 characters, a section's text 3,000, 10 fields of
2,000): a header (status and where), a section of fields (monitor, window, records, violations, run id), one
section per violation for the first :data:`SHOWN` (check, feature or metric, value, threshold, description),
"… and N more", then a button to the report when its link is http(s) (else the path as text).
"""

from __future__ import annotations

import json
from typing import Any

from monitor_lib.sinks.base import Sink, SinkContext
from monitor_lib.sinks.notify import channel, message, settings

NAME = "slack"
SHOWN = 10  # violations shown as sections
HEADER_MAX, TEXT_MAX, FIELD_MAX, FALLBACK_MAX, BUTTON_URL_MAX = 150, 3000, 2000, 3000, 3000
ICON = {message.WITH_VIOLATIONS: ":warning:", message.FAILED: ":x:", message.NO_DATA: ":grey_question:",
        message.COMPLETED: ":white_check_mark:"}


def escape(text: str) -> str:
    """Slack's mrkdwn escapes: &, <, >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _mrkdwn(text: str, limit: int = TEXT_MAX) -> dict[str, str]:
    return {"type": "mrkdwn", "text": cut(text, limit)}


def _violation_block(v: dict[str, Any]) -> dict[str, Any]:
    measured = ""
    if v.get("value") is not None or v.get("threshold") is not None:
        measured = (f" — value {message.number_text(v.get('value'))}, "
                    f"threshold {message.number_text(v.get('threshold'))}")
    text = (f"*{escape(v['constraint_check_type'])}* on `{escape(message.subject_of(v))}`{measured}\n"
            f"{escape(v['description'])}")
    return {"type": "section", "text": _mrkdwn(text)}


def payload(n: message.Notification) -> dict[str, Any]:
    """The Slack message of a notification."""
    counts = n.counts
    header = f"{ICON.get(n.status, '')} {n.status}: {n.monitor} on {n.where}".strip()
    fields = [f"*Monitor*\n{escape(n.monitor)}", f"*Status*\n{escape(n.status)}",
              f"*Endpoint / schedule*\n{escape(n.where)}", f"*Window*\n{escape(n.window_text)}",
              f"*Records*\n{counts.get('records', 0)} analysed, {counts.get('rejected', 0)} rejected, "
              f"{counts.get('skipped', 0)} skipped", f"*Violations*\n{n.violations_total}",
              f"*Run id*\n`{n.run_id}`"]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(header, HEADER_MAX), "emoji": True}},
        {"type": "section", "fields": [_mrkdwn(f, FIELD_MAX) for f in fields]},
    ]
    reason = n.failure_reason or n.no_data_reason
    if reason:
        blocks.append({"type": "section", "text": _mrkdwn(escape(reason))})
    blocks += [_violation_block(v) for v in n.violations[:SHOWN]]
    more = n.violations_total - min(len(n.violations), SHOWN)
    if more > 0:
        blocks.append({"type": "context", "elements": [_mrkdwn(f"… and {more} more violation"
                                                               f"{'s' if more != 1 else ''}")]})
    if n.report_url.startswith(("http://", "https://")) and len(n.report_url) <= BUTTON_URL_MAX:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": "Open the report"}, "url": n.report_url,
            "action_id": "open_report"}]})
    else:
        blocks.append({"type": "context", "elements": [_mrkdwn(f"Report: `{escape(n.report_url)}`")]})
    return {"text": cut(n.text(), FALLBACK_MAX), "blocks": blocks}


def _enabled(ctx: SinkContext) -> bool:
    """Set by the parameter or the environment (a malformed environment URL: a ConfigError when the run starts)."""
    return settings.is_monitoring(ctx.params) and settings.slack_url(ctx.params) is not None


def _check(ctx: SinkContext) -> None:
    _enabled(ctx)


def _write(ctx: SinkContext) -> None:
    if channel.skipped_by_notify_on(ctx, NAME):
        return
    url = settings.slack_url(ctx.params)
    body = json.dumps(payload(channel.notification(ctx)), ensure_ascii=False).encode("utf-8")
    channel.post(ctx, NAME, url, body, {"Content-Type": "application/json; charset=utf-8"}, "slack")


SINK = Sink(NAME, _write, _enabled, check=_check, fail=channel.on_failure(_write), best_effort=True)
