"""The analyzer image's contract, run as the image runs it: the Dockerfile's ENTRYPOINT (the wrapper
that ends in `model-monitor analyze`) as a subprocess, with the Dockerfile's ENV (its paths moved to
this machine) and NOTHING else — no analyzer environment variable: the parameters come from
processingjobconfig.json alone, as in a real Processing job. MODEL_MONITOR_OPT_ML moves /opt/ml under a
temporary folder; the processing inputs and outputs are laid out below it as SageMaker lays them out.

The three runs a schedule makes — a data-quality baseline, a data-quality monitoring run over capture
files, a model-quality run over merged records against baseline constraints — plus the model-quality
baseline, a failure, and several hosts. References: the real SageMaker files in
../shared/fixtures/sagemaker, pandas, and the message / exit code SageMaker shows."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dockerfile
import pandas as pd
import pytest
from helpers import FIXTURES, capture_line

DQ = FIXTURES / "sdk-pipeline-dq-baseline"
MQ = FIXTURES / "sdk-pipeline-mq-regression"
SUCCESS = "Completed: Job completed successfully with no violations."
HOUR = "2026-11-20T10"


def _local_java_home() -> str:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    assert java, "Java 17 is needed on PATH or in JAVA_HOME"
    return str(Path(os.path.realpath(java)).parents[1])


# A virtual environment installed as the Dockerfile installs /opt/model-monitor (requirements-runtime.lock,
# then the package with --no-deps from the build context) runs these tests as the image would; by default
# they use the test interpreter's environment and the repository on PYTHONPATH.
IMAGE_VENV = os.environ.get("MODEL_MONITOR_TEST_IMAGE_VENV")


def image_environment(root: Path) -> dict[str, str]:
    """The Dockerfile's ENV with the image's paths replaced by this machine's, plus MODEL_MONITOR_OPT_ML
    and PYTHONPATH (the repository under test: the image has the package installed instead)."""
    venv_bin = Path(IMAGE_VENV) / "bin" if IMAGE_VENV else Path(sys.executable).parent
    local = {"JAVA_HOME": _local_java_home(), "VIRTUAL_ENV": str(venv_bin.parent),
             "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "PYSPARK_PYTHON": str(venv_bin / "python"),
             "HOME": str(root.parent / "home")}
    environ = {}
    for key, value in dockerfile.env().items():
        if key in local:
            environ[key] = local[key]
        else:
            assert "/" not in value, f"ENV {key}={value} is a path of the image: map it to this machine here"
            environ[key] = value
    Path(environ["HOME"]).mkdir(exist_ok=True)
    environ["MODEL_MONITOR_OPT_ML"] = str(root)
    if not IMAGE_VENV:
        environ["PYTHONPATH"] = str(dockerfile.REPO)
    return environ


def run_container(root: Path, environment: dict, *, hosts: list[str] | None = None, current: str | None = None,
                  inputs: list[dict] | None = None) -> subprocess.CompletedProcess:
    """Write <root>/config/processingjobconfig.json (and resourceconfig.json), run the ENTRYPOINT."""
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "processingjobconfig.json").write_text(json.dumps({
        "ProcessingJobName": "test-job", "Environment": environment, "ProcessingInputs": inputs or [],
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": len(hosts or ["algo-1"]),
                                                  "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}}}))
    if hosts:
        (config / "resourceconfig.json").write_text(json.dumps(
            {"current_host": current, "hosts": hosts, "network_interface_name": "eth0"}))
    command = [str(dockerfile.repo_file_for(dockerfile.entrypoint()[0]))] + dockerfile.entrypoint()[1:]
    return subprocess.run(command, capture_output=True, text=True, env=image_environment(root), timeout=900,
                          cwd=root.parent)


def message(root: Path) -> str:
    return (root / "output" / "message").read_text(encoding="utf-8")


@pytest.fixture
def opt_ml(tmp_path) -> Path:
    root = tmp_path / "opt_ml"
    (root / "processing").mkdir(parents=True)
    return root


def s3_input(name: str, local: Path, distribution: str = "FullyReplicated") -> dict:
    return {"InputName": name, "S3Input": {"LocalPath": str(local), "S3Uri": f"s3://bucket/{name}",
                                           "S3DataType": "S3Prefix", "S3InputMode": "File",
                                           "S3DataDistributionType": distribution}}


def baseline_environment(root: Path) -> tuple[dict, Path]:
    """What the SDK's DefaultModelMonitor.suggest_baseline puts in the Environment (spec §3.2)."""
    data = root / "processing" / "input" / "baseline_dataset_input"
    data.mkdir(parents=True)
    shutil.copyfile(DQ / "baseline_dataset.csv", data / "baseline_dataset.csv")
    out = root / "processing" / "output"
    return {"dataset_source": str(data), "dataset_format": '{"csv": {"header": false, "output_columns_position": '
            '"START"}}', "output_path": str(out), "publish_cloudwatch_metrics": "Disabled"}, out


