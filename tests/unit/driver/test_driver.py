"""``model-monitor submit``: the package, the job flags, and the EMR / SageMaker requests — checked against
botocore's real service models with botocore's Stubber (which validates every parameter against the model)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from monitor_lib.cli import build_parser
from monitor_lib.driver import package as pkg
from monitor_lib.driver.jobspec import parse_job
from monitor_lib.driver.sagemaker import ProcessingOptions, processing_job_request
from monitor_lib.driver.submit import cmd_submit
from monitor_lib.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]


# ------------------------------------------------------------------------------------------ package

def test_package_zip_holds_exactly_the_library_sources_and_is_deterministic(tmp_path):
    a = pkg.build_package(tmp_path / "a")
    b = pkg.build_package(tmp_path / "b")
    assert a.zip_path.read_bytes() == b.zip_path.read_bytes() and a.digest == b.digest
    expected = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "monitor_lib").rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    with zipfile.ZipFile(a.zip_path) as zf:
        names = zf.namelist()
        infos = zf.infolist()
        assert names == expected  # sorted, every file, nothing else
        assert "monitor_lib/driver/package.py" in names and "monitor_lib/cli.py" in names
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) and (i.external_attr >> 16) == 0o644 for i in infos)
        assert zf.read("monitor_lib/cli.py") == (REPO / "monitor_lib" / "cli.py").read_bytes()
    size = a.zip_path.stat().st_size
    raw = sum((REPO / n).stat().st_size for n in expected)
    assert 20_000 < size < 0.5 * raw < 2_000_000, (size, raw)  # compressed, and small
    assert sorted(a.scripts) == ["model_monitor.py"]
    assert a.script("model_monitor.py").read_bytes() == (REPO / "jobs" / "model_monitor.py").read_bytes()
    digest = hashlib.sha256(a.zip_path.read_bytes())
    for name in sorted(a.scripts):
        digest.update(name.encode() + b"\0" + a.scripts[name].read_bytes())
    assert a.digest == digest.hexdigest() and a.short_digest == a.digest[:12]


def test_the_zip_alone_provides_the_library(tmp_path):
    """What an executor sees with --py-files: monitor_lib imported from the zip, not from the checkout."""
    p = pkg.build_package(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import monitor_lib.cli, monitor_lib.driver.submit; "
            "print(monitor_lib.cli.__file__)")
    done = subprocess.run([sys.executable, "-I", "-c", code, str(p.zip_path)], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(p.zip_path / "monitor_lib" / "cli.py")


def test_package_without_job_scripts_says_where_they_were_looked_for(tmp_path):
    with pytest.raises(Exception, match="job entry scripts .* are not in"):
        pkg.build_package(tmp_path / "out", jobs_dir=tmp_path / "nowhere")


# ------------------------------------------------------------------------------------------ job flags

def test_job_flags_choose_the_entry_script_and_its_arguments():
    b = parse_job("baseline", ["--", "--dataset", "s3://b/train.csv", "--format", "csv", "--header",
                               "--output", "s3://b/base"])
    assert (b.script, b.script_args, b.kind) == (
        "model_monitor.py",
        ["baseline", "--dataset", "s3://b/train.csv", "--format", "csv", "--header", "--output", "s3://b/base"],
        "data-quality-baseline")
    assert b.params["dataset_format"] == '{"csv": {"header": true}}' and b.output_path == "s3://b/base"
    m = parse_job("monitor", ["--dataset", "cap", "--baseline-constraints", "c.json", "--output", "o"])
    assert (m.script, m.script_args[:3], m.kind) == ("model_monitor.py", ["monitor", "--dataset", "cap"],
                                                     "data-quality-monitoring")
    q = parse_job("monitor", ["--analysis-type", "model-quality", "--dataset", "cap", "--ground-truth", "gt",
                              "--baseline-constraints", "c.json", "--problem-type", "Regression",
                              "--inference-attribute", "0", "--output", "o"])
    assert q.script == "model_monitor.py" and q.kind == "model-quality-monitoring"
    assert q.script_args == ["monitor", "--analysis-type", "model-quality", "--dataset", "cap", "--ground-truth", "gt",
                             "--baseline-constraints", "c.json", "--problem-type", "Regression",
                             "--inference-attribute", "0", "--output", "o"]
    assert q.environment["analysis_type"] == "MODEL_QUALITY"
    assert "analysis_type" not in m.environment  # data quality: the analyzer's default
    g = parse_job("merge", ["--dataset", "cap", "--ground-truth", "gt", "--output", "o"])
    assert (g.script, g.script_args[0], g.kind) == ("model_monitor.py", "merge", "model-quality-merge")
    assert "analysis_type" not in g.environment  # the ground-truth merger container has none


@pytest.mark.parametrize("job, flags, message", [
    ("baseline", ["--dataset", "x", "--output", "o", "--format", "xml"], "not valid for `model-monitor baseline`"),
    ("baseline", ["--dataset", "x", "--format", "csv"], "output_path is required"),
    ("monitor", ["--dataset", "x", "--output", "o"], "baseline_constraints is required"),
    ("baseline", ["--dataset", "x", "--output", "o", "--format", "csv", "--problem-type", "Regression"],
     "belong.* to model quality"),
])
def test_invalid_job_flags_fail_before_anything_is_submitted(job, flags, message):
    with pytest.raises(ConfigError, match=message):
        parse_job(job, flags)


# ------------------------------------------------------------------------------------------ stubbed AWS

def _stubbed(service: str):
    session = botocore.session.get_session()
    client = session.create_client(service, region_name="us-east-1", aws_access_key_id="testing",
                                   aws_secret_access_key="testing")
    return client, Stubber(client)


def _submit(argv: list[str], clients: dict) -> int:
    return cmd_submit(build_parser().parse_args(["submit", *argv]), clients=lambda service: clients[service])


BASELINE_FLAGS = ["--dataset", "s3://data/train/", "--format", "csv", "--header", "--output", "s3://out/baseline/"]


def _emr_package(tmp_path) -> pkg.Package:
    return pkg.build_package(tmp_path / "pkg")


def test_emr_step_request_progress_and_final_state(tmp_path, capsys):
    p = _emr_package(tmp_path)
    s3, s3_stub = _stubbed("s3")
    emr, emr_stub = _stubbed("emr")
    base = f"code/mm/{p.short_digest}"
    s3_stub.add_response("put_object", {"ETag": '"1"'}, {"Bucket": "code-bucket", "Key": f"{base}/monitor_lib.zip",
                                                          "Body": p.zip_path.read_bytes()})
    s3_stub.add_response("put_object", {"ETag": '"2"'}, {"Bucket": "code-bucket", "Key": f"{base}/model_monitor.py",
                                                          "Body": p.script("model_monitor.py").read_bytes()})
    step = {"Name": "spark-model-monitor data-quality-baseline", "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": [
                "spark-submit", "--deploy-mode", "cluster", "--py-files", f"s3://code-bucket/{base}/monitor_lib.zip",
                "--archives", "s3://code-bucket/env.tar.gz#env",
                "--conf", "spark.pyspark.python=./env/bin/python",
                "--conf", "spark.yarn.appMasterEnv.PYSPARK_PYTHON=./env/bin/python",
                "--conf", "spark.executorEnv.PYSPARK_PYTHON=./env/bin/python",
                "--conf", "spark.executor.memory=2g",
                f"s3://code-bucket/{base}/model_monitor.py", "baseline", *BASELINE_FLAGS]}}
    emr_stub.add_response("add_job_flow_steps", {"StepIds": ["s-1"]}, {"JobFlowId": "j-1", "Steps": [step]})
    for state in ("PENDING", "PENDING", "RUNNING", "COMPLETED"):
        emr_stub.add_response("describe_step", {"Step": {"Id": "s-1", "Name": step["Name"], "Status": {
            "State": state}}}, {"ClusterId": "j-1", "StepId": "s-1"})
    emr_stub.add_response("describe_cluster", {"Cluster": {"Id": "j-1", "Name": "c", "LogUri": "s3://logs/emr/"}},
                          {"ClusterId": "j-1"})
    with s3_stub, emr_stub:
        code = _submit(["--target", "emr", "--cluster-id", "j-1", "--code-uri", "s3://code-bucket/code/mm/",
                        "--archives", "s3://code-bucket/env.tar.gz#env", "--conf", "spark.executor.memory=2g",
                        "--poll-seconds", "0", "baseline", "--", *BASELINE_FLAGS], {"s3": s3, "emr": emr})
        s3_stub.assert_no_pending_responses()
        emr_stub.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 0
    assert [line.split(" (")[0] for line in err.splitlines() if line.startswith("step s-1")] == [
        "step s-1: PENDING", "step s-1: RUNNING", "step s-1: COMPLETED"]  # state changes, each once
    assert out.splitlines() == ["EMR step s-1 on cluster j-1: COMPLETED", "  outputs  s3://out/baseline/",
                                "  logs     s3://logs/emr/j-1/steps/s-1/"]


def test_emr_failed_step_reports_failure_details_and_exits_1(tmp_path, capsys):
    p = _emr_package(tmp_path)
    s3, s3_stub = _stubbed("s3")
    emr, emr_stub = _stubbed("emr")
    for _ in range(2):
        s3_stub.add_response("put_object", {})
    emr_stub.add_response("add_job_flow_steps", {"StepIds": ["s-2"]})
    emr_stub.add_response("describe_step", {"Step": {"Id": "s-2", "Status": {
        "State": "FAILED", "FailureDetails": {"Reason": "Unknown Error.", "Message": "exit code 255",
                                              "LogFile": "s3://logs/emr/j-1/steps/s-2/stderr.gz"}}}})
    emr_stub.add_response("describe_cluster", {"Cluster": {"Id": "j-1"}})
    with s3_stub, emr_stub:
        code = _submit(["--target", "emr", "--cluster-id", "j-1", "--code-uri", "s3://code-bucket",
                        "--poll-seconds", "0", "monitor", "--", "--dataset", "s3://cap/ep", "--baseline-constraints",
                        "s3://b/constraints.json", "--output", "s3://out/r"], {"s3": s3, "emr": emr})
    out = capsys.readouterr().out
    assert code == 1 and p.short_digest
    assert out.splitlines() == ["EMR step s-2 on cluster j-1: FAILED", "  reason   Unknown Error.",
                                "  message  exit code 255", "  logfile  s3://logs/emr/j-1/steps/s-2/stderr.gz",
                                "  outputs  s3://out/r"]


def test_emr_follow_gives_up_after_the_timeout_with_exit_3(capsys):
    s3, s3_stub = _stubbed("s3")
    emr, emr_stub = _stubbed("emr")
    for _ in range(2):
        s3_stub.add_response("put_object", {})
    emr_stub.add_response("add_job_flow_steps", {"StepIds": ["s-3"]})
    emr_stub.add_response("describe_step", {"Step": {"Id": "s-3", "Status": {"State": "RUNNING"}}})
    emr_stub.add_response("describe_cluster", {"Cluster": {"Id": "j-1"}})
    with s3_stub, emr_stub:
        code = _submit(["--target", "emr", "--cluster-id", "j-1", "--code-uri", "s3://c", "--timeout-seconds", "0",
                        "merge", "--", "--dataset", "s3://cap", "--ground-truth", "s3://gt", "--output", "s3://m"],
                       {"s3": s3, "emr": emr})
    assert code == 3 and "EMR step s-3 on cluster j-1: RUNNING" in capsys.readouterr().out


def test_sagemaker_processing_job_request_for_a_data_quality_monitoring_run(capsys):
    sm, stub = _stubbed("sagemaker")
    flags = ["--dataset", "s3://cap/my-endpoint", "--baseline-constraints", "s3://b/base/constraints.json",
             "--baseline-statistics", "s3://b/base/statistics.json", "--start-time", "2026-11-20T10:00:00Z",
             "--end-time", "2026-11-20T11:00:00Z", "--endpoint", "my-endpoint", "--schedule", "hourly",
             "--publish-cloudwatch-metrics", "--output", "s3://out/reports/2026/11/20/10"]

    def s3_input(name, uri, local):
        return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": local, "S3DataType": "S3Prefix",
                                               "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}
    expected = {
        "ProcessingJobName": "dq-hourly-1",
        "ProcessingInputs": [
            s3_input("endpoint_input", "s3://cap/my-endpoint", "/opt/ml/processing/input/endpoint"),
            s3_input("baseline_constraints", "s3://b/base/constraints.json", "/opt/ml/processing/baseline/constraints"),
            s3_input("baseline_statistics", "s3://b/base/statistics.json", "/opt/ml/processing/baseline/stats")],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "monitoring_output", "S3Output": {
            "S3Uri": "s3://out/reports/2026/11/20/10", "LocalPath": "/opt/ml/processing/output",
            "S3UploadMode": "EndOfJob"}}], "KmsKeyId": "alias/reports"},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.2xlarge",
                                                  "VolumeSizeInGB": 50}},
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
        "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model-monitor:1",
                             "ContainerEntrypoint": ["model-monitor", "analyze"]},
        "Environment": {
            "baseline_constraints": "/opt/ml/processing/baseline/constraints/constraints.json",
            "baseline_statistics": "/opt/ml/processing/baseline/stats/statistics.json",
            "dataset_format": '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}',
            "dataset_source": "/opt/ml/processing/input/endpoint",
            "end_time": "2026-11-20T11:00:00Z",
            "output_path": "/opt/ml/processing/output",
            "publish_cloudwatch_metrics": "Enabled",
            "sagemaker_endpoint_name": "my-endpoint",
            "sagemaker_monitoring_schedule_name": "hourly",
            "start_time": "2026-11-20T10:00:00Z"},
        "RoleArn": "arn:aws:iam::123456789012:role/monitor",
    }
    stub.add_response("create_processing_job", {"ProcessingJobArn": "arn:aws:sagemaker:us-east-1:1:processing-job/x"},
                      expected)
    for status in ("InProgress", "InProgress", "Completed"):
        stub.add_response("describe_processing_job",
                          _described("dq-hourly-1", status, expected,
                                     "CompletedWithViolations: Job completed successfully with 3 violations."),
                          {"ProcessingJobName": "dq-hourly-1"})
    with stub:
        code = _submit(["--target", "sagemaker", "--image-uri", expected["AppSpecification"]["ImageUri"],
                        "--role-arn", expected["RoleArn"], "--instance-type", "ml.m5.2xlarge", "--volume-size-gb", "50",
                        "--max-runtime-seconds", "1800", "--job-name", "dq-hourly-1", "--kms-key-id", "alias/reports",
                        "--poll-seconds", "0", "monitor", "--", *flags], {"sagemaker": sm})
        stub.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[:3] == [
        "SageMaker Processing job dq-hourly-1: Completed",
        "  message  CompletedWithViolations: Job completed successfully with 3 violations.",
        "  outputs  s3://out/reports/2026/11/20/10"]
    assert [line.split(" (")[0] for line in err.splitlines() if line.startswith("processing job")] == [
        "processing job dq-hourly-1: InProgress", "processing job dq-hourly-1: Completed"]


def _described(name: str, status: str, request: dict, message: str | None = None, failure: str | None = None) -> dict:
    out = {"ProcessingJobName": name, "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:1:processing-job/{name}",
           "ProcessingJobStatus": status, "ProcessingResources": request["ProcessingResources"],
           "AppSpecification": request["AppSpecification"], "CreationTime": "2026-11-20T11:00:00Z"}
    if message:
        out["ExitMessage"] = message
    if failure:
        out["FailureReason"] = failure
    return out


def test_sagemaker_model_quality_and_merge_environments_follow_the_service():
    opts = ProcessingOptions(image_uri="img", role_arn="arn:aws:iam::1:role/r", job_name="j")
    mq = parse_job("monitor", ["--analysis-type", "model-quality", "--dataset", "s3://cap/ep", "--ground-truth",
                               "s3://gt/ep", "--baseline-constraints", "s3://b/mq/constraints.json",
                               "--problem-type", "BinaryClassification", "--inference-attribute", "0",
                               "--probability-attribute", "1", "--probability-threshold-attribute", "0.5",
                               "--start-time", "2026-11-20T10:00:00Z", "--end-time", "2026-11-20T11:00:00Z",
                               "--output", "s3://out/mq"])
    req = processing_job_request(mq, opts)
    assert req["Environment"] == {
        "analysis_type": "MODEL_QUALITY",
        "baseline_constraints": "/opt/ml/processing/baseline/constraints/constraints.json",
        "dataset_format": '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}',
        "dataset_source": "/opt/ml/processing/input_data", "end_time": "2026-11-20T11:00:00Z",
        "ground_truth_source": "/opt/ml/processing/groundtruth", "inference_attribute": "0",
        "output_path": "/opt/ml/processing/output", "probability_attribute": "1",
        "probability_threshold_attribute": "0.5", "problem_type": "BinaryClassification",
        "publish_cloudwatch_metrics": "Disabled", "start_time": "2026-11-20T10:00:00Z"}
    assert [(i["InputName"], i["S3Input"]["S3Uri"], i["S3Input"]["LocalPath"]) for i in req["ProcessingInputs"]] == [
        ("input_data", "s3://cap/ep", "/opt/ml/processing/input_data"),
        ("ground_truth_input", "s3://gt/ep", "/opt/ml/processing/groundtruth"),
        ("baseline_constraints", "s3://b/mq/constraints.json", "/opt/ml/processing/baseline/constraints")]
    merge = processing_job_request(parse_job("merge", ["--dataset", "s3://cap/ep", "--ground-truth", "s3://gt",
                                                       "--output", "s3://out/merge"]), opts)
    assert merge["Environment"] == {"dataset_source": "/opt/ml/processing/input_data",
                                    "ground_truth_source": "/opt/ml/processing/groundtruth",
                                    "output_path": "/opt/ml/processing/output"}  # the merger's env (spec §2.2)
    base = processing_job_request(parse_job("baseline", BASELINE_FLAGS), opts)
    assert base["Environment"] == {"dataset_format": '{"csv": {"header": true}}',
                                   "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
                                   "output_path": "/opt/ml/processing/output", "publish_cloudwatch_metrics": "Disabled"}
    sm, stub = _stubbed("sagemaker")  # every one of them is a valid request for the real model
    for request in (req, merge, base):
        stub.add_response("create_processing_job", {"ProcessingJobArn": "arn"}, request)
    with stub:
        for request in (req, merge, base):
            sm.create_processing_job(**request)


def test_sagemaker_model_bias_jobs_use_the_clarify_layout():
    """A bias baseline's data and config go where the Clarify container reads them; the monitoring run adds the
    ground truth and the baseline's analysis.json. botocore's model accepts both requests."""
    opts = ProcessingOptions(image_uri="img", role_arn="arn:aws:iam::1:role/r", job_name="j")
    base = processing_job_request(parse_job("baseline", [
        "--type", "model-bias", "--dataset", "s3://d/train.csv", "--format", "csv", "--header",
        "--analysis-config", "s3://cfg/analysis_config.json", "--output", "s3://out/bias-baseline"]), opts)
    assert base["Environment"] == {
        "analysis_config": "/opt/ml/processing/input/config/analysis_config.json",
        "dataset_format": '{"csv": {"header": true}}', "dataset_source": "/opt/ml/processing/input/data",
        "output_path": "/opt/ml/processing/output", "publish_cloudwatch_metrics": "Disabled"}
    run = processing_job_request(parse_job("monitor", [
        "--type", "model-bias", "--dataset", "s3://cap/ep", "--ground-truth", "s3://gt/ep",
        "--analysis-config", "s3://cfg/analysis_config.json", "--probability-attribute", "0",
        "--baseline-constraints", "s3://out/bias-baseline/analysis.json", "--start-time", "2026-11-20T10:00:00Z",
        "--end-time", "2026-11-20T11:00:00Z", "--output", "s3://out/bias"]), opts)
    assert run["Environment"]["baseline_constraints"] == "/opt/ml/processing/baseline/constraints/analysis.json"
    # analysis_config alone names the model-bias monitor (with a ground-truth source too: the merger's environment
    # holds nothing an analysis takes), so no analysis_type is needed
    assert "analysis_type" not in run["Environment"] and "analysis_type" not in base["Environment"]
    assert [(i["InputName"], i["S3Input"]["LocalPath"]) for i in run["ProcessingInputs"]] == [
        ("input_data", "/opt/ml/processing/input_data"), ("ground_truth_input", "/opt/ml/processing/groundtruth"),
        ("baseline_constraints", "/opt/ml/processing/baseline/constraints"),
        ("analysis_config", "/opt/ml/processing/input/config")]
    sm, stub = _stubbed("sagemaker")
    for request in (base, run):
        stub.add_response("create_processing_job", {"ProcessingJobArn": "arn"}, request)
    with stub:
        for request in (base, run):
            sm.create_processing_job(**request)



def test_sagemaker_model_explainability_jobs_use_the_clarify_layout_and_name_their_type():
    """A feature-attribution job's config goes where Clarify reads it; its environment names MODEL_EXPLAINABILITY
    (an analysis_config alone would be read as a bias config where the config file cannot be read)."""
    opts = ProcessingOptions(image_uri="img", role_arn="arn:aws:iam::1:role/r", job_name="j")
    base = processing_job_request(parse_job("baseline", [
        "--type", "model-explainability", "--dataset", "s3://d/train.csv", "--format", "csv", "--header",
        "--analysis-config", "s3://cfg/explain.json", "--output", "s3://out/explain-baseline"]), opts)
    assert base["Environment"] == {
        "analysis_config": "/opt/ml/processing/input/config/explain.json", "analysis_type": "MODEL_EXPLAINABILITY",
        "dataset_format": '{"csv": {"header": true}}', "dataset_source": "/opt/ml/processing/input/data",
        "output_path": "/opt/ml/processing/output", "publish_cloudwatch_metrics": "Disabled"}
    run = processing_job_request(parse_job("monitor", [
        "--type", "model-explainability", "--dataset", "s3://cap/ep", "--analysis-config", "s3://cfg/explain.json",
        "--baseline-constraints", "s3://out/explain-baseline/analysis.json", "--max-explained-records", "500",
        "--start-time", "2026-11-20T10:00:00Z", "--end-time", "2026-11-20T11:00:00Z", "--output", "s3://out/x"]),
        opts)
    env = run["Environment"]
    assert env["analysis_type"] == "MODEL_EXPLAINABILITY" and env["max_explained_records"] == "500"
    assert env["baseline_constraints"] == "/opt/ml/processing/baseline/constraints/analysis.json"
    assert [(i["InputName"], i["S3Input"]["LocalPath"]) for i in run["ProcessingInputs"]] == [
        ("input_data", "/opt/ml/processing/input_data"),
        ("baseline_constraints", "/opt/ml/processing/baseline/constraints"),
        ("analysis_config", "/opt/ml/processing/input/config")]
    sm, stub = _stubbed("sagemaker")
    for request in (base, run):
        stub.add_response("create_processing_job", {"ProcessingJobArn": "arn"}, request)
    with stub:
        for request in (base, run):
            sm.create_processing_job(**request)

def test_sagemaker_failed_job_reports_exit_message_and_failure_reason(capsys):
    sm, stub = _stubbed("sagemaker")
    stub.add_response("create_processing_job", {"ProcessingJobArn": "arn"})
    req = {"ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                     "VolumeSizeInGB": 30}}, "AppSpecification": {"ImageUri": "i"}}
    stub.add_response("describe_processing_job", _described("bl", "Failed", req, "dataset_source /opt/ml/... is empty",
                                                             "AlgorithmError: see job logs"))
    with stub:
        code = _submit(["--target", "sagemaker", "--image-uri", "i", "--role-arn", "arn:aws:iam::1:role/r",
                        "--job-name", "bl", "--poll-seconds", "0", "baseline", "--", *BASELINE_FLAGS],
                       {"sagemaker": sm})
    assert code == 1
    assert capsys.readouterr().out.splitlines()[:3] == [
        "SageMaker Processing job bl: Failed", "  message  dataset_source /opt/ml/... is empty",
        "  failure  AlgorithmError: see job logs"]


def test_botocore_validation_rejects_a_malformed_request():
    """The Stubber is not a rubber stamp: a wrong type or a missing member never reaches the service."""
    opts = ProcessingOptions(image_uri="img", role_arn="arn:aws:iam::1:role/r", job_name="j")
    request = processing_job_request(parse_job("baseline", BASELINE_FLAGS), opts)
    request["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = "1"  # a string where the model says integer
    sm, stub = _stubbed("sagemaker")
    stub.add_response("create_processing_job", {"ProcessingJobArn": "arn"})
    with stub, pytest.raises(ParamValidationError, match="InstanceCount"):
        sm.create_processing_job(**request)
    emr, emr_stub = _stubbed("emr")
    emr_stub.add_response("add_job_flow_steps", {"StepIds": ["s"]})
    with emr_stub, pytest.raises(ParamValidationError, match="Jar"):
        emr.add_job_flow_steps(JobFlowId="j-1", Steps=[{"Name": "x", "HadoopJarStep": {"Args": ["spark-submit"]}}])


@pytest.mark.parametrize("argv, message", [
    (["--target", "emr", "baseline", "--", *BASELINE_FLAGS], "needs --cluster-id, --code-uri"),
    (["--target", "sagemaker", "--image-uri", "i", "--role-arn", "r", "baseline", "--", "--dataset", "/local/train.csv",
      "--format", "csv", "--output", "s3://o"], "--dataset must be an s3:// URI"),
    (["--target", "standalone", "baseline", "--", *BASELINE_FLAGS], "needs --master"),
    (["--target", "standalone", "--master", "yarn", "baseline", "--", *BASELINE_FLAGS], "spark://host:port"),
    (["--target", "local", "--cluster-id", "j-1", "baseline", "--", *BASELINE_FLAGS], "--cluster-id do"),
    (["--target", "emr", "--cluster-id", "j", "--code-uri", "bucket/x", "baseline", "--", *BASELINE_FLAGS],
     "--code-uri must be an s3://"),
])
def test_submit_option_errors_name_the_flag(argv, message):
    with pytest.raises(ConfigError, match=message):
        _submit(argv, {"s3": None, "emr": None, "sagemaker": None})


def test_submit_is_wired_into_the_cli(capsys):
    from monitor_lib.cli import main

    assert main(["submit", "--target", "emr", "baseline", "--", *BASELINE_FLAGS]) == 2
    assert "error: --target emr needs --cluster-id, --code-uri" in capsys.readouterr().err



def test_standalone_spark_submit_command(tmp_path):
    from monitor_lib.driver.spark_submit import parse_conf, spark_submit_command

    p = pkg.build_package(tmp_path)
    spec = parse_job("monitor", ["--analysis-type", "model-quality", "--dataset", "/d/cap", "--ground-truth", "/d/gt",
                                 "--baseline-constraints", "/b/constraints.json", "--problem-type", "Regression",
                                 "--inference-attribute", "0", "--output", "/o"])
    cmd = spark_submit_command(spec, p, master="spark://10.0.0.1:7077", python="/opt/venv/bin/python",
                               spark_submit="/opt/spark/bin/spark-submit",
                               conf=parse_conf(["spark.executor.memory=2g", "spark.x=a=b"]))
    assert cmd == ["/opt/spark/bin/spark-submit", "--master", "spark://10.0.0.1:7077", "--py-files", str(p.zip_path),
                   "--conf", "spark.pyspark.python=/opt/venv/bin/python",
                   "--conf", "spark.pyspark.driver.python=/opt/venv/bin/python",
                   "--conf", "spark.executor.memory=2g", "--conf", "spark.x=a=b",
                   str(p.script("model_monitor.py")), "monitor", "--analysis-type", "model-quality",
                   "--dataset", "/d/cap", "--ground-truth", "/d/gt",
                   "--baseline-constraints", "/b/constraints.json", "--problem-type", "Regression",
                   "--inference-attribute", "0", "--output", "/o"]
    with pytest.raises(ConfigError, match="--conf takes KEY=VALUE"):
        parse_conf(["spark.executor.memory"])


def test_no_wait_returns_after_submitting(capsys):
    sm, stub = _stubbed("sagemaker")
    stub.add_response("create_processing_job", {"ProcessingJobArn": "arn"})  # and nothing else: no polling
    with stub:
        code = _submit(["--target", "sagemaker", "--image-uri", "i", "--role-arn", "arn:aws:iam::1:role/r",
                        "--job-name", "bl", "--no-wait", "baseline", "--", *BASELINE_FLAGS], {"sagemaker": sm})
        stub.assert_no_pending_responses()
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        "SageMaker Processing job bl: submitted",
        "  follow   aws sagemaker describe-processing-job --processing-job-name bl",
        "  outputs  s3://out/baseline/"]
