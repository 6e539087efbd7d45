"""The jobs on a real Spark standalone cluster (a master and a worker started with ``spark-class`` on
127.0.0.1), submitted with ``model-monitor submit --target standalone``, with their data, baseline files and
outputs in the S3 emulator (moto's server mode on 127.0.0.1): the driver lists, the executors read the
objects through boto3. Every output must equal the same run in local mode on local files (``submit --target
local``), and the runs must have used the cluster (run_summary.json's Spark master, the master's list of
completed applications).

The drivers' temporary folder (``TMPDIR``, where an ``s3://`` output is staged) is hidden from the worker
and its executors (a private tmpfs over it, see ``tests/cluster.py``), as on a cluster of several machines:
whatever the executors write must reach S3 through the storage layer, not through the driver's disk."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cluster import can_hide_folders, start_cluster
from helpers import capture_line, run_process

WINDOW = ("2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z")
SPARK_CONF = ["--conf", "spark.driver.memory=768m", "--conf", "spark.executor.memory=768m",
              "--conf", "spark.sql.shuffle.partitions=4"]


BUCKET = "cluster-data"


@pytest.fixture(scope="module")
def driver_tmp(tmp_path_factory) -> Path:
    """The drivers' TMPDIR: the staging folders of s3:// outputs are made there."""
    return tmp_path_factory.mktemp("driver-tmp")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, aws_server, driver_tmp):
    """One master + one worker (1 core, 1 GB). The daemons copy this process's environment (the tests' dummy
    AWS credentials, AWS_ENDPOINT_URL of the emulator) and the executors inherit the worker's. The worker
    gets an empty tmpfs of its own over ``driver_tmp`` where this machine allows it."""
    c = start_cluster(tmp_path_factory.mktemp("standalone"), workers=1, cores=1, memory="1g",
                      env_extra={"AWS_ENDPOINT_URL": aws_server.endpoint},
                      private_dirs=[driver_tmp] if can_hide_folders() else [])
    c.driver_tmp_hidden = can_hide_folders()
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


def submit(target: list[str], job: str, flags: list[str], tmp: Path | None = None):
    done = run_process([sys.executable, "-m", "monitor_lib.cli", "submit", *target, *SPARK_CONF, job, "--",
                        *flags], env_extra={"TMPDIR": str(tmp)} if tmp else None, timeout=900)
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
def test_baseline_and_monitoring_on_a_standalone_cluster_with_data_in_s3_equal_local_mode(
        cluster, data, aws_server, driver_tmp):
    out = data["out"]
    s3 = aws_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    train = upload(s3, data["baseline"], "train/train.csv")
    capture = upload(s3, data["capture"], "capture")
    standalone = ["--target", "standalone", "--master", cluster.master_url]
    done = submit(standalone, "baseline", baseline_flags(train, f"s3://{BUCKET}/out/baseline"), driver_tmp)
    assert f"data-quality-baseline on {cluster.master_url}: completed" in done.stdout
    assert f"outputs  s3://{BUCKET}/out/baseline" in done.stdout
    submit(standalone, "monitor", monitor_flags(capture, f"s3://{BUCKET}/out/baseline", f"s3://{BUCKET}/out/monitor"),
           driver_tmp)
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
    apps = [a for a in cluster.state()["completedapps"] if "-data-quality-" in a["name"]]
    assert sorted(a["name"] for a in apps) == ["model-monitor-data-quality-baseline",
                                               "model-monitor-data-quality-monitoring"]
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


