"""Readers (CSV with/without header, JSON Lines, Parquet, directories) and bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from monitor_lib.errors import DatasetNotFoundError, EmptyDatasetError, UnreadableInputError
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.monitors.data_quality import BaselineParams
from monitor_lib.runner import run_job

ODD = ["plain", "with space", "dot.ted", "bäck`tick", "ünï©ode", "PLAIN"]


def _stats(out):
    return {f["name"]: f for f in json.loads((out / "statistics.json").read_text())["features"]}


def test_csv_with_odd_names_and_missing_values(spark, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text(
        '"plain","with space","dot.ted","bäck`tick","ünï©ode","PLAIN"\n'
        "1,a,1.5,x,true,\n"
        "2,,2.5,y,false,\n"
        "3,c,,z,true,\n"
    )
    out = tmp_path / "out"
    run_job("data-quality", BaselineParams(str(path), DatasetFormat("csv", header=True), str(out)), spark=spark)
    f = _stats(out)
    assert list(f) == ODD  # names kept, duplicates-by-case kept apart
    assert f["plain"]["inferred_type"] == "Integral"
    assert f["with space"]["string_statistics"]["common"] == {"num_present": 2, "num_missing": 1}
    assert f["dot.ted"]["numerical_statistics"]["sum"] == 4.0
    assert f["ünï©ode"]["inferred_type"] == "String"  # Boolean values are reported as String
    buckets = f["ünï©ode"]["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert {b["value"] for b in buckets} == {"true", "false"}
    assert f["PLAIN"]["inferred_type"] == "Unknown"


def test_csv_without_header_names_columns_like_sagemaker(spark, tmp_path):
    path = tmp_path / "nohdr.csv"
    path.write_text("1,a\n2,b\n")
    out = tmp_path / "out"
    run_job("data-quality", BaselineParams(str(path), DatasetFormat("csv"), str(out)), spark=spark)
    assert list(_stats(out)) == ["_c0", "_c1"]


def test_jsonl_and_parquet_directories(spark, tmp_path):
    frame = pd.DataFrame({"a": [1, 2, 3, 4], "b": [0.5, None, 1.5, 2.5], "c": ["x", "y", "x", None]})
    (tmp_path / "j" / "2024" / "01").mkdir(parents=True)
    frame.iloc[:2].to_json(tmp_path / "j" / "p1.jsonl", orient="records", lines=True)
    frame.iloc[2:].to_json(tmp_path / "j" / "2024" / "01" / "p2.jsonl", orient="records", lines=True)
    (tmp_path / "j" / "_SUCCESS").write_text("")  # not data
    (tmp_path / "p").mkdir()
    frame.to_parquet(tmp_path / "p" / "x.parquet")
    for src, fmt in ((tmp_path / "j", DatasetFormat("json")), (tmp_path / "p", DatasetFormat("parquet"))):
        out = tmp_path / f"out-{fmt.kind}"
        run_job("data-quality", BaselineParams(str(src), fmt, str(out)), spark=spark)
        f = _stats(out)
        assert f["a"]["inferred_type"] == "Integral" and f["a"]["numerical_statistics"]["sum"] == 10.0
        assert f["b"]["inferred_type"] == "Fractional"
        assert f["b"]["numerical_statistics"]["common"] == {"num_present": 3, "num_missing": 1}
        assert f["b"]["numerical_statistics"]["mean"] == pytest.approx(1.5)
        assert f["c"]["string_statistics"]["distribution"]["categorical"]["buckets"] == [
            {"value": "x", "count": 2}, {"value": "y", "count": 1}]


def test_wrong_field_counts_are_counted_sampled_and_not_profiled(spark, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n")
    out = tmp_path / "out"
    result = run_job("data-quality", BaselineParams(str(path), DatasetFormat("csv", header=True), str(out)),
                     spark=spark)
    f = _stats(out)
    assert json.loads((out / "statistics.json").read_text())["dataset"]["item_count"] == 2
    assert f["a"]["numerical_statistics"]["sum"] == 11.0  # 1 + 10: the two bad rows are not data
    assert result.artifacts.run.profile.rejected == {"wrong_field_count": 2}
    sample = [json.loads(line) for line in (out / "rejected_records_sample.jsonl").read_text().splitlines()]
    assert sorted(s["record"] for s in sample) == ["4,5", "6,7,8,9"]
    assert all(s["file"].endswith("bad.csv") and s["kind"] == "wrong_field_count" for s in sample)
    summary = json.loads((out / "run_summary.json").read_text())
    assert (summary["records_read"], summary["records_profiled"], summary["records_rejected"]) == \
        (4, 2, {"wrong_field_count": 2})


def test_malformed_json_lines_are_counted(spark, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 3}\n')
    out = tmp_path / "out"
    result = run_job("data-quality", BaselineParams(str(path), DatasetFormat("json"), str(out)), spark=spark)
    assert result.artifacts.run.profile.rejected == {"malformed_json": 1}
    assert _stats(out)["a"]["numerical_statistics"]["sum"] == 4.0


def test_missing_path_names_the_path(spark, tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(DatasetNotFoundError, match=f"dataset_source {missing} does not exist"):
        run_job("data-quality", BaselineParams(str(missing), DatasetFormat("csv"), str(tmp_path / "o")), spark=spark)


def test_empty_inputs(spark, tmp_path):
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(EmptyDatasetError, match="contains no data files"):
        run_job("data-quality", BaselineParams(str(tmp_path / "emptydir"), DatasetFormat("csv"),
                                               str(tmp_path / "o")), spark=spark)
    (tmp_path / "blank.csv").write_text("\n\n")
    with pytest.raises(EmptyDatasetError, match="has no records to profile"):  # read like a header-only CSV
        run_job("data-quality", BaselineParams(str(tmp_path / "blank.csv"), DatasetFormat("csv"),
                                               str(tmp_path / "o")), spark=spark)
    (tmp_path / "hdr.csv").write_text("a,b\n")
    with pytest.raises(EmptyDatasetError, match="has no records to profile"):
        run_job("data-quality", BaselineParams(str(tmp_path / "hdr.csv"), DatasetFormat("csv", header=True),
                                               str(tmp_path / "o")), spark=spark)


def test_empty_and_header_only_csv_end_alike(spark, tmp_path):
    """Monitoring a dataset with no record — an empty CSV or one with only its header — is a NoData run both
    ways, with the same message (the CLI case: test_cli_errors.test_empty_csv_is_no_data)."""
    from helpers import simple_constraints

    constraints = tmp_path / "constraints.json"
    constraints.write_text(json.dumps(simple_constraints(["a", "b"])))
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b\n")
    ended = []
    for name in ("empty.csv", "header.csv"):
        outcome = run_job("data-quality", {"dataset_source": str(tmp_path / name), "dataset_format":
                                           '{"csv": {"header": true}}', "output_path": str(tmp_path / f"o-{name}"),
                                           "baseline_constraints": str(constraints)}, spark=spark)
        ended.append((outcome.status, outcome.message, outcome.records, outcome.files_read))
    assert ended[0] == ended[1] == ("NoData", "Completed: No data in window [beginning, end): 1 capture file(s) "
                                    "read, no record to profile: the files hold no records.", 0, 1)


def test_csv_read_as_json_names_file_and_format(spark, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(UnreadableInputError) as e:
        run_job("data-quality", BaselineParams(str(path), DatasetFormat("json"), str(tmp_path / "o")), spark=spark)
    assert str(e.value) == (f"dataset_source {path} cannot be read as JSON (--format json): no record is a JSON "
                            "object; the first line is 'a,b'")


def test_unreadable_files_name_the_file(spark, tmp_path):
    (tmp_path / "d").mkdir()
    os.symlink(tmp_path / "gone.csv", tmp_path / "d" / "link.csv")
    with pytest.raises(UnreadableInputError, match="link.csv cannot be read"):
        run_job("data-quality", BaselineParams(str(tmp_path / "d"), DatasetFormat("csv"),
                                               str(tmp_path / "o")), spark=spark)
    (tmp_path / "pq").mkdir()
    (tmp_path / "pq" / "broken.parquet").write_bytes(b"PAR1 this is not parquet at all")
    with pytest.raises(UnreadableInputError, match="broken.parquet"):
        run_job("data-quality", BaselineParams(str(tmp_path / "pq"), DatasetFormat("parquet"),
                                               str(tmp_path / "o")), spark=spark)


def test_a_plug_in_input_format_is_one_registration(spark, tmp_path):
    """An input format is a reader registered for a dataset_format key: here pipe-separated text with a
    `columns` option. The baseline's numbers equal pandas' on the same file."""
    from monitor_lib.io.readers import Dataset, internal_name, register_reader

    def read_pipes(spark, source, files, fmt):
        from pyspark.sql import functions as F

        names = list(fmt.option("columns"))
        parts = F.split(F.col("value"), r"\|")
        df = spark.read.text(files).select(*[parts.getItem(i).alias(internal_name(i)) for i in range(len(names))])
        return Dataset(df, names, source, files, fmt)

    register_reader("pipeSeparated", read_pipes)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=300).round(4), "k": rng.integers(0, 9, 300)})
    path = tmp_path / "data.txt"
    path.write_text("".join(f"{x}|{k}\n" for x, k in frame.itertuples(index=False)))
    out = tmp_path / "out"
    run_job("data-quality", {"dataset_source": str(path), "output_path": str(out),
                             "dataset_format": '{"pipeSeparated": {"columns": ["x", "k"]}}'}, spark=spark)
    f = _stats(out)
    assert (f["x"]["inferred_type"], f["k"]["inferred_type"]) == ("Fractional", "Integral")
    assert f["x"]["numerical_statistics"]["mean"] == pytest.approx(frame["x"].mean(), rel=1e-12)
    assert f["k"]["numerical_statistics"]["sum"] == frame["k"].sum()
    assert f["x"]["numerical_statistics"]["common"]["num_present"] == len(frame)
