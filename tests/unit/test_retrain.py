"""The retrain hook (monitor_lib/retrain.py) fed the Lambda SNS event of a CloudWatch alarm, built from the documented
shape (aws-lambda-go events/testdata/cloudwatch-alarm-sns-payload-single-metric.json, operations.md §4). The SageMaker
requests go through a real boto3 client with botocore's Stubber, which validates every parameter against the
service model; names are checked against the model's own patterns and lengths. No network."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber

from monitor_lib import retrain
from monitor_lib.errors import ConfigError
from monitor_lib.retrain import EventError, RetrainError

REPO = Path(__file__).resolve().parents[2]

ALARM_ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-endpoint-feature_baseline_drift_age"
CHANGE_TIME = "2026-11-20T10:15:00.123+0000"  # CloudWatch's spelling: milliseconds and +0000


def alarm_message(**overrides) -> dict:
    """The JSON CloudWatch publishes to SNS on an alarm state change, every documented field present."""
    message = {
        "AlarmName": "churn-endpoint-feature_baseline_drift_age",
        "AlarmDescription": "Drift of age against the baseline",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [0.42 (20/11/26 09:00:00)] was greater "
                          "than the threshold (0.1) (minimum 1 datapoint for OK -> ALARM transition).",
        "StateChangeTime": CHANGE_TIME,
        "Region": "US East (N. Virginia)",
        "AlarmArn": ALARM_ARN,
        "OldStateValue": "OK",
        "Trigger": {
            "MetricName": "feature_baseline_drift_age",
            "Namespace": "aws/sagemaker/Endpoints/data-metrics",
            "StatisticType": "Statistic",
            "Statistic": "MAXIMUM",
            "Unit": None,
            "Dimensions": [{"value": "churn-endpoint", "name": "Endpoint"},
                           {"value": "churn-hourly", "name": "MonitoringSchedule"}],
            "Period": 3600,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 0.1,
            "TreatMissingData": "- TreatMissingData:                    notBreaching",
            "EvaluateLowSampleCountPercentile": "",
        },
    }
    message.update(overrides)
    return message


def sns_event(*messages: dict | str) -> dict:
    """Lambda's SNS event: one record per message, Sns.Message the JSON string."""
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:model-monitor-alarms:2bcfbf39",
        "Sns": {"Type": "Notification", "MessageId": f"95df01b4-ee98-5cb9-9903-4c221d41eb5{i}",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:model-monitor-alarms",
                "Subject": "ALARM: \"churn-endpoint-feature_baseline_drift_age\" in US East (N. Virginia)",
                "Message": m if isinstance(m, str) else json.dumps(m), "Timestamp": "2026-11-20T10:15:00.456Z",
                "SignatureVersion": "1", "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE",
                "UnsubscribeUrl": "EXAMPLE", "MessageAttributes": {}},
    } for i, m in enumerate(messages)]}


@pytest.fixture(scope="module")
def model():
    return botocore.session.get_session().get_service_model("sagemaker")


def member(model, operation: str, name: str):
    return model.operation_model(operation).input_shape.members[name]


def assert_valid_name(model, operation: str, key: str, value: str) -> None:
    meta = member(model, operation, key).metadata
    assert meta["min"] <= len(value) <= meta["max"], (key, value)
    assert re.fullmatch(meta["pattern"], value), (key, value, meta["pattern"])


@pytest.fixture
def sagemaker():
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


PIPELINE = {"pipeline": {
    "name": "churn-retrain",
    "description": "alarm ${alarm_name} (${metric_name} > ${threshold})",
    "parameters": {"AlarmName": "${alarm_name}", "Metric": "${metric_name}", "Feature": "${feature}",
                   "EndpointName": "${endpoint}", "Schedule": "${schedule}", "ChangedAt": "${state_change_time}",
                   "Price": "$$5", "Epochs": 3}}}

TRAINING_REQUEST = {
    "AlgorithmSpecification": {"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:latest",
                               "TrainingInputMode": "File"},
    "RoleArn": "arn:aws:iam::123456789012:role/sagemaker-training",
    "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": "s3://churn/train/", "S3DataDistributionType": "FullyReplicated"}}}],
    "OutputDataConfig": {"S3OutputPath": "s3://churn/models/${job_name}/"},
    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    "HyperParameters": {"reason-metric": "${metric_name}", "endpoint": "${endpoint}"},
    "Tags": [{"Key": "triggered-by", "Value": "${alarm_name}"}],
}

