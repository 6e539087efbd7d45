"""The bias metrics from counts (monitor_lib.bias.metrics) against AWS's open-source smclarify 0.5, the code the
Clarify container runs, on the same rows: every count-based metric over random boolean (d, y, ŷ, group) arrays of
many shapes and the edge cases (empty groups, no positives, infinities, the KL quirk), with smclarify's exact error
texts; Clarify's ``(t, max]`` text and column-type heuristic; the bias drift rule (no Spark here)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
import smclarify.bias.metrics as sm_metrics
from smclarify.bias import report as sm_report
from smclarify.bias.metrics import common as sm_common

from monitor_lib.bias.analysis import check_bias_drift
from monitor_lib.bias.metrics import (
    CATEGORICAL,
    CONTINUOUS,
    DESCRIPTIONS,
    METRICS,
    POST_TRAINING,
    PRE_TRAINING,
    FacetCounts,
    column_type,
    group_order,
    interval_text,
    metric_entry,
)

SM_FUNCTIONS = {f.__name__: f for f in sm_metrics.PRETRAINING_METRICS + sm_metrics.POSTTRAINING_METRICS}
COUNT_METRICS = sorted(METRICS)  # every metric but FT (needs feature vectors: the integration tests)
PRE = sorted(PRE_TRAINING)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# ---------------------------------------------------------------- the two sides


def counts_of(d, y, yhat, group) -> FacetCounts:
    """FacetCounts of the rows, as the Spark aggregation hands them over (ŷ None: pre-training only)."""
    c = FacetCounts(groups=[] if group is None else np.unique(group).tolist(), has_group_variable=group is not None)
    for i in range(len(d)):
        c.add(bool(d[i]), bool(y[i]), None if yhat is None else bool(yhat[i]),
              None if group is None else group[i].item(), 1)
    return c


def ours(name: str, counts: FacetCounts) -> dict:
    return json.loads(json.dumps(metric_entry(name, lambda: METRICS[name](counts))))


def theirs(name: str, d, y, yhat, group) -> dict:
    """smclarify's entry for the same rows, as its ``_categorical_metric_call_wrapper`` builds it (the boolean
    label index is passed as ``label`` too), serialised by its ``FacetReport.to_json`` ("Infinity" strings)."""
    fn = SM_FUNCTIONS[name]
    n = len(d)
    feature = pd.Series(np.arange(n))
    label = pd.Series(np.asarray(y, dtype=bool))
    predicted = pd.Series(np.asarray(yhat if yhat is not None else np.zeros(n), dtype=bool))
    description = sm_common.metric_description(fn)
    try:
        value = sm_metrics.call_metric(
            fn, df=pd.DataFrame({"x": feature}), feature=feature,
            sensitive_facet_index=pd.Series(np.asarray(d, dtype=bool)), label=label, positive_label_index=label,
            predicted_label=predicted, positive_predicted_label_index=predicted,
            group_variable=None if group is None else pd.Series(group))
        result = sm_report.MetricResult(name, description, value)
    except Exception as e:  # smclarify reports any exception as the metric's error
        result = sm_report.MetricError(name, description, error=e)
    return sm_report.FacetReport("v", [result]).to_json()["metrics"][0]


def assert_same(mine: dict, ref: dict, where: str) -> None:
    assert list(mine) == list(ref), (where, mine, ref)  # name, description, value[, error]
    assert mine["name"] == ref["name"] and mine["description"] == ref["description"], where
    assert mine.get("error") == ref.get("error"), (where, mine, ref)
    a, b = mine["value"], ref["value"]
    if isinstance(a, float) and isinstance(b, float):
        assert close(a, b), (where, a, b)
    else:  # None, "Infinity" / "-Infinity", or the integer 0 smclarify writes for DCA / DCR (both sides infinite)
        assert a == b and type(a) is type(b), (where, a, b)


def compare_all(d, y, yhat, group, where: str) -> dict[str, dict]:
    """Every count metric on both sides; returns our entries by name."""
    out = {}
    full = counts_of(d, y, yhat, group)
    pre_only = counts_of(d, y, None, group)
    for name in COUNT_METRICS:
        ref = theirs(name, d, y, yhat, group)
        mine = ours(name, full)
        assert_same(mine, ref, f"{where} {name}")
        if name in PRE:  # a baseline without predictions: the same pre-training values
            assert_same(ours(name, pre_only), ref, f"{where} {name} (no ŷ)")
        out[name] = mine
    return out


# ---------------------------------------------------------------- the registry


def test_metric_names_and_descriptions_are_smclarifys():
    assert sorted(f.__name__ for f in sm_metrics.PRETRAINING_METRICS) == sorted(PRE_TRAINING)
    assert sorted(f.__name__ for f in sm_metrics.POSTTRAINING_METRICS) == sorted(POST_TRAINING)
    assert sorted(METRICS) == sorted(n for n in SM_FUNCTIONS if n != "FT")
    for name, fn in SM_FUNCTIONS.items():
        assert DESCRIPTIONS[name] == sm_common.metric_description(fn), name


# ---------------------------------------------------------------- random rows


PROBABILITIES = (0.0, 0.03, 0.2, 0.5, 0.8, 0.97, 1.0)
SIZES = (1, 2, 3, 4, 7, 12, 31, 100, 400)


def random_rows(seed: int):
    """Boolean d, y, ŷ and a group variable (None, a few ints, or strings) of a seed-chosen shape; the
    probabilities include 0 and 1, so empty groups and missing classes come up often."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice(SIZES))
    p_d, p_y, p_yhat = (float(rng.choice(PROBABILITIES)) for _ in range(3))
    d = rng.random(n) < p_d
    y = rng.random(n) < p_y
    if seed % 3 == 0:  # predictions that follow the label with some noise (realistic confusion matrices)
        flip = rng.random(n) < float(rng.choice((0.0, 0.1, 0.4)))
        yhat = y ^ flip
    else:
        yhat = rng.random(n) < p_yhat
    kind = seed % 4
    if kind == 0:
        group = None
    elif kind == 3:
        group = np.array([f"g{v}" for v in rng.integers(0, int(rng.integers(1, 5)), n)])
    else:
        group = rng.integers(0, int(rng.integers(1, 7)), n)
    return d, y, yhat, group


