"""The Python sketch fallback (Spark 3.5) forced on Spark 4: the same profile states as the native
aggregates, the same answers as exact numpy/pandas references, still one pass, and the same baseline
files and violations end to end.

References: the native Spark aggregates of the same run, numpy/pandas over the same values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import capture_line, mixed_frame
from test_one_pass import _profile_counting_reads

from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.io.readers import read_dataset
from monitor_lib.profile import python_sketches
from monitor_lib.profile.options import ProfileOptions
from monitor_lib.profile.profiler import profile_dataset
from monitor_lib.profile.sketches import (
    frequent_from_bytes,
    frequent_items_exact,
    hll_estimate,
    hll_from_bytes,
    kll_from_bytes,
    kll_levels,
    kll_rank_error,
)

NATIVE, PYTHON = ProfileOptions(sketches="native"), ProfileOptions(sketches="python")
EXACT_FIELDS = ("present", "n_integral", "n_fractional", "n_boolean", "num_count", "num_min", "num_max")


def _sorted_levels(blob):
    return [sorted(level) for level in kll_levels(kll_from_bytes(blob))]


def _rank_error_of(blob, truth: np.ndarray) -> float:
    """The largest normalised rank error of the sketch's quantiles against the exact values."""
    sketch = kll_from_bytes(blob)
    v = np.sort(truth)
    worst = 0.0
    for q in np.linspace(0.01, 0.99, 99):
        x = sketch.get_quantile(q)
        lo, hi = np.searchsorted(v, x, "left") / len(v), np.searchsorted(v, x, "right") / len(v)
        worst = max(worst, 0.0 if lo <= q <= hi else min(abs(q - lo), abs(q - hi)))
    return worst


def _assert_same_distinct_count(native: bytes, python: bytes, exact: int, lg_k: int, name: str) -> None:
    """List/set modes count coupons: equal estimates. In HLL mode (byte 7, low bits = 2) the registers
    must be the same bytes — only the HIP accumulator in the header depends on the update order — and
    each estimate within 3 relative standard errors of the exact count."""
    a, b = hll_estimate(hll_from_bytes(native)), hll_estimate(hll_from_bytes(python))
    if native[7] & 3 == 2:
        assert python[7] & 3 == 2 and native[40:] == python[40:], name
        rse = 1.04 / math.sqrt(2**lg_k)
        assert abs(b - exact) <= 3 * rse * exact and abs(a - exact) <= 3 * rse * exact, (name, a, b, exact)
    else:
        assert a == b == exact, (name, a, b, exact)


def test_detection_picks_native_on_spark_4_unless_forced(spark, monkeypatch):
    monkeypatch.delenv(python_sketches.SKETCHES_ENV, raising=False)
    assert python_sketches.missing_functions(spark) == ()
    assert python_sketches.sketch_backend(spark) == "native"
    assert python_sketches.sketch_backend(spark, "python") == "python"
    monkeypatch.setenv(python_sketches.SKETCHES_ENV, "python")
    assert python_sketches.sketch_backend(spark) == "python"
    assert python_sketches.sketch_backend(spark, "native") == "native"


@pytest.fixture(scope="module")
def mixed(spark, tmp_path_factory):
    """10,000 CSV records (numbers as strings, nulls, a mixed column, low- and high-cardinality strings)
    with a 1,500-value column (n < k: the KLL holds every value), profiled both ways."""
    frame, truth = mixed_frame(10_000)
    frame["small"] = ""
    frame.loc[:1499, "small"] = [repr(float(x)) for x in np.round(np.random.default_rng(2).normal(3, 1, 1500), 4)]
    truth["small"] = frame["small"].iloc[:1500].astype(float).to_numpy()
    path = tmp_path_factory.mktemp("fallback") / "mixed.csv"
    frame.to_csv(path, index=False)
    ds = read_dataset(spark, str(path), DatasetFormat("csv", header=True))
    native, python = profile_dataset(ds, NATIVE), profile_dataset(ds, PYTHON)
    assert python.strategy == "unpivoted aggregation by column, sketches in Python"
    return frame, truth, native.profile, python.profile