PROCESSING_REQUEST = {
    "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                              "VolumeSizeInGB": 20}},
    "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/retrain:1",
                         "ContainerArguments": ["--endpoint", "${endpoint}", "--since", "${state_change_time}"]},
    "RoleArn": "arn:aws:iam::123456789012:role/sagemaker-processing",
    "Environment": {"ALARM": "${alarm_name}", "SCHEDULE": "${schedule}"},
}


def config(doc: dict) -> retrain.RetrainConfig:
    return retrain.parse_config(doc)


# ---------------------------------------------------------------- the event


def test_the_documented_alarm_message_is_read_field_by_field():
    alarm = retrain.parse_alarm(json.dumps(alarm_message()))
    assert (alarm.name, alarm.arn, alarm.state, alarm.previous_state, alarm.account) == (
        "churn-endpoint-feature_baseline_drift_age", ALARM_ARN, "ALARM", "OK", "123456789012")
    assert alarm.state_change_time.isoformat() == "2026-11-20T10:15:00.123000+00:00"
    assert (alarm.metric_name, alarm.namespace, alarm.threshold) == (
        "feature_baseline_drift_age", "aws/sagemaker/Endpoints/data-metrics", 0.1)
    assert (alarm.endpoint, alarm.schedule) == ("churn-endpoint", "churn-hourly")
    values = alarm.values()
    assert values["feature"] == "age"
    assert values["state_change_time"] == "2026-11-20T10:15:00.123Z"
    assert values["state_change_stamp"] == "20261120T101500Z"


def test_the_aws_lambda_go_sample_itself_is_read():
    """The sample's own odd values: a Threshold of 0.0, 'AVERAGE', a non-SageMaker dimension, a REGION in the ARN."""
    message = alarm_message(AlarmName="EXAMPLE", AlarmArn="arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE",
                            StateChangeTime="2015-06-03T17:43:27.123+0000", OldStateValue="INSUFFICIENT_DATA",
                            Trigger={"MetricName": "NetworkOut", "Namespace": "AWS/EC2", "StatisticType": "Statistic",
                                     "Statistic": "AVERAGE", "Unit": "Bytes",
                                     "Dimensions": [{"value": "TestInstance", "name": "InstanceId"}], "Period": 60,
                                     "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold",
                                     "Threshold": 0.0, "TreatMissingData": "", "EvaluateLowSampleCountPercentile": ""})
    alarm = retrain.parse_alarm(json.dumps(message))
    assert (alarm.threshold, alarm.endpoint, alarm.schedule, alarm.dimensions) == (
        0.0, "", "", {"InstanceId": "TestInstance"})
    assert retrain.job_name("retrain", alarm).startswith("retrain-20150603T174327-")


def test_a_metric_math_alarm_takes_its_first_metric():
    message = alarm_message(Trigger={"Period": 3600, "EvaluationPeriods": 1, "Threshold": 0.1, "Metrics": [
        {"Id": "e1", "Expression": "MAX(METRICS())", "ReturnData": True},
        {"Id": "m1", "ReturnData": False, "MetricStat": {"Metric": {
            "MetricName": "feature_baseline_drift_income", "Namespace": "aws/sagemaker/Endpoints/data-metrics",
            "Dimensions": [{"value": "churn-endpoint", "name": "Endpoint"}]}, "Period": 3600, "Stat": "Maximum"}}]})
    alarm = retrain.parse_alarm(message)
    assert (alarm.metric_name, alarm.endpoint, alarm.values()["feature"]) == (
        "feature_baseline_drift_income", "churn-endpoint", "income")


