"""SageMaker file formats: byte-identical round trips of the real container's files, legacy readers."""

from __future__ import annotations

import json
import math
import random
import re
import struct
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import FIXTURES

from monitor_lib.formats import (
    CategoricalBucket,
    Constraints,
    ConstraintViolations,
    FeatureConstraint,
    FeatureOverrides,
    FormatError,
    KllBucket,
    Violation,
    constraints_to_dict,
    dumps_jackson,
    java_double,
    parse_constraints,
    parse_statistics,
    parse_violations,
    read_constraints,
    read_statistics,
    read_violations,
    statistics_to_dict,
    violations_to_dict,
    write_constraints,
    write_json_atomic,
    write_statistics,
    write_violations,
)

DQ = FIXTURES / "sdk-pipeline-dq-baseline"
TAXI = FIXTURES / "sdk-monitor-taxi-violations" / "constraint_violations.json"
# Clarify's analysis.json is written by Python's json module (4-space indent, "key": value), not Jackson.
NOT_JACKSON = {
    "sdk-clarify-data-bias/good_cases/analysis.json",
    "sdk-clarify-data-bias/bad_cases/analysis.json",
}


def fixture_json_files() -> list[str]:
    return sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json"))


def test_fixture_set_is_the_known_one() -> None:
    assert FIXTURES.is_dir(), f"fixtures not found at {FIXTURES}"
    assert len(fixture_json_files()) == 10
    assert set(fixture_json_files()) >= NOT_JACKSON
    for rel in NOT_JACKSON:
        assert '\n    "version": "1.0",' in (FIXTURES / rel).read_text(encoding="utf-8")


# ---------------------------------------------------------------- java_double


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.2, "1.2"),
        (231.0, "231.0"),
        (0.001, "0.001"),
        (1.0e-4, "1.0E-4"),
        (9999999.0, "9999999.0"),
        (1.0e7, "1.0E7"),
        (3.8e7, "3.8E7"),
        (1.4402689218907343e10, "1.4402689218907343E10"),
        (-2.5e-5, "-2.5E-5"),
        (614658.9799806821, "614658.9799806821"),
        (0.0009765625, "9.765625E-4"),
        (1.0e23, "1.0E23"),
        (1.7976931348623157e308, "1.7976931348623157E308"),
        (5e-324, "4.9E-324"),  # Double.MIN_VALUE: Java picks the closer 2-digit decimal
    ],
)
def test_java_double(x: float, text: str) -> None:
    assert java_double(x) == text


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf])
def test_java_double_rejects_non_finite(x: float) -> None:
    with pytest.raises(ValueError):
        java_double(x)
    with pytest.raises(ValueError):
        dumps_jackson({"v": x})


def test_java_double_round_trips_random_floats() -> None:
    rng = random.Random(20240527)
    values = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20000)]
    values += [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 12) for _ in range(20000)]
    values += [round(rng.uniform(0, 1e6), rng.randint(0, 6)) for _ in range(5000)]
    checked = 0
    for x in values:
        if not math.isfinite(x):
            continue
        text = java_double(x)
        assert float(text) == x, (x, text)
        assert re.fullmatch(r"-?\d+\.\d+(E-?\d+)?", text), text
        assert ("E" not in text) == (x == 0 or 1e-3 <= abs(x) < 1e7), text
        checked += 1
    assert checked > 44000


# ---------------------------------------------------------------- dumps_jackson


def test_dumps_jackson_layout() -> None:
    obj = {
        "a": [],
        "b": {},
        "c": [1, 2.5, True, None, 'é\n\x01"\\/'],
        "d": [{"x": 1}, {"y": [{}], "z": [[1.0], []]}],
    }
    assert dumps_jackson(obj) == (
        "{\n"
        '  "a" : [ ],\n'
        '  "b" : { },\n'
        '  "c" : [ 1, 2.5, true, null, "é\\n\\u0001\\"\\\\/" ],\n'
        '  "d" : [ {\n'
        '    "x" : 1\n'
        "  }, {\n"
        '    "y" : [ { } ],\n'
        '    "z" : [ [ 1.0 ], [ ] ]\n'
        "  } ]\n"
        "}"
    )


