"""Parameters and steps shared by the monitors: the dataset and output every phase has, the window, schedule,
CloudWatch and post-processing settings of monitoring runs, the rejected-records sample, the user's
``postprocess_handler``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from monitor_lib.errors import ConfigError
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.params import check_required, enabled, existing_file, integer, json_text, number, param
from monitor_lib.timefmt import iso_utc, parse_time

DEFAULT_CAPTURE_FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'
DEFAULT_MERGE_FORMAT = '{"sagemakerMergeJson": {"captureIndexNames": ["endpointOutput"]}}'
FORMAT_SHORTHANDS = {"capture": DEFAULT_CAPTURE_FORMAT, "merged": DEFAULT_MERGE_FORMAT}


def parse_dataset_format(value: Any, name: str) -> DatasetFormat:
    return DatasetFormat.parse(json_text(value, name), name)


def fraction(value: Any, name: str) -> float:
    """A number in [0, 1]."""
    result = number(value, name)
    if not 0.0 <= result <= 1.0:
        raise ConfigError(f"{name} must be between 0 and 1, got {value!r}")
    return result


def check_window(start: datetime | None, end: datetime | None) -> None:
    if start and end and start >= end:
        raise ConfigError(f"start_time {iso_utc(start)} must be before end_time {iso_utc(end)}")


# The scheduled-time parameters (MonitoringParams, and the merge phase of model quality): (name, help)
SCHEDULED_TIME = ("scheduled_time", "the execution's scheduled time, ISO-8601 UTC or now, truncated to the whole "
                  "hour: the window is the period before it (SageMaker's rule), minus the offsets; start_time, "
                  "end_time and metric_time (= the window start) follow from it")
WINDOW = ("window", "with scheduled_time: the length of the window before the scheduled time, an ISO-8601 "
          "duration (PT1H, PT6H, P1D)")
START_OFFSET = ("start_offset", "with scheduled_time: the window starts this long before the scheduled time, "
                "a negative ISO-8601 duration such as -P8D (SageMaker's StartTimeOffset; as a flag write "
                "--start-offset=-P8D)")
END_OFFSET = ("end_offset", "with scheduled_time: the window ends this long before the scheduled time, a negative "
              "ISO-8601 duration such as -P1D or -PT1H (SageMaker's EndTimeOffset: labels arrive late; as a flag "
              "write --end-offset=-P1D)")
WINDOW_FIELDS = ("window", "start_offset", "end_offset")


def parse_scheduled_time(value: Any, name: str) -> datetime:
    from monitor_lib.scheduled_time import scheduled_hour

    return scheduled_hour(value, name)


def parse_window_duration(value: Any, name: str) -> timedelta:
    from monitor_lib.scheduled_time import parse_duration

    return parse_duration(value, name)


def derive_window(params) -> None:
    """``__post_init__`` of parameters with ``scheduled_time``: the window SageMaker gives that scheduled time
    (:func:`monitor_lib.scheduled_time.window_bounds`) becomes ``start_time`` / ``end_time`` (and the
    ``window`` used), so every later step sees an ordinary window. ``start_time`` / ``end_time`` given as well
    are refused unless they are that very window (a re-built parameter object); ``window`` or an offset
    without ``scheduled_time`` is refused."""
    from monitor_lib.scheduled_time import DEFAULT_WINDOW, window_bounds

    if params.scheduled_time is None:
        given = [n for n in WINDOW_FIELDS if getattr(params, n) is not None]
        if given:
            raise ConfigError(f"{' and '.join(given)} {'applies' if len(given) == 1 else 'apply'} only with "
                              "scheduled_time (--scheduled-time): give the scheduled time, or the window itself with "
                              "start_time and end_time")
        return
    t, start, end = window_bounds(params.scheduled_time, params.window or DEFAULT_WINDOW, params.start_offset,
                                  params.end_offset)
    given = [n for n in ("start_time", "end_time") if getattr(params, n) is not None]
    if given and (params.start_time, params.end_time) != (start, end):
        raise ConfigError(f"scheduled_time and {' and '.join(given)} both set the window: give either "
                          "scheduled_time (with window, start_offset, end_offset) or start_time and end_time")
    object.__setattr__(params, "scheduled_time", t)
    object.__setattr__(params, "window", params.window or DEFAULT_WINDOW)
    object.__setattr__(params, "start_time", start)
    object.__setattr__(params, "end_time", end)


FORMAT_HELP = ('SageMaker dataset_format JSON, e.g. {"csv": {"header": true}}, {"json": {"lines": true}}, '
               '{"parquet": {}}, {"sagemakerCaptureJson": {"captureIndexNames": [...]}} (or --format with --header)')


@dataclass(frozen=True)
class DatasetParams:
    """What every analysis phase has: the dataset, its format, the output folder."""

    # --format shorthands the CLI offers for dataset_format (csv/json/parquet, capture, merged)
    FORMAT_CHOICES: ClassVar[tuple[str, ...]] = ("csv", "json", "parquet")

    dataset_source: str = param("dataset_source", "the dataset: a file, a folder (read recursively) or an s3:// URI",
                                flag="--dataset", required=True, path="input")
    dataset_format: DatasetFormat = param("dataset_format", FORMAT_HELP, parse=parse_dataset_format, required=True)
    output_path: str = param("output_path", "the folder (or s3:// URI) that receives the outputs", flag="--output",
                             required=True, path="output")
    output_kms_key: str | None = param("output_kms_key", "s3:// outputs: encrypt the uploaded objects with this KMS "
                                       "key (SSE-KMS)", flag="--kms-key")
    html_report: bool = param("html_report", "draw report.html in the output folder (Enabled or Disabled)",
                              parse=enabled, default=True, default_text="Enabled", flag="--no-html-report",
                              switch=True, switch_value="Disabled", group="outputs")
    lineage: bool = param("lineage", "write the run's OpenLineage events (openlineage_events.jsonl) and lineage.json "
                          "(digests of inputs, baseline files and code) in the output folder; the events are also "
                          "POSTed to OPENLINEAGE_URL when that is set (Enabled or Disabled)", parse=enabled,
                          default=True, default_text="Enabled", flag="--no-lineage", switch=True,
                          switch_value="Disabled", group="outputs")

    def __post_init__(self) -> None:
        check_required(self)


@dataclass(frozen=True)
class MonitoringParams(DatasetParams):
    """What a scheduled monitoring run adds: the window, the schedule's names, CloudWatch, post-processing."""

    start_time: datetime | None = param("start_time", "window start, ISO-8601 UTC (inclusive)", parse=parse_time,
                                        group="window")
    end_time: datetime | None = param("end_time", "window end, ISO-8601 UTC (exclusive)", parse=parse_time,
                                      group="window")
    metric_time: datetime | None = param("metric_time", "CloudWatch timestamp", parse=parse_time,
                                         default_text="start_time, else the run's start", group="window")
    scheduled_time: datetime | None = param(*SCHEDULED_TIME, parse=parse_scheduled_time, group="window")
    window: timedelta | None = param(*WINDOW, parse=parse_window_duration, default_text="PT1H",
                                     group="window")
    start_offset: timedelta | None = param(*START_OFFSET, parse=parse_window_duration, group="window")
    end_offset: timedelta | None = param(*END_OFFSET, parse=parse_window_duration, group="window")
    endpoint_name: str | None = param("sagemaker_endpoint_name", "endpoint name (CloudWatch dimension Endpoint)",
                                      flag="--endpoint", group="window")
    schedule_name: str | None = param("sagemaker_monitoring_schedule_name", "monitoring schedule name (CloudWatch "
                                      "dimension MonitoringSchedule)", flag="--schedule", group="window")
    publish_cloudwatch_metrics: bool = param("publish_cloudwatch_metrics", "write the CloudWatch metric file "
                                             "(Enabled or Disabled)", parse=enabled, default=False,
                                             default_text="Disabled", switch=True, group="outputs")
    cloudwatch_metrics_directory: str | None = param(
        "CLOUDWATCH_METRICS_DIRECTORY", "where the CloudWatch metric file goes (a folder or s3:// URI)",
        default_text="<opt/ml root>/output/metrics/cloudwatch", group="outputs")
    post_analytics_processor_script: str | None = param(
        "post_analytics_processor_script", "a .py defining postprocess_handler(), run after the analysis",
        parse=existing_file, group="outputs")
    put_metric_data: bool = param(
        "put_metric_data", "publish the run's CloudWatch metrics (the metric file's records) with PutMetricData, "
        "in requests of at most 1000 metrics and 1 MB; points older than 14 days are left out and counted; the "
        "outcome is run_summary.json deliveries.cloudwatch, a failure never fails the run (credentials, region and "
        "AWS_ENDPOINT_URL_CLOUDWATCH from the environment; Enabled or Disabled)", parse=enabled, default=False,
        default_text="Disabled", switch=True, group="alerts")
    cloudwatch_namespace: str | None = param(
        "cloudwatch_namespace", "the namespace PutMetricData publishes to", group="alerts",
        default_text="aws/sagemaker/Endpoints/<data|model|bias|explainability>-metrics with an endpoint, "
        "aws/sagemaker/ModelMonitoring/<…>-metrics without")
    sns_topic_arn: str | None = param("sns_topic_arn", "publish the run's notification to this SNS topic",
                                      group="alerts")
    webhook_url: str | None = param(
        "webhook_url", "POST the run's notification to this URL, signed per Standard Webhooks with the secret in "
        "MODEL_MONITOR_WEBHOOK_SECRET (whsec_…)", group="alerts")
    slack_webhook_url: str | None = param(
        "slack_webhook_url", "post the run's notification to this Slack incoming webhook (a secret: prefer the "
        "MODEL_MONITOR_SLACK_WEBHOOK_URL environment variable)", group="alerts")
    pagerduty_routing_key: str | None = param(
        "pagerduty_routing_key", "PagerDuty Events v2: trigger an alert per violation, resolve it when a later "
        "window is clean (a secret: prefer the MODEL_MONITOR_PAGERDUTY_ROUTING_KEY environment variable)",
        group="alerts")
    notify_on: str = param("notify_on", "which runs notify SNS, the webhook and Slack: violations (runs with "
                           "violations, and failed runs) or always (PagerDuty hears of every run: a clean window "
                           "resolves its alerts)", choices=("violations", "always"),
                           default="violations", group="alerts")
    report_url: str | None = param(
        "report_url", "the link to this run's report in notifications", group="alerts",
        default_text="where report.html is written (a path or s3:// URI), else the output folder")
    notify_timeout_seconds: float = param("notify_timeout_seconds", "timeout of each notification request",
                                          parse=number, default=10.0, group="alerts")
    notify_max_retries: int = param("notify_max_retries", "retries of a notification answered 429 or 5xx, or "
                                    "unanswered (1 s, then doubling)", parse=integer(0, 10), default=3,
                                    group="alerts")
    max_rejected_fraction: float = param(
        "max_rejected_fraction", "a monitoring run whose rejected records exceed this share of the records read "
        "(rejected / (analysed + rejected); skipped lines do not count) ends Failed, exit code 3; a window whose "
        "every record was rejected always does", parse=fraction, default=1.0, group="window")

    def __post_init__(self) -> None:
        super().__post_init__()
        derive_window(self)
        check_window(self.start_time, self.end_time)
        check_alert_params(self)  # their shapes (secrets are read from the environment when the run starts)
        if self.metric_time is None and self.start_time is not None:
            object.__setattr__(self, "metric_time", self.start_time)

    @property
    def metric_timestamp(self) -> datetime:
        """The CloudWatch timestamp: ``metric_time`` (default ``start_time``), else now."""
        from datetime import UTC

        return self.metric_time or datetime.now(UTC)

    @property
    def metrics_directory(self) -> str:
        from monitor_lib.container import opt_ml_root

        return self.cloudwatch_metrics_directory or os.path.join(opt_ml_root(), "output", "metrics", "cloudwatch")


SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


def check_alert_params(params: MonitoringParams) -> None:
    """The alert parameters' shapes (ConfigError naming the parameter, never showing a secret): http(s) URLs,
    an SNS topic ARN, a non-empty routing key, a positive timeout."""
    from monitor_lib.io.http import check_url

    if params.sns_topic_arn and not SNS_TOPIC_ARN.match(params.sns_topic_arn):
        raise ConfigError(f"sns_topic_arn {params.sns_topic_arn!r} is not an SNS topic ARN: expected "
                          "arn:aws:sns:<region>:<account id>:<topic name>")
    if params.webhook_url:
        check_url(params.webhook_url, "webhook_url")
    if params.slack_webhook_url:
        check_url(params.slack_webhook_url, "slack_webhook_url")
    if params.pagerduty_routing_key is not None and not params.pagerduty_routing_key.strip():
        raise ConfigError("pagerduty_routing_key is empty: give the integration key of a PagerDuty Events v2 "
                          "service, or set MODEL_MONITOR_PAGERDUTY_ROUTING_KEY")
    if params.report_url is not None and not params.report_url.strip():
        raise ConfigError("report_url is empty: give the URL of the run's report, or leave it out")
    if not params.notify_timeout_seconds > 0:
        raise ConfigError(f"notify_timeout_seconds must be a positive number of seconds, got "
                          f"{params.notify_timeout_seconds!r}")


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items())