@pytest.fixture(scope="module")
def quality_data(tmp_path_factory) -> dict:
    """One hour of captured scores of a binary classifier (two files; a few records made in the next hour
    were flushed into this folder) and the ground truth uploaded later in two hour folders: most predictions
    labelled, some never, some twice (the later upload wins), labels no capture carries, a malformed line.
    Every seventh capture has an inferenceId, which its label carries instead of the eventId."""
    root = tmp_path_factory.mktemp("quality")
    rng = np.random.default_rng(29)
    n = 600
    scores = rng.random(n).round(4)
    labels = (rng.random(n) < scores).astype(int)  # an informative model
    hour = root / "capture" / "my-endpoint" / "AllTraffic" / "2026" / "11" / "20" / "10"
    hour.mkdir(parents=True)
    captures = []
    for i in range(n):
        late = i % 50 == 49
        meta = {"inferenceId": f"inf-{i}"} if i % 7 == 0 else {}
        when = f"2026-11-20T{11 if late else 10}:{i % 60:02d}:{7 * i % 60:02d}Z"
        line = capture_line(f"{i},{i % 3}", str(scores[i]), when, event_id=f"ev-{i}", **meta)
        captures.append({"key": meta.get("inferenceId", f"ev-{i}"), "score": float(scores[i]),
                         "in_window": not late, "line": line})
    for part in range(2):
        (hour / f"part-{part}.jsonl").write_text("".join(c["line"] + "\n" for c in captures[part::2]))

    def label(key: str, value: int) -> str:
        return json.dumps({"groundTruthData": {"data": str(value), "encoding": "CSV"},
                           "eventMetadata": {"eventId": key}, "eventVersion": "0"})

    first = [(c["key"], int(labels[i])) for i, c in enumerate(captures) if i % 10 != 3]
    first += [("ghost-1", 1), ("ghost-2", 0)]  # labels no capture carries
    later = [(c["key"], 1 - int(labels[i])) for i, c in enumerate(captures) if i % 13 == 0]  # corrections
    uploads = {"12": first, "13": later}
    for hh, rows in uploads.items():
        folder = root / "gt" / "2026" / "11" / "20" / hh
        folder.mkdir(parents=True)
        extra = "not json\n" if hh == "12" else ""
        (folder / "labels.jsonl").write_text("".join(label(k, v) + "\n" for k, v in rows) + extra)
    constraints = root / "constraints.json"
    constraints.write_text(json.dumps({"version": 0.0, "binary_classification_constraints": {
        "accuracy": {"threshold": 0.99, "comparison_operator": "LessThanThreshold"},
        "auc": {"threshold": 0.5, "comparison_operator": "LessThanThreshold"}}}))
    label_rows = [{"id": k, "data": v, "upload": hh} for hh, rows in uploads.items() for k, v in rows]
    return {"capture": root / "capture", "gt": root / "gt", "constraints": constraints,
            "captures": pd.DataFrame(captures), "labels": pd.DataFrame(label_rows)}