@pytest.mark.parametrize("rel", [r for r in fixture_json_files() if r not in NOT_JACKSON])
def test_dumps_jackson_reproduces_every_container_file(rel: str) -> None:
    text = (FIXTURES / rel).read_text(encoding="utf-8")
    out = dumps_jackson(json.loads(text))
    assert not out.endswith("\n")  # writers never add a trailing newline
    if FIXTURES / rel == TAXI:  # the 2019 file, as committed, ends with a newline; the others do not
        assert text.endswith("}\n")
        assert out + "\n" == text
    else:
        assert not text.endswith("\n")
        assert out == text


def test_write_json_atomic(tmp_path: Path) -> None:
    target = tmp_path / "new" / "dir" / "out.json"
    write_json_atomic(target, dumps_jackson({"name": "größe"}))
    assert target.read_bytes() == '{\n  "name" : "größe"\n}'.encode()
    write_json_atomic(target, "{ }")
    assert target.read_text(encoding="utf-8") == "{ }"
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


# ---------------------------------------------------------------- statistics


def test_statistics_fixture_values_and_byte_identical_round_trip(tmp_path: Path) -> None:
    stats = read_statistics(DQ / "statistics.json")
    assert stats.version == 0.0 and stats.item_count == 100 and stats.evaluation_time is None
    assert [f.name for f in stats.features] == ["_c0", "_c1", "_c2", "_c3", "_c4", "_c5"]
    c0 = stats.feature("_c0")
    assert c0 is not None and c0.inferred_type == "Fractional" and c0.string is None
    n = c0.numerical
    assert n is not None
    assert (n.num_present, n.num_missing) == (100, 0)
    assert (n.mean, n.sum, n.std_dev, n.min, n.max) == (2.31, 231.0, 0.8330066026148891, 1.0, 3.0)
    assert n.approximate_num_distinct_values is None and n.completeness is None  # 2021 field set
    assert n.buckets is not None and len(n.buckets) == 10
    assert n.buckets[0] == KllBucket(1.0, 1.2, 24.0) and n.buckets[9] == KllBucket(2.8, 3.0, 55.0)
    assert n.sketch is not None and (n.sketch.c, n.sketch.k) == (0.64, 2048.0)
    assert len(n.sketch.data) == 1 and n.sketch.data[0][:3] == [3.0, 1.0, 2.0]
    for f in stats.features:
        assert f.numerical is not None and f.numerical.buckets is not None and f.numerical.sketch is not None
        assert sum(b.count for b in f.numerical.buckets) == f.numerical.num_present == 100
        assert sum(len(level) * 2**i for i, level in enumerate(f.numerical.sketch.data)) == stats.item_count
    assert stats.feature("nope") is None

    write_statistics(stats, tmp_path / "statistics.json")
    assert (tmp_path / "statistics.json").read_bytes() == (DQ / "statistics.json").read_bytes()


