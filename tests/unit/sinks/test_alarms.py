"""``model-monitor alarms create`` without AWS: the PutMetricAlarm requests built from baseline constraints (the real
SageMaker fixtures and hand-written ones), checked against the constraints read here with ``json`` and validated
by botocore's Stubber (which checks every request against CloudWatch's API model)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from helpers import FIXTURES

from monitor_lib.alarms import (
    AlarmSettings,
    alarm_name,
    bias_plan,
    create_alarms,
    data_quality_plan,
    model_quality_plan,
    put_metric_alarm_requests,
)
from monitor_lib.cli import main
from monitor_lib.errors import ConfigError
from monitor_lib.monitors.registry import get

TOPIC = "arn:aws:sns:us-east-1:123456789012:model-monitor-alerts"
DQ = FIXTURES / "sdk-pipeline-dq-baseline" / "good_cases" / "constraints.json"
MQ = FIXTURES / "sdk-pipeline-mq-regression" / "good_cases" / "constraints.json"
BIAS = FIXTURES / "sdk-clarify-data-bias" / "good_cases" / "analysis.json"
DIMS = [{"Name": "Endpoint", "Value": "credit"}, {"Name": "MonitoringSchedule", "Value": "hourly"}]


def settings(namespace: str = "aws/sagemaker/Endpoints/data-metrics", **kw) -> AlarmSettings:
    return AlarmSettings(namespace=namespace, sns_topic_arn=TOPIC, endpoint="credit", schedule="hourly",
                         source="baseline/constraints.json", **kw)


def stubbed_create(requests: list[dict]) -> list[str]:
    """create_alarms through a CloudWatch client whose Stubber validates each request against the API model."""
    client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        for r in requests:
            stub.add_response("put_metric_alarm", {}, expected_params=r)
        names = create_alarms(requests, client)
        stub.assert_no_pending_responses()
    return names


def common(r: dict) -> None:
    """What every alarm has: hourly defaults, the topic for ALARM and OK."""
    assert r["AlarmActions"] == [TOPIC] and r["OKActions"] == [TOPIC] and r["ActionsEnabled"] is True
    assert (r["EvaluationPeriods"], r["DatapointsToAlarm"], r["TreatMissingData"]) == (1, 1, "notBreaching")
    assert r["AlarmName"].startswith("model-monitor/credit/hourly/")
    assert "baseline/constraints.json" in r["AlarmDescription"]


def test_real_data_quality_constraints_give_a_drift_and_a_completeness_alarm_per_feature():
    doc = json.loads(DQ.read_text())
    requests = put_metric_alarm_requests(data_quality_plan(doc, str(DQ), "credit", "hourly"), settings())
    threshold = doc["monitoring_config"]["distribution_constraints"]["comparison_threshold"]
    expected = {}
    for f in doc["features"]:
        expected[f"feature_baseline_drift_{f['name']}"] = ("Maximum", "GreaterThanThreshold", threshold)
        expected[f"feature_non_null_{f['name']}"] = ("Minimum", "LessThanThreshold", f["completeness"])
    got = {r["MetricName"]: (r["Statistic"], r["ComparisonOperator"], r["Threshold"]) for r in requests}
    assert got == expected and len(requests) == 12
    for r in requests:
        common(r)
        assert r["Namespace"] == "aws/sagemaker/Endpoints/data-metrics" and r["Dimensions"] == DIMS
        assert r["Period"] == 3600 and r["AlarmName"] == f"model-monitor/credit/hourly/{r['MetricName']}"
    assert stubbed_create(requests) == [r["AlarmName"] for r in requests]


def test_data_quality_thresholds_follow_types_overrides_and_switches():
    doc = {"version": 0.0, "features": [
        {"name": "amount", "inferred_type": "Fractional", "completeness": 0.97,
         "monitoringConfigOverrides": {"comparison_threshold": 0.25}},
        {"name": "city", "inferred_type": "String", "completeness": 1.0},
        {"name": "channel", "inferred_type": "String",
         "monitoringConfigOverrides": {"categorical_drift_method": "ChiSquared",
                                       "categorical_comparison_threshold": 0.05}},
        {"name": "flag", "inferred_type": "Boolean", "completeness": 0.5},
        {"name": "quiet", "inferred_type": "Integral", "completeness": 1.0,
         "monitoringConfigOverrides": {"emit_metrics": "Disabled"}},
        {"name": "same", "inferred_type": "Integral", "completeness": 1.0,
         "monitoringConfigOverrides": {"perform_comparison": "Disabled"}},
        {"name": "unchecked", "inferred_type": "Integral", "completeness": 1.0,
         "monitoringConfigOverrides": {"evaluate_constraints": "Disabled"}},
    ], "monitoring_config": {"evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
                             "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": 0.1,
                                                          "categorical_comparison_threshold": 0.2}}}
    plan = data_quality_plan(doc, "c.json", "credit", "hourly")
    got = {a.metric_name: (a.statistic, a.comparison_operator, a.threshold) for a in plan.alarms}
    assert got == {
        "feature_baseline_drift_amount": ("Maximum", "GreaterThanThreshold", 0.25),  # the feature's override
        "feature_non_null_amount": ("Minimum", "LessThanThreshold", 0.97),
        "feature_baseline_drift_city": ("Maximum", "GreaterThanThreshold", 0.2),  # categorical threshold
        "feature_non_null_city": ("Minimum", "LessThanThreshold", 1.0),
        # ChiSquared publishes 1 - p and violates when p < alpha: the alarm compares with 1 - alpha
        "feature_baseline_drift_channel": ("Maximum", "GreaterThanThreshold", pytest.approx(0.95, abs=1e-15)),
        "feature_non_null_flag": ("Minimum", "LessThanThreshold", 0.5),
        "feature_non_null_same": ("Minimum", "LessThanThreshold", 1.0),
    }
    skipped = dict(plan.not_alarmed)
    assert set(skipped) == {"feature_non_null_channel", "feature_baseline_drift_flag", "quiet",
                            "feature_baseline_drift_same", "unchecked"}
    assert "emit_metrics" in skipped["quiet"] and "evaluate_constraints" in skipped["unchecked"]
    stubbed_create(put_metric_alarm_requests(plan, settings()))


def test_real_model_quality_constraints_keep_threshold_and_operator():
    doc = json.loads(MQ.read_text())
    requests = put_metric_alarm_requests(model_quality_plan(doc, str(MQ), "credit", "hourly"),
                                         settings("aws/sagemaker/Endpoints/model-metrics"))
    expected = {name: (c["threshold"], c["comparison_operator"],
                       "Maximum" if c["comparison_operator"].startswith("Greater") else "Minimum")
                for name, c in doc["regression_constraints"].items()}
    assert {r["MetricName"]: (r["Threshold"], r["ComparisonOperator"], r["Statistic"]) for r in requests} == expected
    assert expected["r2"][1:] == ("LessThanThreshold", "Minimum")  # the file's one Less operator
    for r in requests:
        common(r)
        assert r["Namespace"] == "aws/sagemaker/Endpoints/model-metrics" and r["Dimensions"] == DIMS
    stubbed_create(requests)


def bias_doc() -> dict:
    return {"version": "1.0",
            "pre_training_bias_metrics": {"label": "default", "label_value_or_threshold": "1", "facets": {
                "SEX": [{"value_or_threshold": "2", "metrics": [
                    {"name": "CI", "value": -0.2}, {"name": "DPL", "value": 0.031},
                    {"name": "KL", "value": None, "error": "no positive labels"}]}],
                "AGE": [{"value_or_threshold": "(40, 79]", "metrics": [{"name": "DPL", "value": 0.01}]}]}},
            "post_training_bias_metrics": {"label": "default", "label_value_or_threshold": "1", "facets": {
                "SEX": [{"value_or_threshold": "2", "metrics": [
                    {"name": "DI", "value": 0.8}, {"name": "RD", "value": "Infinity"}]}]}}}


def test_bias_alarms_are_the_drift_rule_as_metric_math():
    plan = bias_plan(bias_doc(), "analysis.json", "credit", "hourly")
    requests = put_metric_alarm_requests(plan, settings("aws/sagemaker/Endpoints/bias-metrics"))
    # |value - neutral| > |baseline - neutral|, neutral 0 (1 for DI)
    expected = {("bias_metric_CI", "Pre-training"): ("ABS(m1)", 0.2),
                ("bias_metric_DPL", "Pre-training"): ("ABS(m1)", 0.031),
                ("bias_metric_DI", "Post-Training"): ("ABS(m1 - 1)", 0.2)}
    got = {}
    for r in requests:
        common(r)
        stat, expression = r["Metrics"]
        metric = stat["MetricStat"]["Metric"]
        dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert dims == {"Endpoint": "credit", "MonitoringSchedule": "hourly", "BiasStage": dims["BiasStage"],
                        "Label": "default", "LabelValue": "1", "Facet": "SEX", "FacetValue": "2"}
        assert metric["Namespace"] == "aws/sagemaker/Endpoints/bias-metrics"
        assert stat["MetricStat"]["Period"] == 3600 and stat["ReturnData"] is False and expression["ReturnData"]
        assert r["ComparisonOperator"] == "GreaterThanThreshold" and "Statistic" not in r and "MetricName" not in r
        got[(metric["MetricName"], dims["BiasStage"])] = (expression["Expression"], r["Threshold"])
    assert got == {k: (e, pytest.approx(t, abs=1e-12)) for k, (e, t) in expected.items()}
    reasons = {what.split(" ")[0] + " " + what.split("(")[1].split(",")[0]: why for what, why in plan.not_alarmed}
    assert set(reasons) == {"bias_metric_KL Pre-training", "bias_metric_DPL Pre-training",
                            "bias_metric_RD Post-Training"}
    assert "continuous facet" in reasons["bias_metric_DPL Pre-training"]  # AGE (40, 79]
    assert "infinite" in reasons["bias_metric_RD Post-Training"]
    assert "no value" in reasons["bias_metric_KL Pre-training"]
    stubbed_create(requests)


def test_the_real_bias_baseline_has_only_a_continuous_facet_and_so_no_alarm():
    doc = json.loads(BIAS.read_text())
    plan = get("model-bias").alarm_plan(doc, str(BIAS), "credit", "hourly")
    n_metrics = sum(len(e["metrics"]) for entries in doc["pre_training_bias_metrics"]["facets"].values()
                    for e in entries)
    assert plan.alarms == [] and len(plan.not_alarmed) == n_metrics == 8
    assert all("continuous facet" in why for _, why in plan.not_alarmed)


def test_feature_attribution_is_not_alarmable():
    with pytest.raises(ConfigError, match="model-explainability: no alarm can be made: .*NDCG"):
        get("model-explainability").alarm_plan({}, "analysis.json", "credit", "hourly")


def test_namespaces_follow_the_notebooks_and_batch_transform():
    assert get("data-quality").cloudwatch_namespace("credit") == "aws/sagemaker/Endpoints/data-metrics"
    assert get("model-quality").cloudwatch_namespace(None) == "aws/sagemaker/ModelMonitoring/model-metrics"
    assert get("model-bias").cloudwatch_namespace("e") == "aws/sagemaker/Endpoints/bias-metrics"
    assert get("model-explainability").cloudwatch_namespace("e") == "aws/sagemaker/Endpoints/explainability-metrics"


def test_alarm_names_are_deterministic_and_within_cloudwatch_limits():
    s = settings()
    assert alarm_name(s, "feature_non_null_age") == "model-monitor/credit/hourly/feature_non_null_age"
    long_key = "feature_baseline_drift_" + "x" * 400
    name = alarm_name(s, long_key)
    assert len(name) == 255 and name == alarm_name(s, long_key) and name != alarm_name(s, long_key + "y")
    assert alarm_name(AlarmSettings(namespace="n", sns_topic_arn=TOPIC, prefix=""), "mae") == "mae"


@pytest.mark.parametrize("kw, message", [
    ({"sns_topic_arn": "my-topic"}, "not an SNS topic ARN"),
    ({"period": 90}, "--period 90"),
    ({"treat_missing_data": "never"}, "--treat-missing-data"),
])
def test_bad_settings_are_config_errors(kw, message):
    args = {"namespace": "n", "sns_topic_arn": TOPIC, **kw}
    with pytest.raises(ConfigError, match=message):
        AlarmSettings(**args)


def test_ok_actions_can_be_left_out_and_period_and_missing_data_set():
    plan = model_quality_plan(json.loads(MQ.read_text()), str(MQ), None, "batch")
    s = AlarmSettings(namespace="aws/sagemaker/ModelMonitoring/model-metrics", sns_topic_arn=TOPIC, schedule="batch",
                      ok_actions=False, period=86400, treat_missing_data="missing")
    for r in put_metric_alarm_requests(plan, s):
        assert r["OKActions"] == [] and r["Period"] == 86400 and r["TreatMissingData"] == "missing"
        assert r["Dimensions"] == [{"Name": "MonitoringSchedule", "Value": "batch"}]
        assert r["AlarmName"] == f"model-monitor/batch/{r['MetricName']}"


def test_dry_run_prints_the_requests_as_json(capsys):
    code = main(["alarms", "create", "--type", "model-quality", "--baseline-constraints", str(MQ),
                 "--sns-topic-arn", TOPIC, "--endpoint", "credit", "--schedule", "hourly", "--dry-run"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == put_metric_alarm_requests(model_quality_plan(json.loads(MQ.read_text()), str(MQ), "credit",
                                                                   "hourly"),
                                                AlarmSettings(namespace="aws/sagemaker/Endpoints/model-metrics",
                                                              sns_topic_arn=TOPIC, endpoint="credit",
                                                              schedule="hourly", source=str(MQ)))
    assert len(printed) == 4


def test_cli_errors_are_one_line(capsys):
    assert main(["alarms", "create", "--type", "model-explainability", "--baseline-constraints", str(BIAS),
                 "--sns-topic-arn", TOPIC, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --type model-explainability: no alarm can be made") and err.count("\n") == 1
    assert main(["alarms", "create", "--baseline-constraints", str(DQ), "--sns-topic-arn", "topic"]) == 2
    assert "not an SNS topic ARN" in capsys.readouterr().err