# --- (a) data-quality baseline ----------------------------------------------------------------------

def test_data_quality_baseline_on_the_first_of_two_hosts(opt_ml):
    env, out = baseline_environment(opt_ml)
    proc = run_container(opt_ml, env, hosts=["algo-1", "algo-2"], current="algo-1",
                         inputs=[s3_input("baseline_dataset_input", Path(env["dataset_source"]))])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert message(opt_ml) == SUCCESS
    assert "model-monitor-entrypoint: Spark driver memory" in proc.stderr  # the wrapper ran, then the analyzer
    assert "2 hosts in resourceconfig.json: the analysis runs on algo-1 alone" in proc.stderr
    assert SUCCESS in proc.stdout
    real_constraints = json.loads((DQ / "good_cases" / "constraints.json").read_text())
    assert json.loads((out / "constraints.json").read_text())["features"] == real_constraints["features"]
    ours = json.loads((out / "statistics.json").read_text())
    real = json.loads((DQ / "statistics.json").read_text())
    assert ours["dataset"] == real["dataset"] == {"item_count": 100}
    frame = pd.read_csv(DQ / "baseline_dataset.csv", header=None)
    by_name = {f["name"]: f for f in ours["features"]}
    assert list(by_name) == [f"_c{i}" for i in range(6)] == [f["name"] for f in real["features"]]
    for i, (feature, real_feature) in enumerate(zip(ours["features"], real["features"], strict=True)):
        num, real_num = feature["numerical_statistics"], real_feature["numerical_statistics"]
        column = frame[i]
        assert num["common"] == real_num["common"] == {"num_present": 100, "num_missing": 0}
        assert (num["min"], num["max"]) == (real_num["min"], real_num["max"]) == (column.min(), column.max())
        assert math.isclose(num["sum"], column.sum(), rel_tol=1e-12) and math.isclose(num["sum"], real_num["sum"])
        assert math.isclose(num["mean"], column.mean(), rel_tol=1e-12)
        assert math.isclose(num["std_dev"], column.std(ddof=0), rel_tol=1e-9)
        assert math.isclose(num["std_dev"], real_num["std_dev"], rel_tol=1e-9)
    assert not list(opt_ml.glob("output/metrics/**/*.jsonl"))  # a baseline publishes no metric


def test_the_second_of_two_hosts_exits_at_once_with_a_message(opt_ml):
    env, out = baseline_environment(opt_ml)
    started = time.monotonic()
    proc = run_container(opt_ml, env, hosts=["algo-1", "algo-2"], current="algo-2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert message(opt_ml) == (
        "Idle: host algo-2 (2 of 2) has nothing to do: the analysis runs on algo-1, the first host of "
        "resourceconfig.json, in Spark local mode. Use InstanceCount=1: the other instances stay idle.")
    assert proc.stdout.strip() == message(opt_ml)
    assert not out.exists()  # nothing read, nothing written
    assert time.monotonic() - started < 60  # no Spark: a JVM start alone takes longer on this machine


def test_sharded_inputs_on_several_hosts_fail_with_the_reason(opt_ml):
    env, out = baseline_environment(opt_ml)
    proc = run_container(opt_ml, env, hosts=["algo-1", "algo-2"], current="algo-1",
                         inputs=[s3_input("baseline_dataset_input", Path(env["dataset_source"]), "ShardedByS3Key")])
    assert proc.returncode == 255
    assert message(opt_ml) == (
        "input(s) baseline_dataset_input use S3DataDistributionType ShardedByS3Key with 2 hosts: algo-1 alone "
        "runs the analysis and would see only its shard. Use FullyReplicated (the default) or InstanceCount=1")
    assert not out.exists()


# --- (b) data-quality monitoring over capture files ---------------------------------------------------