@pytest.mark.parametrize("seed", range(240))
def test_random_rows_equal_smclarify(seed):
    d, y, yhat, group = random_rows(seed)
    compare_all(d, y, yhat, group, f"seed {seed} n={len(d)}")


def test_random_rows_cover_the_edge_cases():
    """The random shapes above do reach the error and infinity branches (else they test less than they claim)."""
    seen_errors, seen_inf = set(), set()
    for seed in range(240):
        d, y, yhat, group = random_rows(seed)
        counts = counts_of(d, y, yhat, group)
        for name in COUNT_METRICS:
            entry = ours(name, counts)
            if "error" in entry:
                seen_errors.add(entry["error"])
            elif isinstance(entry["value"], str):
                seen_inf.add((name, entry["value"]))
    assert {"Facet set is empty", "Negated Facet set is empty", "No positive labels in set",
            "No negative labels in set", "Group variable is empty or not provided",
            "No instance of common facet found, dataset may be too small"} <= seen_errors
    assert {n for n, _ in seen_inf} >= {"DCA", "DI", "TE"}


# ---------------------------------------------------------------- named edge cases, exact texts


def rows(*cells: tuple[int, int, int, int]):
    """Rows from (d, y, ŷ, count) tuples; group = row index mod 2."""
    d, y, yhat = [], [], []
    for cd, cy, cp, k in cells:
        d += [bool(cd)] * k
        y += [bool(cy)] * k
        yhat += [bool(cp)] * k
    group = np.arange(len(d)) % 2
    return np.array(d, dtype=bool), np.array(y, dtype=bool), np.array(yhat, dtype=bool), group


