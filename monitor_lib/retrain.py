"""The retrain hook: an AWS Lambda handler that turns a CloudWatch alarm into a retraining action.

Wiring: a CloudWatch alarm on one of our metrics (``model-monitor alarms create``) → its SNS topic → this
function (handler ``monitor_lib.retrain.handler``) → the action the user configured:

* ``pipeline`` — ``sagemaker:StartPipelineExecution`` with ``PipelineParameters`` templated from the alarm;
* ``training_job`` — ``sagemaker:CreateTrainingJob`` with the user's request and a generated ``TrainingJobName``;
* ``processing_job`` — ``sagemaker:CreateProcessingJob`` likewise (``ProcessingJobName``);
* ``webhook`` — a JSON POST (optional bearer token from an environment variable) through :mod:`monitor_lib.io.http`.

The event is Lambda's SNS event: ``Records[].Sns.Message`` holds the JSON CloudWatch publishes on a state
change (``AlarmName``, ``AlarmArn``, ``NewStateValue``, ``StateChangeTime``, ``Trigger{MetricName, Namespace,
Dimensions[{value, name}], ...}``, ...). Only a change *to* ``ALARM`` acts; ``OK`` and ``INSUFFICIENT_DATA``
are ignored and the return value says so. So is a run notification our own SNS sink published (``type``
``model_monitor.run.…``), when alarms and runs share one topic: alarms, not single runs, decide when to retrain.
Any other record is an :class:`EventError`.

Idempotency: one alarm state change (``AlarmArn`` + ``StateChangeTime``) always gives the same key, hence the
same job name, pipeline ``ClientRequestToken`` and webhook ``Idempotency-Key``: a retried invocation (Lambda
retries asynchronous invocations twice, SNS may deliver twice) starts nothing new. SageMaker refuses a second
job of the same name, which the handler reports as ``already-started``.

Configuration (JSON; see ``conf/retrain.example.json``) comes from the environment: ``MODEL_MONITOR_RETRAIN``
holds the JSON itself, or ``MODEL_MONITOR_RETRAIN_CONFIG`` names a file (a local path or an ``s3://`` URI; JSON,
or YAML when PyYAML is importable and the name ends in ``.yaml``/``.yml``). Strings in the action's request
may use ``${placeholder}`` (:data:`PLACEHOLDERS`); ``$$`` is a literal ``$``.

This module imports only the standard library at import time (boto3 when an AWS action runs, urllib3 through
``monitor_lib.io.http`` when a webhook runs): the Lambda package is this file, ``monitor_lib/__init__.py``,
``monitor_lib/errors.py`` and ``monitor_lib/io/{__init__,http}.py``, on the Python runtime's own boto3.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import re
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor_lib.errors import ConfigError, MonitorError

log = logging.getLogger(__name__)

ENV_CONFIG = "MODEL_MONITOR_RETRAIN"  # the configuration as JSON text
ENV_CONFIG_FILE = "MODEL_MONITOR_RETRAIN_CONFIG"  # a path or s3:// URI of a JSON (or YAML) configuration
DEFAULT_TOKEN_ENV = "MODEL_MONITOR_RETRAIN_TOKEN"  # the webhook's bearer token

ACTIONS = ("pipeline", "training_job", "processing_job", "webhook")
ACTING_STATE = "ALARM"

# Statuses of one record in the handler's answer
STARTED = "started"
ALREADY_STARTED = "already-started"
IGNORED = "ignored"
DRY_RUN = "dry-run"

# SageMaker's constraints (botocore's sagemaker model): job names, pipeline display names, parameter values.
NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
JOB_NAME_MAX = 63
DISPLAY_NAME_MAX = 82
PARAMETER_NAME_PATTERN = re.compile(r"[A-Za-z0-9\-_]+")
PARAMETER_VALUE_MAX = 1024
DIGEST_CHARS = 8  # of the idempotency key in a job name

PLACEHOLDERS = {
    "alarm_name": "the alarm's AlarmName",
    "alarm_arn": "the alarm's AlarmArn",
    "alarm_description": "the alarm's AlarmDescription ('' when none)",
    "state": "NewStateValue (always ALARM when an action runs)",
    "previous_state": "OldStateValue",
    "reason": "NewStateReason",
    "state_change_time": "StateChangeTime as ISO 8601 UTC, e.g. 2026-11-20T10:15:00.123Z",
    "state_change_stamp": "StateChangeTime as 20261120T101500Z (fits names)",
    "account": "AWSAccountId",
    "metric_name": "Trigger.MetricName, e.g. feature_baseline_drift_age",
    "namespace": "Trigger.Namespace, e.g. aws/sagemaker/Endpoints/data-metrics",
    "feature": "the feature of a feature_baseline_drift_<feature> metric ('' otherwise)",
    "threshold": "Trigger.Threshold",
    "endpoint": "the Endpoint (or EndpointName) dimension ('' when none)",
    "schedule": "the MonitoringSchedule (or ScheduleName) dimension ('' when none)",
    "idempotency_key": "64 hex digits derived from AlarmArn + StateChangeTime",
    "job_name": "the generated job name (training_job / processing_job actions)",
}

ENDPOINT_DIMENSIONS = ("Endpoint", "EndpointName")
SCHEDULE_DIMENSIONS = ("MonitoringSchedule", "ScheduleName")
DRIFT_PREFIX = "feature_baseline_drift_"
# The type of the run notifications the SNS sink publishes (monitor_lib.sinks.notify.message.EVENT_PREFIX; not
# imported, to keep this module light): a topic shared by alarms and run notifications makes these ignored.
RUN_NOTIFICATION_PREFIX = "model_monitor.run."


class EventError(MonitorError):
    """The Lambda event is not an SNS event carrying a CloudWatch alarm state change: names the record and key."""


class RetrainError(MonitorError):
    """The action was refused (an AWS error other than 'already exists', a webhook's non-2xx answer)."""


# ---------------------------------------------------------------- the alarm


@dataclass(frozen=True)
class AlarmChange:
    """One CloudWatch alarm state change, as read from the SNS message."""

    name: str
    arn: str
    state: str
    previous_state: str
    reason: str
    state_change_time: datetime
    account: str
    description: str = ""
    metric_name: str = ""
    namespace: str = ""
    threshold: float | None = None
    dimensions: dict[str, str] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """The same for every delivery of this state change, different for any other change of any alarm."""
        text = f"{self.arn}|{self.state_change_time.strftime('%Y-%m-%dT%H:%M:%S.%f')}"
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def endpoint(self) -> str:
        return next((self.dimensions[d] for d in ENDPOINT_DIMENSIONS if d in self.dimensions), "")

    @property
    def schedule(self) -> str:
        return next((self.dimensions[d] for d in SCHEDULE_DIMENSIONS if d in self.dimensions), "")

    def values(self) -> dict[str, str]:
        """The template placeholders (all but ``job_name``)."""
        feature = self.metric_name[len(DRIFT_PREFIX):] if self.metric_name.startswith(DRIFT_PREFIX) else ""
        return {
            "alarm_name": self.name, "alarm_arn": self.arn, "alarm_description": self.description,
            "state": self.state, "previous_state": self.previous_state, "reason": self.reason,
            "state_change_time": iso(self.state_change_time), "state_change_stamp": stamp(self.state_change_time),
            "account": self.account, "metric_name": self.metric_name, "namespace": self.namespace,
            "feature": feature, "threshold": "" if self.threshold is None else f"{self.threshold:g}",
            "endpoint": self.endpoint, "schedule": self.schedule, "idempotency_key": self.idempotency_key,
        }

    def summary(self) -> dict[str, Any]:
        return {"AlarmName": self.name, "AlarmArn": self.arn, "NewStateValue": self.state,
                "OldStateValue": self.previous_state, "NewStateReason": self.reason,
                "StateChangeTime": iso(self.state_change_time), "MetricName": self.metric_name,
                "Namespace": self.namespace, "Threshold": self.threshold, "Dimensions": dict(self.dimensions)}


def iso(t: datetime) -> str:
    """ISO 8601 UTC with milliseconds, as CloudWatch stamps a state change: ``2026-11-20T10:15:00.123Z``."""
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond // 1000:03d}Z"


def stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_time(text: Any, where: str) -> datetime:
    """CloudWatch writes ``2015-06-03T17:43:27.123+0000``; also accept ``Z`` and ``+00:00``."""
    if not isinstance(text, str) or not text:
        raise EventError(f"{where}: StateChangeTime is missing: expected e.g. 2015-06-03T17:43:27.123+0000")
    value = text.strip()
    value = value[:-1] + "+00:00" if value.endswith("Z") else re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"{where}: StateChangeTime {text!r} is not a time like 2015-06-03T17:43:27.123+0000") \
            from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_alarm(message: Any, where: str = "message") -> AlarmChange:
    """The alarm state change in an SNS ``Message`` (a JSON string, or the already decoded object)."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            raise EventError(f"{where}: Sns.Message is not JSON: expected the JSON CloudWatch publishes for an "
                             "alarm state change") from None
    if not isinstance(message, dict):
        raise EventError(f"{where}: Sns.Message is a JSON {type(message).__name__}, expected an object")
    missing = [k for k in ("AlarmName", "AlarmArn", "NewStateValue", "StateChangeTime") if not message.get(k)]
    if missing:
        raise EventError(f"{where}: Sns.Message lacks {', '.join(missing)}: it is not a CloudWatch alarm state "
                         "change (subscribe this function to the topic of the alarm's AlarmActions)")
    trigger = message.get("Trigger") or {}
    if not isinstance(trigger, dict):
        raise EventError(f"{where}: Sns.Message.Trigger is not an object")
    metric_name, namespace, dims = _metric(trigger, where)
    threshold = trigger.get("Threshold")
    try:
        threshold = None if threshold in (None, "") else float(threshold)
    except (TypeError, ValueError):
        raise EventError(f"{where}: Trigger.Threshold {threshold!r} is not a number") from None
    return AlarmChange(
        name=str(message["AlarmName"]), arn=str(message["AlarmArn"]), state=str(message["NewStateValue"]),
        previous_state=str(message.get("OldStateValue") or ""), reason=str(message.get("NewStateReason") or ""),
        state_change_time=parse_time(message["StateChangeTime"], where), account=str(message.get("AWSAccountId") or ""),
        description=str(message.get("AlarmDescription") or ""), metric_name=metric_name, namespace=namespace,
        threshold=threshold, dimensions=dims)


def _metric(trigger: dict, where: str) -> tuple[str, str, dict[str, str]]:
    """(MetricName, Namespace, dimensions) of a single-metric alarm, or of the first metric of a metric-math
    alarm (``Trigger.Metrics[].MetricStat.Metric``)."""
    source = trigger
    if not trigger.get("MetricName"):
        for query in trigger.get("Metrics") or []:
            metric = ((query or {}).get("MetricStat") or {}).get("Metric") if isinstance(query, dict) else None
            if isinstance(metric, dict):
                source = metric
                break
    dims: dict[str, str] = {}
    raw = source.get("Dimensions") or []
    if not isinstance(raw, list):
        raise EventError(f"{where}: Trigger.Dimensions is not a list of {{value, name}}")
    for d in raw:
        if not isinstance(d, dict):
            raise EventError(f"{where}: Trigger.Dimensions has {d!r}, expected {{value, name}}")
        name = d.get("name", d.get("Name"))
        value = d.get("value", d.get("Value"))
        if name is not None:
            dims[str(name)] = "" if value is None else str(value)
    return str(source.get("MetricName") or ""), str(source.get("Namespace") or ""), dims


def alarm_messages(event: Any) -> list[tuple[str, Any]]:
    """(where, Message) of every record of a Lambda SNS event."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list) or not event["Records"]:
        raise EventError("event: expected Lambda's SNS event {\"Records\": [{\"Sns\": {\"Message\": ...}}]}; "
                         "subscribe this function to an SNS topic")
    out = []
    for i, record in enumerate(event["Records"]):
        where = f"Records[{i}]"
        sns = record.get("Sns") if isinstance(record, dict) else None
        if not isinstance(sns, dict) or "Message" not in sns:
            raise EventError(f"{where}: no Sns.Message: this function takes SNS events only (subscribe it to the "
                             "alarm's SNS topic)")
        out.append((where, sns["Message"]))
    return out


