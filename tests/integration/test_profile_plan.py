"""The profiler's fast plan computes what the plain one does.

* The classification with its cheap pre-test and single number pattern gives every value the class of Deequ's
  three patterns applied one after another (the reference: the patterns themselves, in Spark and in Python).
* The moments from power sums, with the second pass where their rounding bound says so, equal the exact rational
  moments of the same doubles (``fractions``) within the documented bound, on adversarial columns.
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.io.readers import read_dataset
from monitor_lib.profile import types as ty
from monitor_lib.profile.options import ProfileOptions
from monitor_lib.profile.profiler import (
    AUTO_GLOBAL_MAX_COLUMNS,
    M2_TOLERANCE,
    _classify,
    _moments,
    _numeric_of,
    auto_global_max,
    profile_dataset,
)

TRICKY = [
    "0", "5", "-5", "+5", "- 5", "+ 5", " 5", "  5", "5 ", "-", "+", " ", "", "5.", ".5", "5.0", "-5.25", "+ 5.25",
    "1e5", "1E5", "1e+5", "1e-5", "1.5e5", "1.5E-05", "e5", "1e", "1.e5", "5..0", "5.0.0", "0x10", "NaN", "nan",
    "Infinity", "-Infinity", "inf", "1d", "1f", "1_000", "1,000", "١٢٣", "５", "true", "false", "True", "FALSE",
    "t", "f", "tru", "truee", "true ", " true", "5\n", "true\n", "5\r", "5\r\n", "5.0\n", "\n5", "fal", "f1",
    "-e5", "--5", "+-5", "5-", "12345678901234567890", "9" * 400, "1e400", "-1e400", "0.0000001", "café", "id12",
]


def _reference(s):
    from pyspark.sql import functions as F

    return (F.when(s.isNull(), F.lit(None).cast("int"))
            .when(s.rlike(ty.INTEGRAL_REGEX), F.lit(ty.INTEGRAL))
            .when(s.rlike(ty.FRACTIONAL_REGEX), F.lit(ty.FRACTIONAL))
            .when(s.rlike(ty.BOOLEAN_REGEX), F.lit(ty.BOOLEAN))
            .otherwise(F.lit(ty.STRING)))


def _random_values(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "0123456789+- .eEtrufalsn\n"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7))) for _ in range(n)]


def test_classification_equals_deequs_three_patterns(spark):
    from pyspark.sql import functions as F

    values = TRICKY + _random_values(20_000, 7) + [None]
    frame = spark.createDataFrame([(v,) for v in values], "s string")
    s = F.col("s")
    rows = frame.select("s", _classify(s).alias("fast"), _reference(s).alias("ref")).collect()
    assert len(rows) == len(values)
    differ = [(r["s"], r["fast"], r["ref"]) for r in rows if r["fast"] != r["ref"]]
    assert not differ, differ[:10]
    # and the Python reference (the patterns with re.ASCII) agrees on every value without a line terminator
    for r in rows:
        if r["s"] is not None and not any(ch in r["s"] for ch in "\n\r"):
            assert r["fast"] == ty.value_class(r["s"]), r["s"]
    classes = {r["fast"] for r in rows}
    assert classes == {None, ty.INTEGRAL, ty.FRACTIONAL, ty.BOOLEAN, ty.STRING}


def test_numbers_of_numeric_strings_equal_pythons_float(spark):
    from pyspark.sql import functions as F

    values = [v for v in TRICKY + _random_values(5_000, 11) if ty.value_class(v) in (ty.INTEGRAL, ty.FRACTIONAL)
              and "\n" not in v and "\r" not in v]
    frame = spark.createDataFrame([(v,) for v in values], "s string")
    s = F.col("s")
    rows = frame.select("s", _numeric_of(s, _classify(s)).alias("d")).collect()
    for r in rows:
        assert r["d"] == float(r["s"].replace(" ", "")), r["s"]


def _exact_m2(values) -> Fraction:
    xs = [Fraction(float(v)) for v in values]
    mean = sum(xs) / len(xs)
    return sum((x - mean) ** 2 for x in xs)


ADVERSARIAL = {
    "offset_tiny_spread": lambda rng, n: 1e9 + rng.normal(0.0, 1e-3, n),  # κ = mean²/var ≈ 1e24
    "huge_offset_integers": lambda rng, n: 1e15 + rng.integers(0, 7, n).astype(float),
    "constant": lambda rng, n: np.full(n, 123456.789),
    "mean_1e4_sd": lambda rng, n: 1e4 + rng.normal(0.0, 1.0, n),  # κ ≈ 1e8: past the bound
    "negative_offset": lambda rng, n: -3e7 + rng.exponential(1e-2, n),
    "plain": lambda rng, n: rng.normal(3.0, 2.0, n),  # within the bound: the power sums are kept
}


@pytest.mark.parametrize("wide_max", [None, 0])  # the default (global: all typed) and the unpivot
def test_moments_stay_within_the_pinned_bound_on_adversarial_columns(spark, tmp_path, wide_max):
    """The variance from power sums, recomputed around the mean where its rounding bound says so, equals the exact
    rational M2 of the same doubles (``fractions``) within M2_TOLERANCE; sum and mean within 1e-12."""
    rng = np.random.default_rng(5)
    n = 4_000
    frame = pd.DataFrame({name: make(rng, n) for name, make in ADVERSARIAL.items()})
    path = tmp_path / "adversarial.parquet"
    frame.to_parquet(path)
    ds = read_dataset(spark, str(path), DatasetFormat("parquet"))
    run = profile_dataset(ds, ProfileOptions(wide_max_columns=wide_max))
    assert run.strategy == ("one global aggregation" if wide_max is None else "unpivoted aggregation by column")
    assert run.reads == 2  # every column but "plain" needed the second pass
    for name in ADVERSARIAL:
        col = run.profile.column(name)
        exact = _exact_m2(frame[name])
        exact_sum = sum(Fraction(float(v)) for v in frame[name])
        assert col.num_count == n
        assert abs(Fraction(col.num_sum) - exact_sum) <= abs(exact_sum) * Fraction(1, 10**12), name
        if exact == 0:
            assert col.num_m2 == 0.0, name
        else:
            assert abs(Fraction(col.num_m2) - exact) <= exact * Fraction(M2_TOLERANCE), (name, col.num_m2, exact)
        assert (col.num_min, col.num_max) == (frame[name].min(), frame[name].max())


def test_plain_columns_are_read_once(spark, tmp_path):
    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"a": rng.normal(3.0, 2.0, 3_000), "b": rng.integers(-50, 50, 3_000)})
    path = tmp_path / "plain.parquet"
    frame.to_parquet(path)
    run = profile_dataset(read_dataset(spark, str(path), DatasetFormat("parquet")))
    assert run.reads == 1
    for name in ("a", "b"):
        exact = _exact_m2(frame[name])
        assert abs(Fraction(run.profile.column(name).num_m2) - exact) <= exact * Fraction(M2_TOLERANCE)


@pytest.mark.parametrize(("n", "s1", "s2", "accurate"), [
    (1_000_000, 3e6, 9e6 + 4e6, True),  # mean 3, variance 4: κ = 3.25
    (1_000_000, 1e10, 1e14 + 1e6, False),  # mean 1e4, variance 1: κ = 1e8
    (10, 0.0, 0.0, True),  # all zeros: M2 exactly 0
    (10, 50.0, 250.0, False),  # a constant 5: the power sums cancel, recompute
    (1, 7.0, 49.0, True),
])
def test_the_rounding_bound_decides_the_second_pass(n, s1, s2, accurate):
    m2, ok = _moments(n, s1, s2)
    assert ok is accurate
    if ok and n > 1:
        assert m2 == pytest.approx(s2 - s1 * s1 / n, rel=1e-12)


@pytest.mark.parametrize(("kinds", "expected"), [
    (["fractional"] * 6 + ["integral"] * 2 + ["string"] * 2, AUTO_GLOBAL_MAX_COLUMNS),  # typed Parquet: global
    (["string"] * 10, 0),  # CSV: the unpivot
    (["fractional", "string"], AUTO_GLOBAL_MAX_COLUMNS),  # half typed
    (["fractional", "string", "string"], 0),
    ([], 0),
])
def test_default_strategy_follows_the_column_types(kinds, expected):
    assert auto_global_max(kinds) == expected
