"""The retrain hook against real servers on 127.0.0.1: the moto server (SageMaker processing / training jobs and
pipeline executions described back, SNS → SQS delivery of the alarm message, a configuration on S3) and a plain
http.server receiving the webhook.

moto cannot fire the real chain (no alarm evaluation, no AlarmActions, Lambda needs Docker: operations.md §3), so
the closest path runs here: a real alarm is created and set to ALARM on moto, the message CloudWatch would publish is
built from describe_alarms and published to a moto SNS topic with an SQS subscription, and the envelope SQS delivers
is turned into the record Lambda would receive and fed to the handler, which starts a processing job on moto."""

from __future__ import annotations

import json
import logging
from datetime import UTC

import pytest
from receivers import start_receiver

from monitor_lib import retrain
from monitor_lib.io.http import HttpError
from monitor_lib.retrain import RetrainError

ROLE = "arn:aws:iam::123456789012:role/sagemaker-retrain"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/retrain:1"
TOKEN = "s3cr3t-t0ken-9f8e7d"  # the webhook's bearer token: must never show in answers, logs or messages

PROCESSING = {
    "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                              "VolumeSizeInGB": 20}},
    "AppSpecification": {"ImageUri": IMAGE, "ContainerArguments": [
        "--endpoint", "${endpoint}", "--feature", "${feature}", "--alarm", "${alarm_name}", "--schedule", "${schedule}",
        "--changed-at", "${state_change_time}"]},
    "RoleArn": ROLE,
    "Environment": {"ALARM": "${alarm_name}", "SCHEDULE": "${schedule}", "CHANGED_AT": "${state_change_time}"},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
}


def message_of(alarm: dict, previous: str) -> dict:
    """The JSON CloudWatch publishes to an alarm's SNS actions, built from the alarm as describe_alarms returns it
    (field names per aws-lambda-go's cloudwatch-alarm-sns-payload-single-metric.json)."""
    changed = alarm["StateUpdatedTimestamp"].astimezone(UTC)
    return {
        "AlarmName": alarm["AlarmName"], "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": alarm["AlarmArn"].split(":")[4], "NewStateValue": alarm["StateValue"],
        "NewStateReason": alarm["StateReason"],
        "StateChangeTime": changed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{changed.microsecond // 1000:03d}+0000",
        "Region": "US East (N. Virginia)", "AlarmArn": alarm["AlarmArn"], "OldStateValue": previous,
        "Trigger": {"MetricName": alarm["MetricName"], "Namespace": alarm["Namespace"], "StatisticType": "Statistic",
                    "Statistic": alarm["Statistic"].upper(), "Unit": None,
                    "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm["Dimensions"]],
                    "Period": alarm["Period"], "EvaluationPeriods": alarm["EvaluationPeriods"],
                    "ComparisonOperator": alarm["ComparisonOperator"], "Threshold": alarm["Threshold"],
                    "TreatMissingData": f"- TreatMissingData:                    {alarm['TreatMissingData']}",
                    "EvaluateLowSampleCountPercentile": ""},
    }


def lambda_event(envelope: dict, subscription_arn: str) -> dict:
    """The Lambda SNS event for one SNS envelope (as an HTTP/SQS subscriber receives it): Lambda spells the two URL
    fields SigningCertUrl / UnsubscribeUrl."""
    sns = {k: envelope[k] for k in ("Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion",
                                     "Signature") if k in envelope}
    sns.update(Subject=envelope.get("Subject"), SigningCertUrl=envelope.get("SigningCertURL"),
               UnsubscribeUrl=envelope.get("UnsubscribeURL"), MessageAttributes=envelope.get("MessageAttributes", {}))
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription_arn,
                         "Sns": sns}]}


def drift_alarm(aws_server, name: str, actions: list[str]) -> dict:
    cloudwatch = aws_server.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name, AlarmDescription="Drift of age against the baseline", MetricName="feature_baseline_drift_age",
        Namespace="aws/sagemaker/Endpoints/data-metrics", Statistic="Maximum", Period=3600, EvaluationPeriods=1,
        Threshold=0.1, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
        Dimensions=[{"Name": "Endpoint", "Value": "churn-endpoint"},
                    {"Name": "MonitoringSchedule", "Value": "churn-hourly"}],
        AlarmActions=actions, ActionsEnabled=True)
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM",
                               StateReason="Threshold Crossed: 1 datapoint [0.42] was greater than the threshold (0.1)")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"
    return alarm