@pytest.mark.spark
def test_model_quality_with_ground_truth_on_the_cluster_with_everything_in_s3(
        cluster, quality_data, aws_server, driver_tmp):
    """The merge's executors write the merged records to S3 themselves: the driver's staging folder is out of
    their reach. Counts against pandas, metrics against scikit-learn, on the same generated data."""
    from sklearn import metrics as skm

    assert cluster.driver_tmp_hidden, ("the worker must not see the driver's folder (a mount namespace with a tmpfs "
                                       "over it): without that this test could pass with a driver-local merge")
    worker = cluster.processes[1]  # the worker: a tmpfs of its own over the drivers' TMPDIR
    assert f" {driver_tmp} " in Path(f"/proc/{worker.pid}/mountinfo").read_text()
    assert f" {driver_tmp} " not in Path("/proc/self/mountinfo").read_text()
    s3 = aws_server.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    capture = upload(s3, quality_data["capture"], "mq/capture")
    truth = upload(s3, quality_data["gt"], "mq/gt")
    constraints = upload(s3, quality_data["constraints"], "mq/baseline/constraints.json")
    out = f"s3://{BUCKET}/mq/out"
    done = submit(["--target", "standalone", "--master", cluster.master_url], "monitor", [
        "--analysis-type", "model-quality", "--dataset", capture, "--ground-truth", truth,
        "--baseline-constraints", constraints, "--problem-type", "BinaryClassification",
        "--probability-attribute", "0", "--probability-threshold-attribute", "0.5",
        "--start-time", WINDOW[0], "--end-time", WINDOW[1], "--output", out], driver_tmp)
    assert f"on {cluster.master_url}: completed" in done.stdout

    # the reference: pandas over the generated records
    caps, labels = quality_data["captures"], quality_data["labels"]
    in_window = caps[caps["in_window"]]
    winner = labels.sort_values("upload", kind="stable").groupby("id")["data"].last()
    matched = in_window[in_window["key"].isin(winner.index)]
    expected_counts = {
        "capture_files": 2, "ground_truth_files": 2, "predictions": len(in_window),
        "captures_rejected": {}, "captures_skipped": {"outside_window": len(caps) - len(in_window)},
        "labels": len(labels), "labels_rejected": {"malformed_json": 1}, "matched": len(matched),
        "matched_by_inference_id": int(matched["key"].str.startswith("inf-").sum()),
        "matched_by_event_id": int(matched["key"].str.startswith("ev-").sum()),
        "unmatched_predictions": len(in_window) - len(matched),
        "unmatched_labels": len(set(winner.index) - set(in_window["key"])),
        "duplicate_labels": len(labels) - labels["id"].nunique(),
    }
    summary = json.loads(s3.get_object(Bucket=BUCKET, Key="mq/out/merge/_merge_summary.json")["Body"].read())
    assert {k: summary[k] for k in expected_counts} == expected_counts
    assert 400 < expected_counts["matched"] < 550 and expected_counts["duplicate_labels"] > 30

    # the merged records are in S3, written there by the executor: one file for the hour folder
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="mq/out/merge/")["Contents"])
    merged_key = "mq/out/merge/my-endpoint/AllTraffic/2026/11/20/10/merged-00000.jsonl"
    assert [k for k in keys if not k.rsplit("/", 1)[1].startswith("_")] == [merged_key]
    merged = [json.loads(line) for line in
              s3.get_object(Bucket=BUCKET, Key=merged_key)["Body"].read().decode().splitlines()]
    got = {(r["eventMetadata"].get("inferenceId") or r["eventMetadata"]["eventId"]):
           int(r["groundTruthData"]["data"]) for r in merged}
    assert len(merged) == len(got) == len(matched) and got == {k: int(winner[k]) for k in matched["key"]}

    # the metrics: scikit-learn on the same records
    y_true = matched["key"].map(winner).astype(int).to_numpy()
    y_score = matched["score"].to_numpy()
    y_pred = (y_score >= 0.5).astype(int)
    stats = json.loads(s3.get_object(Bucket=BUCKET, Key="mq/out/statistics.json")["Body"].read())
    assert stats["dataset"]["item_count"] == len(matched)
    m = stats["binary_classification_metrics"]
    reference = {"accuracy": skm.accuracy_score(y_true, y_pred),
                 "precision": skm.precision_score(y_true, y_pred),
                 "recall": skm.recall_score(y_true, y_pred), "f1": skm.f1_score(y_true, y_pred),
                 "auc": skm.roc_auc_score(y_true, y_score)}
    for name, value in reference.items():
        assert math.isclose(m[name]["value"], value, rel_tol=1e-12), (name, m[name]["value"], value)
    tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred).ravel()
    assert m["confusion_matrix"] == {"0": {"0": int(tn), "1": int(fp)}, "1": {"0": int(fn), "1": int(tp)}}
    violations = json.loads(s3.get_object(Bucket=BUCKET,
                                          Key="mq/out/constraint_violations.json")["Body"].read())
    assert reference["accuracy"] < 0.99 and reference["auc"] >= 0.5
    assert [v["metric_name"] for v in violations["violations"]] == ["accuracy"]
    run = json.loads(s3.get_object(Bucket=BUCKET, Key="mq/out/run_summary.json")["Body"].read())
    assert run["spark_master"] == cluster.master_url
    assert "model-monitor-model-quality-monitoring" in [a["name"] for a in cluster.state()["completedapps"]]
    assert not list(driver_tmp.iterdir())  # the staging folders are gone


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