@pytest.mark.parametrize("event, expected", [
    ({}, "event: expected Lambda's SNS event"),
    ({"Records": []}, "event: expected Lambda's SNS event"),
    ({"Records": [{"EventSource": "aws:sqs", "body": "{}"}]}, "Records[0]: no Sns.Message"),
    (sns_event("not json"), "Records[0]: Sns.Message is not JSON"),
    (sns_event("[1, 2]"), "Records[0]: Sns.Message is a JSON list, expected an object"),
    (sns_event({"status": "CompletedWithViolations", "violations": []}),
     "Records[0]: Sns.Message lacks AlarmName, AlarmArn, NewStateValue, StateChangeTime: it is not a CloudWatch"),
    (sns_event(alarm_message(), alarm_message(StateChangeTime="yesterday")),
     "Records[1]: StateChangeTime 'yesterday' is not a time like 2015-06-03T17:43:27.123+0000"),
    (sns_event(alarm_message(Trigger={"Threshold": "high"})), "Records[0]: Trigger.Threshold 'high' is not a number"),
])
def test_a_malformed_event_is_one_clear_error_and_nothing_is_started(sagemaker, event, expected):
    client, _ = sagemaker  # no response queued: any SageMaker call would fail the test
    with pytest.raises(EventError) as e:
        retrain.run(event, config(PIPELINE), client)
    assert str(e.value).startswith(expected), str(e.value)
    assert "\n" not in str(e.value)


# ---------------------------------------------------------------- what acts


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_ok_and_insufficient_data_are_ignored_and_say_so(sagemaker, state):
    client, _ = sagemaker
    answer = retrain.run(sns_event(alarm_message(NewStateValue=state, OldStateValue="ALARM")), config(PIPELINE), client)
    assert answer["started"] == 0 and answer["ignored"] == 1
    (result,) = answer["results"]
    assert result["status"] == "ignored"
    assert result["reason"] == f"the alarm went to {state}: only ALARM acts"
    assert result["alarm"] == "churn-endpoint-feature_baseline_drift_age"


def test_alarm_names_select_which_alarms_act(sagemaker):
    client, stub = sagemaker
    chosen = config({**PIPELINE, "alarm_names": ["*feature_baseline_drift*"]})
    other = alarm_message(AlarmName="churn-endpoint-completeness_age")
    stub.add_response("start_pipeline_execution", {"PipelineExecutionArn": "arn:x"})
    answer = retrain.run(sns_event(other, alarm_message()), chosen, client)
    assert [r["status"] for r in answer["results"]] == ["ignored", "started"]
    assert answer["results"][0]["reason"] == "the alarm's name matches none of alarm_names ['*feature_baseline_drift*']"


def test_dry_run_returns_the_request_and_calls_nothing(sagemaker):
    client, _ = sagemaker
    answer = retrain.run(sns_event(alarm_message()), config({**PIPELINE, "dry_run": True}), client)
    (result,) = answer["results"]
    assert result["status"] == "dry-run"
    assert result["request"]["PipelineName"] == "churn-retrain"


# ---------------------------------------------------------------- one test per action (Stubber)


def test_pipeline_execution_with_parameters_templated_from_the_alarm(sagemaker, model):
    client, stub = sagemaker
    alarm = retrain.parse_alarm(alarm_message())
    expected = {
        "PipelineName": "churn-retrain",
        "PipelineExecutionDisplayName": f"alarm-20261120T101500-{alarm.idempotency_key[:8]}",
        "ClientRequestToken": alarm.idempotency_key,
        "PipelineExecutionDescription": "alarm churn-endpoint-feature_baseline_drift_age "
                                        "(feature_baseline_drift_age > 0.1)",
        "PipelineParameters": [
            {"Name": "AlarmName", "Value": "churn-endpoint-feature_baseline_drift_age"},
            {"Name": "Metric", "Value": "feature_baseline_drift_age"},
            {"Name": "Feature", "Value": "age"},
            {"Name": "EndpointName", "Value": "churn-endpoint"},
            {"Name": "Schedule", "Value": "churn-hourly"},
            {"Name": "ChangedAt", "Value": "2026-11-20T10:15:00.123Z"},
            {"Name": "Price", "Value": "$5"},
            {"Name": "Epochs", "Value": "3"},
        ],
    }
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-retrain/execution/abc123"
    stub.add_response("start_pipeline_execution", {"PipelineExecutionArn": arn}, expected)
    answer = retrain.run(sns_event(alarm_message()), config(PIPELINE), client)
    (result,) = answer["results"]
    assert (result["status"], result["PipelineExecutionArn"], answer["started"]) == ("started", arn, 1)
    token = member(model, "StartPipelineExecution", "ClientRequestToken")
    assert token.metadata["idempotencyToken"] and token.metadata["min"] <= len(alarm.idempotency_key) <= 128
    assert_valid_name(model, "StartPipelineExecution", "PipelineExecutionDisplayName",
                      expected["PipelineExecutionDisplayName"])


