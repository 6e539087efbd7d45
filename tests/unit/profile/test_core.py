"""Pure-Python core: type decision, buckets, rank queries, suggestion rules, configuration errors."""

from __future__ import annotations

import json
import math

import datasketches as ds
import numpy as np
import pytest
from helpers import exact_buckets

from monitor_lib.checks.suggest import suggest_constraints, suggested_completeness, suggested_domain
from monitor_lib.container import sagemaker_environment
from monitor_lib.errors import ConfigError
from monitor_lib.formats.statistics import (
    CategoricalBucket,
    DatasetStatistics,
    FeatureStatistics,
    NumericalStatistics,
    StringStatistics,
)
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.monitors.data_quality import BaselineParams as BaselineConfig
from monitor_lib.monitors.registry import environment_names
from monitor_lib.profile.options import ProfileOptions
from monitor_lib.profile.sketches import WeightedItems, equal_width_buckets, frequent_items_exact, kll_levels
from monitor_lib.profile.types import decide_type, sagemaker_type


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((0, 0, 0, 0), "Unknown"),
        ((10, 10, 0, 0), "Integral"),
        ((10, 9, 1, 0), "Fractional"),
        ((10, 9, 0, 0), "String"),  # one value matched no numeric/boolean pattern
        ((10, 0, 0, 10), "Boolean"),
        ((10, 5, 0, 5), "String"),  # booleans mixed with numbers
    ],
)
def test_deequ_type_decision(counts, expected):
    assert decide_type(*counts) == expected


def test_boolean_is_reported_as_string():
    assert sagemaker_type("Boolean") == "String"
    assert sagemaker_type("Integral") == "Integral"


def test_buckets_from_levels_equal_exact_histogram():
    rng = np.random.default_rng(3)
    values = rng.normal(size=1000).round(2)
    ranks = WeightedItems.from_levels([list(values)])  # one level = exact sample
    got = equal_width_buckets(values.min(), values.max(), ranks)
    want = exact_buckets(values, values.min(), values.max())
    assert [(a, b, float(c)) for a, b, c in want] == got
    assert sum(c for _, _, c in got) == 1000


def test_deequ_layout_weights_add_up_to_n():
    sk = ds.kll_doubles_sketch(2048)
    for x in np.random.default_rng(1).random(100_000):
        sk.update(float(x))
    levels = kll_levels(sk)
    assert sum(len(lv) * 2**i for i, lv in enumerate(levels)) == sk.n == 100_000
    w = WeightedItems.from_levels(levels)
    # our rank over the Deequ layout equals DataSketches' own rank
    for q in (0.1, 0.5, 0.9):
        assert w.rank_exclusive(q) / sk.n == pytest.approx(sk.get_rank(q, False), abs=1e-12)


def test_deequ_layout_when_level_zero_is_empty():
    """Merged sketches often have an empty level 0; the levels must still weigh n (the datasketches
    5.2 Python iterator gets this wrong, so the layout is decoded from the serialised bytes)."""
    rng = np.random.default_rng(5)
    seen_empty_level_zero = False
    for parts in (2, 3, 5):
        merged = ds.kll_doubles_sketch(2048)
        total = 0
        for _ in range(parts):
            part = ds.kll_doubles_sketch(2048)
            for x in rng.random(150_000):
                part.update(float(x))
            total += part.n
            merged.merge(ds.kll_doubles_sketch.deserialize(part.serialize()))
        levels = kll_levels(merged)
        seen_empty_level_zero |= not levels[0]
        assert sum(len(lv) * 2**i for i, lv in enumerate(levels)) == merged.n == total
        w = WeightedItems.from_levels(levels)
        for q in (0.05, 0.5, 0.95):
            assert w.rank_exclusive(q) / merged.n == pytest.approx(merged.get_rank(q, False), abs=1e-12)
    assert seen_empty_level_zero


def test_frequent_items_exact_only_without_purge():
    small = ds.frequent_strings_sketch(8)  # map of 256
    for i in range(1000):
        small.update(f"v{i % 100}")
    items = dict(frequent_items_exact(small))
    assert len(items) == 100 and set(items.values()) == {10}
    for i in range(5000):
        small.update(f"w{i}")
    assert frequent_items_exact(small) is None


def test_completeness_rule():
    assert suggested_completeness(1.0, 100) == 1.0
    p, n = 0.95, 10_000
    want = math.floor((p - 1.96 * math.sqrt(p * (1 - p) / n)) * 100) / 100
    assert suggested_completeness(p, n) == want == 0.94
    assert suggested_completeness(0.0, 100) == 0.0


def _string_feature(buckets):
    n = sum(c for _, c in buckets)
    return FeatureStatistics("s", "String", string=StringStatistics(
        n, 0, float(len(buckets)), 1.0, [CategoricalBucket(v, c) for v, c in buckets]))


def test_domain_rule_follows_deequ_categorical_range_rule():
    assert suggested_domain(_string_feature([("a", 5), ("b", 3), ("c", 2)])) == ["a", "b", "c"]
    # 2 of 10 values seen once: 20 % > 10 %, no domain
    many = [(f"v{i}", 5) for i in range(8)] + [("x", 1), ("y", 1)]
    assert suggested_domain(_string_feature(many)) is None


def test_suggestion_non_negative_and_drift_method():
    num = lambda name, lo: FeatureStatistics(name, "Integral", numerical=NumericalStatistics(  # noqa: E731
        10, 0, 1.0, 10.0, 0.5, lo, 5.0))
    stats = DatasetStatistics(10, [num("pos", 0.0), num("neg", -1.0)])
    c = suggest_constraints(stats, "ChiSquared")
    assert [f.is_non_negative for f in c.features] == [True, False]
    dc = c.monitoring_config.distribution_constraints
    assert (dc.categorical_drift_method, dc.comparison_method, dc.comparison_threshold) == ("ChiSquared", "Robust", 0.1)
    assert (c.monitoring_config.datatype_check_threshold, c.monitoring_config.domain_content_threshold) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("text", "kind", "header"),
    [('{"csv": {"header": true}}', "csv", True), ('{"csv": {}}', "csv", False),
     ('{"Csv": {"Header": true}}', "csv", True), ('{"json": {"lines": true}}', "json", False),
     ('{"parquet": {}}', "parquet", False)],
)
def test_dataset_format(text, kind, header):
    f = DatasetFormat.parse(text)
    assert (f.kind, f.header) == (kind, header)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(None, "dataset_format is required"), ("{csv", "not valid JSON"), ('{"avro": {}}', "unsupported format 'avro'"),
     ('{"csv": {"header": "yes"}}', "dataset_format.csv.header must be true or false")],
)
def test_dataset_format_errors_name_the_field(value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        DatasetFormat.parse(value)


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="categorical_drift_method must be one of LInfinity, ChiSquared"):
        BaselineConfig("x", DatasetFormat("csv"), "out", categorical_drift_method="KS")
    with pytest.raises(ConfigError, match="kll_k must be between"):
        ProfileOptions(kll_k=2)


def test_environment_file_is_base_and_env_vars_override(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "processingjobconfig.json").write_text(json.dumps(
        {"Environment": {"dataset_source": "/from/file", "output_path": "/out", "custom_var": "x"}}))
    params = sagemaker_environment(environment_names(), str(tmp_path), environ={"dataset_source": "/from/env"})
    assert params == {"dataset_source": "/from/env", "output_path": "/out", "custom_var": "x"}