FACET_EMPTY = {
    "CI": "CI: facet set is empty. Check that x[facet] has non-zero length.",
    "DPL": "Facet set is empty.", "DPPL": "Facet set is empty.",
    "KL": "No instance of common facet found, dataset may be too small",
    "JS": "No instance of common facet found, dataset may be too small",
    "LP": "No instance of common facet found, dataset may be too small",
    "TVD": "No instance of common facet found, dataset may be too small",
    "KS": "No instance of common facet found, dataset may be too small",
    "DI": "Facet set is empty", "DCA": "DCO: Facet set is empty", "DCR": "DCO: Facet set is empty",
    "DAR": "DLR: Facet set is empty", "DRR": "DLR: Facet set is empty", "RD": "DLA: Facet set is empty",
    "SD": "DLA: Facet set is empty", "AD": "Facet set is empty", "TE": "Facet set is empty",
}
NEGATED_EMPTY = {
    "CI": "CI: negated facet set is empty. Check that x[~facet] has non-zero length.",
    "DPL": "Negative facet set is empty.", "DPPL": "Negative facet set is empty.",
    "KL": "No instance of common facet found, dataset may be too small",
    "JS": "No instance of common facet found, dataset may be too small",
    "LP": "No instance of common facet found, dataset may be too small",
    "TVD": "No instance of common facet found, dataset may be too small",
    "KS": "No instance of common facet found, dataset may be too small",
    "DI": "Negated facet set is empty", "DCA": "DCO: Negated Facet set is empty",
    "DCR": "DCO: Negated Facet set is empty", "DAR": "DLR: Negated Facet set is empty",
    "DRR": "DLR: Negated Facet set is empty", "RD": "DLA: Negated Facet set is empty",
    "SD": "DLA: Negated Facet set is empty", "AD": "Negated Facet set is empty", "TE": "Negated Facet set is empty",
}
GE_ALL_FN = ("All predicted labels are false negatives. There should be at least one prediction that is not false "
             "negative.")


def test_empty_facet_group_d():
    got = compare_all(*rows((0, 1, 1, 5), (0, 0, 1, 3), (0, 0, 0, 4)), "empty d")
    assert {n: e["error"] for n, e in got.items() if "error" in e} == FACET_EMPTY
    assert got["CDDL"]["value"] == 0.0 and got["CDDPL"]["value"] == 0.0  # no error: d simply never counts
    assert "error" not in got["GE"]


def test_empty_negated_group_a():
    got = compare_all(*rows((1, 1, 1, 5), (1, 0, 1, 3), (1, 0, 0, 4)), "empty a")
    assert {n: e["error"] for n, e in got.items() if "error" in e} == NEGATED_EMPTY


def test_no_positive_labels():
    got = compare_all(*rows((1, 0, 1, 5), (0, 0, 0, 3), (0, 0, 1, 4)), "no positives")
    assert got["CDDL"]["error"] == "No positive labels in set"
    assert got["KL"]["value"] == 0.0 and got["DPL"]["value"] == 0.0
    assert got["RD"]["value"] == 0.0  # 0/0 recalls are 0.0 on both sides


def test_no_negative_labels_and_no_negative_predictions():
    got = compare_all(*rows((1, 1, 1, 5), (0, 1, 1, 3)), "no negatives")
    assert got["CDDL"]["error"] == "No negative labels in set"
    assert got["CDDPL"]["error"] == "No negative labels in set"
    assert got["GE"]["value"] == 0.0


def test_d_without_positives_gives_the_negative_kl_quirk():
    """smclarify aligns the label pmfs on values present in both groups: d without positives drops y=1, and KL
    becomes (1 - q_a)·ln(1 - q_a) < 0; LP = KS = q_a, TVD = q_a / 2."""
    got = compare_all(*rows((0, 1, 1, 3), (0, 0, 0, 7), (1, 0, 0, 6), (1, 0, 1, 2)), "d without positives")
    qa = 3 / 10
    assert got["KL"]["value"] < 0
    assert close(got["KL"]["value"], (1 - qa) * math.log(1 - qa))
    assert close(got["LP"]["value"], qa) and close(got["KS"]["value"], qa) and close(got["TVD"]["value"], qa / 2)


def test_all_false_negatives_is_the_ge_error():
    got = compare_all(*rows((1, 1, 0, 4), (0, 1, 0, 5)), "all false negatives")
    assert got["GE"] == {"name": "GE", "description": "Generalized Entropy (GE)", "value": None, "error": GE_ALL_FN}


