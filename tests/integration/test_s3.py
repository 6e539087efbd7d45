"""S3 round trips through the emulator (moto's server on 127.0.0.1, real boto3 over HTTP).

Every run on s3:// is checked against the SAME run on local files, which is the independent reference:
the local readers are Spark's own file readers, the s3 ones read the objects with boto3 in the executors.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FIXTURES, capture_line, mixed_frame

from monitor_lib.errors import DatasetNotFoundError, EmptyDatasetError
from monitor_lib.io import s3
from monitor_lib.monitors.data_quality import MonitoringRunParams
from monitor_lib.params import from_params
from monitor_lib.runner import run_job

DQ = FIXTURES / "sdk-pipeline-dq-baseline"
BUCKET = "model-monitor-tests"
CAPTURE_FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'


@pytest.fixture(scope="module")
def bucket(aws_server):
    client = aws_server.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def upload_tree(client, local: Path, prefix: str) -> str:
    """Every file under ``local`` to ``s3://BUCKET/prefix/<relative path>``; returns the prefix URI."""
    for path in sorted(local.rglob("*")):
        if path.is_file():
            client.put_object(Bucket=BUCKET, Key=f"{prefix}/{path.relative_to(local).as_posix()}",
                              Body=path.read_bytes())
    return f"s3://{BUCKET}/{prefix}"


def s3_json(client, key: str):
    return json.loads(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def s3_keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/")
    return sorted(o["Key"][len(prefix) + 1:] for p in pages for o in p.get("Contents", []))


def local_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def differences(a, b, path: str = "") -> list[str]:
    """The JSON paths where two documents differ (empty: identical). The items a KLL sketch holds
    uncompacted are compared as multisets, and floats to 1e-12: item order and the last bits of sums
    follow the order Spark fed the rows in, which depends on how the input was split into partitions."""
    if path.endswith(".kll.sketch.data") and isinstance(a, list) and isinstance(b, list):
        a, b = [sorted(level) for level in a], [sorted(level) for level in b]
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12):
        return []  # floating-point sums in another order (partitions), last bits only
    return [] if a == b else [f"{path}: {str(a)[:80]} != {str(b)[:80]}"]


def baseline(source: str, out: str, fmt: str, **params):
    return run_job("data-quality", {"dataset_source": source, "dataset_format": fmt, "output_path": out, **params})


# ---------------------------------------------------------------- (a) (b) baselines: csv, json, parquet


def test_csv_baseline_with_header_several_files_and_gzip(spark, bucket, tmp_path):
    frame, _ = mixed_frame(900, seed=3)
    data = tmp_path / "csv"
    data.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
        text = frame.iloc[part].to_csv(index=False)
        if i == 2:
            (data / "part-2.csv.gz").write_bytes(gzip.compress(text.encode()))
        else:
            (data / f"part-{i}.csv").write_text(text, encoding="utf-8")
    # one row with a wrong field count: counted as such on both sides
    with open(data / "part-0.csv", "a", encoding="utf-8") as fh:
        fh.write("1,2,3\n")
    (data / "_SUCCESS").write_text("")
    (data / "_temporary").mkdir()  # hidden folders are not data either, on both sides
    (data / "_temporary" / "junk.csv").write_text("x\n1,2,3,4,5\n")
    uri = upload_tree(bucket, data, "a/csv")
    fmt = '{"csv": {"header": true}}'
    local = baseline(str(data), str(tmp_path / "local-out"), fmt)
    remote = baseline(uri, f"s3://{BUCKET}/a/csv-out", fmt)

    assert remote.output_path == f"s3://{BUCKET}/a/csv-out"
    assert local.artifacts.run.profile.item_count == remote.artifacts.run.profile.item_count == 900
    assert local.artifacts.run.profile.rejected == remote.artifacts.run.profile.rejected == {"wrong_field_count": 1}
    for name in ("statistics.json", "constraints.json"):
        assert differences(s3_json(bucket, f"a/csv-out/{name}"), local_json(tmp_path / "local-out" / name)) == []
    assert s3_keys(bucket, "a/csv-out") == sorted(os.listdir(tmp_path / "local-out"))
    summary = s3_json(bucket, "a/csv-out/run_summary.json")
    assert summary["files"]["statistics"] == f"s3://{BUCKET}/a/csv-out/statistics.json"
    assert summary["records_rejected"] == {"wrong_field_count": 1}
    # the malformed record's sample names the object it came from
    sample = bucket.get_object(Bucket=BUCKET, Key="a/csv-out/rejected_records_sample.jsonl")["Body"].read()
    assert json.loads(sample) == {"kind": "wrong_field_count", "file": f"{uri}/part-0.csv", "record": "1,2,3"}


