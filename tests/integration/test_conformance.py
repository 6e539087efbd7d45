"""Conformance with the real container's output for the SDK pipeline data-quality baseline."""

from __future__ import annotations

import json

import pytest

from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.monitors.data_quality import BaselineParams
from monitor_lib.runner import run_job

# Keys the current (2024) container writes that the 2021 fixture predates (spec §4.2, §5.2).
NEWER_STATISTICS_KEYS = {"approximate_num_distinct_values", "completeness"}
NEWER_CONSTRAINT_KEYS = {"categorical_comparison_threshold", "categorical_drift_method"}


@pytest.fixture(scope="module")
def baseline(spark, fixtures, tmp_path_factory):
    case = fixtures / "sdk-pipeline-dq-baseline"
    out = tmp_path_factory.mktemp("dq-baseline")
    config = BaselineParams(str(case / "baseline_dataset.csv"), DatasetFormat("csv", header=False), str(out))
    run_job("data-quality", config, spark=spark)
    ours = json.loads((out / "statistics.json").read_text())
    real = json.loads((case / "statistics.json").read_text())
    return case, out, ours, real


def test_statistics_match_the_real_container(baseline):
    _, _, ours, real = baseline
    assert ours["version"] == real["version"] == 0.0
    assert ours["dataset"] == real["dataset"] == {"item_count": 100}
    assert ([f["name"] for f in ours["features"]] == [f["name"] for f in real["features"]]
            == [f"_c{i}" for i in range(6)])
    for mine, theirs in zip(ours["features"], real["features"], strict=True):
        assert mine["inferred_type"] == theirs["inferred_type"] == "Fractional"
        a, b = mine["numerical_statistics"], theirs["numerical_statistics"]
        assert a["common"] == b["common"]
        for key in ("mean", "sum", "std_dev", "min", "max"):
            assert a[key] == pytest.approx(b[key], rel=1e-9), (mine["name"], key)
        assert a["distribution"]["kll"]["buckets"] == b["distribution"]["kll"]["buckets"], mine["name"]
        # n <= k: the sketch holds every value once, as the real one does (order aside)
        assert (sorted(a["distribution"]["kll"]["sketch"]["data"][0])
                == sorted(b["distribution"]["kll"]["sketch"]["data"][0]))
        assert a["distribution"]["kll"]["sketch"]["parameters"] == b["distribution"]["kll"]["sketch"]["parameters"]
        assert set(a) - set(b) == NEWER_STATISTICS_KEYS
        assert a["completeness"] == 1.0


def test_constraints_equal_the_real_suggestion_field_by_field(baseline):
    case, out, _, _ = baseline
    ours = json.loads((out / "constraints.json").read_text())
    real = json.loads((case / "good_cases" / "constraints.json").read_text())
    assert ours["version"] == real["version"]
    assert ours["features"] == real["features"]
    mc, rmc = ours["monitoring_config"], real["monitoring_config"]
    assert {k: v for k, v in mc.items() if k != "distribution_constraints"} == \
        {k: v for k, v in rmc.items() if k != "distribution_constraints"}
    dc, rdc = mc["distribution_constraints"], rmc["distribution_constraints"]
    assert {k: v for k, v in dc.items() if k not in NEWER_CONSTRAINT_KEYS} == rdc
    assert (dc["categorical_comparison_threshold"], dc["categorical_drift_method"]) == (0.1, "LInfinity")


def test_files_are_written_in_the_containers_layout(baseline):
    case, out, _, _ = baseline
    text = (out / "constraints.json").read_text()
    real = (case / "good_cases" / "constraints.json").read_text()
    # identical bytes up to the two keys the newer container adds
    newer = ',\n      "categorical_comparison_threshold" : 0.1,\n      "categorical_drift_method" : "LInfinity"'
    assert text.replace(newer, "") == real
    assert (out / "statistics.json").read_text().startswith(
        '{\n  "version" : 0.0,\n  "dataset" : {\n    "item_count" : 100')