def test_counts_and_moments_equal_the_native_aggregates_and_pandas(mixed):
    frame, truth, native, python = mixed
    assert python.item_count == native.item_count == len(frame)
    assert [c.name for c in python.columns] == [c.name for c in native.columns] == list(frame.columns)
    for a, b in zip(native.columns, python.columns, strict=True):
        assert [getattr(b, f) for f in EXACT_FIELDS] == [getattr(a, f) for f in EXACT_FIELDS], a.name
        # sums and M2 are summed in another order (numpy per batch vs Spark row by row): equal to ~1 ulp
        assert b.num_sum == pytest.approx(a.num_sum, rel=1e-12, abs=1e-9), a.name
        assert b.num_m2 == pytest.approx(a.num_m2, rel=1e-12, abs=1e-9), a.name
        assert b.deequ_type == a.deequ_type
    for name, values in truth.items():
        c = python.column(name)
        assert c.present == int((frame[name] != "").sum())
        assert (c.num_count, c.num_min, c.num_max) == (len(values), values.min(), values.max())
        assert c.num_mean == pytest.approx(values.mean(), rel=1e-12)
        assert math.sqrt(c.num_m2 / c.num_count) == pytest.approx(values.std(), rel=1e-12)
    mixed_col = python.column("mixed")
    assert mixed_col.n_integral == int(frame["mixed"].str.fullmatch(r"\d+").sum())
    assert mixed_col.present - mixed_col.n_integral == int((frame["mixed"] == "n/a").sum())
    assert python.column("flag").n_boolean == len(frame)
    assert python.column("empty").present == 0 and python.column("empty").kll is None


def test_kll_is_identical_below_k_and_within_the_rank_error_above(mixed):
    frame, truth, native, python = mixed
    k = PYTHON.kll_k
    small_n, small_p = native.column("small"), python.column("small")
    assert small_p.num_count == 1500 < k
    assert _sorted_levels(small_p.kll) == _sorted_levels(small_n.kll) == [sorted(truth["small"].tolist())]
    for name in ("age", "income", "balance", "größe.v2"):
        assert len(truth[name]) > k
        for state in (native.column(name), python.column(name)):
            assert kll_from_bytes(state.kll).k == k and kll_from_bytes(state.kll).n == len(truth[name])
            assert _rank_error_of(state.kll, truth[name]) <= kll_rank_error(k), name


def test_distinct_counts_and_frequent_items(mixed):
    frame, truth, native, python = mixed
    lg_k = PYTHON.hll_lg_k
    for name in frame.columns:
        exact = frame.loc[frame[name] != "", name].nunique()
        _assert_same_distinct_count(native.column(name).hll, python.column(name).hll, exact, lg_k, name)
    for name in ("city", "flag", "mixed", "age"):
        items_n = frequent_items_exact(frequent_from_bytes(native.column(name).frequent))
        items_p = frequent_items_exact(frequent_from_bytes(python.column(name).frequent))
        counts = frame.loc[frame[name] != "", name].value_counts()
        if len(counts) <= PYTHON.max_categories:
            assert dict(items_p) == dict(items_n) == counts.to_dict(), name
        else:  # more distinct values than tracked: both purge and neither claims exact counts
            assert items_p is None and items_n is None, name
    assert python.column("user id").frequent is not None
    assert frequent_items_exact(frequent_from_bytes(python.column("user id").frequent)) is None