def test_real_fixture_csv_without_header(spark, bucket, tmp_path):
    data = tmp_path / "dq"
    data.mkdir()
    shutil.copy(DQ / "baseline_dataset.csv", data / "baseline_dataset.csv")
    uri = upload_tree(bucket, data, "a/dq")
    fmt = '{"csv": {"header": false}}'
    local = baseline(str(data), str(tmp_path / "local-out"), fmt)
    baseline(f"{uri}/baseline_dataset.csv", f"s3://{BUCKET}/a/dq-out/", fmt)  # a single object, trailing '/'
    ours = s3_json(bucket, "a/dq-out/statistics.json")
    assert differences(ours, local_json(tmp_path / "local-out" / "statistics.json")) == []
    assert ours["dataset"]["item_count"] == 100 == local.artifacts.statistics.item_count
    # and the real container's numbers for this file
    real = local_json(DQ / "statistics.json")
    for mine, theirs in zip(ours["features"], real["features"], strict=True):
        assert mine["name"] == theirs["name"] and mine["inferred_type"] == theirs["inferred_type"]
        assert mine["numerical_statistics"]["sum"] == pytest.approx(theirs["numerical_statistics"]["sum"], rel=1e-12)


@pytest.mark.parametrize("kind", ["jsonl", "json-documents", "parquet"])
def test_json_and_parquet_baselines(spark, bucket, tmp_path, kind):
    rng = np.random.default_rng(11)
    n = 600
    frame = pd.DataFrame({"x": rng.normal(5, 2, n).round(4), "k": rng.integers(0, 40, n),
                          "s": np.array(["red", "green", "blue"])[rng.integers(0, 3, n)]})
    data = tmp_path / kind
    data.mkdir()
    parts = np.array_split(np.arange(n), 3)
    for i, part in enumerate(parts):
        chunk = frame.iloc[part]
        if kind == "jsonl":
            text = chunk.to_json(orient="records", lines=True)
            if i == 1:
                text += "{not json\n"  # malformed_json on both sides
            (data / f"p{i}.jsonl").write_text(text, encoding="utf-8")
        elif kind == "json-documents":
            (data / f"p{i}.json").write_text(json.dumps(chunk.to_dict(orient="records"), indent=1), encoding="utf-8")
        else:
            chunk.to_parquet(data / f"p{i}.parquet", index=False)
    fmt = {"jsonl": '{"json": {"lines": true}}', "json-documents": '{"json": {"lines": false}}',
           "parquet": '{"parquet": {}}'}[kind]
    uri = upload_tree(bucket, data, f"b/{kind}")
    local = baseline(str(data), str(tmp_path / "out"), fmt)
    remote = baseline(uri, f"s3://{BUCKET}/b/{kind}-out", fmt)
    assert remote.artifacts.run.profile.item_count == local.artifacts.run.profile.item_count == n
    assert remote.artifacts.run.profile.rejected == local.artifacts.run.profile.rejected
    assert local.artifacts.run.profile.rejected == ({"malformed_json": 1} if kind == "jsonl" else {})
    for name in ("statistics.json", "constraints.json"):
        assert differences(s3_json(bucket, f"b/{kind}-out/{name}"), local_json(tmp_path / "out" / name)) == []


# ---------------------------------------------------------------- (c) data-quality monitoring of a capture window