def config(doc: dict) -> retrain.RetrainConfig:
    return retrain.parse_config(doc)


def test_alarm_to_sns_to_sqs_to_the_handler_starts_a_processing_job(aws_server):
    sns, sqs, sagemaker = (aws_server.client(s) for s in ("sns", "sqs", "sagemaker"))
    topic = sns.create_topic(Name="retrain-hook-test-alarms")["TopicArn"]
    queue = sqs.create_queue(QueueName="retrain-hook-test-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    alarm = drift_alarm(aws_server, "churn-endpoint-feature_baseline_drift_age", [topic])
    message = message_of(alarm, previous="OK")
    sns.publish(TopicArn=topic, Subject=f'ALARM: "{alarm["AlarmName"]}" in US East (N. Virginia)',
                Message=json.dumps(message))
    (delivered,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
    envelope = json.loads(delivered["Body"])
    assert (envelope["Type"], envelope["TopicArn"], json.loads(envelope["Message"])) == (
        "Notification", topic, message)
    event = lambda_event(envelope, subscription)

    cfg = config({"processing_job": {"name_prefix": "drift-retrain", "request": PROCESSING}})
    answer = retrain.run(event, cfg)
    (result,) = answer["results"]
    expected_name = retrain.job_name("drift-retrain", retrain.parse_alarm(message))
    assert (result["status"], result["ProcessingJobName"]) == ("started", expected_name)
    job = sagemaker.describe_processing_job(ProcessingJobName=expected_name)
    assert job["ProcessingJobArn"] == result["ProcessingJobArn"]
    assert job["RoleArn"] == ROLE
    # moto keeps no Environment nor ProcessingResources of a processing job (the Stubber test checks those):
    # the templated strings are checked in ContainerArguments
    assert job["AppSpecification"] == {"ImageUri": IMAGE, "ContainerArguments": [
        "--endpoint", "churn-endpoint", "--feature", "age", "--alarm", "churn-endpoint-feature_baseline_drift_age",
        "--schedule", "churn-hourly", "--changed-at", message["StateChangeTime"].replace("+0000", "Z")]}
    assert (job["StoppingCondition"], job["ProcessingJobStatus"]) == ({"MaxRuntimeInSeconds": 3600}, "Completed")

    # the alarm going back to OK reaches the handler the same way and starts nothing
    cloudwatch = aws_server.client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="OK", StateReason="back under 0.1")
    (ok_alarm,) = cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])["MetricAlarms"]
    sns.publish(TopicArn=topic, Message=json.dumps(message_of(ok_alarm, previous="ALARM")))
    (delivered,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
    jobs_before = sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    ok = retrain.run(lambda_event(json.loads(delivered["Body"]), subscription), cfg)
    assert (ok["started"], ok["ignored"], ok["results"][0]["reason"]) == (
        0, 1, "the alarm went to OK: only ALARM acts")
    assert sagemaker.list_processing_jobs()["ProcessingJobSummaries"] == jobs_before


def test_a_run_notification_on_a_shared_topic_is_ignored_not_an_error(aws_server):
    """Alarms and the runs' SNS sink may share one topic: the sink's own publish request, delivered through moto,
    reaches the handler as a run notification and is ignored (alarms decide when to retrain)."""
    from monitor_lib.sinks.notify import sns as sns_sink
    from monitor_lib.sinks.notify.message import Notification

    sns, sqs = aws_server.client("sns"), aws_server.client("sqs")
    topic = sns.create_topic(Name="retrain-hook-test-shared")["TopicArn"]
    queue = sqs.create_queue(QueueName="retrain-hook-test-shared")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    notification = Notification(
        monitor="data_quality", endpoint="churn-endpoint", schedule="churn-hourly",
        status="CompletedWithViolations", message="1 violation", window_start="2026-11-20T09:00:00Z",
        window_end="2026-11-20T10:00:00Z", run_id="0b7c6a7e-3f1e-4f55-9a43-7d1a0f0e5c11", report_url="",
        output="s3://churn/monitoring/2026/11/20/09", counts={"rows": 100},
        violations_by_check={"baseline_drift_check": 1}, violations=[], violations_total=1,
        timestamp="2026-11-20T10:20:00Z")
    sns.publish(**sns_sink.request(topic, notification))
    (delivered,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
    event = lambda_event(json.loads(delivered["Body"]), subscription)
    answer = retrain.run(event, config({"pipeline": {"name": "churn-retrain"}}))
    assert (answer["started"], answer["ignored"]) == (0, 1)
    assert answer["results"][0]["reason"].startswith(
        "a model-monitor run notification (model_monitor.run.completed_with_violations), not a CloudWatch alarm")


def test_training_job_is_created_and_described_back(aws_server):
    sagemaker = aws_server.client("sagemaker")
    alarm = drift_alarm(aws_server, "churn-endpoint-feature_baseline_drift_income-t", [])
    message = message_of(alarm, previous="INSUFFICIENT_DATA")
    request = {
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://churn/train/", "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://churn/models/${job_name}/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": {"endpoint": "${endpoint}", "metric": "${metric_name}"},
    }
    cfg = config({"training_job": {"name_prefix": "churn", "request": request}})
    (result,) = retrain.run({"Records": [{"Sns": {"Message": json.dumps(message)}}]}, cfg)["results"]
    name = retrain.job_name("churn", retrain.parse_alarm(message))
    job = sagemaker.describe_training_job(TrainingJobName=name)
    assert (result["status"], result["TrainingJobArn"]) == ("started", job["TrainingJobArn"])
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://churn/models/{name}/"
    assert job["HyperParameters"] == {"endpoint": "churn-endpoint", "metric": "feature_baseline_drift_age"}
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE


def test_pipeline_execution_carries_the_templated_parameters(aws_server):
    sagemaker = aws_server.client("sagemaker")
    definition = {"Version": "2020-12-01", "Parameters": [
        {"Name": n, "Type": "String"} for n in ("AlarmName", "Feature", "EndpointName", "Schedule")], "Steps": []}
    sagemaker.create_pipeline(PipelineName="churn-retrain", PipelineDefinition=json.dumps(definition), RoleArn=ROLE)
    alarm = drift_alarm(aws_server, "churn-endpoint-feature_baseline_drift_age-p", [])
    message = message_of(alarm, previous="OK")
    cfg = config({"pipeline": {"name": "churn-retrain", "parameters": {
        "AlarmName": "${alarm_name}", "Feature": "${feature}", "EndpointName": "${endpoint}",
        "Schedule": "${schedule}"}}})
    (result,) = retrain.run({"Records": [{"Sns": {"Message": json.dumps(message)}}]}, cfg)["results"]
    arn = result["PipelineExecutionArn"]
    (summary,) = sagemaker.list_pipeline_executions(PipelineName="churn-retrain")["PipelineExecutionSummaries"]
    assert summary["PipelineExecutionArn"] == arn
    key = retrain.parse_alarm(message).idempotency_key
    change = retrain.parse_alarm(message)
    assert summary["PipelineExecutionDisplayName"] == f"alarm-{change.state_change_time:%Y%m%dT%H%M%S}-{key[:8]}"
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "AlarmName": "churn-endpoint-feature_baseline_drift_age-p", "Feature": "age",
        "EndpointName": "churn-endpoint", "Schedule": "churn-hourly"}


def test_configuration_read_from_s3(aws_server, monkeypatch):
    s3 = aws_server.client("s3")
    s3.create_bucket(Bucket="retrain-config")
    doc = {"processing_job": {"name_prefix": "drift-retrain", "request": PROCESSING}, "alarm_names": ["churn-*"]}
    s3.put_object(Bucket="retrain-config", Key="hooks/retrain.json", Body=json.dumps(doc).encode())
    loaded = retrain.load_config({"MODEL_MONITOR_RETRAIN_CONFIG": "s3://retrain-config/hooks/retrain.json"})
    assert (loaded.action, loaded.spec, loaded.alarm_names) == ("processing_job", doc["processing_job"], ("churn-*",))
    with pytest.raises(Exception, match=r"s3://retrain-config/missing.json cannot be read: NoSuchKey"):
        retrain.load_config({"MODEL_MONITOR_RETRAIN_CONFIG": "s3://retrain-config/missing.json"})


# ---------------------------------------------------------------- the webhook action, a receiver on 127.0.0.1


@pytest.fixture
def receiver():
    r = start_receiver(answer=b'{"accepted": true}')
    yield r
    r.stop()


def alarm_event(**overrides) -> tuple[dict, dict]:
    message = {"AlarmName": "churn-endpoint-feature_baseline_drift_age", "AlarmDescription": None,
               "AWSAccountId": "123456789012", "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed",
               "StateChangeTime": "2026-11-20T10:15:00.000+0000", "Region": "US East (N. Virginia)",
               "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-endpoint-feature_baseline_drift_age",
               "OldStateValue": "OK",
               "Trigger": {"MetricName": "feature_baseline_drift_age",
                           "Namespace": "aws/sagemaker/Endpoints/data-metrics",
                           "StatisticType": "Statistic", "Statistic": "MAXIMUM", "Unit": None,
                           "Dimensions": [{"value": "churn-endpoint", "name": "Endpoint"},
                                          {"value": "churn-hourly", "name": "MonitoringSchedule"}],
                           "Period": 3600, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold",
                           "Threshold": 0.1, "TreatMissingData": "", "EvaluateLowSampleCountPercentile": ""}}
    message.update(overrides)
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]}, message