@pytest.mark.spark
def test_feature_attribution_on_the_cluster_with_the_model_and_everything_in_s3(cluster, aws_server, driver_tmp,
                                                                                  tmp_path):
    """The executors of a real cluster load the model from S3 (model_uri) and explain there; the baseline's
    K-means background is written to S3 and the monitoring run reads it back. Every global value equals
    single-process shap (every coalition enumerated: exact) over the same records and background."""
    import joblib
    import shap
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    names = ["tenure", "calls", "spend"]
    X = rng.normal([24, 3, 50], [10, 2, 20], size=(80, 3)).round(3)
    y = (rng.random(80) < 1 / (1 + np.exp(-(X[:, 1] - 3)))).astype(int)
    model = LogisticRegression(max_iter=500).fit(X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    train = tmp_path / "train.csv"
    pd.DataFrame(np.c_[X, y], columns=[*names, "churn"]).astype({"churn": int}).to_csv(train, index=False)
    window = rng.normal([24, 3, 50], [10, 2, 20], size=(30, 3)).round(3)
    window[:, 1] = 3.0  # the calls feature stuck: the model's strongest signal is gone
    capture = tmp_path / "capture" / "ep" / "v" / "2026" / "11" / "20" / "10" / "part.jsonl"
    capture.parent.mkdir(parents=True)
    capture.write_text("".join(capture_line(",".join(repr(float(v)) for v in row), "0.5",
                                            time="2026-11-20T10:20:00Z") + "\n" for row in window))
    s3 = aws_server.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    model_uri = upload(s3, tmp_path / "model.joblib", "explain/model.joblib")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"label": "churn", "headers": names,
                                  "methods": {"shap": {"num_clusters": 2, "num_samples": 6, "seed": 3}},
                                  "predictor": {"model_uri": model_uri, "probability": 1}}))
    config_uri = upload(s3, config, "explain/config.json")
    dataset, captures = upload(s3, train, "explain/train.csv"), upload(s3, tmp_path / "capture", "explain/capture")
    target = ["--target", "standalone", "--master", cluster.master_url]
    base = f"s3://{BUCKET}/explain/baseline"
    done = submit(target, "baseline", ["--type", "model-explainability", "--dataset", dataset, "--format", "csv",
                                       "--header", "--analysis-config", config_uri, "--output", base], driver_tmp)
    assert f"on {cluster.master_url}: completed" in done.stdout
    run = f"s3://{BUCKET}/explain/run"
    submit(target, "monitor", ["--type", "model-explainability", "--dataset", captures, "--analysis-config",
                               config_uri, "--baseline-constraints", f"{base}/analysis.json", "--start-time",
                               WINDOW[0], "--end-time", WINDOW[1], "--output", run], driver_tmp)
    out = download(s3, "explain", tmp_path / "out")
    background = np.loadtxt(out / "baseline" / "explanations_shap" / "baseline.csv", delimiter=",", ndmin=2)
    assert background.shape == (2, 3)

    explainer = shap.KernelExplainer(lambda a: model.predict_proba(a)[:, [1]], background)

    def reference(records):
        phi = explainer.shap_values(records, nsamples=6, l1_reg=False, silent=True)[:, :, 0]
        return dict(zip(names, np.abs(phi).mean(axis=0), strict=True))

    for folder, records in (("baseline", X), ("run", window)):
        summary = json.loads((out / folder / "run_summary.json").read_text())
        assert summary["spark_master"] == cluster.master_url and summary["records_explained"] == len(records)
        section = json.loads((out / folder / "analysis.json").read_text())["explanations"]["kernel_shap"]["label0"]
        ref = reference(records)
        assert list(section["global_shap_values"]) == names
        for f in names:
            assert math.isclose(section["global_shap_values"][f], ref[f], rel_tol=1e-9, abs_tol=1e-12), f
        assert math.isclose(section["expected_value"], model.predict_proba(background)[:, 1].mean(), rel_tol=1e-12)
    summary = json.loads((out / "run" / "run_summary.json").read_text())
    assert summary["background"] == f"{base}/explanations_shap/baseline.csv"
    assert summary["status"] == "CompletedWithViolations"  # calls stuck: the ranking turned over