def no_data_counts(rejected: dict[str, int], skipped: dict[str, int]) -> str:
    """``3 rejected (malformed_json: 2, …); 1 skipped (…)`` — or that there was nothing at all."""
    parts = [f"{sum(counts.values())} {name} ({counts_text(counts)})"
             for name, counts in (("rejected", rejected), ("skipped", skipped)) if counts]
    return "; ".join(parts) if parts else "the files hold no records"


def rejection_failure(analysed: int, rejected: dict[str, int], skipped: dict[str, int], max_fraction: float,
                      window: str, what: str = "profiled") -> str:
    """Why a monitoring run fails on its rejected records, or ``""``: records were read and every one was
    rejected, or more than ``max_fraction`` of them (rejected / (analysed + rejected); skipped records — blank
    lines, outside the window, shadow traffic — are left out on purpose and count for neither)."""
    n_rejected = sum(rejected.values())
    read = analysed + n_rejected
    if n_rejected == 0 or (analysed > 0 and n_rejected <= max_fraction * read):
        return ""
    rule = ("none could be " + what if analysed == 0
            else f"a share of {n_rejected / read:.4g}, more than max_rejected_fraction {max_fraction:g}")
    text = f"{n_rejected} of {read} record(s) in window {window} rejected ({counts_text(rejected)}), {rule}"
    if analysed:
        text += f"; {analysed} {what}"
    if skipped:
        text += f"; {sum(skipped.values())} skipped ({counts_text(skipped)})"
    return text