def test_webhook_posts_the_alarm_with_a_bearer_token_and_an_idempotency_key(receiver, caplog):
    event, message = alarm_event()
    cfg = config({"webhook": {"url": receiver.url + "/hooks/retrain", "token_env": "RETRAIN_TOKEN",
                              "payload": {"pipeline": "churn", "reason": "${metric_name} on ${endpoint}"}}})
    with caplog.at_level(logging.DEBUG):
        first = retrain.run(event, cfg, environ={"RETRAIN_TOKEN": TOKEN})
        again = retrain.run(event, cfg, environ={"RETRAIN_TOKEN": TOKEN})
    assert [r["status"] for r in first["results"] + again["results"]] == ["started", "started"]
    assert first["results"][0]["http_status"] == 200
    (path, headers, body), (_, headers2, body2) = [(r.path, r.headers, r.body) for r in receiver.received]
    assert path == "/hooks/retrain"
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["content-type"] == "application/json"
    key = retrain.parse_alarm(message).idempotency_key
    assert headers["idempotency-key"] == headers2["idempotency-key"] == key  # the receiver can drop the retry
    assert body == body2
    sent = json.loads(body)
    assert sent == {
        "type": "model-monitor.retrain", "idempotency_key": key, "endpoint": "churn-endpoint",
        "schedule": "churn-hourly",
        "payload": {"pipeline": "churn", "reason": "feature_baseline_drift_age on churn-endpoint"},
        "alarm": {"AlarmName": message["AlarmName"], "AlarmArn": message["AlarmArn"], "NewStateValue": "ALARM",
                  "OldStateValue": "OK", "NewStateReason": "Threshold Crossed",
                  "StateChangeTime": "2026-11-20T10:15:00.000Z", "MetricName": "feature_baseline_drift_age",
                  "Namespace": "aws/sagemaker/Endpoints/data-metrics", "Threshold": 0.1,
                  "Dimensions": {"Endpoint": "churn-endpoint", "MonitoringSchedule": "churn-hourly"}}}
    assert TOKEN not in json.dumps(first) + caplog.text