def test_training_job_with_a_generated_name(sagemaker, model):
    client, stub = sagemaker
    alarm = retrain.parse_alarm(alarm_message())
    name = f"churn-retrain-20261120T101500-{alarm.idempotency_key[:8]}"
    expected = {**TRAINING_REQUEST, "TrainingJobName": name,
                "OutputDataConfig": {"S3OutputPath": f"s3://churn/models/{name}/"},
                "HyperParameters": {"reason-metric": "feature_baseline_drift_age", "endpoint": "churn-endpoint"},
                "Tags": [{"Key": "triggered-by", "Value": "churn-endpoint-feature_baseline_drift_age"}]}
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
    stub.add_response("create_training_job", {"TrainingJobArn": arn}, expected)
    cfg = config({"training_job": {"name_prefix": "churn-retrain", "request": TRAINING_REQUEST}})
    (result,) = retrain.run(sns_event(alarm_message()), cfg, client)["results"]
    assert (result["status"], result["TrainingJobName"], result["TrainingJobArn"]) == ("started", name, arn)
    assert_valid_name(model, "CreateTrainingJob", "TrainingJobName", name)


def test_processing_job_with_a_generated_name(sagemaker, model):
    client, stub = sagemaker
    alarm = retrain.parse_alarm(alarm_message())
    name = f"drift-job-20261120T101500-{alarm.idempotency_key[:8]}"
    expected = {**PROCESSING_REQUEST, "ProcessingJobName": name,
                "AppSpecification": {**PROCESSING_REQUEST["AppSpecification"], "ContainerArguments": [
                    "--endpoint", "churn-endpoint", "--since", "2026-11-20T10:15:00.123Z"]},
                "Environment": {"ALARM": "churn-endpoint-feature_baseline_drift_age", "SCHEDULE": "churn-hourly"}}
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:processing-job/{name}"
    stub.add_response("create_processing_job", {"ProcessingJobArn": arn}, expected)
    cfg = config({"processing_job": {"name_prefix": "drift-job", "request": PROCESSING_REQUEST}})
    (result,) = retrain.run(sns_event(alarm_message()), cfg, client)["results"]
    assert (result["status"], result["ProcessingJobName"], result["ProcessingJobArn"]) == ("started", name, arn)
    assert_valid_name(model, "CreateProcessingJob", "ProcessingJobName", name)


def test_the_longest_prefix_still_gives_a_valid_name(model):
    alarm = retrain.parse_alarm(alarm_message())
    longest = "p" * 38
    assert_valid_name(model, "CreateTrainingJob", "TrainingJobName", retrain.job_name(longest, alarm))
    with pytest.raises(ConfigError, match=r"name_prefix 'p{39}' must be 1-38 letters"):
        config({"training_job": {"name_prefix": "p" * 39, "request": TRAINING_REQUEST}})


# ---------------------------------------------------------------- idempotency


def test_the_same_state_change_gives_the_same_names_and_another_change_other_ones():
    first = retrain.parse_alarm(alarm_message())
    again = retrain.parse_alarm(alarm_message(NewStateReason="delivered twice", Trigger={}))
    later = retrain.parse_alarm(alarm_message(StateChangeTime="2026-11-20T11:15:00.123+0000"))
    same_second = retrain.parse_alarm(alarm_message(StateChangeTime="2026-11-20T10:15:00.124+0000"))
    other_alarm = retrain.parse_alarm(alarm_message(AlarmArn=ALARM_ARN.replace("_age", "_income")))
    spelled_z = retrain.parse_alarm(alarm_message(StateChangeTime="2026-11-20T10:15:00.123Z"))
    keys = {a.idempotency_key for a in (later, same_second, other_alarm)}
    assert first.idempotency_key == again.idempotency_key == spelled_z.idempotency_key
    assert len(keys | {first.idempotency_key}) == 4
    names = {retrain.job_name("r", a) for a in (first, again, later, same_second, other_alarm)}
    assert len(names) == 4
    assert re.fullmatch(r"[0-9a-f]{64}", first.idempotency_key)