def test_empty_dataset_ge_text():
    got = compare_all(*rows(), "no rows")
    assert got["GE"]["error"] == "dataset must be non-empty"
    assert got["CDDL"]["error"] == "Group variable is empty or not provided"  # an empty group series


def test_no_group_variable():
    d, y, yhat, _ = rows((1, 1, 1, 5), (0, 0, 1, 3), (1, 0, 0, 2), (0, 1, 0, 1))
    got = compare_all(d, y, yhat, None, "no group variable")
    assert got["CDDL"]["error"] == got["CDDPL"]["error"] == "Group variable is empty or not provided"


def test_infinities():
    # a: 4 positives, no positive prediction; d: positive predictions, some of them right
    got = compare_all(*rows((0, 1, 0, 4), (0, 0, 0, 3), (1, 1, 1, 2), (1, 0, 1, 1), (1, 1, 0, 2)), "infinite")
    assert got["DI"]["value"] == "Infinity"  # q̂_d / 0
    assert got["DCA"]["value"] == "Infinity"  # n_a(1) / 0 − c_d
    assert got["TE"]["value"] == "-Infinity"  # FN_d/FP_d − FN_a/0
    # d with false negatives and no false positive, a with both
    got = compare_all(*rows((1, 1, 0, 3), (1, 1, 1, 2), (0, 1, 0, 2), (0, 0, 1, 4), (0, 0, 0, 1)), "TE +inf")
    assert got["TE"]["value"] == "Infinity"


def test_both_sides_infinite():
    """DCA / DCR of two infinite rates are the integer 0 (smclarify's `dca = 0`), TE the float 0.0."""
    got = compare_all(*rows((0, 1, 0, 2), (0, 0, 0, 1), (1, 1, 0, 3), (1, 0, 0, 1)), "DCA inf - inf")
    assert got["DCA"]["value"] == 0 and type(got["DCA"]["value"]) is int
    assert got["TE"]["value"] == 0.0 and type(got["TE"]["value"]) is float
    got = compare_all(*rows((0, 0, 1, 2), (0, 1, 1, 1), (1, 0, 1, 3), (1, 1, 1, 1)), "DCR inf - inf")
    assert got["DCR"]["value"] == 0 and type(got["DCR"]["value"]) is int


def test_di_zero_over_zero_is_zero():
    got = compare_all(*rows((0, 1, 0, 2), (1, 0, 0, 3), (1, 1, 0, 1), (0, 0, 0, 2)), "DI 0/0")
    assert got["DI"]["value"] == 0.0


@pytest.mark.parametrize("groups", [[3, 1, 2, 1, 3, 3], ["b", "a", "c", "a"], [0.5, 0.25, 1.5, 0.25],
                                    [10, 9, 100, 9]])
def test_group_variable_values(groups):
    rng = np.random.default_rng(len(groups))
    values = np.array(groups * 20)
    n = len(values)
    d, y, yhat = rng.random(n) < 0.4, rng.random(n) < 0.5, rng.random(n) < 0.5
    compare_all(d, y, yhat, values, f"groups {groups}")
    # the Spark side hands group values over as text and orders them with group_order: np.unique's order
    assert group_order({str(v) for v in values}) == [str(v) for v in np.unique(values).tolist()]


# ---------------------------------------------------------------- (t, max] text


@pytest.mark.parametrize("threshold, data", [
    (0.5, [0.1, 0.9936148802477393, 0.7]), (0.5, [1, 2, 10]), (3, [1, 5, 4]), (3, [1.0, 5.5]), (0, [0, 5]),
    (0.0, [0, 5]), (5, [5, 1]), (5, [-5, -7]), (-5, [5, -6]), (10, [2, 3]), (0.5, [1e16, 3.0]),
    (0.5, [0.30000000000000004, 0.1]), (1e-05, [0.001]), (0.5, [1.2345678901234568e18]), (0.5, [-0.0, -1.0]),
    (1e-320, [1.0]), (3, [3.0, 1.0]), (2.5, [np.float32(3.7), np.float32(1)]), (40, list(range(18, 91))),
])
def test_interval_text_is_pandas_interval_repr(threshold, data):
    series = pd.Series(data)
    expected = ",".join(map(str, sm_report._interval_index(series, [threshold])))
    maximum = series.max()
    maximum = int(maximum) if np.issubdtype(series.dtype, np.integer) else float(maximum)
    assert interval_text(threshold, maximum) == expected