def merge_rejected(merge) -> dict[str, int]:
    """The capture lines a ground-truth merge (its outcome, or None) rejected, ``capture_<kind>``: records read
    that no metric can use. Its rejected labels are left out: ground truth is not windowed, and a bad label
    line of another hour must not fail this window."""
    return {k: v for k, v in (merge.rejected if merge is not None else {}).items() if k.startswith("capture_")}


def record_lines(outcome, what: str, files: bool = True) -> list[str]:
    """The terminal's ``window:`` and ``records:`` lines (rejected / skipped counts by kind)."""
    lines = []
    if outcome.has_window:
        lines.append(f"  window: {iso_utc(outcome.start_time) or '-'} to {iso_utc(outcome.end_time) or '-'}")
    rejected, skipped = outcome.rejected, outcome.skipped
    lines.append(f"  records: {what}" + (f" from {outcome.files_read} file(s)" if files else "")
                 + (f", {sum(rejected.values())} rejected ({counts_text(rejected)})" if rejected else "")
                 + (f", {sum(skipped.values())} skipped ({counts_text(skipped)})" if skipped else ""))
    return lines


def read_optional(path: str, parse, notes: list[str]):
    """A SageMaker JSON file of a run folder parsed, or None when it is not there; a file that cannot be read
    adds a note (shown in the report) instead of failing."""
    from monitor_lib.formats.jsonfmt import load_json_file
    from monitor_lib.io.uri import is_s3

    if not is_s3(path) and not os.path.exists(path):
        return None
    try:
        return parse(load_json_file(path), path)
    except (ValueError, OSError) as e:
        notes.append(f"{os.path.basename(path)} could not be read: {e}")
        return None