def _capture_tree(root: Path) -> None:
    """Hours 08..12 of 2026-11-20; the 10:00-12:00 window holds hours 10 and 11 (one file gzipped,
    one malformed line, one line of invalid UTF-8)."""
    rng = np.random.default_rng(5)
    for hour in range(8, 13):
        folder = root / "ep" / "AllTraffic" / "2026" / "11" / "20" / f"{hour:02d}"
        folder.mkdir(parents=True)
        for j in range(2):
            lines = [capture_line(f"{rng.normal(hour, 1):.4f},{rng.integers(0, 5)}", f"{rng.random():.4f}",
                                  f"2026-11-20T{hour:02d}:{j * 30 + i % 30:02d}:00Z", event_id=f"{hour}-{j}-{i}")
                     for i in range(40)]
            text = "\n".join(lines) + "\n"
            if hour == 10 and j == 0:
                text += "{broken\n"
                (folder / f"{j}.jsonl").write_bytes(text.encode() + b"\xff\xfe not utf-8\n")
            elif hour == 11 and j == 1:
                (folder / f"{j}.jsonl.gz").write_bytes(gzip.compress(text.encode()))
            else:
                (folder / f"{j}.jsonl").write_text(text, encoding="utf-8")


def test_data_quality_monitoring_of_a_capture_window(spark, bucket, tmp_path):
    capture = tmp_path / "capture"
    _capture_tree(capture)
    # a baseline from hour 08 (local), so the window drifts
    base = tmp_path / "base"
    rows = [[f"{0.5:.1f}", f"{8 + (i % 10) / 10:.2f}", str(i % 5)] for i in range(200)]
    (tmp_path / "base.csv").write_text("y,a,b\n" + "".join(",".join(r) + "\n" for r in rows))
    baseline(str(tmp_path / "base.csv"), str(base), '{"csv": {"header": true}}')
    base_uri = upload_tree(bucket, base, "c/baseline")
    capture_uri = upload_tree(bucket, capture, "c/capture")

    def run(source, out, constraints, statistics, metrics):
        return run_job("data-quality", ({
            "dataset_source": source, "dataset_format": CAPTURE_FORMAT, "output_path": out,
            "baseline_constraints": constraints, "baseline_statistics": statistics,
            "start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T12:00:00Z",
            "publish_cloudwatch_metrics": "Enabled", "CLOUDWATCH_METRICS_DIRECTORY": metrics,
            "sagemaker_endpoint_name": "ep", "sagemaker_monitoring_schedule_name": "hourly"}))

    local = run(str(capture), str(tmp_path / "out"), str(base / "constraints.json"), str(base / "statistics.json"),
                str(tmp_path / "metrics"))
    s3.LISTED.clear()
    remote = run(capture_uri, f"s3://{BUCKET}/c/out", f"{base_uri}/constraints.json",
                 f"{base_uri}/statistics.json", f"s3://{BUCKET}/c/metrics")

    # only the window's hour prefixes were listed below the day folder
    listed = [p for b, p, _ in s3.LISTED if p.startswith("c/capture/")]
    day = "c/capture/ep/AllTraffic/2026/11/20/"
    assert day in listed
    assert sorted(p for p in listed if p.startswith(day) and p != day) == [day + "10/", day + "11/"]
    assert remote.files_read == local.files_read == 4
    assert remote.records == local.records == 160
    assert remote.rejected == local.rejected == {"invalid_utf8": 1, "malformed_json": 1}
    assert remote.violations and [v.__dict__ for v in remote.violations] == [v.__dict__ for v in local.violations]
    for name in ("constraint_violations.json", "statistics.json", "constraints.json"):
        assert differences(s3_json(bucket, f"c/out/{name}"), local_json(tmp_path / "out" / name)) == []
    metrics = bucket.get_object(Bucket=BUCKET, Key="c/metrics/cloudwatch_metrics.jsonl")["Body"].read().decode()
    reference = (tmp_path / "metrics" / "cloudwatch_metrics.jsonl").read_text()
    assert differences([json.loads(x) for x in metrics.splitlines()],
                       [json.loads(x) for x in reference.splitlines()]) == []
    assert len(metrics.splitlines()) == len(reference.splitlines()) == 9  # 3 features x (data, non-null, drift)
    summary = s3_json(bucket, "c/out/run_summary.json")
    assert summary["files"]["cloudwatch_metrics"] == f"s3://{BUCKET}/c/metrics/cloudwatch_metrics.jsonl"
    assert summary["status"] == "CompletedWithViolations" and summary["files_read"] == 4
    sample = [json.loads(x) for x in bucket.get_object(
        Bucket=BUCKET, Key="c/out/rejected_records_sample.jsonl")["Body"].read().splitlines()]
    assert {r["file"] for r in sample} == {f"{capture_uri}/ep/AllTraffic/2026/11/20/10/0.jsonl"}
    assert s3_keys(bucket, "c/out") == sorted(os.listdir(tmp_path / "out"))
    # lineage.json lists the window's capture objects with the size and ETag S3 gives them (no second read)
    lineage = s3_json(bucket, "c/out/lineage.json")
    listed = {f["uri"]: (f["size"], f["etag"]) for f in lineage["inputs"][0]["files"]}
    heads = {u: bucket.head_object(Bucket=BUCKET, Key=u.split(f"s3://{BUCKET}/", 1)[1]) for u in listed}
    assert listed == {u: (h["ContentLength"], h["ETag"].strip('"')) for u, h in heads.items()}
    assert len(listed) == summary["files_read"] == 4
    complete = json.loads(bucket.get_object(Bucket=BUCKET, Key="c/out/openlineage_events.jsonl")["Body"].read()
                          .splitlines()[-1])  # OpenLineage naming: namespace s3://<bucket>, name the key prefix
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]][0] == (f"s3://{BUCKET}", "c/capture")
    assert [(d["namespace"], d["name"]) for d in complete["outputs"]] == [(f"s3://{BUCKET}", "c/out")]

    # re-running an empty window into the same output removes the stale reports, like the local run
    def empty(source, out, constraints):
        return run_job("data-quality", ({
            "dataset_source": source, "dataset_format": CAPTURE_FORMAT, "output_path": out,
            "baseline_constraints": constraints, "start_time": "2026-11-21T10:00:00Z",
            "end_time": "2026-11-21T11:00:00Z"}))

    empty(str(capture), str(tmp_path / "out"), str(base / "constraints.json"))
    again = empty(capture_uri, f"s3://{BUCKET}/c/out", f"{base_uri}/constraints.json")
    assert again.status == "NoData"
    assert s3_keys(bucket, "c/out") == sorted(os.listdir(tmp_path / "out")) == [
        "lineage.json", "openlineage_events.jsonl", "report.html", "run_summary.json"]


