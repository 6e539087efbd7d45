"""The jobs on a real Spark standalone cluster (a master and a worker started with ``spark-class`` on
127.0.0.1), submitted with ``model-monitor submit --target standalone``, with their data, baseline files and
outputs in the S3 emulator (moto's server mode on 127.0.0.1): the driver lists, the executors read the
objects through boto3. Every output must equal the same run in local mode on local files (``submit --target
local``), and the runs must have used the cluster (run_summary.json's Spark master, the master's list of
completed applications)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from cluster import start_cluster
from helpers import capture_line, run_process

WINDOW = ("2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z")
SPARK_CONF = ["--conf", "spark.driver.memory=768m", "--conf", "spark.executor.memory=768m",
              "--conf", "spark.sql.shuffle.partitions=4"]


BUCKET = "cluster-data"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, aws_server):
    """One master + one worker (1 core, 1 GB). The daemons copy this process's environment (the tests' dummy
    AWS credentials, AWS_ENDPOINT_URL of the emulator) and the executors inherit the worker's."""
    c = start_cluster(tmp_path_factory.mktemp("standalone"), workers=1, cores=1, memory="1g",
                      env_extra={"AWS_ENDPOINT_URL": aws_server.endpoint})
    yield c
    c.stop()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A baseline CSV (score first, as a model output) and one hour of capture in two files, drifted."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(11)
    n = 1500  # below the KLL sketch size: the sketches are exact, so cluster and local must agree exactly
    cities = np.array(["berlin", "lisbon", "oslo", "riga"])
    base = root / "baseline" / "train.csv"
    base.parent.mkdir(parents=True)
    rows = zip(rng.random(n).round(4), rng.integers(18, 80, n), rng.lognormal(10, 0.5, n).round(2),
               cities[rng.integers(0, 4, n)], strict=True)
    base.write_text("score,age,income,city\n" + "".join(f"{s},{a},{i},{c}\n" for s, a, i, c in rows))
    hour = root / "capture" / "my-endpoint" / "AllTraffic" / "2026" / "11" / "20" / "10"
    hour.mkdir(parents=True)
    for part in range(2):
        m = 600
        ages = rng.integers(30, 95, m)  # older customers: drift on age
        incomes = np.where(rng.random(m) < 0.02, "n/a", rng.lognormal(10, 0.5, m).round(2).astype(str))
        lines = [capture_line(f"{a},{inc},{cities[rng.integers(0, 4)]}", f"{rng.random():.4f}",
                              f"2026-11-20T10:{(i + 7 * part) % 60:02d}:{i % 60:02d}Z", event_id=f"{part}-{i}")
                 for i, (a, inc) in enumerate(zip(ages, incomes, strict=True))]
        lines.append("{not json")
        (hour / f"part-{part}.jsonl").write_text("\n".join(lines) + "\n")
    return {"baseline": base, "capture": root / "capture", "out": root / "out"}