def _capture_rows(folder: Path) -> pd.DataFrame:
    """The SDK baseline rows as CSV captures of one hour (the model output _c0 first, START)."""
    with open(DQ / "baseline_dataset.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    hour = folder / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    hour.mkdir(parents=True)
    (hour / "12-00-000-uuid.jsonl").write_text("".join(
        capture_line(",".join(r[1:]), r[0], f"{HOUR}:{i % 60:02d}:00Z", event_id=f"e{i}") + "\n"
        for i, r in enumerate(rows)))
    # an hour outside the window: downloaded (SageMaker sometimes downloads more), never analysed
    late = folder / "ep" / "AllTraffic" / "2026" / "11" / "20" / "11"
    late.mkdir(parents=True)
    (late / "00-00-000-uuid.jsonl").write_text(capture_line("9,9,9,9,9", "9", "2026-11-20T11:30:00Z") + "\n")
    return pd.DataFrame([[float(v) for v in r] for r in rows], columns=[f"_c{i}" for i in range(6)])


def test_data_quality_monitoring_over_capture_files(opt_ml):
    capture = opt_ml / "processing" / "input" / "endpoint"
    frame = _capture_rows(capture)
    baseline = opt_ml / "processing" / "baseline"
    (baseline / "constraints").mkdir(parents=True)
    (baseline / "stats").mkdir(parents=True)
    shutil.copyfile(DQ / "bad_cases" / "constraints.json", baseline / "constraints" / "constraints.json")
    shutil.copyfile(DQ / "statistics.json", baseline / "stats" / "statistics.json")
    script = opt_ml / "processing" / "input" / "post_analytics_processor_script_input" / "post.py"
    script.parent.mkdir(parents=True)
    seen = opt_ml.parent / "post-processor-saw.json"
    script.write_text("import json, os\n\ndef postprocess_handler():\n"
                      f"    open({str(seen)!r}, 'w').write(json.dumps({{'my_custom': os.environ.get('my_custom')}}))\n")
    out = opt_ml / "processing" / "resultdata"
    env = {  # the DG's example Environment of a scheduled run, plus the baseline and a custom key
        "dataset_format": '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}',
        "dataset_source": str(capture), "output_path": str(out), "publish_cloudwatch_metrics": "Enabled",
        "sagemaker_endpoint_name": "ep", "sagemaker_monitoring_schedule_name": "hourly",
        "start_time": f"{HOUR}:00:00Z", "end_time": "2026-11-20T11:00:00Z", "metric_time": f"{HOUR}:00:00Z",
        "baseline_constraints": str(baseline / "constraints" / "constraints.json"),
        "baseline_statistics": str(baseline / "stats" / "statistics.json"),
        "post_analytics_processor_script": str(script), "my_custom": "passed-through",
    }
    proc = run_container(opt_ml, env)
    assert proc.returncode == 0, proc.stderr[-3000:]  # violations are a successful run
    assert message(opt_ml) == "CompletedWithViolations: Job completed successfully with 1 violations."
    violations = json.loads((out / "constraint_violations.json").read_text())["violations"]
    # the fixture's bad_cases constraints declare _c5 a String; the captured values are numbers
    real_types = {f["name"]: f["inferred_type"] for f in
                  json.loads((DQ / "bad_cases" / "constraints.json").read_text())["features"]}
    assert real_types["_c5"] == "String"
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [("_c5", "data_type_check")]
    stats = json.loads((out / "statistics.json").read_text())
    assert stats["dataset"]["item_count"] == 100  # the 11:00 record is outside the window
    assert json.loads(seen.read_text()) == {"my_custom": "passed-through"}  # like the real image, for scripts

    lines = (opt_ml / "output" / "metrics" / "cloudwatch" / "cloudwatch_metrics.jsonl").read_text().splitlines()
    metrics = {m["MetricName"]: m for m in map(json.loads, lines)}
    dims = [{"Name": "Endpoint", "Value": "ep"}, {"Name": "MonitoringSchedule", "Value": "hourly"}]
    assert all(m["Dimensions"] == dims and m["Timestamp"] == f"{HOUR}:00:00Z" for m in metrics.values())
    for name in frame.columns:
        assert metrics[f"feature_non_null_{name}"]["Value"] == 1.0
        data = metrics[f"feature_data_{name}"]["StatisticValues"]
        assert data == {"SampleCount": 100.0, "Sum": pytest.approx(frame[name].sum(), rel=1e-12),
                        "Minimum": frame[name].min(), "Maximum": frame[name].max()}


# --- (c) model quality ---------------------------------------------------------------------------------

def test_model_quality_baseline_from_a_labelled_dataset_matches_the_real_fixture(opt_ml):
    """As the SDK's QualityCheckStep ran the real container for the fixture."""
    data = opt_ml / "processing" / "input" / "baseline_dataset_input"
    data.mkdir(parents=True)
    shutil.copyfile(MQ / "baseline_dataset.csv", data / "baseline_dataset.csv")
    out = opt_ml / "processing" / "output"
    env = {"analysis_type": "MODEL_QUALITY", "problem_type": "Regression", "inference_attribute": "Label",
           "ground_truth_attribute": "Prediction", "dataset_source": str(data / "baseline_dataset.csv"),
           "dataset_format": '{"csv": {"header": true, "output_columns_position": "START"}}',
           "output_path": str(out), "publish_cloudwatch_metrics": "Disabled"}
    proc = run_container(opt_ml, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert message(opt_ml) == SUCCESS
    ours = json.loads((out / "statistics.json").read_text())
    real = json.loads((MQ / "statistics.json").read_text())
    assert ours["dataset"]["item_count"] == real["dataset"]["item_count"] == 100
    assert ours["regression_metrics"] == real["regression_metrics"]  # every value, and "NaN" std below 200 rows
    assert (out / "constraints.json").read_text() == (MQ / "good_cases" / "constraints.json").read_text()


def test_model_quality_monitoring_of_merged_records_against_baseline_constraints(opt_ml):
    """The analyzer job of a model-quality schedule (MKV's Environment, spec §2.2): merged records of
    one hour, the baseline's constraints; the fixture's bad_cases constraints make mse a violation."""
    df = pd.read_csv(MQ / "baseline_dataset.csv")
    merged = opt_ml / "processing" / "input_data"
    hour = merged / "abalone-endpoint" / "AllTraffic" / "2026" / "11" / "20" / "10"
    hour.mkdir(parents=True)
    lines = []
    for i, r in enumerate(df.itertuples()):  # the prediction (Label, as the SDK job named it) is the output
        record = json.loads(capture_line("1,2,3", repr(float(r.Label)), f"{HOUR}:{i % 60:02d}:00Z", event_id=f"e{i}"))
        record["groundTruthData"] = {"data": repr(float(r.Prediction)), "encoding": "CSV"}
        lines.append(json.dumps(record))
    (hour / "merged-00000.jsonl").write_text("\n".join(lines) + "\n")
    constraints = opt_ml / "processing" / "baseline" / "constraints" / "constraints.json"
    constraints.parent.mkdir(parents=True)
    shutil.copyfile(MQ / "bad_cases" / "constraints.json", constraints)
    out = opt_ml / "processing" / "output"
    env = {"analysis_type": "MODEL_QUALITY", "baseline_constraints": str(constraints),
           "dataset_format": '{"sagemakerMergeJson":{"captureIndexNames":["endpointOutput"]}}',
           "dataset_source": str(merged), "start_time": f"{HOUR}:00:00Z", "end_time": "2026-11-20T11:00:00Z",
           "metric_time": f"{HOUR}:00:00Z", "inference_attribute": "0", "problem_type": "Regression",
           "publish_cloudwatch_metrics": "Enabled", "output_path": str(out),
           "sagemaker_endpoint_name": "abalone-endpoint", "sagemaker_monitoring_schedule_name": "abalone-schedule"}
    proc = run_container(opt_ml, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert message(opt_ml) == "CompletedWithViolations: Job completed successfully with 1 violations."
    real = json.loads((MQ / "statistics.json").read_text())["regression_metrics"]
    assert json.loads((out / "statistics.json").read_text())["regression_metrics"] == real
    violations = json.loads((out / "constraint_violations.json").read_text())["violations"]
    assert [(v["metric_name"], v["constraint_check_type"]) for v in violations] == [("mse", "GreaterThanThreshold")]
    e = df["Prediction"] - df["Label"]
    lines = (opt_ml / "output" / "metrics" / "cloudwatch" / "cloudwatch_metrics.jsonl").read_text().splitlines()
    by_name = {m["MetricName"]: m for m in map(json.loads, lines)}
    assert sorted(by_name) == ["mae", "mse", "r2", "rmse"]
    assert math.isclose(by_name["mse"]["Value"], float((e * e).mean()), rel_tol=1e-12)
    assert math.isclose(by_name["mae"]["Value"], float(e.abs().mean()), rel_tol=1e-12)
    assert by_name["mse"]["Dimensions"] == [{"Name": "Endpoint", "Value": "abalone-endpoint"},
                                            {"Name": "MonitoringSchedule", "Value": "abalone-schedule"}]


# --- failure --------------------------------------------------------------------------------------------

def test_a_failure_exits_255_with_the_reason_in_the_message_file(opt_ml):
    missing = opt_ml / "processing" / "baseline" / "constraints" / "constraints.json"
    capture = opt_ml / "processing" / "input" / "endpoint"
    capture.mkdir(parents=True)
    env = {"dataset_format": '{"sagemakerCaptureJson": {}}', "dataset_source": str(capture),
           "output_path": str(opt_ml / "processing" / "output"), "baseline_constraints": str(missing),
           "start_time": f"{HOUR}:00:00Z", "end_time": "2026-11-20T11:00:00Z"}
    proc = run_container(opt_ml, env)
    assert proc.returncode == 255
    text = message(opt_ml)
    assert str(missing) in text and "Traceback" not in text
    assert f"Exception performing analysis: {text}" in proc.stderr