def test_webhook_retries_a_503_and_a_refusal_is_a_clear_error_without_secrets(caplog):
    event, _ = alarm_event()
    flaky = start_receiver(statuses=[503])
    refusing = start_receiver(statuses=[401], answer=f'{{"error": "bad token {TOKEN}"}}'.encode())
    try:
        answer = retrain.run(event, config({"webhook": {"url": flaky.url, "max_retries": 2}}), environ={})
        assert (answer["results"][0]["status"], answer["results"][0]["attempts"], len(flaky.received)) == (
            "started", 2, 2)
        assert "authorization" not in flaky.received[0].headers  # no token variable set: no Authorization header
        with caplog.at_level(logging.DEBUG), pytest.raises(RetrainError) as e:
            retrain.run(event, config({"webhook": {"url": refusing.url, "token_env": "RETRAIN_TOKEN"}}),
                        environ={"RETRAIN_TOKEN": TOKEN})
        assert str(e.value) == 'the retrain webhook answered HTTP 401 after 1 attempt: {"error": "bad token ***"}'
        assert TOKEN not in caplog.text
    finally:
        flaky.stop()
        refusing.stop()
    with pytest.raises(HttpError) as e:  # the server is gone: nothing listens on that port now
        retrain.run(event, config({"webhook": {"url": refusing.url + "?key=" + TOKEN, "max_retries": 0,
                                               "timeout_seconds": 2}}), environ={})
    assert str(e.value).startswith("the retrain webhook refused the connection after 1 attempt")
    assert TOKEN not in str(e.value)
