"""profile(A) merged with profile(B) equals profile(A ∪ B): exactly for counts and moments,
within the sketch error for quantiles and distinct counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitor_lib.cli import main
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.io.readers import read_dataset
from monitor_lib.profile.profiler import profile_dataset
from monitor_lib.profile.sketches import (
    WeightedItems,
    hll_estimate,
    hll_from_bytes,
    kll_from_bytes,
    kll_levels,
    kll_rank_error,
)
from monitor_lib.profile.state import merge_profiles, profile_from_dict, profile_to_dict, read_profile
from monitor_lib.profile.summarize import statistics_from_profile


def _frame(n, seed, shift):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(shift, 1, n),
        "k": rng.integers(0, 5000, n),
        "cat": rng.choice(["a", "b", "c", "d"], n),
        "only_a" if shift == 0 else "only_b": rng.random(n),
    })


@pytest.fixture(scope="module")
def profiles(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("merge")
    a, b = _frame(60_000, 1, 0.0), _frame(40_000, 2, 3.0)
    a.to_parquet(root / "a.parquet")
    b.to_parquet(root / "b.parquet")
    (root / "ab").mkdir()
    a.to_parquet(root / "ab" / "a.parquet")
    b.to_parquet(root / "ab" / "b.parquet")
    fmt = DatasetFormat("parquet")
    pa, pb, pab = (profile_dataset(read_dataset(spark, str(root / p), fmt)).profile
                   for p in ("a.parquet", "b.parquet", "ab"))
    return root, a, b, pa, pb, pab


def test_merge_is_exact_for_counts_and_moments(profiles):
    _, a, b, pa, pb, pab = profiles
    merged = profile_from_dict(profile_to_dict(merge_profiles(pa, pb)))  # through the serialised state
    assert merged.item_count == pab.item_count == 100_000
    union = pd.concat([a, b])
    for name in ("x", "k"):
        m, u = merged.column(name), pab.column(name)
        assert ((m.present, m.num_count, m.n_integral, m.n_fractional)
                == (u.present, u.num_count, u.n_integral, u.n_fractional))
        assert (m.num_min, m.num_max) == (u.num_min, u.num_max)
        assert m.num_sum == pytest.approx(u.num_sum, rel=1e-12)
        assert m.num_mean == pytest.approx(union[name].mean(), rel=1e-12)
        assert (m.num_m2 / m.num_count) ** 0.5 == pytest.approx(union[name].std(ddof=0), rel=1e-12)
    # columns present on one side only: missing on the other
    sa = statistics_from_profile(merged)
    only_a = sa.feature("only_a").numerical
    assert (only_a.num_present, only_a.num_missing) == (60_000, 40_000)


def test_merge_within_sketch_error(profiles):
    _, a, b, pa, pb, pab = profiles
    merged = merge_profiles(pa, pb)
    union = pd.concat([a, b])
    xs = np.sort(union["x"].to_numpy())
    ranks = WeightedItems.from_levels(kll_levels(kll_from_bytes(merged.column("x").kll)))
    eps = kll_rank_error(merged.kll_k)
    for q in np.quantile(xs, np.linspace(0.01, 0.99, 49)):
        assert abs(ranks.rank_exclusive(q) - np.searchsorted(xs, q)) / len(xs) <= eps
    exact = union["k"].nunique()
    assert abs(hll_estimate(hll_from_bytes(merged.column("k").hll)) - exact) <= 0.02 * exact
    cats = statistics_from_profile(merged).feature("cat").string.buckets
    assert {c.value: c.count for c in cats} == union["cat"].value_counts().to_dict()
    assert statistics_from_profile(merged).feature("cat").string.buckets == \
        statistics_from_profile(pab).feature("cat").string.buckets


def test_merge_profiles_command(profiles, spark, tmp_path, capsys):
    root, *_ = profiles
    outs = []
    for part in ("a.parquet", "b.parquet"):
        out = tmp_path / part
        assert main(["baseline", "--dataset", str(root / part), "--format", "parquet", "--output", str(out)]) == 0
        outs.append(str(out / "profile.json"))
    assert main(["merge-profiles", *outs, "--output", str(tmp_path / "merged")]) == 0
    merged = read_profile(str(tmp_path / "merged" / "profile.json"))
    assert merged.item_count == 100_000
    assert (tmp_path / "merged" / "statistics.json").exists() and (tmp_path / "merged" / "constraints.json").exists()
    assert "merged 2 profiles: 100000 records" in capsys.readouterr().out