def submit(target: list[str], job: str, flags: list[str]):
    done = run_process([sys.executable, "-m", "monitor_lib.cli", "submit", *target, *SPARK_CONF, job, "--", *flags],
                       timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return done


def baseline_flags(dataset: str, out: str) -> list[str]:
    return ["--dataset", dataset, "--format", "csv", "--header", "--output", out]


def monitor_flags(capture: str, baseline: str, out: str) -> list[str]:
    return ["--dataset", capture, "--baseline-constraints", f"{baseline}/constraints.json",
            "--baseline-statistics", f"{baseline}/statistics.json", "--start-time", WINDOW[0],
            "--end-time", WINDOW[1], "--endpoint", "my-endpoint", "--schedule", "hourly", "--output", out]


def upload(s3, local: Path, prefix: str) -> str:
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    for path in files:
        key = prefix if local.is_file() else f"{prefix}/{path.relative_to(local).as_posix()}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    return f"s3://{BUCKET}/{prefix}"


def download(s3, prefix: str, local: Path) -> Path:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            target = local / obj["Key"][len(prefix) + 1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read())
    return local


def same(a, b, path="$"):
    """Equal documents; floats equal to 1e-9 relative (sums may add up in another order on another cluster)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def load(folder: Path, name: str):
    return json.loads((folder / name).read_text())


@pytest.mark.spark
def test_baseline_and_monitoring_on_a_standalone_cluster_with_data_in_s3_equal_local_mode(cluster, data,
                                                                                         aws_server):
    out = data["out"]
    s3 = aws_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    train = upload(s3, data["baseline"], "train/train.csv")
    capture = upload(s3, data["capture"], "capture")
    standalone = ["--target", "standalone", "--master", cluster.master_url]
    done = submit(standalone, "baseline", baseline_flags(train, f"s3://{BUCKET}/out/baseline"))
    assert f"data-quality-baseline on {cluster.master_url}: completed" in done.stdout
    assert f"outputs  s3://{BUCKET}/out/baseline" in done.stdout
    submit(standalone, "monitor", monitor_flags(capture, f"s3://{BUCKET}/out/baseline", f"s3://{BUCKET}/out/monitor"))
    for run in ("baseline", "monitor"):
        download(s3, f"out/{run}", out / "cluster" / run)
    local = out / "local"
    submit(["--target", "local"], "baseline", baseline_flags(str(data["baseline"]), str(local / "baseline")))
    submit(["--target", "local"], "monitor", monitor_flags(str(data["capture"]), str(local / "baseline"),
                                                           str(local / "monitor")))

    # the runs used the cluster: its master ran them, and lists them as completed applications
    for run in ("baseline", "monitor"):
        assert load(out / "cluster" / run, "run_summary.json")["spark_master"] == cluster.master_url
        assert load(out / "local" / run, "run_summary.json")["spark_master"].startswith("local")
    apps = cluster.state()["completedapps"]
    assert sorted(a["name"] for a in apps) == ["model-monitor-baseline", "model-monitor-data-quality"]
    assert all(a["state"] == "FINISHED" for a in apps)

    # the same numbers as local mode, file by file
    for run, names in (("baseline", ["statistics.json", "constraints.json"]),
                       ("monitor", ["statistics.json", "constraints.json", "constraint_violations.json"])):
        for name in names:
            same(load(out / "cluster" / run, name), load(out / "local" / run, name), f"{run}/{name}")
    stats = load(out / "cluster" / "baseline", "statistics.json")
    assert stats["dataset"]["item_count"] == 1500
    age = next(f for f in stats["features"] if f["name"] == "age")["numerical_statistics"]
    ages = np.loadtxt(data["baseline"], delimiter=",", skiprows=1, usecols=1)  # the independent reference
    assert (age["min"], age["max"], age["sum"]) == (ages.min(), ages.max(), ages.sum())
    assert math.isclose(age["mean"], ages.mean(), rel_tol=1e-12) and math.isclose(age["std_dev"], ages.std(),
                                                                                   rel_tol=1e-9)
    summary = load(out / "cluster" / "monitor", "run_summary.json")
    assert summary["records_profiled"] == 1200 and summary["records_rejected"] == {"malformed_json": 2}
    violations = load(out / "cluster" / "monitor", "constraint_violations.json")["violations"]
    assert {(v["feature_name"], v["constraint_check_type"]) for v in violations} >= {("age", "baseline_drift_check"),
                                                                                    ("income", "data_type_check")}


@pytest.mark.spark
def test_a_failing_job_on_the_cluster_gives_the_driver_exit_code_and_its_message(cluster, tmp_path):
    missing = tmp_path / "no-such-dataset.csv"
    done = run_process([sys.executable, "-m", "monitor_lib.cli", "submit", "--target", "standalone", "--master",
                        cluster.master_url, *SPARK_CONF, "baseline", "--", "--dataset", str(missing), "--format", "csv",
                        "--output", str(tmp_path / "out")], timeout=900)
    assert done.returncode == 2  # the CLI's exit code for a user error, through spark-submit
    # PySpark's runner merges the Python driver's stderr into spark-submit's stdout
    assert f"error: dataset_source {missing} does not exist" in done.stdout
    assert done.stdout.splitlines()[-1] == (f"data-quality-baseline on {cluster.master_url}: failed "
                                            "(spark-submit exit code 2); the job's error is above")
    assert not (tmp_path / "out").exists()