STATS_2024 = """{
  "version" : 0.0,
  "dataset" : {
    "item_count" : 4,
    "evaluation_time" : "2024-10-27T17:39:31.000Z"
  },
  "features" : [ {
    "name" : "id",
    "inferred_type" : "String",
    "string_statistics" : {
      "common" : {
        "num_present" : 4,
        "num_missing" : 0
      },
      "distinct_count" : 4.0,
      "completeness" : 1.0
    }
  }, {
    "name" : "city",
    "inferred_type" : "String",
    "string_statistics" : {
      "common" : {
        "num_present" : 3,
        "num_missing" : 1
      },
      "distinct_count" : 2.0,
      "completeness" : 0.75,
      "distribution" : {
        "categorical" : {
          "buckets" : [ {
            "value" : "Zürich",
            "count" : 2
          }, {
            "value" : "Oslo",
            "count" : 1
          } ]
        }
      }
    }
  }, {
    "name" : "price",
    "inferred_type" : "Fractional",
    "numerical_statistics" : {
      "common" : {
        "num_present" : 4,
        "num_missing" : 0
      },
      "mean" : 1.25E7,
      "sum" : 5.0E7,
      "std_dev" : 1.6393596310755E7,
      "min" : 0.0,
      "max" : 3.8E7,
      "approximate_num_distinct_values" : 4,
      "completeness" : 1.0,
      "distribution" : {
        "kll" : {
          "buckets" : [ {
            "lower_bound" : 0.0,
            "upper_bound" : 1.9E7,
            "count" : 3.0
          }, {
            "lower_bound" : 1.9E7,
            "upper_bound" : 3.8E7,
            "count" : 1.0
          } ],
          "sketch" : {
            "parameters" : {
              "c" : 0.64,
              "k" : 2048.0
            },
            "data" : [ [ 0.0, 3.8E7 ], [ 6000000.0 ] ]
          }
        }
      }
    }
  }, {
    "name" : "always_null",
    "inferred_type" : "Unknown"
  } ]
}"""


def test_statistics_2024_field_set_round_trips() -> None:
    assert dumps_jackson(json.loads(STATS_2024)) == STATS_2024  # the sample itself is in Jackson layout
    stats = parse_statistics(json.loads(STATS_2024))
    assert stats.evaluation_time == "2024-10-27T17:39:31.000Z"
    id_, city, price, unknown = stats.features
    assert id_.string is not None and id_.string.distinct_count == 4.0 and id_.string.buckets is None
    assert city.string is not None and city.string.completeness == 0.75
    assert city.string.buckets == [CategoricalBucket("Zürich", 2), CategoricalBucket("Oslo", 1)]
    assert price.numerical is not None
    assert price.numerical.approximate_num_distinct_values == 4 and price.numerical.completeness == 1.0
    assert price.numerical.sketch is not None and price.numerical.sketch.data == [[0.0, 3.8e7], [6.0e6]]
    assert (unknown.inferred_type, unknown.numerical, unknown.string) == ("Unknown", None, None)
    assert dumps_jackson(statistics_to_dict(stats)) == STATS_2024


def test_statistics_2021_gains_2024_keys_in_container_order() -> None:
    stats = read_statistics(DQ / "statistics.json")
    n = stats.features[0].numerical
    assert n is not None
    n.approximate_num_distinct_values, n.completeness = 3, 1.0
    keys = list(statistics_to_dict(stats)["features"][0]["numerical_statistics"])
    assert keys == [
        "common",
        "mean",
        "sum",
        "std_dev",
        "min",
        "max",
        "approximate_num_distinct_values",
        "completeness",
        "distribution",
    ]


def test_statistics_reader_is_tolerant() -> None:
    doc = {
        "version": 0,
        "dataset": {"item_count": 3},
        "features": [
            {
                "name": "x",
                "inferred_type": "Integral",
                "numerical_statistics": {
                    "common": {"num_present": 3.0, "num_missing": 0},
                    "mean": 2,
                    "sum": 6,
                    "std_dev": 1,
                    "min": 1,
                    "max": 3,
                },
            }
        ],
    }
    stats = parse_statistics(doc)
    n = stats.features[0].numerical
    assert n is not None and n.num_present == 3 and isinstance(n.num_present, int)
    assert n.mean == 2.0 and isinstance(n.mean, float) and n.buckets is None and n.sketch is None
    text = dumps_jackson(statistics_to_dict(stats))
    assert '"version" : 0.0' in text and '"mean" : 2.0' in text and "distribution" not in text