def test_a_retried_invocation_starts_nothing_new(sagemaker):
    """SageMaker refuses a second job of the same name: the retry reports the job as already started."""
    client, stub = sagemaker
    cfg = config({"training_job": {"name_prefix": "churn-retrain", "request": TRAINING_REQUEST}})
    event = sns_event(alarm_message())
    name = retrain.job_name("churn-retrain", retrain.parse_alarm(alarm_message()))
    stub.add_response("create_training_job", {"TrainingJobArn": f"arn:aws:sagemaker:us-east-1:1:training-job/{name}"})
    stub.add_client_error("create_training_job", service_error_code="ResourceInUse",
                          service_message=f"Training job names must be unique within an AWS account and region, "
                                          f"and a training job with this name already exists ({name})",
                          expected_params={**retrain.job_request(cfg.spec, retrain.parse_alarm(alarm_message()),
                                                                 "TrainingJobName")})
    first = retrain.run(event, cfg, client)["results"][0]
    second = retrain.run(event, cfg, client)["results"][0]
    assert (first["status"], second["status"]) == ("started", "already-started")
    assert first["TrainingJobName"] == second["TrainingJobName"] == name


def test_another_aws_error_fails_the_invocation_with_one_line(sagemaker):
    client, stub = sagemaker
    stub.add_client_error("start_pipeline_execution", service_error_code="ResourceNotFound",
                          service_message="Pipeline 'churn-retrain' does not exist.")
    with pytest.raises(RetrainError) as e:
        retrain.run(sns_event(alarm_message()), config(PIPELINE), client)
    assert str(e.value) == ("start_pipeline_execution failed: ResourceNotFound: Pipeline 'churn-retrain' "
                            "does not exist.")


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize("doc, expected", [
    ([], "MODEL_MONITOR_RETRAIN: expected a JSON object with one of pipeline, training_job, processing_job, webhook"),
    ({}, "MODEL_MONITOR_RETRAIN: give exactly one action among pipeline, training_job, processing_job, webhook "
         "(found none)"),
    ({**PIPELINE, "webhook": {"url": "http://x"}}, "give exactly one action among pipeline, training_job, "
                                                   "processing_job, webhook (found pipeline, webhook)"),
    ({**PIPELINE, "alarm": "x"}, "MODEL_MONITOR_RETRAIN: unknown field 'alarm': use one of alarm_names, dry_run, "),
    ({"pipeline": {"parameters": {}}}, "MODEL_MONITOR_RETRAIN: pipeline.name is required"),
    ({"pipeline": {"name": "p", "parameters": {"A": "${alarm}"}}},
     "MODEL_MONITOR_RETRAIN: pipeline.parameters.A: unknown placeholder ${alarm}: use one of ${alarm_name}, "),
    ({"pipeline": {"name": "p", "parameters": {"A": "${job_name}"}}}, "unknown placeholder ${job_name}"),
    ({"pipeline": {"name": "p", "parameters": {"A": "costs $5"}}},
     "pipeline.parameters.A: 'costs $5' has a '$' that is not a placeholder: write $$ for a dollar sign"),
    ({"pipeline": {"name": "p", "parameters": {"a b": "x"}}}, "pipeline.parameters: 'a b' is not a pipeline "),
    ({"pipeline": {"name": "p", "parameters": {"A": ["x"]}}}, "pipeline.parameters must map pipeline parameter "),
    ({"training_job": {"name_prefix": "r", "request": {**TRAINING_REQUEST, "TrainingJobName": "fixed"}}},
     "training_job.request.TrainingJobName is generated from name_prefix"),
    ({"processing_job": {"name_prefix": "r"}}, "MODEL_MONITOR_RETRAIN: processing_job.request is required"),
    ({"processing_job": {"name_prefix": "bad_name", "request": PROCESSING_REQUEST}},
     "processing_job.name_prefix 'bad_name' must be 1-38 letters, digits and hyphens"),
    ({"processing_job": {"name_prefix": "r", "request": {"RoleArn": "${role}"}}},
     "processing_job.request.RoleArn: unknown placeholder ${role}"),
    ({"webhook": {"url": "ftp://example.invalid/x"}}, "webhook.url must be an http:// or https:// URL"),
    ({"webhook": {"url": "https://h.invalid/x", "token_env": "Bearer abc.def"}},
     "webhook.token_env must be the NAME of an environment variable"),
    ({"webhook": {"url": "https://h.invalid/x", "max_retries": -1}}, "webhook.max_retries must be a whole number"),
    ({**PIPELINE, "alarm_names": "*"}, None),
    ({**PIPELINE, "alarm_names": [""]}, "MODEL_MONITOR_RETRAIN: alarm_names must be a list of alarm-name patterns"),
    ({**PIPELINE, "dry_run": "yes"}, "MODEL_MONITOR_RETRAIN: dry_run must be true or false"),
])
def test_bad_configuration_is_one_line_naming_the_field(doc, expected):
    if expected is None:
        assert config(doc).alarm_names == ("*",)
        return
    with pytest.raises(ConfigError) as e:
        config(doc)
    assert expected in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_configuration_from_the_environment_a_file_or_neither(tmp_path):
    with pytest.raises(ConfigError, match="no retrain action configured: set MODEL_MONITOR_RETRAIN to the JSON"):
        retrain.load_config({})
    with pytest.raises(ConfigError, match="both MODEL_MONITOR_RETRAIN and MODEL_MONITOR_RETRAIN_CONFIG are set"):
        retrain.load_config({"MODEL_MONITOR_RETRAIN": "{}", "MODEL_MONITOR_RETRAIN_CONFIG": "x.json"})
    with pytest.raises(ConfigError, match=r"RETRAIN is not valid JSON \(Expecting ',' delimiter at line 1 column 28"):
        retrain.load_config({"MODEL_MONITOR_RETRAIN": '{"pipeline": {"name": "p"} "x": 1}'})
    assert retrain.load_config({"MODEL_MONITOR_RETRAIN": json.dumps(PIPELINE)}).spec == PIPELINE["pipeline"]
    as_yaml = tmp_path / "retrain.yaml"
    as_yaml.write_text("processing_job:\n  name_prefix: drift-job\n  request:\n    RoleArn: arn:aws:iam::1:role/r\n")
    loaded = retrain.load_config({"MODEL_MONITOR_RETRAIN_CONFIG": str(as_yaml)})
    assert (loaded.action, loaded.spec["request"]) == ("processing_job", {"RoleArn": "arn:aws:iam::1:role/r"})
    with pytest.raises(ConfigError, match=r"MODEL_MONITOR_RETRAIN_CONFIG .*missing.json cannot be read: No such file"):
        retrain.load_config({"MODEL_MONITOR_RETRAIN_CONFIG": str(tmp_path / "missing.json")})
    broken = tmp_path / "broken.json"
    broken.write_text('{"webhook": ')
    with pytest.raises(ConfigError, match=r"broken.json is not valid JSON \(Expecting value at line 1 column 13\)"):
        retrain.load_config({"MODEL_MONITOR_RETRAIN_CONFIG": str(broken)})


