"""Exactness at scale: 1M generated rows with numeric, string, null-bearing, mixed-type and all-null
columns, against pandas / numpy references computed from the generating arrays."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import exact_buckets, mixed_frame

from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.monitors.data_quality import BaselineParams
from monitor_lib.profile.sketches import WeightedItems, kll_rank_error
from monitor_lib.runner import run_job

N = 1_000_000


@pytest.fixture(scope="module")
def scale(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    frame, truth = mixed_frame(N)
    # one file, split by Spark into partitions whose merged KLL sketches have an empty level 0
    # (the case the datasketches iterator gets wrong); directories are covered in test_readers
    data = root / "train.csv"
    frame.to_csv(data, index=False)
    out = root / "out"
    result = run_job("data-quality", BaselineParams(str(data), DatasetFormat("csv", header=True), str(out)),
                     spark=spark)
    stats = json.loads((out / "statistics.json").read_text())
    return frame, truth, {f["name"]: f for f in stats["features"]}, stats, result


@pytest.mark.slow
def test_types_and_counts(scale):
    frame, _, feats, stats, _ = scale
    assert stats["dataset"]["item_count"] == N
    assert {n: f["inferred_type"] for n, f in feats.items()} == {
        "age": "Integral", "income": "Fractional", "balance": "Fractional", "city": "String",
        "user id": "String", "mixed": "String", "flag": "String", "größe.v2": "Fractional", "empty": "Unknown",
    }
    for name, f in feats.items():
        common = (f.get("numerical_statistics") or f["string_statistics"])["common"]
        present = int((frame[name] != "").sum())
        assert common == {"num_present": present, "num_missing": N - present}, name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["age", "income", "balance", "größe.v2"])
def test_exact_statistics_equal_pandas(scale, name):
    _, truth, feats, _, _ = scale
    s = pd.Series(truth[name])
    num = feats[name]["numerical_statistics"]
    assert num["sum"] == pytest.approx(s.sum(), rel=1e-9)
    assert num["mean"] == pytest.approx(s.mean(), rel=1e-9)
    assert num["std_dev"] == pytest.approx(s.std(ddof=0), rel=1e-9)
    assert (num["min"], num["max"]) == (s.min(), s.max())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["age", "income", "balance", "größe.v2"])
def test_buckets_within_0_2_percent_and_kll_rank_error(scale, name):
    _, truth, feats, _, result = scale
    values = truth[name]
    num = feats[name]["numerical_statistics"]
    kll = num["distribution"]["kll"]
    want = exact_buckets(values, values.min(), values.max())
    for got, (lo, hi, count) in zip(kll["buckets"], want, strict=True):
        assert (got["lower_bound"], got["upper_bound"]) == (lo, hi)
        assert abs(got["count"] - count) <= 0.002 * len(values), (name, got, count)
    # the Deequ-layout sketch in statistics.json alone answers rank queries within the KLL bound
    data = kll["sketch"]["data"]
    assert sum(len(lv) * 2**i for i, lv in enumerate(data)) == len(values)
    ranks = WeightedItems.from_levels(data)
    sorted_values = np.sort(values)
    eps = kll_rank_error(result.artifacts.run.profile.kll_k)
    worst = max(
        abs(ranks.rank_exclusive(q) - np.searchsorted(sorted_values, q, side="left")) / len(values)
        for q in np.quantile(values, np.linspace(0.01, 0.99, 99))
    )
    assert worst <= eps, (name, worst, eps)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["age", "income", "city", "user id", "mixed"])
def test_distinct_counts_within_2_percent(scale, name):
    frame, _, feats, _, _ = scale
    f = feats[name]
    exact = frame[name][frame[name] != ""].nunique()
    approx = f["numerical_statistics"]["approximate_num_distinct_values"] if "numerical_statistics" in f \
        else f["string_statistics"]["distinct_count"]
    assert abs(approx - exact) <= 0.02 * exact, (name, approx, exact)


@pytest.mark.slow
def test_categorical_buckets_exact_for_low_cardinality_only(scale):
    frame, _, feats, _, _ = scale
    city = feats["city"]["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert {b["value"]: b["count"] for b in city} == frame["city"].value_counts().to_dict()
    flag = feats["flag"]["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert {b["value"]: b["count"] for b in flag} == frame["flag"].value_counts().to_dict()
    assert "distribution" not in feats["user id"]["string_statistics"]  # ~500k distinct values
    assert "distribution" not in feats["mixed"]["string_statistics"]  # 1,001 distinct values > 120
    assert feats["empty"]["string_statistics"]["common"] == {"num_present": 0, "num_missing": N}