# ---------------------------------------------------------------- the configuration


@dataclass(frozen=True)
class RetrainConfig:
    action: str  # one of ACTIONS
    spec: dict[str, Any]  # the action's own object
    alarm_names: tuple[str, ...] = ()  # glob patterns; empty = every alarm
    dry_run: bool = False
    region: str | None = None


def parse_config(doc: Any, source: str = ENV_CONFIG) -> RetrainConfig:
    """Check the configuration document; every error is one line naming the field."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a JSON object with one of {', '.join(ACTIONS)}")
    known = set(ACTIONS) | {"alarm_names", "dry_run", "region"}
    unknown = sorted(k for k in set(doc) - known if not str(k).startswith("_"))  # "_comment" keys are comments
    if unknown:
        raise ConfigError(f"{source}: unknown field {unknown[0]!r}: use one of {', '.join(sorted(known))}")
    actions = [a for a in ACTIONS if a in doc]
    if len(actions) != 1:
        raise ConfigError(f"{source}: give exactly one action among {', '.join(ACTIONS)} "
                          f"(found {', '.join(actions) or 'none'})")
    action = actions[0]
    spec = doc[action]
    if not isinstance(spec, dict):
        raise ConfigError(f"{source}: {action} must be an object")
    names = doc.get("alarm_names", [])
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{source}: alarm_names must be a list of alarm-name patterns like \"*drift*\"")
    if not isinstance(doc.get("dry_run", False), bool):
        raise ConfigError(f"{source}: dry_run must be true or false")
    region = doc.get("region")
    if region is not None and (not isinstance(region, str) or not region):
        raise ConfigError(f"{source}: region must be a region name like \"us-east-1\"")
    config = RetrainConfig(action, spec, tuple(names), bool(doc.get("dry_run", False)), region)
    _CHECKS[action](spec, f"{source}: {action}")
    return config


def _require_str(spec: dict, key: str, where: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key} is required (a non-empty string)")
    return value


def _only(spec: dict, keys: set[str], where: str) -> None:
    unknown = sorted(set(spec) - keys)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}: use {', '.join(sorted(keys))}")


def _check_templates(value: Any, where: str, allowed: frozenset[str]) -> None:
    """Every ``${name}`` in the strings of ``value`` is a placeholder in ``allowed``."""
    if isinstance(value, str):
        template = string.Template(value)
        if not template.is_valid():
            raise ConfigError(f"{where}: {value!r} has a '$' that is not a placeholder: write $$ for a dollar sign")
        for name in template.get_identifiers():
            if name not in allowed:
                raise ConfigError(f"{where}: unknown placeholder ${{{name}}}: use one of "
                                  f"{', '.join('${' + p + '}' for p in PLACEHOLDERS if p in allowed)}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_templates(v, f"{where}.{k}", allowed)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_templates(v, f"{where}[{i}]", allowed)


ALARM_PLACEHOLDERS = frozenset(PLACEHOLDERS) - {"job_name"}
JOB_PLACEHOLDERS = frozenset(PLACEHOLDERS)


def _check_name_prefix(spec: dict, where: str) -> None:
    prefix = _require_str(spec, "name_prefix", where)
    room = JOB_NAME_MAX - len(name_suffix(datetime(2000, 1, 1, tzinfo=UTC), "0" * 64))
    if len(prefix) > room or not NAME_PATTERN.fullmatch(prefix):
        raise ConfigError(f"{where}.name_prefix {prefix!r} must be 1-{room} letters, digits and hyphens, starting "
                          "and ending with a letter or digit (SageMaker job names are at most 63 characters)")


def _check_pipeline(spec: dict, where: str) -> None:
    _only(spec, {"name", "parameters", "display_name_prefix", "description"}, where)
    _require_str(spec, "name", where)
    params = spec.get("parameters", {})
    if not isinstance(params, dict) or not all(isinstance(v, str | int | float) and not isinstance(v, bool)
                                               for v in params.values()):
        raise ConfigError(f"{where}.parameters must map pipeline parameter names to strings (templates) or numbers")
    for name in params:
        if not PARAMETER_NAME_PATTERN.fullmatch(name) or len(name) > 256:
            raise ConfigError(f"{where}.parameters: {name!r} is not a pipeline parameter name "
                              "(letters, digits, '-' and '_')")
    _check_templates(params, f"{where}.parameters", ALARM_PLACEHOLDERS)
    prefix = spec.get("display_name_prefix", "alarm")
    if not isinstance(prefix, str) or not NAME_PATTERN.fullmatch(prefix) or len(prefix) > DISPLAY_NAME_MAX - 26:
        raise ConfigError(f"{where}.display_name_prefix {prefix!r} must be 1-{DISPLAY_NAME_MAX - 26} letters, "
                          "digits and hyphens, starting and ending with a letter or digit")
    if "description" in spec:
        _check_templates(spec["description"], f"{where}.description", ALARM_PLACEHOLDERS)


def _check_job(name_key: str):
    def check(spec: dict, where: str) -> None:
        _only(spec, {"name_prefix", "request"}, where)
        _check_name_prefix(spec, where)
        request = spec.get("request")
        if not isinstance(request, dict) or not request:
            raise ConfigError(f"{where}.request is required: the {name_key[:-4]} request as boto3 takes it "
                              f"(without {name_key})")
        if name_key in request:
            raise ConfigError(f"{where}.request.{name_key} is generated from name_prefix (one name per alarm "
                              "state change, so a retried invocation starts nothing new): remove it")
        _check_templates(request, f"{where}.request", JOB_PLACEHOLDERS)
    return check


def _check_webhook(spec: dict, where: str) -> None:
    from_http = _http_module()
    _only(spec, {"url", "token_env", "payload", "timeout_seconds", "max_retries"}, where)
    from_http.check_url(_require_str(spec, "url", where), f"{where}.url")
    token_env = spec.get("token_env", DEFAULT_TOKEN_ENV)
    if not isinstance(token_env, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token_env):
        raise ConfigError(f"{where}.token_env must be the NAME of an environment variable holding the token "
                          "(never the token itself)")
    timeout = spec.get("timeout_seconds", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        raise ConfigError(f"{where}.timeout_seconds must be a number of seconds in (0, 600]")
    retries = spec.get("max_retries", 3)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise ConfigError(f"{where}.max_retries must be a whole number from 0 to 10")
    if "payload" in spec:
        if not isinstance(spec["payload"], dict):
            raise ConfigError(f"{where}.payload must be a JSON object (its strings may use ${{placeholders}})")
        _check_templates(spec["payload"], f"{where}.payload", ALARM_PLACEHOLDERS)


_CHECKS = {"pipeline": _check_pipeline, "training_job": _check_job("TrainingJobName"),
           "processing_job": _check_job("ProcessingJobName"), "webhook": _check_webhook}


def _http_module():
    from monitor_lib.io import http

    return http


def load_config(environ: dict[str, str] | None = None) -> RetrainConfig:
    """The configuration named by the environment (:data:`ENV_CONFIG` or :data:`ENV_CONFIG_FILE`)."""
    env = os.environ if environ is None else environ
    text, path = env.get(ENV_CONFIG, "").strip(), env.get(ENV_CONFIG_FILE, "").strip()
    if text and path:
        raise ConfigError(f"both {ENV_CONFIG} and {ENV_CONFIG_FILE} are set: keep one")
    if text:
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise ConfigError(f"{ENV_CONFIG} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") \
                from None
        return parse_config(doc, ENV_CONFIG)
    if path:
        return parse_config(_read_config_file(path), path)
    raise ConfigError(f"no retrain action configured: set {ENV_CONFIG} to the JSON configuration, or "
                      f"{ENV_CONFIG_FILE} to a JSON file's path or s3:// URI (see conf/retrain.example.json)")


def _read_config_file(path: str) -> Any:
    if path.startswith("s3://"):
        bucket, _, key = path[5:].partition("/")
        if not bucket or not key:
            raise ConfigError(f"{ENV_CONFIG_FILE} {path!r} must be s3://bucket/key")
        import boto3
        import botocore.exceptions

        try:
            text = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        except botocore.exceptions.BotoCoreError as e:
            raise ConfigError(f"{ENV_CONFIG_FILE} {path} cannot be read: {e}") from None
        except botocore.exceptions.ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            raise ConfigError(f"{ENV_CONFIG_FILE} {path} cannot be read: {code} (does the function's role allow "
                              "s3:GetObject on it?)") from None
    else:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ConfigError(f"{ENV_CONFIG_FILE} {path} cannot be read: {e.strerror}") from None
    if path.lower().endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise ConfigError(f"{ENV_CONFIG_FILE} {path} is YAML but PyYAML is not installed here (the Lambda "
                              "runtime lacks it): use a .json file or add PyYAML to the package") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"{ENV_CONFIG_FILE} {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise ConfigError(f"{ENV_CONFIG_FILE} {path} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") \
            from None


# ---------------------------------------------------------------- requests (pure)


def name_suffix(t: datetime, key: str) -> str:
    return f"-{t.astimezone(UTC).strftime('%Y%m%dT%H%M%S')}-{key[:DIGEST_CHARS]}"


def job_name(prefix: str, alarm: AlarmChange) -> str:
    """``<prefix>-<StateChangeTime as yyyymmddThhmmss>-<8 hex of the idempotency key>``: sortable by time, unique
    per alarm state change, the same for every retry of one."""
    return prefix + name_suffix(alarm.state_change_time, alarm.idempotency_key)


def render(value: Any, values: dict[str, str]) -> Any:
    """``value`` with ``${placeholder}`` substituted in every string (dict keys are left alone)."""
    if isinstance(value, str):
        return string.Template(value).substitute(values)
    if isinstance(value, dict):
        return {k: render(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, values) for v in value]
    return value


def pipeline_request(spec: dict, alarm: AlarmChange) -> dict[str, Any]:
    values = alarm.values()
    parameters = []
    for name, template in spec.get("parameters", {}).items():
        value = render(str(template) if not isinstance(template, str) else template, values)
        if len(value) > PARAMETER_VALUE_MAX:
            log.warning("pipeline parameter %s cut to %d characters (SageMaker's limit)", name, PARAMETER_VALUE_MAX)
            value = value[:PARAMETER_VALUE_MAX]
        parameters.append({"Name": name, "Value": value})
    request: dict[str, Any] = {
        "PipelineName": spec["name"],
        "PipelineExecutionDisplayName": spec.get("display_name_prefix", "alarm")
        + name_suffix(alarm.state_change_time, alarm.idempotency_key),
        "ClientRequestToken": alarm.idempotency_key,
    }
    if parameters:
        request["PipelineParameters"] = parameters
    if "description" in spec:
        request["PipelineExecutionDescription"] = render(spec["description"], values)[:3072]
    return request


def job_request(spec: dict, alarm: AlarmChange, name_key: str) -> dict[str, Any]:
    name = job_name(spec["name_prefix"], alarm)
    request = render(spec["request"], {**alarm.values(), "job_name": name})
    return {name_key: name, **request}


def webhook_body(spec: dict, alarm: AlarmChange) -> dict[str, Any]:
    values = alarm.values()
    body: dict[str, Any] = {"type": "model-monitor.retrain", "idempotency_key": alarm.idempotency_key,
                            "alarm": alarm.summary(), "endpoint": alarm.endpoint, "schedule": alarm.schedule}
    if "payload" in spec:
        body["payload"] = render(spec["payload"], values)
    return body


def request_for(config: RetrainConfig, alarm: AlarmChange) -> dict[str, Any]:
    if config.action == "pipeline":
        return pipeline_request(config.spec, alarm)
    if config.action == "training_job":
        return job_request(config.spec, alarm, "TrainingJobName")
    if config.action == "processing_job":
        return job_request(config.spec, alarm, "ProcessingJobName")
    return webhook_body(config.spec, alarm)


def selected(config: RetrainConfig, alarm: AlarmChange) -> bool:
    return not config.alarm_names or any(fnmatch.fnmatchcase(alarm.name, p) for p in config.alarm_names)


# ---------------------------------------------------------------- actions (talk to AWS / HTTP)

_OPERATIONS = {"pipeline": ("start_pipeline_execution", None),
               "training_job": ("create_training_job", "TrainingJobName"),
               "processing_job": ("create_processing_job", "ProcessingJobName")}


def sagemaker_client(config: RetrainConfig):
    import boto3

    return boto3.client("sagemaker", region_name=config.region) if config.region else boto3.client("sagemaker")


def _already_exists(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    text = str(getattr(error, "response", {}).get("Error", {}).get("Message", ""))
    return code == "ResourceInUse" or (code == "ValidationException" and
                                       ("already exists" in text or "must be unique" in text))


def start_sagemaker(config: RetrainConfig, request: dict[str, Any], client=None) -> dict[str, Any]:
    import botocore.exceptions

    operation, name_key = _OPERATIONS[config.action]
    client = client or sagemaker_client(config)
    try:
        answer = getattr(client, operation)(**request)
    except botocore.exceptions.ClientError as e:
        if name_key and _already_exists(e):
            log.info("%s %s exists already: this alarm state change was acted on before", name_key, request[name_key])
            return {"status": ALREADY_STARTED, name_key: request[name_key]}
        error = e.response.get("Error", {})
        raise RetrainError(f"{operation} failed: {error.get('Code', 'error')}: {error.get('Message', '')}") from None
    except botocore.exceptions.BotoCoreError as e:
        raise RetrainError(f"{operation} failed: {e}") from None
    out: dict[str, Any] = {"status": STARTED}
    if name_key:
        out[name_key] = request[name_key]
    for key in ("PipelineExecutionArn", "TrainingJobArn", "ProcessingJobArn"):
        if key in answer:
            out[key] = answer[key]
    return out


def call_webhook(config: RetrainConfig, body: dict[str, Any], environ: dict[str, str] | None = None) \
        -> dict[str, Any]:
    http = _http_module()
    spec = config.spec
    env = os.environ if environ is None else environ
    headers = {"Content-Type": "application/json", "Idempotency-Key": body["idempotency_key"],
               "User-Agent": "spark-model-monitor-retrain"}
    token = env.get(spec.get("token_env", DEFAULT_TOKEN_ENV), "")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = http.post(spec["url"], json.dumps(body, sort_keys=True).encode("utf-8"), headers,
                       where="the retrain webhook", timeout_seconds=float(spec.get("timeout_seconds", 10)),
                       max_retries=int(spec.get("max_retries", 3)), backoff_seconds=1.0)
    if not answer.ok:
        text = answer.text.replace(token, "***") if token else answer.text
        raise RetrainError(f"the retrain webhook answered HTTP {answer.status} after {answer.attempts} "
                           f"attempt{'s' if answer.attempts > 1 else ''}: {http.clean(text)}")
    return {"status": STARTED, "http_status": answer.status, "attempts": answer.attempts}


# ---------------------------------------------------------------- the handler


def act(config: RetrainConfig, alarm: AlarmChange, client=None, environ: dict[str, str] | None = None) \
        -> dict[str, Any]:
    """What one alarm state change does under ``config`` (the record's entry in the handler's answer)."""
    out: dict[str, Any] = {"alarm": alarm.name, "state": alarm.state, "state_change_time": iso(alarm.state_change_time),
                           "action": config.action, "idempotency_key": alarm.idempotency_key}
    if alarm.state != ACTING_STATE:
        return {**out, "status": IGNORED, "reason": f"the alarm went to {alarm.state}: only {ACTING_STATE} acts"}
    if not selected(config, alarm):
        return {**out, "status": IGNORED,
                "reason": f"the alarm's name matches none of alarm_names {list(config.alarm_names)}"}
    request = request_for(config, alarm)
    if config.dry_run:
        return {**out, "status": DRY_RUN, "request": request}
    if config.action == "webhook":
        return {**out, **call_webhook(config, request, environ)}
    return {**out, **start_sagemaker(config, request, client)}


def run_notification_type(message: Any) -> str | None:
    """The ``type`` of a run notification our SNS sink published (``model_monitor.run.…``), else None."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            return None
    kind = message.get("type") if isinstance(message, dict) else None
    return kind if isinstance(kind, str) and kind.startswith(RUN_NOTIFICATION_PREFIX) else None