def test_the_example_configuration_is_valid_and_templates_every_parameter():
    cfg = retrain.load_config({"MODEL_MONITOR_RETRAIN_CONFIG": str(REPO / "conf" / "retrain.example.json")})
    request = retrain.request_for(cfg, retrain.parse_alarm(alarm_message()))
    assert {p["Name"]: p["Value"] for p in request["PipelineParameters"]} == {
        "AlarmName": "churn-endpoint-feature_baseline_drift_age", "MetricName": "feature_baseline_drift_age",
        "Feature": "age", "EndpointName": "churn-endpoint", "MonitoringSchedule": "churn-hourly",
        "StateChangeTime": "2026-11-20T10:15:00.123Z"}
    named = "model-monitor/churn-endpoint/churn-hourly/"  # the names 'model-monitor alarms create' gives
    assert retrain.selected(cfg, retrain.parse_alarm(alarm_message(AlarmName=named + "feature_baseline_drift_age")))
    assert retrain.selected(cfg, retrain.parse_alarm(alarm_message(AlarmName=named + "accuracy")))
    assert not retrain.selected(cfg, retrain.parse_alarm(alarm_message(AlarmName=named + "feature_non_null_age")))


def test_a_long_reason_is_cut_to_the_parameter_limit(model):
    limit = member(model, "StartPipelineExecution", "PipelineParameters").member.members["Value"].metadata["max"]
    alarm = retrain.parse_alarm(alarm_message(NewStateReason="x" * 5000))
    request = retrain.pipeline_request({"name": "p", "parameters": {"Why": "${reason}"}}, alarm)
    assert request["PipelineParameters"] == [{"Name": "Why", "Value": "x" * limit}]