# ---------------------------------------------------------------- column type


def spark_side_kind(values: list[str]) -> tuple[str, int | None]:
    """What the aggregation measures: int (every value an integer), float (every value a number) or text, and
    the distinct integers."""
    def is_int(v):
        try:
            int(v)
            return True
        except ValueError:
            return False

    def is_num(v):
        try:
            float(v)
            return True
        except ValueError:
            return False

    if all(is_int(v) for v in values):
        return "int", len({int(v) for v in values})
    if all(is_num(v) for v in values):
        return "float", None
    return "text", None


COLUMNS = {
    "few ints": ["0", "1"] * 30,
    "5% distinct ints": [str(i % 2) for i in range(40)],  # 2 / 40 = 0.05: continuous
    "just below 5%": [str(i % 2) for i in range(41)],
    "many ints": [str(i) for i in range(50)],
    "negative ints": [str(-i % 7) for i in range(60)] + ["-3"],
    "floats": ["0.5", "1.25", "0.5", "3.0"] * 10,
    "integral floats": ["1.0", "2.0"] * 30,
    "text": ["red", "blue", "green"] * 10,
    "numbers and text": ["1", "x", "2", "3"] * 10,
    "booleans": ["true", "false"] * 10,
    "one int": ["7"] * 30,
}


@pytest.mark.parametrize("name", sorted(COLUMNS))
@pytest.mark.parametrize("values", [None, [1], ["0.5"], [0, 1]])
def test_column_type_is_series_datatype(name, values):
    column = COLUMNS[name]
    series = pd.read_csv(io.StringIO("c\n" + "\n".join(column) + "\n"))["c"]
    if pd.api.types.is_string_dtype(series.dtype):
        series = series.astype(object)  # pandas < 3 (the container's) reads text as object
    expected = sm_common.series_datatype(series, None if values is None else list(values))
    kind, distinct = spark_side_kind(column)
    ours_type = column_type(kind, distinct, len(column), None if values is None else list(values))
    assert ours_type == {sm_common.DataType.CATEGORICAL: CATEGORICAL,
                         sm_common.DataType.CONTINUOUS: CONTINUOUS}[expected], (name, kind, distinct)


def test_category_dtype_is_categorical():
    series = pd.Series([str(i) for i in range(100)]).astype("category")
    assert sm_common.series_datatype(series, [1]) == sm_common.DataType.CATEGORICAL
    assert column_type("int", 100, 100, [1], category=True) == CATEGORICAL


# ---------------------------------------------------------------- the bias drift check


def doc(*metrics: tuple, facet="sex", facet_value="0", stage="post_training_bias_metrics") -> dict:
    """An analysis.json with one facet entry; metrics are (name, value[, error])."""
    entries = []
    for m in metrics:
        e = {"name": m[0], "description": DESCRIPTIONS[m[0]], "value": m[1]}
        if len(m) > 2:
            e["error"] = m[2]
        entries.append(e)
    return {"version": "1.0", stage: {"label": "y", "facets": {facet: [{"value_or_threshold": facet_value,
                                                                          "metrics": entries}]},
                                      "label_value_or_threshold": "1"}}


def violation(metric, current, baseline, facet="sex", facet_value="0"):
    return {"facet": facet, "facet_value": facet_value, "metric_name": metric,
            "constraint_check_type": "bias_drift_check",
            "description": f"Metric value {current} doesn't meet the baseline constraint requirement {baseline}"}


