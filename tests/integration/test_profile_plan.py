"""The profiler's fast plan computes what the plain one does.

* The classification with its cheap pre-test and single number pattern gives every value the class of Deequ's
  three patterns applied one after another (the reference: the patterns themselves, in Spark and in Python).
"""

from __future__ import annotations

import random

from monitor_lib.profile import types as ty
from monitor_lib.profile.profiler import _classify, _numeric_of

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