# ---------------------------------------------------------------- (d) model quality with ground truth


def test_model_quality_with_ground_truth(spark, bucket, tmp_path):
    rng = np.random.default_rng(9)
    capture, truth = tmp_path / "capture", tmp_path / "gt"
    folder = capture / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    folder.mkdir(parents=True)
    labels = []
    lines = []
    for i in range(120):
        p = float(rng.random())
        lines.append(capture_line("1,2", f"{p:.4f}", f"2026-11-20T10:{i % 60:02d}:00Z", event_id=f"e{i}"))
        if i % 10:  # every tenth prediction has no label yet
            labels.append(json.dumps({"groundTruthData": {"data": str(int(rng.random() < p)), "encoding": "CSV"},
                                      "eventMetadata": {"eventId": f"e{i}"}, "eventVersion": "0"}))
    (folder / "c.jsonl").write_text("\n".join(lines) + "\n")
    gt_folder = truth / "2026" / "11" / "20" / "12"
    gt_folder.mkdir(parents=True)
    (gt_folder / "labels.jsonl").write_text("\n".join(labels) + "\nnot json\n")
    capture_uri, truth_uri = upload_tree(bucket, capture, "d/capture"), upload_tree(bucket, truth, "d/gt")

    def run(source, gt, out):
        return run_job("model-quality", ({
            "dataset_source": source, "ground_truth_source": gt, "dataset_format": CAPTURE_FORMAT,
            "output_path": out, "problem_type": "BinaryClassification", "probability_attribute": "0",
            "probability_threshold_attribute": "0.5", "start_time": "2026-11-20T10:00:00Z",
            "end_time": "2026-11-20T11:00:00Z"}), spark=spark)

    local = run(str(capture), str(truth), str(tmp_path / "out"))
    remote = run(capture_uri, truth_uri, f"s3://{BUCKET}/d/out")
    remote_merge, local_merge = remote.artifacts.merge, local.artifacts.merge
    assert remote_merge.details == local_merge.details
    assert remote_merge.details["matched"] == 108 and remote_merge.details["labels_rejected"] == {"malformed_json": 1}
    assert remote_merge.output_path == f"s3://{BUCKET}/d/out/merge"
    assert remote.artifacts.tallies.records == local.artifacts.tallies.records == 108
    ours = s3_json(bucket, "d/out/statistics.json")
    theirs = local_json(tmp_path / "out" / "statistics.json")
    for metric, value in theirs["binary_classification_metrics"].items():
        if isinstance(value, dict) and "value" in value:
            assert ours["binary_classification_metrics"][metric]["value"] == value["value"], metric
    assert s3_json(bucket, "d/out/constraints.json") == local_json(tmp_path / "out" / "constraints.json")
    merged = "d/out/merge/ep/AllTraffic/2026/11/20/10/merged-00000.jsonl"
    ours_merged = sorted(bucket.get_object(Bucket=BUCKET, Key=merged)["Body"].read().decode().splitlines())
    local_merged = (tmp_path / "out" / "merge" / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10" /
                    "merged-00000.jsonl")
    assert ours_merged == sorted(local_merged.read_text().splitlines()) and len(ours_merged) == 108
    assert s3_keys(bucket, "d/out") == sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())


