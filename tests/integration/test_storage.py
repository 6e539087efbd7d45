"""Output folders through the S3 emulator: where staged files end up, which objects a re-run removes, and the
ground-truth merge's files written by the executors straight to S3 (a staged output, a plain ``s3://`` URI
and a local folder give the same files)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from monitor_lib.io.storage import Destination, OutputFolder, destination, output_location
from monitor_lib.quality.merge import write_merged_records

BUCKET = "storage-tests"


@pytest.fixture(scope="module")
def bucket(aws_server):
    client = aws_server.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/")
    return sorted(o["Key"][len(prefix) + 1:] for p in pages for o in p.get("Contents", []))


def body(client, key: str) -> str:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def test_a_local_output_folder_is_the_folder_itself(tmp_path):
    with output_location(str(tmp_path / "out")) as out:
        assert isinstance(out, OutputFolder) and out == str(tmp_path / "out") and os.path.isdir(out)
        assert not out.staged and out.public(os.path.join(out, "a.json")) == os.path.join(out, "a.json")
        assert out.destination() == Destination(str(tmp_path / "out"))
        out.mirror_folders(["x"])  # nothing to do locally
        with output_location(out) as inner:  # an OutputFolder is used as it is
            assert inner is out


def test_a_staged_s3_output_knows_where_its_files_end_up_and_removes_what_the_job_removed(bucket, tmp_path):
    bucket.put_object(Bucket=BUCKET, Key="a/out/top.json", Body=b"old top")
    bucket.put_object(Bucket=BUCKET, Key="a/out/sub/old.txt", Body=b"stale")
    bucket.put_object(Bucket=BUCKET, Key="a/out/sub/keep.txt", Body=b"kept")
    with output_location(f"s3://{BUCKET}/a/out/") as out:
        assert out.staged and out.uri == f"s3://{BUCKET}/a/out" and os.path.isdir(out)
        assert out.public(out) == f"s3://{BUCKET}/a/out"
        assert out.public(os.path.join(out, "sub", "x.json")) == f"s3://{BUCKET}/a/out/sub/x.json"
        assert out.public(str(tmp_path / "elsewhere.json")) == str(tmp_path / "elsewhere.json")
        assert out.public(f"s3://{BUCKET}/other") == f"s3://{BUCKET}/other"
        assert Path(out, "top.json").read_text() == "old top"  # the top level is copied in
        assert not os.path.exists(os.path.join(out, "sub"))  # deeper folders only on demand
        out.mirror_folders(["sub"])
        assert sorted(os.listdir(os.path.join(out, "sub"))) == ["keep.txt", "old.txt"]
        os.remove(os.path.join(out, "sub", "old.txt"))
        Path(out, "new.json").write_text("new")
        dest = out.destination()
        assert dest.root == f"s3://{BUCKET}/a/out" and dest.is_s3
        staging = str(out)
    assert not os.path.exists(staging)
    assert keys(bucket, "a/out") == ["new.json", "sub/keep.txt", "top.json"]
    assert body(bucket, "a/out/new.json") == "new" and body(bucket, "a/out/top.json") == "old top"


def test_nothing_is_uploaded_when_the_job_fails(bucket):
    with pytest.raises(RuntimeError), output_location(f"s3://{BUCKET}/b/out") as out:
        Path(out, "half.json").write_text("{")
        raise RuntimeError("the job failed")
    assert keys(bucket, "b/out") == []


def test_destination_paths_stay_inside_the_output(tmp_path):
    dest = destination(str(tmp_path / "d"))
    assert dest.location("x/y.jsonl") == str(tmp_path / "d" / "x" / "y.jsonl")
    assert dest.location("") == dest.root
    with pytest.raises(Exception, match="is not inside the output"):
        dest.location("../escape.jsonl")


LINES = [("ep/AllTraffic/2026/11/20/10", f'{{"n": {i}}}') for i in range(7)] + \
        [("ep/Shadow Variant+%", '{"n": "s1"}'), ("ep/Shadow Variant+%", '{"n": "s2"}'), ("", '{"n": "top"}')]


def test_merged_records_written_by_the_executors_to_a_staged_s3_output(spark, bucket, aws_server, tmp_path):
    key_id = aws_server.client("kms").create_key(Description="merged records")["KeyMetadata"]["KeyId"]
    merged = spark.createDataFrame(LINES, "rel string, line string").repartition(3)
    expected = pd.DataFrame(LINES, columns=["rel", "line"]).groupby("rel")["line"].apply(sorted).to_dict()
    names = {rel: (f"{rel}/merged-00000.jsonl" if rel else "merged-00000.jsonl") for rel in expected}
    # earlier runs left files: a second part in one folder, a folder whose records no longer match
    bucket.put_object(Bucket=BUCKET, Key="c/out/ep/AllTraffic/2026/11/20/10/merged-00001.jsonl", Body=b"old")
    bucket.put_object(Bucket=BUCKET, Key="c/out/ep/AllTraffic/2026/11/20/11/merged-00000.jsonl", Body=b"old")
    bucket.put_object(Bucket=BUCKET, Key="c/out/ep/AllTraffic/2026/11/20/11/notes.txt", Body=b"not ours")
    folders = sorted(expected) + ["ep/AllTraffic/2026/11/20/11"]

    with output_location(f"s3://{BUCKET}/c/out", kms_key=key_id) as out:
        written = write_merged_records(merged, out, folders)
        assert not any(files for _, _, files in os.walk(out))  # nothing went through the staging folder
    assert written == sorted(f"s3://{BUCKET}/c/out/{names[rel]}" for rel in expected)
    assert keys(bucket, "c/out") == sorted([*names.values(), "ep/AllTraffic/2026/11/20/11/notes.txt"])
    for rel, lines in expected.items():
        key = f"c/out/{names[rel]}"
        assert sorted(body(bucket, key).splitlines()) == lines
        head = bucket.head_object(Bucket=BUCKET, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"].endswith(key_id)

    # the same records to a plain s3:// URI and to a local folder: the same files, the same lines
    again = write_merged_records(merged, f"s3://{BUCKET}/d/out")
    assert keys(bucket, "d/out") == sorted(names.values()) and len(again) == len(expected)
    local = write_merged_records(merged, str(tmp_path / "local"))
    assert sorted(str(Path(p).relative_to(tmp_path / "local")) for p in local) == sorted(names.values())
    for rel in expected:
        assert sorted((tmp_path / "local" / names[rel]).read_text().splitlines()) == expected[rel]
    assert [p.name for p in (tmp_path / "local").rglob(".*")] == []  # no temporary file left

    # a re-run without records empties the folders it is told about, and only of merged files
    empty = spark.createDataFrame([], "rel string, line string")
    assert write_merged_records(empty, f"s3://{BUCKET}/c/out", folders) == []
    assert keys(bucket, "c/out") == ["ep/AllTraffic/2026/11/20/11/notes.txt"]
