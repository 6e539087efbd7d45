"""The CloudWatch sink: the monitor's metric records (monitor_lib.formats.cloudwatch) written, one JSON object per
line, to ``<metrics directory>/cloudwatch_metrics.jsonl`` when ``publish_cloudwatch_metrics`` is Enabled."""

from __future__ import annotations

import json
import os

from monitor_lib import filenames
from monitor_lib.formats.jsonfmt import write_json_atomic
from monitor_lib.sinks.base import Sink, SinkContext

METRICS_FILE = filenames.CLOUDWATCH_METRICS


def write_metrics(directory: str, metrics: list[dict], kms_key: str | None = None) -> str:
    """Write the metric file into ``directory`` (a folder or an ``s3://`` URI); return where it is."""
    from monitor_lib.io.storage import output_location

    with output_location(directory, kms_key) as folder:
        path = os.path.join(folder, METRICS_FILE)
        write_json_atomic(path, "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in metrics))
        return folder.public(path)


def _write(ctx: SinkContext) -> None:
    metrics = ctx.monitor.cloudwatch_metrics(ctx.outcome, ctx.params)
    if metrics is not None:
        ctx.outcome.files["cloudwatch_metrics"] = write_metrics(ctx.params.metrics_directory, metrics,
                                                                getattr(ctx.params, "output_kms_key", None))


SINK = Sink("cloudwatch", _write, enabled=lambda ctx: bool(getattr(ctx.params, "publish_cloudwatch_metrics", False))
            and ctx.outcome.status != "NoData")
