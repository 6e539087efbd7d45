"""``model-monitor alarms create``: one CloudWatch alarm per check a baseline's constraints define, on the metrics
the runs publish (:mod:`monitor_lib.sinks.cloudwatch_api`), with its actions sent to an SNS topic.

The request building is pure: a monitor turns its baseline file into an :class:`AlarmPlan`
(:meth:`monitor_lib.monitors.base.Monitor.alarm_plan`, the functions below), :func:`put_metric_alarm_requests`
turns the plan into PutMetricAlarm requests. Only :func:`create_alarms` talks to AWS.

What each monitor's alarms are (the threshold is the one the monitor's own check uses, so an alarm fires on the
hour a violation is written):

* data quality (``constraints.json``), per feature whose effective ``emit_metrics`` and ``evaluate_constraints``
  are Enabled:
  ``feature_baseline_drift_<f>`` Maximum > the drift threshold (Integral / Fractional: ``comparison_threshold``;
  String: ``categorical_comparison_threshold``, or 1 − it for ChiSquared, whose published distance is 1 − p),
  when ``perform_comparison`` is Enabled; ``feature_non_null_<f>`` Minimum < the feature's ``completeness``.
* model quality (``constraints.json``): each constrained metric with its ``threshold`` and
  ``comparison_operator`` (CloudWatch has the same four operator names); Maximum for the Greater operators,
  Minimum for the Less ones (the worse value when several runs land in one period).
* model bias (the baseline's ``analysis.json``): per metric of each facet entry, the check is "farther from the
  neutral value (0; 1 for DI) than the baseline": a metric-math alarm ``ABS(m1 - neutral)`` > ``|baseline -
  neutral|``. Not alarmable: a continuous facet's entries (their FacetValue ``(t, max]`` follows each window's
  maximum, so no fixed metric exists), a metric without a value or an infinite one in the baseline.
* feature attribution: nothing. Its check (the NDCG of a window's feature ranking against the baseline's) is
  not a published metric, and the published global SHAP values have no threshold in the baseline.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from monitor_lib.errors import ConfigError
from monitor_lib.formats.cloudwatch import CLOUDWATCH_INFINITY, bias_metrics, dimensions

GREATER_OPERATORS = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold")
LESS_OPERATORS = ("LessThanThreshold", "LessThanOrEqualToThreshold")
TREAT_MISSING_DATA = ("notBreaching", "breaching", "ignore", "missing")
DEFAULT_PREFIX = "model-monitor"
MAX_NAME = 255  # CloudWatch's AlarmName limit
MAX_DESCRIPTION = 1024  # AlarmDescription


@dataclass(frozen=True)
class AlarmMetric:
    """One alarm of a plan: the metric (as the runs publish it), how it is compared, and why that threshold."""

    key: str  # the alarm name's own part, e.g. feature_baseline_drift_age
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]  # every dimension the runs publish it with, in their order
    statistic: str  # Maximum | Minimum | Average
    comparison_operator: str
    threshold: float
    reason: str  # where the threshold comes from (the alarm description)
    expression: str | None = None  # metric math over the metric as m1 (bias: ABS(m1 - neutral))


@dataclass
class AlarmPlan:
    alarms: list[AlarmMetric] = field(default_factory=list)
    not_alarmed: list[tuple[str, str]] = field(default_factory=list)  # (what, why)


@dataclass(frozen=True)
class AlarmSettings:
    """How every alarm of a plan is made (the ``alarms create`` flags)."""

    namespace: str
    sns_topic_arn: str
    period: int = 3600
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    treat_missing_data: str = "notBreaching"
    prefix: str = DEFAULT_PREFIX
    endpoint: str | None = None
    schedule: str | None = None
    ok_actions: bool = True  # the topic hears the return to OK too (a PagerDuty resolve, a ticket closed)
    source: str = ""  # the baseline file, named in each description

    def __post_init__(self) -> None:
        check_sns_topic_arn(self.sns_topic_arn)
        if self.period not in (10, 30) and (self.period < 60 or self.period % 60):
            raise ConfigError(f"--period {self.period}: CloudWatch accepts 10, 30 or a multiple of 60 seconds "
                              "(3600 for hourly runs)")
        if self.treat_missing_data not in TREAT_MISSING_DATA:
            raise ConfigError(f"--treat-missing-data {self.treat_missing_data!r}: one of "
                              f"{', '.join(TREAT_MISSING_DATA)}")
        if not self.namespace:
            raise ConfigError("--namespace must not be empty")


def check_sns_topic_arn(arn: str) -> None:
    parts = (arn or "").split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[5]:
        raise ConfigError(f"--sns-topic-arn {arn!r} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)")


# ---------------------------------------------------------------- the plans of the monitors


def _dims(endpoint: str | None, schedule: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((d["Name"], d["Value"]) for d in dimensions(endpoint, schedule))


def data_quality_plan(doc: Any, source: str, endpoint: str | None, schedule: str | None) -> AlarmPlan:
    """Drift and completeness alarms of a data-quality ``constraints.json`` (see the module docstring)."""
    from monitor_lib.checks.drift import CATEGORICAL, drift_method
    from monitor_lib.formats.constraints import parse_constraints
    from monitor_lib.profile.types import NUMERIC_TYPES, T_STRING

    constraints = parse_constraints(doc, source)
    config = constraints.monitoring_config
    dims = _dims(endpoint, schedule)
    plan = AlarmPlan()
    for fc in constraints.features:
        eff = fc.effective(config)
        if not eff.emit_metrics:
            plan.not_alarmed.append((fc.name, "emit_metrics is Disabled: the runs publish no metric for it"))
            continue
        if config.evaluate_constraints != "Enabled" or not eff.evaluate_constraints:
            plan.not_alarmed.append((fc.name, "evaluate_constraints is Disabled: the monitor checks nothing for it"))
            continue
        drift = f"feature_baseline_drift_{fc.name}"
        if not eff.perform_comparison:
            plan.not_alarmed.append((drift, "perform_comparison is Disabled: no drift distance is computed"))
        elif fc.inferred_type in NUMERIC_TYPES:
            plan.alarms.append(AlarmMetric(
                drift, drift, dims, "Maximum", "GreaterThanThreshold", float(eff.comparison_threshold),
                f"drift distance of {fc.name} above comparison_threshold {eff.comparison_threshold:g} "
                f"({eff.comparison_method} L-infinity)"))
        elif fc.inferred_type == T_STRING:
            method = drift_method(CATEGORICAL, eff.categorical_drift_method)
            alpha = float(eff.categorical_comparison_threshold)
            threshold = 1.0 - alpha if method.threshold_is_significance else alpha
            why = (f"1 - p of the ChiSquared test above 1 - categorical_comparison_threshold {alpha:g}"
                   if method.threshold_is_significance else
                   f"categorical drift distance of {fc.name} above categorical_comparison_threshold {alpha:g}")
            plan.alarms.append(AlarmMetric(drift, drift, dims, "Maximum", "GreaterThanThreshold", threshold, why))
        else:
            plan.not_alarmed.append((drift, f"inferred_type {fc.inferred_type}: no distribution to compare"))
        if fc.completeness is None:
            plan.not_alarmed.append((f"feature_non_null_{fc.name}", "the constraints give no completeness"))
        else:
            name = f"feature_non_null_{fc.name}"
            plan.alarms.append(AlarmMetric(
                name, name, dims, "Minimum", "LessThanThreshold", float(fc.completeness),
                f"completeness of {fc.name} below the constraint's completeness {fc.completeness:g}"))
    return plan


def model_quality_plan(doc: Any, source: str, endpoint: str | None, schedule: str | None) -> AlarmPlan:
    """One alarm per constrained metric of a model-quality ``constraints.json``."""
    from monitor_lib.formats.model_quality import parse_model_quality_constraints

    constraints = parse_model_quality_constraints(doc, source)
    dims = _dims(endpoint, schedule)
    plan = AlarmPlan()
    for name, c in constraints.constraints.items():
        if not math.isfinite(c.threshold):
            plan.not_alarmed.append((name, f"threshold {c.threshold} is not a number CloudWatch accepts"))
            continue
        statistic = "Maximum" if c.comparison_operator in GREATER_OPERATORS else "Minimum"
        plan.alarms.append(AlarmMetric(
            name, name, dims, statistic, c.comparison_operator, float(c.threshold),
            f"{constraints.problem_type} {name} {c.comparison_operator} {c.threshold!r} "
            "(the baseline's constraint)"))
    return plan


def bias_plan(doc: Any, source: str, endpoint: str | None, schedule: str | None) -> AlarmPlan:
    """One metric-math alarm per metric of each categorical facet entry of a bias baseline's ``analysis.json``."""
    from datetime import UTC, datetime

    from monitor_lib.bias.analysis import NEUTRAL
    from monitor_lib.formats.clarify import STAGE_NAMES, metric_values

    plan = AlarmPlan()
    for v in metric_values(doc, source):  # what the runs cannot publish (bias_metrics leaves them out)
        if v.value is None or math.isnan(v.value):
            plan.not_alarmed.append((_bias_what(v.name, STAGE_NAMES[v.stage], v.facet, v.facet_value),
                                     "the baseline has no value for it"))
    for record in bias_metrics(doc, datetime(2000, 1, 1, tzinfo=UTC), endpoint, schedule):
        dims = tuple((d["Name"], d["Value"]) for d in record["Dimensions"])
        named = dict(dims)
        name = record["MetricName"].removeprefix("bias_metric_")
        what = _bias_what(name, named["BiasStage"], named["Facet"], named["FacetValue"])
        if _continuous(named["FacetValue"]):
            plan.not_alarmed.append((what, "a continuous facet: its FacetValue (t, max] follows each window's "
                                           "maximum, so no fixed metric exists to alarm on"))
            continue
        value = float(record["Value"])
        if abs(value) >= CLOUDWATCH_INFINITY:
            plan.not_alarmed.append((what, "the baseline's value is infinite: no finite threshold"))
            continue
        neutral = NEUTRAL.get(name, 0.0)
        plan.alarms.append(AlarmMetric(
            f"{record['MetricName']}/{named['BiasStage']}/{named['Facet']}={named['FacetValue']}",
            record["MetricName"], dims, "Average", "GreaterThanThreshold", abs(value - neutral),
            f"{name} of {named['Facet']}={named['FacetValue']} ({named['BiasStage']}) farther from {neutral:g} "
            f"than the baseline's {value!r}",
            expression=f"ABS(m1 - {neutral:g})" if neutral else "ABS(m1)"))
    return plan


