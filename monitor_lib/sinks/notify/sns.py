"""SNS: the run's notification published to ``sns_topic_arn`` (boto3; credentials, and ``AWS_ENDPOINT_URL_SNS`` or
``AWS_ENDPOINT_URL`` from the environment; the region is the topic's).

``MessageStructure="json"``: subscribers of every protocol but email get the JSON document (the webhook's body:
Lambda, SQS, HTTP(S)); email subscribers get the plain text. ``Subject`` is the title (ASCII, < 100 characters).
Message attributes for subscription filter policies: ``status``, ``monitor``, ``endpoint``, ``schedule``
(strings, when set) and ``violations`` (a number). The message is bounded to SNS's 256 KB.
"""

from __future__ import annotations

import json
from typing import Any

from monitor_lib.sinks.base import FAILED, SENT, Sink, SinkContext, record_delivery
from monitor_lib.sinks.notify import channel, message, settings

NAME = "sns"
MAX_BYTES = 256 * 1024 - 2048  # the message and its attributes: SNS's 256 KB, with room for the attributes


def sns_message(n: message.Notification) -> str:
    """The ``Message`` (MessageStructure json): ``default`` = the JSON document, ``email`` = the text."""
    return json.dumps({"default": n.body().decode("utf-8"), "email": n.text()}, ensure_ascii=False)


def attributes(n: message.Notification) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {
        "status": {"DataType": "String", "StringValue": n.status},
        "monitor": {"DataType": "String", "StringValue": n.monitor},
        "violations": {"DataType": "Number", "StringValue": str(n.violations_total)}}
    for name, value in (("endpoint", n.endpoint), ("schedule", n.schedule)):
        if value:
            found[name] = {"DataType": "String", "StringValue": value}
    return found


def request(arn: str, n: message.Notification) -> dict[str, Any]:
    """The ``publish`` request of a notification, bounded to SNS's size."""
    n = message.bounded(n, MAX_BYTES, lambda m: len(sns_message(m).encode("utf-8")))
    return {"TopicArn": arn, "Subject": n.subject(), "Message": sns_message(n), "MessageStructure": "json",
            "MessageAttributes": attributes(n)}


def client(arn: str, timeout: float, retries: int):
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=timeout, read_timeout=timeout,
                    retries={"total_max_attempts": retries + 1, "mode": "standard"})
    return boto3.session.Session().client("sns", region_name=settings.sns_region(arn), config=config)


def _enabled(ctx: SinkContext) -> bool:
    return settings.is_monitoring(ctx.params) and bool(getattr(ctx.params, "sns_topic_arn", None))


def _write(ctx: SinkContext) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    if channel.skipped_by_notify_on(ctx, NAME):
        return
    arn = ctx.params.sns_topic_arn
    how = settings.delivery(ctx.params)
    try:
        answer = client(arn, how.timeout_seconds, how.max_retries).publish(**request(arn, channel.notification(ctx)))
    except (BotoCoreError, ClientError) as e:
        code = e.response.get("Error", {}).get("Code", "") if isinstance(e, ClientError) else ""
        attempts = (e.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
                    if isinstance(e, ClientError) else how.max_retries + 1)
        error = f"SNS publish to {arn} failed: {code + ': ' if code else ''}{' '.join(str(e).split())}"[:500]
        channel.log.warning("%s: not delivered: %s", NAME, error)
        record_delivery(ctx, NAME, FAILED, topic_arn=arn, attempts=attempts, error=error)
        return
    attempts = answer.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
    channel.log.info("%s: published to %s (message id %s)", NAME, arn, answer.get("MessageId"))
    record_delivery(ctx, NAME, SENT, topic_arn=arn, message_id=answer.get("MessageId"), attempts=attempts)


SINK = Sink(NAME, _write, _enabled, fail=channel.on_failure(_write), best_effort=True)
