"""``model-monitor submit --target emr|sagemaker`` against the AWS emulator server on loopback (moto's
server mode): real HTTP requests, validated by botocore, accepted and stored by the emulator."""

from __future__ import annotations

import zipfile

from monitor_lib.cli import main
from monitor_lib.driver.package import build_package

BASELINE_FLAGS = ["--dataset", "s3://data/train/", "--format", "csv", "--header", "--output", "s3://out/baseline/"]


def test_emr_submit_uploads_the_package_and_adds_the_step(aws_server, tmp_path, capsys):
    s3, emr = aws_server.client("s3"), aws_server.client("emr")
    s3.create_bucket(Bucket="code")
    cluster = emr.run_job_flow(
        Name="monitoring", ReleaseLabel="emr-7.5.0", LogUri="s3://code/logs/", JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole", Applications=[{"Name": "Spark"}],
        Instances={"MasterInstanceType": "m5.xlarge", "SlaveInstanceType": "m5.xlarge", "InstanceCount": 1,
                   "KeepJobFlowAliveWhenNoSteps": True})["JobFlowId"]
    code = main(["submit", "--target", "emr", "--cluster-id", cluster, "--code-uri", "s3://code/model-monitor",
                 "--poll-seconds", "0.1", "--timeout-seconds", "0.5", "baseline", "--", *BASELINE_FLAGS])
    out = capsys.readouterr().out
    assert code == 3  # the emulator keeps a step RUNNING: followed until the timeout, then reported as such

    package = build_package(tmp_path)
    prefix = f"model-monitor/{package.short_digest}/"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="code", Prefix=prefix)["Contents"])
    assert keys == [prefix + "model_monitor.py", prefix + "monitor_lib.zip"]
    uploaded = s3.get_object(Bucket="code", Key=prefix + "monitor_lib.zip")["Body"].read()
    assert uploaded == package.zip_path.read_bytes()  # deterministic: the same bytes as a fresh local build
    (tmp_path / "got.zip").write_bytes(uploaded)
    assert "monitor_lib/runner.py" in zipfile.ZipFile(tmp_path / "got.zip").namelist()

    (step,) = emr.list_steps(ClusterId=cluster)["Steps"]
    described = emr.describe_step(ClusterId=cluster, StepId=step["Id"])["Step"]
    assert described["ActionOnFailure"] == "CONTINUE"
    assert described["Config"]["Jar"] == "command-runner.jar"
    assert described["Config"]["Args"] == [
        "spark-submit", "--deploy-mode", "cluster", "--py-files", f"s3://code/{prefix}monitor_lib.zip",
        f"s3://code/{prefix}model_monitor.py", "baseline", *BASELINE_FLAGS]
    assert out.splitlines() == [f"EMR step {step['Id']} on cluster {cluster}: RUNNING", "  outputs  s3://out/baseline/",
                                f"  logs     s3://code/logs/{cluster}/steps/{step['Id']}/"]


def test_sagemaker_submit_creates_and_follows_the_processing_job(aws_server, capsys):
    sm = aws_server.client("sagemaker")
    code = main(["submit", "--target", "sagemaker", "--image-uri",
                 "123456789012.dkr.ecr.us-east-1.amazonaws.com/spark-model-monitor:latest",
                 "--role-arn", "arn:aws:iam::123456789012:role/monitor", "--job-name", "mq-baseline-1",
                 "--poll-seconds", "0.1", "--timeout-seconds", "30", "baseline", "--",
                 "--analysis-type", "model-quality", "--dataset", "s3://data/validation.csv", "--format", "csv",
                 "--header", "--problem-type", "Regression", "--inference-attribute", "prediction",
                 "--ground-truth-attribute", "label", "--output", "s3://out/mq-baseline"])
    out = capsys.readouterr().out
    assert code == 0  # the emulator completes a processing job at once
    assert out.splitlines()[:2] == ["SageMaker Processing job mq-baseline-1: Completed",
                                    "  outputs  s3://out/mq-baseline"]
    job = sm.describe_processing_job(ProcessingJobName="mq-baseline-1")
    # moto keeps the inputs, outputs, app specification, role and stopping condition (not Environment or
    # ProcessingResources: tests/unit/test_driver.py checks those through botocore's Stubber)
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert job["AppSpecification"]["ContainerEntrypoint"] == ["model-monitor", "analyze"]
    assert job["ProcessingInputs"] == [{"InputName": "baseline_dataset_input", "S3Input": {
        "S3Uri": "s3://data/validation.csv", "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
        "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}]
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"] == {
        "S3Uri": "s3://out/mq-baseline", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}
    assert job["RoleArn"] == "arn:aws:iam::123456789012:role/monitor"