# ---------------------------------------------------------------- (e) SSE-KMS


def test_outputs_are_encrypted_with_the_kms_key(spark, bucket, aws_server, tmp_path):
    key_id = aws_server.client("kms").create_key(Description="model-monitor outputs")["KeyMetadata"]["KeyId"]
    data = tmp_path / "d"
    data.mkdir()
    shutil.copy(DQ / "baseline_dataset.csv", data / "b.csv")
    uri = upload_tree(bucket, data, "e/data")
    baseline(uri, f"s3://{BUCKET}/e/out", '{"csv": {"header": false}}', output_kms_key=key_id)
    keys = s3_keys(bucket, "e/out")
    assert {"statistics.json", "constraints.json", "run_summary.json", "report.html"} <= set(keys)
    for key in keys:
        head = bucket.head_object(Bucket=BUCKET, Key=f"e/out/{key}")
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert head["SSEKMSKeyId"].endswith(key_id), (key, head["SSEKMSKeyId"])
    # without a key: no SSE-KMS
    baseline(uri, f"s3://{BUCKET}/e/plain", '{"csv": {"header": false}}')
    assert bucket.head_object(Bucket=BUCKET, Key="e/plain/statistics.json").get("ServerSideEncryption") != "aws:kms"


# ---------------------------------------------------------------- (f) errors name the URI


def test_missing_bucket_and_empty_prefix_name_the_uri(spark, bucket):
    fmt = '{"csv": {"header": false}}'
    with pytest.raises(DatasetNotFoundError, match="dataset_source s3://no-such-bucket-x/data does not exist: "
                                                   "there is no bucket no-such-bucket-x"):
        baseline("s3://no-such-bucket-x/data", f"s3://{BUCKET}/f/out", fmt)
    with pytest.raises(DatasetNotFoundError, match=f"dataset_source s3://{BUCKET}/f/nothing-here does not exist"):
        baseline(f"s3://{BUCKET}/f/nothing-here", f"s3://{BUCKET}/f/out", fmt)
    bucket.put_object(Bucket=BUCKET, Key="f/only-markers/_SUCCESS", Body=b"")
    with pytest.raises(EmptyDatasetError, match=f"dataset_source s3://{BUCKET}/f/only-markers contains no data files"):
        baseline(f"s3://{BUCKET}/f/only-markers", f"s3://{BUCKET}/f/out", fmt)
    assert s3_keys(bucket, "f/out") == []  # a failed run uploads nothing


# ---------------------------------------------------------------- the SageMaker contract with s3:// paths


