"""The monitoring run's edges: `model-monitor analyze` failures, `spark-submit jobs/model_monitor.py monitor`, and
the pre/post-processing scripts in a real Spark run. The monitoring run through the container's entrypoint
from processingjobconfig.json alone is in test_container_contract.py."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import FIXTURES, capture_line, simple_constraints
from helpers import run_process as _run

from monitor_lib.cli import main

DQ = FIXTURES / "sdk-pipeline-dq-baseline"
ENV_KEYS = ("dataset_source", "dataset_format", "output_path", "baseline_constraints", "baseline_statistics",
            "start_time", "end_time", "metric_time", "publish_cloudwatch_metrics", "sagemaker_endpoint_name",
            "sagemaker_monitoring_schedule_name", "record_preprocessor_script", "post_analytics_processor_script",
            "analysis_type", "CLOUDWATCH_METRICS_DIRECTORY")


def _capture(root: Path) -> tuple[Path, pd.DataFrame]:
    """The SDK baseline rows as CSV captures in one hour folder (output = _c0, START)."""
    with open(DQ / "baseline_dataset.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    d = root / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    d.mkdir(parents=True)
    (d / "a.jsonl").write_text("".join(capture_line(",".join(r[1:]), r[0], f"2026-11-20T10:{i % 60:02d}:00Z") + "\n"
                                       for i, r in enumerate(rows)))
    frame = pd.DataFrame([[float(v) for v in r] for r in rows], columns=[f"_c{i}" for i in range(6)])
    return root, frame


@pytest.fixture
def opt_ml(tmp_path, monkeypatch):
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    root = tmp_path / "opt_ml"
    (root / "config").mkdir(parents=True)
    monkeypatch.setenv("MODEL_MONITOR_OPT_ML", str(root))
    return root


def test_analyze_monitoring_failure_names_the_file(tmp_path, opt_ml, monkeypatch):
    monkeypatch.setenv("dataset_source", str(tmp_path))
    monkeypatch.setenv("dataset_format", '{"sagemakerCaptureJson": {}}')
    monkeypatch.setenv("output_path", str(tmp_path / "out"))
    monkeypatch.setenv("baseline_constraints", str(tmp_path / "nope.json"))
    assert main(["analyze"]) == 255
    message = (opt_ml / "output" / "message").read_text()
    assert str(tmp_path / "nope.json") in message


def test_spark_submit_data_quality_job(tmp_path):
    capture, _ = _capture(tmp_path / "capture")
    bin_dir = Path(sys.executable).parent
    r = _run([str(bin_dir / "spark-submit"), "--master", "local[2]", "jobs/model_monitor.py", "monitor",
              "--dataset", str(capture), "--baseline-constraints", str(DQ / "bad_cases" / "constraints.json"),
              "--baseline-statistics", str(DQ / "statistics.json"), "--start-time", "2026-11-20T10:00:00Z",
              "--end-time", "2026-11-20T11:00:00Z", "--output", str(tmp_path / "out")],
             {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "CompletedWithViolations: Job completed successfully with 1 violations." in r.stdout
    assert "Spark master local[2]" in r.stdout
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert summary["violations_by_check"] == {"data_type_check": 1} and summary["records_profiled"] == 100


PREPROCESSOR = '''
import os

def preprocess_handler(inference_record, logger):
    values = inference_record.endpoint_input.data.split(",")
    if values[0] == "0.0":
        return []  # custom sampling: drop these records
    record = {"score": inference_record.endpoint_output.data, "tag": os.environ.get("MY_TAG", "unset")}
    record.update({f"f{i}": v for i, v in enumerate(values)})
    return record
'''

POSTPROCESSOR = '''
import os

def postprocess_handler():
    with open(os.environ["POST_MARKER"], "w") as fh:
        fh.write("done")
'''


def test_preprocessor_runs_in_executors_and_postprocessor_after(spark, tmp_path, opt_ml):
    capture, frame = _capture(tmp_path / "capture")
    pre, post = tmp_path / "pre.py", tmp_path / "post.py"
    pre.write_text(PREPROCESSOR)
    post.write_text(POSTPROCESSOR)
    names = ["score", "tag"] + [f"f{i}" for i in range(5)]
    constraints = tmp_path / "c.json"
    constraints.write_text(json.dumps(simple_constraints(names)))
    out = tmp_path / "out"
    env = {"dataset_source": str(capture), "output_path": str(out), "dataset_format": '{"sagemakerCaptureJson": {}}',
           "baseline_constraints": str(constraints), "record_preprocessor_script": str(pre),
           "post_analytics_processor_script": str(post), "MY_TAG": "from-config",
           "POST_MARKER": str(tmp_path / "post-ran")}
    (opt_ml / "config" / "processingjobconfig.json").write_text(json.dumps({"Environment": env}))
    assert main(["analyze"]) == 0
    summary = json.loads((out / "run_summary.json").read_text())
    kept = frame[frame["_c1"] != 0.0]
    assert summary["records_profiled"] == len(kept)
    assert summary["records_skipped"] == {"dropped_by_preprocessor": int((frame["_c1"] == 0.0).sum())}
    stats = {f["name"]: f for f in json.loads((out / "statistics.json").read_text())["features"]}
    assert stats["score"]["numerical_statistics"]["sum"] == pytest.approx(kept["_c0"].sum(), rel=1e-12)
    assert stats["f4"]["numerical_statistics"]["sum"] == pytest.approx(kept["_c5"].sum(), rel=1e-12)
    # custom environment keys reach the script in the executors; "tag" is a String column
    assert stats["tag"]["string_statistics"]["distinct_count"] == 1.0
    assert [b["value"] for b in stats["tag"]["string_statistics"]["distribution"]["categorical"]["buckets"]] == [
        "from-config"]
    assert (tmp_path / "post-ran").read_text() == "done"
    violations = json.loads((out / "constraint_violations.json").read_text())["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [("tag", "data_type_check")]

    # an exception inside the handler fails the run with SageMaker's text, the script and the error
    pre.write_text("def preprocess_handler(record):\n"
                   "    raise ValueError('cannot parse ' + record.endpoint_input.data)\n")
    os.remove(opt_ml / "output" / "message")
    assert main(["analyze"]) == 255
    message = (opt_ml / "output" / "message").read_text()
    assert message.startswith("There is an exception raised in preprocessor script. Please double check the "
                              f"preprocessor script. {pre}: ValueError: cannot parse ")
