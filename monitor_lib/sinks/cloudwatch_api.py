"""The PutMetricData sink: with ``put_metric_data`` Enabled, a monitoring run publishes its CloudWatch metrics —
the records :meth:`Monitor.cloudwatch_metrics` gives, the same the metric file holds
(:mod:`monitor_lib.formats.cloudwatch`) — to CloudWatch itself.

* Namespace: ``cloudwatch_namespace``, default the spelling of AWS's own notebooks per monitor
  (:meth:`Monitor.cloudwatch_namespace`): ``aws/sagemaker/Endpoints/data-metrics`` (``model-metrics``,
  ``bias-metrics``, ``explainability-metrics``) when the run names its endpoint, else
  ``aws/sagemaker/ModelMonitoring/<…>-metrics`` (batch transform).
* Requests: at most 1000 metric data and 1,000,000 bytes each — the size measured by serializing the request
  with botocore's serializer for the protocol the client speaks (before any gzip), not estimated.
* Timestamps CloudWatch refuses — older than 14 days or more than 2 hours ahead of now — are left out with one
  logged message and counted (a backfill of old windows publishes nothing; its files are written as always).
* A NoData run publishes nothing (as the metric file sink).
* ``run_summary.json`` ``deliveries.cloudwatch``: ``status`` (sent / skipped / failed), ``namespace``,
  ``metrics`` (published), ``requests``, ``skipped_too_old``, ``skipped_too_new``.
* Client: boto3 from the standard environment (credentials, region, ``AWS_ENDPOINT_URL`` /
  ``AWS_ENDPOINT_URL_CLOUDWATCH``), standard retry mode. The sink is best effort: a failure is recorded and
  logged, the run and its files are not affected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor_lib.sinks.base import FAILED, SENT, SKIPPED, Sink, SinkContext, record_delivery
from monitor_lib.timefmt import parse_time

log = logging.getLogger(__name__)

CHANNEL = "cloudwatch"
MAX_METRICS_PER_REQUEST = 1000
MAX_REQUEST_BYTES = 1_000_000  # "1 MB" per request, read as the smaller (decimal) megabyte
MAX_AGE = timedelta(days=14)
MAX_AHEAD = timedelta(hours=2)
OPERATION = "PutMetricData"


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- pure steps


@dataclass
class Publishable:
    data: list[dict]  # MetricData entries, Timestamp as a datetime
    too_old: int = 0
    too_new: int = 0


def publishable(records: list[dict], now: datetime) -> Publishable:
    """The records as MetricData, without those whose timestamp CloudWatch refuses (older than 14 days, more
    than 2 hours ahead of ``now``)."""
    out = Publishable([])
    for record in records:
        when = record.get("Timestamp")
        stamp = parse_time(when, "Timestamp") if isinstance(when, str) else when
        if stamp is not None and stamp < now - MAX_AGE:
            out.too_old += 1
        elif stamp is not None and stamp > now + MAX_AHEAD:
            out.too_new += 1
        else:
            out.data.append({**record, "Timestamp": stamp} if stamp is not None else dict(record))
    return out


def batches(namespace: str, data: list[dict], size: Callable[[str, list[dict]], int],
            max_metrics: int = MAX_METRICS_PER_REQUEST, max_bytes: int = MAX_REQUEST_BYTES) -> list[list[dict]]:
    """``data`` cut into requests of at most ``max_metrics`` entries and ``max_bytes`` bytes, in order.
    ``size(namespace, entries)`` is the serialized size of the request. Each entry's share is measured alone
    (request with it − empty request); a batch is then measured whole and halved if framing pushed it over."""
    if not data:
        return []
    empty = size(namespace, [])
    out: list[list[dict]] = []
    batch: list[dict] = []
    total = empty
    for entry in data:
        share = size(namespace, [entry]) - empty
        if empty + share > max_bytes:
            raise ValueError(f"metric {entry.get('MetricName')!r} alone makes a request of {empty + share} bytes, "
                             f"over CloudWatch's {max_bytes}")
        if batch and (len(batch) >= max_metrics or total + share > max_bytes):
            out.append(batch)
            batch, total = [], empty
        batch.append(entry)
        total += share
    out.append(batch)
    return [part for b in out for part in _fitted(namespace, b, size, max_bytes)]


def _fitted(namespace: str, batch: list[dict], size, max_bytes: int) -> list[list[dict]]:
    if len(batch) == 1 or size(namespace, batch) <= max_bytes:
        return [batch]
    half = len(batch) // 2
    return _fitted(namespace, batch[:half], size, max_bytes) + _fitted(namespace, batch[half:], size, max_bytes)


def request_size(client) -> Callable[[str, list[dict]], int]:
    """The serialized size in bytes of a PutMetricData request as ``client`` sends it (its protocol's body)."""
    from urllib.parse import urlencode

    from botocore.serialize import create_serializer

    model = client.meta.service_model
    operation = model.operation_model(OPERATION)
    serializer = create_serializer(model.resolved_protocol, include_validation=False)

    def size(namespace: str, data: list[dict]) -> int:
        body = serializer.serialize_to_request({"Namespace": namespace, "MetricData": data}, operation)["body"]
        if isinstance(body, dict):  # the query protocol's form fields
            body = urlencode(body)
        return len(body.encode("utf-8") if isinstance(body, str) else body)

    return size


# ---------------------------------------------------------------- the sink


def namespace_of(ctx: SinkContext) -> str:
    return getattr(ctx.params, "cloudwatch_namespace", None) or ctx.monitor.cloudwatch_namespace(
        getattr(ctx.params, "endpoint_name", None))


def publish(records: list[dict], namespace: str, client, now: datetime) -> dict:
    """PutMetricData ``records`` in batches; what was done (the delivery record without its status). A failed
    request raises after the earlier ones were sent (their count is in the exception's ``done``)."""
    ready = publishable(records, now)
    info = {"namespace": namespace, "metrics": 0, "requests": 0, "skipped_too_old": ready.too_old,
            "skipped_too_new": ready.too_new}
    if ready.too_old or ready.too_new:
        log.warning("CloudWatch: %d metric(s) left out: %d older than 14 days, %d more than 2 hours ahead "
                    "(CloudWatch refuses them); the metric file has them", ready.too_old + ready.too_new,
                    ready.too_old, ready.too_new)
    for batch in batches(namespace, ready.data, request_size(client)):
        try:
            client.put_metric_data(Namespace=namespace, MetricData=batch)
        except Exception as e:
            raise PublishError(e, info) from None
        info["requests"] += 1
        info["metrics"] += len(batch)
    return info


class PublishError(Exception):
    def __init__(self, cause: Exception, done: dict):
        super().__init__(f"{type(cause).__name__}: {' '.join(str(cause).split())}")
        self.done = done


def _write(ctx: SinkContext) -> None:
    try:
        _publish_run(ctx)
    except Exception as e:  # recorded under the channel's name (the sink's own guard would use the sink's)
        error = f"{type(e).__name__}: {' '.join(str(e).split())}"[:500]
        log.warning("CloudWatch PutMetricData failed, the run goes on: %s", error)
        record_delivery(ctx, CHANNEL, FAILED, error=error)


def _publish_run(ctx: SinkContext) -> None:
    outcome = ctx.outcome
    namespace = namespace_of(ctx)
    if outcome.status == "NoData":
        record_delivery(ctx, CHANNEL, SKIPPED, namespace=namespace, reason="no data in the window")
        return
    records = ctx.monitor.cloudwatch_metrics(outcome, ctx.params)
    if not records:
        record_delivery(ctx, CHANNEL, SKIPPED, namespace=namespace, reason="the run has no metrics to publish")
        return
    from monitor_lib.alarms import cloudwatch_client

    try:
        info = publish(records, namespace, cloudwatch_client(), _now())
    except PublishError as e:
        log.warning("CloudWatch PutMetricData to %s failed, the run goes on: %s", namespace, e)
        record_delivery(ctx, CHANNEL, FAILED, **e.done, error=str(e)[:500])
        return
    if info["metrics"]:
        log.info("CloudWatch: %d metric(s) published to %s in %d request(s)", info["metrics"], namespace,
                 info["requests"])
        record_delivery(ctx, CHANNEL, SENT, **info)
    else:
        record_delivery(ctx, CHANNEL, SKIPPED, **info,
                        reason="every metric's timestamp is outside what CloudWatch accepts")


# named apart from the metric-file sink ("cloudwatch"); it records under the channel name "cloudwatch"
SINKS: list = [Sink("put-metric-data", _write, best_effort=True,
                    enabled=lambda ctx: bool(getattr(ctx.params, "put_metric_data", False)))]