def test_statistics_errors_name_file_and_key_path(tmp_path: Path) -> None:
    doc = json.loads((DQ / "statistics.json").read_text(encoding="utf-8"))
    del doc["features"][3]["numerical_statistics"]["mean"]
    path = tmp_path / "statistics.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(FormatError) as e:
        read_statistics(path)
    assert str(e.value) == f"{path}: features[3].numerical_statistics.mean: required key is missing"

    doc["features"][3]["numerical_statistics"]["mean"] = "abc"
    with pytest.raises(
        FormatError,
        match=r"^baseline\.json: features\[3\]\.numerical_statistics\.mean: "
        r"expected a number, got 'abc'$",
    ):
        parse_statistics(doc, "baseline.json")

    doc["features"][1]["numerical_statistics"]["common"]["num_present"] = 99.5
    with pytest.raises(
        FormatError,
        match=r"features\[1\]\.numerical_statistics\.common\.num_present: "
        r"expected an integer, got 99\.5",
    ):
        parse_statistics(doc)

    path.write_text('{"version": 0.0,\n "dataset": }', encoding="utf-8")
    with pytest.raises(FormatError, match=rf"^{re.escape(str(path))}: invalid JSON at line 2 column 13"):
        read_statistics(path)


# ---------------------------------------------------------------- constraints


@pytest.mark.parametrize("case", ["good_cases", "bad_cases"])
def test_constraints_fixtures_values_and_byte_identical_round_trip(case: str, tmp_path: Path) -> None:
    path = DQ / case / "constraints.json"
    c = read_constraints(path)
    assert c.version == 0.0 and [f.name for f in c.features] == [f"_c{i}" for i in range(6)]
    c5 = c.feature("_c5")
    assert c5 is not None
    assert c5.inferred_type == ("Fractional" if case == "good_cases" else "String")
    assert (c5.completeness, c5.is_non_negative, c5.domains, c5.overrides) == (1.0, True, None, None)
    mc = c.monitoring_config
    assert (mc.evaluate_constraints, mc.emit_metrics) == ("Enabled", "Enabled")
    assert (mc.datatype_check_threshold, mc.domain_content_threshold) == (1.0, 1.0)
    dc = mc.distribution_constraints
    assert (dc.perform_comparison, dc.comparison_threshold, dc.comparison_method) == (
        "Enabled",
        0.1,
        "Robust",
    )
    # 2021 file: no categorical keys; the documented fallbacks apply
    assert dc.categorical_comparison_threshold is None and dc.categorical_drift_method is None
    assert dc.effective_categorical_comparison_threshold == 0.1
    assert dc.effective_categorical_drift_method == "LInfinity"
    assert mc.absent_keys == frozenset() and mc.legacy_keys == frozenset()

    write_constraints(c, tmp_path / "constraints.json")
    assert (tmp_path / "constraints.json").read_bytes() == path.read_bytes()


def test_constraints_written_from_code_use_container_defaults_and_order() -> None:
    c = Constraints([FeatureConstraint("x", "Integral", completeness=1.0, is_non_negative=True)])
    d = constraints_to_dict(c)
    assert list(d) == ["version", "features", "monitoring_config"]
    assert d["monitoring_config"] == {
        "evaluate_constraints": "Enabled",
        "emit_metrics": "Enabled",
        "datatype_check_threshold": 1.0,
        "domain_content_threshold": 1.0,
        "distribution_constraints": {
            "perform_comparison": "Enabled",
            "comparison_threshold": 0.1,
            "comparison_method": "Robust",
            "categorical_comparison_threshold": 0.1,
            "categorical_drift_method": "LInfinity",
        },
    }
    assert list(d["monitoring_config"]) == [
        "evaluate_constraints",
        "emit_metrics",
        "datatype_check_threshold",
        "domain_content_threshold",
        "distribution_constraints",
    ]
    assert list(d["monitoring_config"]["distribution_constraints"]) == [
        "perform_comparison",
        "comparison_threshold",
        "comparison_method",
        "categorical_comparison_threshold",
        "categorical_drift_method",
    ]
    assert d["features"] == [
        {
            "name": "x",
            "inferred_type": "Integral",
            "completeness": 1.0,
            "num_constraints": {"is_non_negative": True},
        }
    ]


