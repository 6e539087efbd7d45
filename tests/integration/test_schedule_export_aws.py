"""``schedule export --eventbridge`` against the AWS emulator server on loopback (moto's server mode): the printed
request is sent as is with boto3 (real HTTP, botocore's validation), stored and read back; its EMR code is
uploaded with --upload, and the step it carries is accepted by the emulated cluster. moto validates neither the
schedule expression nor the Input: botocore's Stubber (tests/unit/test_schedule_export.py) is the reference for
the shapes; this test shows the request is the one a user would send."""

from __future__ import annotations

import json

import yaml

from monitor_lib.cli import main
from monitor_lib.driver.package import build_package


def _cluster(emr) -> str:
    return emr.run_job_flow(
        Name="monitoring", ReleaseLabel="emr-7.5.0", JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
        Applications=[{"Name": "Spark"}],
        Instances={"MasterInstanceType": "m5.xlarge", "SlaveInstanceType": "m5.xlarge", "InstanceCount": 1,
                   "KeepJobFlowAliveWhenNoSteps": True})["JobFlowId"]


def test_exported_eventbridge_schedule_is_created_read_back_and_its_step_accepted(aws_server, tmp_path, capsys):
    s3, emr, scheduler = aws_server.client("s3"), aws_server.client("emr"), aws_server.client("scheduler")
    s3.create_bucket(Bucket="export-code")
    cluster = _cluster(emr)
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(yaml.safe_dump({
        "name": "export-hourly", "monitor_type": "data-quality", "cron": "cron(0 6/12 ? * * *)",
        "timezone": "Europe/Berlin", "start_date": "2026-11-20T00:00:00Z", "target": "emr",
        "target_options": {"cluster_id": cluster, "code_uri": "s3://export-code/mm"},
        "output_root": "s3://reports/monitoring", "state_store": "s3://reports/state",
        "params": {"dataset_source": "s3://capture/ep", "dataset_format": "capture",
                   "baseline_constraints": "s3://reports/baseline/constraints.json"}}))
    role = "arn:aws:iam::123456789012:role/scheduler"
    assert main(["schedule", "export", "--schedule", str(schedule), "--eventbridge", "--role-arn", role,
                 "--upload"]) == 0
    out, err = capsys.readouterr()
    request = json.loads(out)

    package = build_package(tmp_path / "pkg")
    prefix = f"mm/{package.short_digest}/"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="export-code", Prefix=prefix)["Contents"])
    assert keys == [prefix + "model_monitor.py", prefix + "monitor_lib.zip"]
    assert s3.get_object(Bucket="export-code", Key=prefix + "monitor_lib.zip")["Body"].read() == \
        package.zip_path.read_bytes()
    assert f"uploaded s3://export-code/{prefix}monitor_lib.zip" in err

    scheduler.create_schedule(**request)
    got = scheduler.get_schedule(Name="export-hourly")
    assert got["ScheduleExpression"] == "cron(20 6/12 * * ? *)"
    assert got["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert got["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert got["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:emr:addJobFlowSteps"
    assert got["Target"]["RoleArn"] == role
    assert got["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}

    # what EventBridge sends at 2026-11-21T06:20 Berlin time (05:20Z): the Input with the time filled in
    steps = json.loads(got["Target"]["Input"].replace("<aws.scheduler.scheduled-time>", "2026-11-21T05:20:00Z"))
    (step_id,) = emr.add_job_flow_steps(**steps)["StepIds"]
    args = emr.describe_step(ClusterId=cluster, StepId=step_id)["Step"]["Config"]["Args"]
    assert args[:2] == ["bash", "-c"] and f"s3://export-code/{prefix}monitor_lib.zip" in args
    assert "--scheduled-time=2026-11-21T05:20:00Z" in args
    assert "date -u -d '2026-11-21T05:20:00Z' +%Y/%m/%d/%H" in args[2]