def _bias_what(name: str, stage: str, facet: str, facet_value: str) -> str:
    return f"bias_metric_{name} ({stage}, {facet}={facet_value})"


def _continuous(text: str) -> bool:
    return text.startswith("(") and text.endswith("]")


def not_alarmable(monitor_name: str, why: str) -> ConfigError:
    return ConfigError(f"--type {monitor_name}: no alarm can be made: {why}")


# ---------------------------------------------------------------- requests


def alarm_name(settings: AlarmSettings, key: str) -> str:
    """``<prefix>/<endpoint>/<schedule>/<metric…>``: the same baseline and flags give the same names, so running
    ``alarms create`` again updates the alarms instead of adding new ones. A name over CloudWatch's 255
    characters is cut and ends with a digest of the whole name."""
    name = "/".join(p for p in (settings.prefix, settings.endpoint, settings.schedule, key) if p)
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        name = f"{name[:MAX_NAME - len(digest) - 1]}~{digest}"
    return name


def put_metric_alarm_requests(plan: AlarmPlan, settings: AlarmSettings) -> list[dict]:
    """The PutMetricAlarm request of each alarm of ``plan`` (pure)."""
    return [_request(a, settings) for a in plan.alarms]


def _request(a: AlarmMetric, s: AlarmSettings) -> dict:
    description = (f"{a.reason}. Baseline: {s.source or 'the baseline constraints'}. "
                   "Made by model-monitor alarms create.")
    request: dict[str, Any] = {
        "AlarmName": alarm_name(s, a.key),
        "AlarmDescription": description[:MAX_DESCRIPTION],
        "ActionsEnabled": True,
        "AlarmActions": [s.sns_topic_arn],
        "OKActions": [s.sns_topic_arn] if s.ok_actions else [],
        "EvaluationPeriods": s.evaluation_periods,
        "DatapointsToAlarm": s.datapoints_to_alarm,
        "Threshold": a.threshold,
        "ComparisonOperator": a.comparison_operator,
        "TreatMissingData": s.treat_missing_data,
    }
    metric = {"Namespace": s.namespace, "MetricName": a.metric_name,
              "Dimensions": [{"Name": n, "Value": v} for n, v in a.dimensions]}
    if a.expression is None:
        request.update(metric, Statistic=a.statistic, Period=s.period)
    else:
        request["Metrics"] = [
            {"Id": "m1", "MetricStat": {"Metric": metric, "Period": s.period, "Stat": a.statistic},
             "ReturnData": False},
            {"Id": "e1", "Expression": a.expression, "Label": a.key, "ReturnData": True},
        ]
    return request


def dry_run_text(requests: list[dict]) -> str:
    return json.dumps(requests, indent=2, ensure_ascii=False)


# ---------------------------------------------------------------- the one call to AWS


def cloudwatch_client():
    """boto3's CloudWatch client from the standard environment (region, credentials, AWS_ENDPOINT_URL /
    AWS_ENDPOINT_URL_CLOUDWATCH), standard retry mode."""
    import boto3
    from botocore.config import Config

    return boto3.client("cloudwatch", config=Config(retries={"mode": "standard"}, connect_timeout=10,
                                                    read_timeout=30))


def create_alarms(requests: Iterable[dict], client=None) -> list[str]:
    """PutMetricAlarm each request (an alarm of the same name is updated); the names, in order."""
    from botocore.exceptions import BotoCoreError, ClientError

    from monitor_lib.errors import MonitorError

    client = client or cloudwatch_client()
    names = []
    for request in requests:
        try:
            client.put_metric_alarm(**request)
        except (BotoCoreError, ClientError) as e:
            raise MonitorError(f"PutMetricAlarm {request['AlarmName']}: {' '.join(str(e).split())}") from None
        names.append(request["AlarmName"])
    return names