def test_the_lambda_handler_reads_its_configuration_from_the_environment(monkeypatch, sagemaker):
    client, stub = sagemaker
    monkeypatch.setattr(retrain, "sagemaker_client", lambda cfg: client)
    monkeypatch.setattr(retrain, "_cached", None)
    monkeypatch.delenv("MODEL_MONITOR_RETRAIN_CONFIG", raising=False)
    monkeypatch.setenv("MODEL_MONITOR_RETRAIN", json.dumps(PIPELINE))
    stub.add_response("start_pipeline_execution", {"PipelineExecutionArn": "arn:p"})
    assert retrain.handler(sns_event(alarm_message()), None)["started"] == 1
    monkeypatch.setenv("MODEL_MONITOR_RETRAIN", json.dumps({**PIPELINE, "alarm_names": ["none"]}))
    assert retrain.handler(sns_event(alarm_message()), None)["ignored"] == 1  # a changed variable is read again


# ---------------------------------------------------------------- a light module, a small package


BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"pyspark", "pandas", "numpy", "py4j", "pyarrow", "yaml", "datasketches"}:
            raise ImportError("blocked in this test: " + name)
sys.meta_path.insert(0, Block())
"""


def test_the_handler_imports_and_runs_without_spark_pandas_or_numpy(tmp_path):
    script = BLOCKER + f"""
import json
sys.path.insert(0, {str(tmp_path / "retrain.zip")!r})
import monitor_lib.retrain as r
assert sys.modules["monitor_lib"].__file__.startswith({str(tmp_path)!r}), sys.modules["monitor_lib"].__file__
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {{"boto3", "botocore", "urllib3"}})
event = json.loads({json.dumps(json.dumps(sns_event(alarm_message(NewStateValue="OK"))))})
answer = r.handler(event, None)
r.parse_config({{"webhook": {{"url": "http://127.0.0.1:9/x"}}}})
print(json.dumps({{"heavy_at_import": heavy, "answer": answer}}))
"""
    package = tmp_path / "retrain.zip"
    files = ["monitor_lib/__init__.py", "monitor_lib/errors.py", "monitor_lib/retrain.py", "monitor_lib/io/__init__.py",
             "monitor_lib/io/http.py"]
    with zipfile.ZipFile(package, "w") as z:  # the package contents the documentation lists
        for f in files:
            z.write(REPO / f, f)
    env = {**os.environ, "MODEL_MONITOR_RETRAIN": json.dumps(PIPELINE)}
    env.pop("MODEL_MONITOR_RETRAIN_CONFIG", None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["heavy_at_import"] == []
    assert out["answer"]["results"][0]["status"] == "ignored"


def test_nothing_secret_or_noisy_is_logged_for_an_ignored_alarm(sagemaker, caplog):
    client, _ = sagemaker
    with caplog.at_level(logging.INFO, logger="monitor_lib.retrain"):
        retrain.run(sns_event(alarm_message(NewStateValue="OK")), config(PIPELINE), client)
    assert [r.getMessage() for r in caplog.records] == [
        "retrain: alarm churn-endpoint-feature_baseline_drift_age (OK) → ignored: "
        "the alarm went to OK: only ALARM acts"]


def test_a_run_notification_is_ignored_and_its_type_is_the_sinks_own(sagemaker):
    from monitor_lib.sinks.notify.message import EVENT_PREFIX

    assert retrain.RUN_NOTIFICATION_PREFIX == EVENT_PREFIX  # the handler's light copy follows the sink's constant
    client, _ = sagemaker
    document = {"type": EVENT_PREFIX + "failed", "timestamp": "2026-11-20T10:20:00Z", "data": {"status": "Failed"}}
    answer = retrain.run(sns_event(document, alarm_message(NewStateValue="OK")), config(PIPELINE), client)
    assert [r["status"] for r in answer["results"]] == ["ignored", "ignored"]
    assert answer["results"][0]["reason"].startswith("a model-monitor run notification (model_monitor.run.failed)")