def test_typed_parquet_columns(spark, tmp_path):
    rng = np.random.default_rng(11)
    n = 3000
    frame = pd.DataFrame({
        "i": rng.integers(-5, 5, n), "f": rng.normal(size=n), "b": rng.random(n) < 0.2,
        "s": rng.choice(["x", "y", None], n), "nan": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
    })
    frame.to_parquet(tmp_path / "t.parquet")
    ds = read_dataset(spark, str(tmp_path / "t.parquet"), DatasetFormat("parquet"))
    native, python = profile_dataset(ds, NATIVE).profile, profile_dataset(ds, PYTHON).profile
    for a, b in zip(native.columns, python.columns, strict=True):
        assert (b.source_type, b.deequ_type) == (a.source_type, a.deequ_type)
        assert [getattr(b, f) for f in EXACT_FIELDS] == [getattr(a, f) for f in EXACT_FIELDS], a.name
        assert b.num_sum == pytest.approx(a.num_sum, rel=1e-12, abs=1e-12)
        assert (a.frequent is None) == (b.frequent is None), a.name
        _assert_same_distinct_count(a.hll, b.hll, frame[a.name].nunique(), PYTHON.hll_lg_k, a.name)
    assert python.column("i").num_sum == frame["i"].sum()
    assert python.column("nan").num_count == int(frame["nan"].notna().sum())  # NaN counts as missing
    assert dict(frequent_items_exact(frequent_from_bytes(python.column("s").frequent))) == \
        frame["s"].value_counts().to_dict()
    assert python.column("b").n_boolean == n


def test_the_fallback_is_one_job_reading_the_input_once(spark, tmp_path):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({f"f{i}": rng.integers(0, 50, 20_000) if i % 2 else rng.random(20_000).round(4)
                          for i in range(10)})
    frame.to_csv(tmp_path / "data.csv", index=False)
    ds = read_dataset(spark, str(tmp_path / "data.csv"), DatasetFormat("csv", header=True))
    run, job_ids, reads = _profile_counting_reads(spark, ds, PYTHON)
    assert run.profile.item_count == 20_000
    assert len(job_ids) == 1
    assert reads == [20_000]


def test_many_partitions_are_merged_by_column_in_spark_reading_the_input_once(spark, tmp_path, monkeypatch):
    rng = np.random.default_rng(6)
    n = 12_000
    frame = pd.DataFrame({"x": rng.normal(size=n).round(3), "k": rng.choice(["a", "b", "c"], n),
                          "i": rng.integers(0, 30, n)})
    for part in range(4):  # four files: four input partitions
        frame.iloc[part::4].to_csv(tmp_path / f"part{part}.csv", index=False)
    ds = read_dataset(spark, str(tmp_path), DatasetFormat("csv", header=True))
    on_driver = profile_dataset(ds, PYTHON).profile
    monkeypatch.setattr(python_sketches, "DRIVER_MERGE_MAX_PARTITIONS", 1)
    run, job_ids, reads = _profile_counting_reads(spark, ds, PYTHON)
    # One stage reads the input, once; adaptive execution submits the shuffle that brings each column's
    # partition states together as a job of its own, then the merge by column (2 jobs, 1 read).
    assert reads == [n] and len(job_ids) == 2
    for a, b in zip(on_driver.columns, run.profile.columns, strict=True):
        assert [getattr(b, f) for f in EXACT_FIELDS] == [getattr(a, f) for f in EXACT_FIELDS], a.name
        assert b.num_sum == pytest.approx(a.num_sum, rel=1e-12) and b.num_m2 == pytest.approx(a.num_m2, rel=1e-12)
        assert ((a.kll is None and b.kll is None) if a.name == "k"
                else kll_from_bytes(b.kll).n == kll_from_bytes(a.kll).n == n)
        assert hll_estimate(hll_from_bytes(b.hll)) == hll_estimate(hll_from_bytes(a.hll))
        items_a = frequent_items_exact(frequent_from_bytes(a.frequent))
        items_b = frequent_items_exact(frequent_from_bytes(b.frequent))
        assert (items_b is None) == (items_a is None) == (a.name == "x")  # x has ~5,000 distinct values
        assert dict(items_b or []) == dict(items_a or [])
    assert dict(frequent_items_exact(frequent_from_bytes(run.profile.column("k").frequent))) == \
        frame["k"].value_counts().to_dict()
    x = run.profile.column("x")
    assert (x.num_min, x.num_max) == (frame["x"].min(), frame["x"].max())
    assert _rank_error_of(x.kll, frame["x"].to_numpy()) <= kll_rank_error(PYTHON.kll_k)


