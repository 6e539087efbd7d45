"""The edges: `model-monitor analyze` in process (environment variables, failures), `model-monitor baseline`
with flags and YAML, `spark-submit jobs/model_monitor.py baseline`, Spark configuration from SPARK_CONF_DIR,
missing Java. The container run from processingjobconfig.json alone is in test_container_contract.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_process as _run

from monitor_lib.cli import main

REPO = Path(__file__).resolve().parents[2]
ENV_KEYS = ("dataset_source", "dataset_format", "output_path", "baseline_constraints", "analysis_type",
            "categorical_drift_method", "publish_cloudwatch_metrics")
SUCCESS = "Completed: Job completed successfully with no violations."


@pytest.fixture
def opt_ml(tmp_path, monkeypatch, fixtures):
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    root = tmp_path / "opt_ml"
    (root / "config").mkdir(parents=True)
    monkeypatch.setenv("MODEL_MONITOR_OPT_ML", str(root))
    data = tmp_path / "processing" / "input" / "baseline_dataset_input"
    data.mkdir(parents=True)
    (data / "baseline.csv").write_bytes((fixtures / "sdk-pipeline-dq-baseline" / "baseline_dataset.csv").read_bytes())
    return root, data, tmp_path / "processing" / "output"


def _expected_constraints(fixtures):
    path = fixtures / "sdk-pipeline-dq-baseline" / "good_cases" / "constraints.json"
    return json.loads(path.read_text())["features"]


def test_analyze_from_environment_variables(spark, opt_ml, fixtures, monkeypatch):
    root, data, out = opt_ml
    monkeypatch.setenv("dataset_source", str(data))
    monkeypatch.setenv("dataset_format", '{"csv": {"header": false, "output_columns_position": "START"}}')
    monkeypatch.setenv("output_path", str(out))
    monkeypatch.setenv("categorical_drift_method", "ChiSquared")
    assert main(["analyze"]) == 0
    c = json.loads((out / "constraints.json").read_text())
    assert c["features"] == _expected_constraints(fixtures)
    assert c["monitoring_config"]["distribution_constraints"]["categorical_drift_method"] == "ChiSquared"
    assert (root / "output" / "message").read_text() == SUCCESS


def test_analyze_failure_writes_reason_and_exits_255(opt_ml, monkeypatch):
    root, _, out = opt_ml
    monkeypatch.setenv("dataset_source", "/no/such/dir")
    monkeypatch.setenv("dataset_format", '{"csv": {"header": true}}')
    monkeypatch.setenv("output_path", str(out))
    assert main(["analyze"]) == 255
    assert (root / "output" / "message").read_text() == "dataset_source /no/such/dir does not exist"
    # the real image never overwrites a message that is already there
    monkeypatch.setenv("dataset_format", "not json")
    assert main(["analyze"]) == 255
    assert (root / "output" / "message").read_text() == "dataset_source /no/such/dir does not exist"


def test_analyze_missing_parameter_names_it(opt_ml):
    root, _, _ = opt_ml
    assert main(["analyze"]) == 255
    assert (root / "output" / "message").read_text().startswith("dataset_source is required")


def test_baseline_with_yaml_and_flags(spark, tmp_path, fixtures, capsys):
    cfg = tmp_path / "baseline.yaml"
    cfg.write_text(
        f"dataset_source: {fixtures / 'sdk-pipeline-dq-baseline' / 'baseline_dataset.csv'}\n"
        "dataset_format: {csv: {header: false}}\n"
        f"output_path: {tmp_path / 'ignored'}\n"
        "max_categories: 50\n"
    )
    assert main(["baseline", "--config", str(cfg), "--output", str(tmp_path / "out")]) == 0  # flag wins
    features = json.loads((tmp_path / "out" / "constraints.json").read_text())["features"]
    assert features == _expected_constraints(fixtures)
    printed = capsys.readouterr().out
    assert SUCCESS in printed and "features: 6 (6 Fractional)" in printed and str(tmp_path / "out") in printed
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset_sauce: x\n")
    assert main(["baseline", "--config", str(bad)]) == 2
    assert "unknown key(s) dataset_sauce" in capsys.readouterr().err


def test_spark_submit_job_and_spark_conf_dir(tmp_path, fixtures):
    """`spark-submit jobs/model_monitor.py baseline` and, for the CLI, the master from spark-defaults.conf."""
    data = fixtures / "sdk-pipeline-dq-baseline" / "baseline_dataset.csv"
    bin_dir = Path(sys.executable).parent
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    r = _run([str(bin_dir / "spark-submit"), "--master", "local[2]", str(REPO / "jobs" / "model_monitor.py"),
              "baseline", "--dataset", str(data), "--format", "csv", "--no-header", "--output",
              str(tmp_path / "submit")],
             {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}, cwd=workdir)
    assert r.returncode == 0, r.stderr[-3000:]
    assert list(workdir.iterdir()) == []  # no spark-warehouse/ left in the working directory (issue 17)
    assert "Spark master local[2]" in r.stdout
    assert json.loads((tmp_path / "submit" / "run_summary.json").read_text())["spark_master"] == "local[2]"

    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text("spark.master local[1]\nspark.driver.memory 1g\n")
    r = _run([sys.executable, "-m", "monitor_lib.cli", "baseline", "--dataset", str(data), "--format", "csv",
              "--no-header", "--output", str(tmp_path / "conf-out")], {"SPARK_CONF_DIR": str(conf)})
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((tmp_path / "conf-out" / "run_summary.json").read_text())["spark_master"] == "local[1]"
    features = json.loads((tmp_path / "conf-out" / "constraints.json").read_text())["features"]
    assert features == _expected_constraints(fixtures)


def test_missing_java_is_a_clear_message(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(empty)
    r = _run([sys.executable, "-m", "monitor_lib.cli", "baseline", "--dataset", str(tmp_path), "--format", "csv",
              "--output", str(tmp_path / "o")], env=env)
    assert r.returncode == 2
    assert "Java not found (no 'java' on PATH and JAVA_HOME unset)" in r.stderr
    assert "Traceback" not in r.stderr
    # the setup script of `make demo` / `make test` says the same before installing anything
    check = subprocess.run(["/bin/bash", str(REPO / "scripts" / "check_env.sh"), sys.executable], capture_output=True,
                           text=True, env={**os.environ, "JAVA_HOME": str(empty)})
    assert check.returncode == 1
    assert f"error: Java not found (JAVA_HOME={empty} has no bin/java)" in check.stderr