# 2019 layout: legacy distribution keys, SDK override spelling, thresholds left out.
LEGACY = """{
  "version" : 0.0,
  "features" : [ {
    "name" : "payload",
    "inferred_type" : "String",
    "completeness" : 1.0,
    "string_constraints" : {
      "domains" : [ "a", "b" ],
      "monitoring_config_overrides" : {
        "evaluate_constraints" : "Disabled",
        "emit_metrics" : "Enabled"
      }
    }
  }, {
    "name" : "channel",
    "inferred_type" : "String",
    "completeness" : 0.5,
    "string_constraints" : {
      "domains" : [ "web" ]
    }
  } ],
  "monitoring_config" : {
    "evaluate_constraints" : "Enabled",
    "emit_metrics" : "Enabled",
    "distribution_constraints" : {
      "enable_comparisons" : false,
      "min_domain_mass" : 0.7,
      "comparison_threshold" : 0.4
    }
  }
}"""


def test_legacy_keys_and_sdk_override_spelling() -> None:
    assert dumps_jackson(json.loads(LEGACY)) == LEGACY
    c = parse_constraints(json.loads(LEGACY))
    mc = c.monitoring_config
    dc = mc.distribution_constraints
    assert dc.perform_comparison == "Disabled"  # enable_comparisons: false
    assert mc.domain_content_threshold == 0.7  # min_domain_mass
    assert dc.comparison_threshold == 0.4
    assert mc.datatype_check_threshold == 1.0 and dc.comparison_method == "Robust"  # container defaults
    assert mc.absent_keys == {"datatype_check_threshold", "comparison_method"}
    assert mc.legacy_keys == {"enable_comparisons", "min_domain_mass"}
    payload, channel = c.features
    assert payload.domains == ["a", "b"] and payload.overrides_spelling == "string_constraints"
    assert payload.overrides == FeatureOverrides(evaluate_constraints="Disabled", emit_metrics="Enabled")
    assert channel.overrides is None and channel.overrides_spelling is None and channel.completeness == 0.5
    eff = payload.effective(mc)
    assert (eff.evaluate_constraints, eff.emit_metrics, eff.perform_comparison) == (False, True, False)
    assert (eff.domain_content_threshold, eff.comparison_threshold) == (0.7, 0.4)
    assert (eff.categorical_comparison_threshold, eff.categorical_drift_method) == (0.4, "LInfinity")
    assert channel.effective(mc).evaluate_constraints is True

    assert dumps_jackson(constraints_to_dict(c)) == LEGACY
    # a default-valued key that the file left out is written once it is changed
    mc.datatype_check_threshold = 0.5
    assert constraints_to_dict(c)["monitoring_config"]["datatype_check_threshold"] == 0.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "Enabled"), (False, "Disabled"), ("Enabled", "Enabled"), ("disabled", "Disabled")],
)
def test_enable_comparisons_values(value: object, expected: str) -> None:
    doc = {"features": [], "monitoring_config": {"distribution_constraints": {"enable_comparisons": value}}}
    assert parse_constraints(doc).monitoring_config.distribution_constraints.perform_comparison == expected


# DG layout: feature-level monitoringConfigOverrides, 2024 categorical keys.
DG_OVERRIDES = """{
  "version" : 0.0,
  "features" : [ {
    "name" : "city",
    "inferred_type" : "String",
    "completeness" : 1.0,
    "string_constraints" : {
      "domains" : [ "Oslo", "Zürich" ]
    },
    "monitoringConfigOverrides" : {
      "evaluate_constraints" : "Enabled",
      "domain_content_threshold" : 0.9,
      "comparison_threshold" : 0.3,
      "categorical_drift_method" : "ChiSquared",
      "future_knob" : {
        "a" : 1
      }
    }
  }, {
    "name" : "price",
    "inferred_type" : "Fractional",
    "completeness" : 0.99,
    "num_constraints" : {
      "is_non_negative" : false
    },
    "monitoringConfigOverrides" : {
      "comparison_threshold" : 0.25,
      "comparison_method" : "Simple"
    }
  } ],
  "monitoring_config" : {
    "evaluate_constraints" : "Disabled",
    "emit_metrics" : "Enabled",
    "datatype_check_threshold" : 1.0,
    "domain_content_threshold" : 1.0,
    "distribution_constraints" : {
      "perform_comparison" : "Enabled",
      "comparison_threshold" : 0.1,
      "comparison_method" : "Robust",
      "categorical_comparison_threshold" : 0.2,
      "categorical_drift_method" : "LInfinity"
    }
  }
}"""


