"""Reproducible numbers (issue 17, defect 8): the same input gives the same files.

With the seeded KLL (``--sketches python``: DataSketches' algorithm with seeded coin flips, merged in partition
order) two runs over the same 50,000 records in several partitions write byte-identical statistics.json and
profile.json — a baseline and a monitoring run over capture files. With Spark's native aggregates (the default on
Spark 4.1) only the KLL-derived parts may differ (the JVM-wide unseeded generator of DataSketches-Java): every other
byte is the same, and each run's bucket counts are within the KLL bound of the exact counts.

References: numpy's exact histogram with SageMaker's edges (helpers.exact_buckets), DataSketches' rank error.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import capture_line, exact_buckets

from monitor_lib.cli import main
from monitor_lib.profile.sketches import kll_rank_error
from monitor_lib.profile.state import merge_profiles, profile_to_dict, read_profile

N = 50_000
K = 2048
WINDOW = ["--start-time", "2026-11-20T10:00:00Z", "--end-time", "2026-11-20T11:00:00Z"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """50,000 records in 3 CSV files: a 0/1 column with 25,001 zeros (the issue's case), a normal and a skewed
    column, and a String column."""
    rng = np.random.default_rng(17)
    flag = np.zeros(N, dtype=int)
    flag[rng.permutation(N)[:N // 2 - 1]] = 1  # 24,999 ones, 25,001 zeros
    frame = pd.DataFrame({"flag": flag, "x": np.round(rng.normal(10, 3, N), 4),
                          "amount": np.round(rng.lognormal(3, 1, N), 2),
                          "city": rng.choice(["a", "b", "c", "d"], N)})
    root = tmp_path_factory.mktemp("repro") / "data"
    root.mkdir()
    for i, part in enumerate(np.array_split(np.arange(N), 3)):
        frame.iloc[part].to_csv(root / f"part-{i}.csv", index=False)
    return root, frame


def _baseline(data: Path, out: Path, sketches: str) -> dict:
    assert main(["-q", "baseline", "--dataset", str(data), "--format", "csv", "--header", "--sketches", sketches,
                 "--output", str(out)]) == 0
    return json.loads((out / "statistics.json").read_text())


def _assert_buckets_within_the_kll_bound(stats: dict, frame: pd.DataFrame) -> None:
    bound = 2 * kll_rank_error(K) * len(frame)  # a bucket count is the difference of two ranks
    for f in stats["features"]:
        if "numerical_statistics" not in f:
            continue
        values = frame[f["name"]].to_numpy(dtype=float)
        buckets = f["numerical_statistics"]["distribution"]["kll"]["buckets"]
        exact = exact_buckets(values, values.min(), values.max())
        for b, (lo, hi, count) in zip(buckets, exact, strict=True):
            assert (b["lower_bound"], b["upper_bound"]) == (lo, hi)
            assert abs(b["count"] - count) <= bound, (f["name"], b, count, bound)


def _without_kll(stats: dict) -> dict:
    stats = json.loads(json.dumps(stats))
    for f in stats["features"]:
        f.get("numerical_statistics", {}).get("distribution", {}).pop("kll", None)
    return stats


@pytest.fixture(scope="module")
def seeded(spark, data, tmp_path_factory) -> Path:
    """Two baselines of the same files with the seeded sketches, in <folder>/a and <folder>/b."""
    root, _ = data
    assert spark.read.csv(str(root), header=True).rdd.getNumPartitions() >= 2
    folder = tmp_path_factory.mktemp("seeded")
    for name in ("a", "b"):
        _baseline(root, folder / name, "python")
    return folder


def test_seeded_sketches_give_byte_identical_baselines(data, seeded):
    root, frame = data
    tmp_path = seeded
    a, b = (json.loads((tmp_path / n / "statistics.json").read_text()) for n in ("a", "b"))
    for name in ("statistics.json", "constraints.json", "profile.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert a == b
    _assert_buckets_within_the_kll_bound(a, frame)
    flag = next(f for f in a["features"] if f["name"] == "flag")["numerical_statistics"]
    buckets = flag["distribution"]["kll"]["buckets"]
    zeros, ones = buckets[0]["count"], buckets[-1]["count"]
    assert zeros + ones == N and abs(zeros - 25_001) <= 2 * kll_rank_error(K) * N
    # a roll-up of the two (seeded merge) is reproducible too
    pa, pb = read_profile(str(tmp_path / "a" / "profile.json")), read_profile(str(tmp_path / "b" / "profile.json"))
    assert profile_to_dict(merge_profiles(pa, pb)) == profile_to_dict(merge_profiles(pa, pb))


def test_native_sketches_differ_only_in_the_kll_and_within_its_bound(spark, data, tmp_path):
    root, frame = data
    runs = [_baseline(root, tmp_path / str(i), "native") for i in range(2)]
    assert _without_kll(runs[0]) == _without_kll(runs[1])
    for stats in runs:
        _assert_buckets_within_the_kll_bound(stats, frame)
    assert ((tmp_path / "0" / "constraints.json").read_bytes() == (tmp_path / "1" / "constraints.json").read_bytes())


def test_seeded_monitoring_runs_over_captures_are_byte_identical(data, seeded, tmp_path):
    root, frame = data
    baseline = seeded / "a"
    hour = tmp_path / "capture" / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    hour.mkdir(parents=True)
    shifted = frame.iloc[:20_000].assign(x=frame["x"] + 0.5)  # 20,000 captures: the KLL compacts, the test stays short
    lines = [capture_line(f"{r.x},{r.amount},{r.city}", str(r.flag), f"2026-11-20T10:{i % 60:02d}:00Z",
                          event_id=str(i)) for i, r in enumerate(shifted.itertuples())]
    for j, part in enumerate(np.array_split(np.arange(len(shifted)), 3)):
        (hour / f"{j}.jsonl").write_text("".join(lines[i] + "\n" for i in part))
    outs = []
    for name in ("m1", "m2"):
        out = tmp_path / name
        code = main(["-q", "monitor", "--dataset", str(tmp_path / "capture"), "--sketches", "python",
                     "--baseline-constraints", str(baseline / "constraints.json"),
                     "--baseline-statistics", str(baseline / "statistics.json"),
                     "--output", str(out), *WINDOW])
        assert code in (0, 1)
        outs.append(out)
    for name in ("statistics.json", "constraint_violations.json", "profile.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    measured = [json.loads((o / "run_summary.json").read_text())["features_measured"] for o in outs]
    assert measured[0] == measured[1]
    stats = json.loads((outs[0] / "statistics.json").read_text())
    assert stats["dataset"]["item_count"] == len(shifted)
    _assert_buckets_within_the_kll_bound(stats, shifted)