def _ignored_notification(kind: str, config: RetrainConfig) -> dict[str, Any]:
    return {"alarm": None, "state": None, "action": config.action, "status": IGNORED,
            "reason": f"a model-monitor run notification ({kind}), not a CloudWatch alarm: the retrain hook acts on "
                      "alarms, which decide when a violation is worth retraining"}


def run(event: Any, config: RetrainConfig, client=None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Every record of ``event`` under ``config``. Every record is checked before any action runs."""
    records: list[AlarmChange | str] = []
    for where, message in alarm_messages(event):
        kind = run_notification_type(message)
        records.append(kind if kind is not None else parse_alarm(message, where))
    results = [_ignored_notification(r, config) if isinstance(r, str) else act(config, r, client, environ)
               for r in records]
    for r in results:
        what = f"alarm {r['alarm']} ({r['state']})" if r["alarm"] is not None else "run notification"
        log.info("retrain: %s → %s%s", what, r["status"], f": {r['reason']}" if "reason" in r else "")
    return {"results": results, "started": sum(r["status"] == STARTED for r in results),
            "ignored": sum(r["status"] == IGNORED for r in results)}


_cached: tuple[tuple[str, str], RetrainConfig] | None = None  # a warm Lambda reads its configuration once


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The Lambda entry point (``monitor_lib.retrain.handler``). Returns what was done per record; raises
    :class:`ConfigError` / :class:`EventError` / :class:`RetrainError` (one line) so Lambda records the failure and
    retries — safely, since a retry reuses the job name / request token."""
    global _cached
    env_key = (os.environ.get(ENV_CONFIG, ""), os.environ.get(ENV_CONFIG_FILE, ""))
    if _cached is None or _cached[0] != env_key:
        _cached = (env_key, load_config())
    return run(event, _cached[1])