def test_feature_level_overrides_spelling() -> None:
    assert dumps_jackson(json.loads(DG_OVERRIDES)) == DG_OVERRIDES
    c = parse_constraints(json.loads(DG_OVERRIDES))
    city, price = c.features
    assert city.overrides_spelling == "feature" and price.overrides_spelling == "feature"
    assert city.overrides == FeatureOverrides(
        evaluate_constraints="Enabled",
        domain_content_threshold=0.9,
        comparison_threshold=0.3,
        categorical_drift_method="ChiSquared",
        extra={"future_knob": {"a": 1}},
    )
    assert price.is_non_negative is False and price.completeness == 0.99
    e = city.effective(c.monitoring_config)
    assert (e.evaluate_constraints, e.domain_content_threshold, e.comparison_threshold) == (True, 0.9, 0.3)
    # the global categorical threshold is set, so a per-feature comparison_threshold does not replace it
    assert (e.categorical_comparison_threshold, e.categorical_drift_method) == (0.2, "ChiSquared")
    e = price.effective(c.monitoring_config)
    assert (e.evaluate_constraints, e.comparison_threshold, e.comparison_method) == (False, 0.25, "Simple")
    assert dumps_jackson(constraints_to_dict(c)) == DG_OVERRIDES
    # switching spelling moves the block; content unchanged
    city.overrides_spelling = "string_constraints"
    moved = constraints_to_dict(c)["features"][0]
    assert list(moved) == ["name", "inferred_type", "completeness", "string_constraints"]
    assert list(moved["string_constraints"]) == ["domains", "monitoring_config_overrides"]
    assert parse_constraints(constraints_to_dict(c)).features[0] == city


# The DG's documented example (0.1 thresholds, Simple), with an empty override block.
DG_EXAMPLE = {
    "version": 0,
    "features": [
        {
            "name": "plan",
            "inferred_type": "String",
            "completeness": 1,
            "string_constraints": {"domains": ["basic", "pro"]},
            "monitoringConfigOverrides": {},
        },
        {
            "name": "age",
            "inferred_type": "Integral",
            "completeness": 1,
            "num_constraints": {"is_non_negative": True},
        },
    ],
    "monitoring_config": {
        "evaluate_constraints": "Enabled",
        "emit_metrics": "Enabled",
        "datatype_check_threshold": 0.1,
        "domain_content_threshold": 0.1,
        "distribution_constraints": {
            "perform_comparison": "Enabled",
            "comparison_threshold": 0.1,
            "comparison_method": "Simple",
            "categorical_comparison_threshold": 0.1,
            "categorical_drift_method": "LInfinity",
        },
    },
}


def test_dg_documented_example(tmp_path: Path) -> None:
    c = parse_constraints(DG_EXAMPLE)
    mc = c.monitoring_config
    assert (mc.datatype_check_threshold, mc.domain_content_threshold) == (0.1, 0.1)
    assert mc.distribution_constraints.comparison_method == "Simple"
    plan = c.feature("plan")
    assert plan is not None and plan.overrides == FeatureOverrides() and plan.overrides_spelling == "feature"
    assert plan.completeness == 1.0 and isinstance(plan.completeness, float)
    e = plan.effective(mc)
    assert (e.datatype_check_threshold, e.comparison_method, e.categorical_comparison_threshold) == (
        0.1,
        "Simple",
        0.1,
    )
    write_constraints(c, tmp_path / "c.json")
    text = (tmp_path / "c.json").read_text(encoding="utf-8")
    assert '"monitoringConfigOverrides" : { }' in text and '"version" : 0.0' in text
    assert read_constraints(tmp_path / "c.json") == c
    assert json.loads(text) == DG_EXAMPLE  # same values (ints written as doubles compare equal)