def test_farther_from_zero_is_a_violation():
    base = doc(("DPPL", 0.2), ("DAR", -0.09508196721311479), ("AD", 0.1), ("CI", 0.3))
    cur = doc(("DPPL", 0.1), ("DAR", -0.34693877551020413), ("AD", -0.1), ("CI", -0.31))
    check = check_bias_drift(base, cur)
    assert check.violations == [violation("CI", "-0.31", "0.3"),
                                violation("DAR", "-0.34693877551020413", "-0.09508196721311479")]
    assert check.compared == 4 and check.not_compared == []


def test_equal_values_are_no_violation():
    values = (("DPPL", 0.2), ("DAR", -0.34693877551020413), ("DCR", 0), ("TE", "Infinity"), ("GE", 0.0))
    assert check_bias_drift(doc(*values), doc(*values)).violations == []
    # float noise between implementations (12 significant digits) is no drift either
    noisy = doc(("DPPL", 0.2 * (1 + 1e-15)), ("DAR", -0.34693877551020413 * (1 + 1e-14)))
    assert check_bias_drift(doc(*values), noisy).violations == []


def test_di_is_compared_to_one():
    base = doc(("DI", 0.8))
    assert check_bias_drift(base, doc(("DI", 1.1))).violations == []  # |1.1 − 1| < |0.8 − 1|
    assert check_bias_drift(base, doc(("DI", 1.2))).violations == []  # as far as the baseline: equal
    assert check_bias_drift(base, doc(("DI", 0.7))).violations == [violation("DI", "0.7", "0.8")]
    assert check_bias_drift(base, doc(("DI", 1.3))).violations == [violation("DI", "1.3", "0.8")]
    assert check_bias_drift(base, doc(("DI", 0.0))).violations == [violation("DI", "0.0", "0.8")]


def test_null_values_are_not_compared():
    base = doc(("CDDPL", None, "Group variable is empty or not provided"), ("DPPL", 0.1), ("AD", 0.5))
    cur = doc(("CDDPL", 0.9), ("DPPL", None, "Facet set is empty."), ("AD", 0.6))
    check = check_bias_drift(base, cur)
    assert check.violations == [violation("AD", "0.6", "0.5")]
    assert check.compared == 1
    assert sorted((n["metric_name"], n["why"]) for n in check.not_compared) == [
        ("CDDPL", "no value in the baseline"), ("DPPL", "no value in this window")]


def test_infinity_strings():
    base = doc(("TE", 2.916666666666667), ("DI", "Infinity"), ("DCA", "Infinity"), ("RD", 1.0), ("SD", 0.5))
    cur = doc(("TE", "Infinity"), ("DI", 5.0), ("DCA", "Infinity"), ("RD", "-Infinity"), ("SD", -0.25))
    assert check_bias_drift(base, cur).violations == [
        violation("RD", "-Infinity", "1.0"), violation("TE", "Infinity", "2.916666666666667")]


def test_descriptions_print_python_reprs():
    base = doc(("DCR", 0), ("DCA", 0.1), ("AD", 1e-05))
    cur = doc(("DCR", -0.07650273224043716), ("DCA", 0.30000000000000004), ("AD", 1.5e-05))
    assert check_bias_drift(base, cur).violations == [
        violation("AD", "1.5e-05", "1e-05"), violation("DCA", "0.30000000000000004", "0.1"),
        violation("DCR", "-0.07650273224043716", "0")]


def test_entries_are_matched_by_facet_value_and_continuous_ones_by_position():
    base = doc(("CI", 0.1), facet="age", facet_value="(40, 90]", stage="pre_training_bias_metrics")
    cur = doc(("CI", 0.2), facet="age", facet_value="(40, 88]", stage="pre_training_bias_metrics")
    assert check_bias_drift(base, cur).violations == [violation("CI", "0.2", "0.1", "age", "(40, 88]")]
    other = doc(("CI", 0.2), facet="age", facet_value="41", stage="pre_training_bias_metrics")
    check = check_bias_drift(base, other)
    assert check.violations == [] and check.not_compared[0]["why"] == "not in the baseline"
    stage = doc(("CI", 0.9), facet="age", facet_value="(40, 90]", stage="post_training_bias_metrics")
    assert check_bias_drift(base, stage).violations == []  # another stage: nothing to compare with