def test_analyze_with_only_processingjobconfig_reads_and_writes_s3(spark, bucket, aws_server, tmp_path, monkeypatch):
    """`model-monitor analyze`: dataset, baseline and output in S3, the output key from
    ProcessingOutputConfig.KmsKeyId; no environment variables."""
    from monitor_lib.cli import main

    key_id = aws_server.client("kms").create_key()["KeyMetadata"]["KeyId"]
    data = tmp_path / "d"
    data.mkdir()
    shutil.copy(DQ / "baseline_dataset.csv", data / "b.csv")
    uri = upload_tree(bucket, data, "g/data")
    root = tmp_path / "opt_ml"
    (root / "config").mkdir(parents=True)
    (root / "config" / "processingjobconfig.json").write_text(json.dumps({
        "Environment": {"dataset_source": uri, "dataset_format": '{"csv": {"header": false}}',
                        "output_path": f"s3://{BUCKET}/g/out", "publish_cloudwatch_metrics": "Disabled"},
        "ProcessingOutputConfig": {"KmsKeyId": key_id, "Outputs": []}}))
    monkeypatch.setenv("MODEL_MONITOR_OPT_ML", str(root))
    assert main(["analyze"]) == 0
    assert (root / "output" / "message").read_text() == "Completed: Job completed successfully with no violations."
    stats = s3_json(bucket, "g/out/statistics.json")
    assert stats["dataset"]["item_count"] == 100
    head = bucket.head_object(Bucket=BUCKET, Key="g/out/constraints.json")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"].endswith(key_id)


def test_scripts_and_config_files_in_s3(spark, bucket, tmp_path, capsys):
    """Scripts are accepted as s3:// URIs and read on the driver; so is a --config YAML."""
    from monitor_lib.cli import main
    from monitor_lib.io.preprocess import run_postprocessor

    marker = tmp_path / "post-ran"
    bucket.put_object(Bucket=BUCKET, Key="h/post.py", Body=(
        "def postprocess_handler():\n"
        f"    open({str(marker)!r}, 'w').write('yes')\n").encode())
    config = from_params(MonitoringRunParams, {
        "dataset_source": f"s3://{BUCKET}/h/capture", "dataset_format": CAPTURE_FORMAT,
        "output_path": f"s3://{BUCKET}/h/out", "baseline_constraints": f"s3://{BUCKET}/h/constraints.json",
        "record_preprocessor_script": f"s3://{BUCKET}/h/pre.py",
        "post_analytics_processor_script": f"s3://{BUCKET}/h/post.py", "output_kms_key": "alias/x"}, "parameters")
    assert config.output_kms_key == "alias/x"
    run_postprocessor(config.post_analytics_processor_script)
    assert marker.read_text() == "yes"
    # a YAML config in S3, pointing at data in S3
    data = tmp_path / "d"
    data.mkdir()
    shutil.copy(DQ / "baseline_dataset.csv", data / "b.csv")
    uri = upload_tree(bucket, data, "h/data")
    bucket.put_object(Bucket=BUCKET, Key="h/baseline.yaml", Body=(
        f"dataset_source: {uri}\noutput_path: s3://{BUCKET}/h/yaml-out\n"
        "dataset_format: {csv: {header: false}}\n").encode())
    assert main(["-q", "baseline", "--config", f"s3://{BUCKET}/h/baseline.yaml"]) == 0
    assert f"s3://{BUCKET}/h/yaml-out/statistics.json" in capsys.readouterr().out
    assert s3_json(bucket, "h/yaml-out/statistics.json")["dataset"]["item_count"] == 100


def test_spark_reader_option_hands_s3_paths_to_spark(spark, bucket, tmp_path, monkeypatch):
    """MODEL_MONITOR_S3_READER=spark (EMRFS clusters): the listed s3:// paths go to Spark's own reader —
    which here, without an s3 file system, fails naming the scheme."""
    data = tmp_path / "d"
    data.mkdir()
    shutil.copy(DQ / "baseline_dataset.csv", data / "b.csv")
    uri = upload_tree(bucket, data, "i/data")
    monkeypatch.setenv("MODEL_MONITOR_S3_READER", "spark")
    from monitor_lib.errors import UnreadableInputError

    with pytest.raises(UnreadableInputError,
                       match=f"dataset_source {uri} cannot be read as CSV \\(--format csv\\): .*scheme \"s3\""):
        baseline(uri, str(tmp_path / "out"), '{"csv": {"header": false}}')