def test_effective_categorical_threshold_falls_back_to_comparison_threshold() -> None:
    c = read_constraints(DQ / "good_cases" / "constraints.json")  # 2021: no categorical keys
    f = replace(c.features[0], overrides=FeatureOverrides(comparison_threshold=0.3))
    assert f.effective(c.monitoring_config).categorical_comparison_threshold == 0.3
    assert c.features[1].effective(c.monitoring_config).categorical_comparison_threshold == 0.1


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {
                "features": [],
                "monitoring_config": {"distribution_constraints": {"comparison_method": "Fancy"}},
            },
            "c.json: monitoring_config.distribution_constraints.comparison_method: "
            "expected one of Simple, Robust, got 'Fancy'",
        ),
        (
            {
                "features": [
                    {
                        "name": "a",
                        "inferred_type": "String",
                        "monitoringConfigOverrides": {},
                        "string_constraints": {"monitoring_config_overrides": {}},
                    }
                ]
            },
            "c.json: features[0]: overrides given both as 'monitoringConfigOverrides' and as "
            "'string_constraints.monitoring_config_overrides'; keep one",
        ),
        (
            {
                "features": [],
                "monitoring_config": {
                    "distribution_constraints": {"perform_comparison": "Enabled", "enable_comparisons": True}
                },
            },
            "c.json: monitoring_config.distribution_constraints.enable_comparisons: legacy spelling "
            "given together with 'monitoring_config.distribution_constraints.perform_comparison'; "
            "keep only that one",
        ),
        (
            {
                "features": [
                    {"name": "a", "inferred_type": "String", "string_constraints": {"domains": ["x", 1]}}
                ]
            },
            "c.json: features[0].string_constraints.domains[1]: expected a string, got 1",
        ),
        ({"features": [{"name": "a"}]}, "c.json: features[0].inferred_type: required key is missing"),
        ({"regression_constraints": {}}, "c.json: features: required key is missing"),
    ],
)
def test_constraints_errors(doc: dict, message: str) -> None:
    with pytest.raises(FormatError) as e:
        parse_constraints(doc, "c.json")
    assert str(e.value) == message


# ---------------------------------------------------------------- violations


def test_taxi_violations_parse_and_round_trip(tmp_path: Path) -> None:
    cv = read_violations(TAXI)
    assert len(cv.violations) == 7
    assert cv.violations[0] == Violation(
        "store_and_fwd_flag",
        "categorical_values_check",
        "Value: 0.009009009009009009 does not meet the constraint requirement! ",
    )
    assert [v.constraint_check_type for v in cv.violations].count("data_type_check") == 5
    assert cv.violations[3].feature_name == "congestion_surcharge"
    assert cv.violations[3].constraint_check_type == "completeness_check"
    assert all(v.metric_name is None for v in cv.violations)

    text = TAXI.read_text(encoding="utf-8")
    assert parse_violations(json.loads(text.rstrip("\n"))) == cv  # with or without the final newline
    write_violations(cv, tmp_path / "v.json")
    assert (tmp_path / "v.json").read_text(encoding="utf-8") + "\n" == text


def test_model_quality_violation_order_and_empty_list() -> None:
    cv = ConstraintViolations(
        [
            Violation(
                None, "LessThanThreshold", "Metric r2 with 0.1 was LessThanThreshold 0.2", metric_name="r2"
            )
        ]
    )
    d = violations_to_dict(cv)
    assert list(d["violations"][0]) == ["metric_name", "constraint_check_type", "description"]
    assert parse_violations(d) == cv
    assert dumps_jackson(violations_to_dict(ConstraintViolations([]))) == '{\n  "violations" : [ ]\n}'
    with pytest.raises(
        FormatError,
        match=r"^constraint_violations\.json: violations\[0\]\.description: "
        r"required key is missing$",
    ):
        parse_violations({"violations": [{"feature_name": "a", "constraint_check_type": "data_type_check"}]})