# ---------------------------------------------------------------- end to end: baseline + monitoring


def _approx_equal(a, b, path="") -> None:
    """Equal files: floats to 1e-9 (sums in another order), distinct counts within 3 HLL standard errors
    (the same registers, estimated from an order-dependent HIP accumulator: see above), the KLL levels
    (n < k: every value) as multisets."""
    if path.endswith("approximate_num_distinct_values"):
        assert abs(a - b) <= 3 * 1.04 / 2**7 * a, path
    elif path.endswith(".kll.sketch.data"):  # KLL levels are unordered: the same items, in update order
        assert [sorted(level) for level in a] == [sorted(level) for level in b], path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _approx_equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _approx_equal(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-9), path
    else:
        assert a == b, path


def _baseline_and_monitor(root: Path, train: Path, capture: Path) -> tuple[dict, dict, dict]:
    from monitor_lib.cli import main

    assert main(["-q", "baseline", "--dataset", str(train), "--format", "csv", "--header",
                 "--output", str(root / "baseline")]) == 0
    rc = main(["-q", "monitor", "--dataset", str(capture), "--dataset-format",
               '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}',
               "--baseline-constraints", str(root / "baseline" / "constraints.json"),
               "--baseline-statistics", str(root / "baseline" / "statistics.json"),
               "--start-time", "2026-11-20T10:00:00Z", "--end-time", "2026-11-20T11:00:00Z",
               "--output", str(root / "monitor")])
    assert rc == 0

    def read(p):
        return json.loads(p.read_text())

    return (read(root / "baseline" / "statistics.json"), read(root / "baseline" / "constraints.json"),
            read(root / "monitor" / "constraint_violations.json"))


def test_baseline_and_monitoring_run_give_the_same_files_and_violations(spark, tmp_path, monkeypatch):
    rng = np.random.default_rng(9)
    n = 1800  # below k = 2048: every KLL holds every value, so the files must agree to the last digit
    base = pd.DataFrame({"y": rng.random(n).round(4), "a": rng.normal(0, 1, n).round(5),
                         "b": rng.integers(0, 100, n), "c": rng.choice(["red", "green", "blue"], n),
                         "d": rng.normal(5, 2, n).round(3)})
    base.to_csv(tmp_path / "train.csv", index=False)
    cur = base.sample(frac=1.0, random_state=1).reset_index(drop=True)
    cur["a"] = rng.normal(0.6, 1, n).round(5)  # drift
    cur.loc[::5, "d"] = np.nan  # completeness
    cur.loc[::50, "c"] = "purple"  # a value outside the baseline domain
    cur["b"] = cur["b"].astype(str)
    cur.loc[::40, "b"] = "n/a"  # data type
    inputs = cur[["a", "b", "c", "d"]].map(lambda v: "" if pd.isna(v) else str(v)).agg(",".join, axis=1)
    hour = tmp_path / "capture" / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    hour.mkdir(parents=True)
    lines = [capture_line(i, repr(float(o)), f"2026-11-20T10:{k % 60:02d}:00Z", event_id=str(k))
             for k, (i, o) in enumerate(zip(inputs, cur["y"], strict=True))]
    (hour / "x.jsonl").write_text("".join(line + "\n" for line in lines))

    monkeypatch.setenv(python_sketches.SKETCHES_ENV, "native")
    stats_n, cons_n, viol_n = _baseline_and_monitor(tmp_path / "native", tmp_path / "train.csv", tmp_path / "capture")
    monkeypatch.setenv(python_sketches.SKETCHES_ENV, "python")
    stats_p, cons_p, viol_p = _baseline_and_monitor(tmp_path / "python", tmp_path / "train.csv", tmp_path / "capture")

    assert cons_p == cons_n
    _approx_equal(stats_n, stats_p)
    found = {(v["constraint_check_type"], v["feature_name"]) for v in viol_p["violations"]}
    assert {("baseline_drift_check", "a"), ("completeness_check", "d"), ("categorical_values_check", "c"),
            ("data_type_check", "b")} <= found
    _approx_equal(viol_n, viol_p)
