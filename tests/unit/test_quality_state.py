"""The mergeable model-quality state (monitor_lib.quality.state) and the roll-up's periods, without Spark.

References: numpy over the union of the hours' records (error sums, the truth's variance), confusion counts of the
union, scikit-learn's roc_auc_score (exact AUC) and a brute-force count of the positive × negative pairs of
different hours that share a score bucket (the AUC error bound). The hours' tallies are built here the way the
Spark aggregation builds them (monitor_lib.quality.aggregate: buckets of floor(score · 1000), the in-bucket
Mann–Whitney numerator with ties ½).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from monitor_lib.errors import ConfigError, FormatError
from monitor_lib.quality.aggregate import CURVE_BUCKETS
from monitor_lib.quality.metrics import REPLICAS, BinaryTally, RegressionTally
from monitor_lib.quality.results import QualityTallies, statistics_from_tallies
from monitor_lib.quality.state import (
    auc_estimate,
    merge_all,
    merge_states,
    read_quality_state,
    state_from_tallies,
    tallies_from_state,
    write_quality_state,
)
from monitor_lib.schedule.rollup import check_period, period_start, periods_between, rollup_folder, windows_in
from monitor_lib.schedule.spec import schedule_from_dict

R = REPLICAS + 1


def _bucket(s: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(s * CURVE_BUCKETS), 0, CURVE_BUCKETS - 1).astype(int)


def binary_tallies(y: np.ndarray, s: np.ndarray, flags: np.ndarray, exact_auc: bool = False) -> QualityTallies:
    """The tallies the aggregation hands over for these records (flags[r]: in replica r; flags[0] all)."""
    yhat = (s >= 0.5).astype(int)
    t = QualityTallies("BinaryClassification", records=len(y))
    t.confusions = []
    for r in range(R):
        c: dict[tuple[str, str], int] = {}
        for a, p in zip(y[flags[r]], yhat[flags[r]], strict=True):
            c[(str(a), str(p))] = c.get((str(a), str(p)), 0) + 1
        t.confusions.append(c)
    b = _bucket(s)
    rows = []
    for bucket in sorted(set(b.tolist()), reverse=True):
        row = {"bucket": bucket, "positives": [], "negatives": [], "ordered": []}
        for r in range(R):
            inside = flags[r] & (b == bucket)
            pos, neg = s[inside & (y == 1)], s[inside & (y == 0)]
            row["positives"].append(len(pos))
            row["negatives"].append(len(neg))
            row["ordered"].append(float(sum((pos > v).sum() + 0.5 * (pos == v).sum() for v in neg)))
        rows.append(row)
    t.score_buckets = rows
    if exact_auc:
        t.binary = [BinaryTally(tp=c.get(("1", "1"), 0), fp=c.get(("0", "1"), 0), tn=c.get(("0", "0"), 0),
                                fn=c.get(("1", "0"), 0), auc=roc_auc_score(y[flags[r]], s[flags[r]]))
                    for r, c in enumerate(t.confusions)]
    return t


def regression_tallies(y: np.ndarray, yhat: np.ndarray, flags: np.ndarray) -> QualityTallies:
    t = QualityTallies("Regression", records=len(y))
    t.regression = [RegressionTally(int(f.sum()), float(np.abs(y[f] - yhat[f]).sum()),
                                    float(((y[f] - yhat[f]) ** 2).sum()), float(((y[f] - y[f].mean()) ** 2).sum()),
                                    truth_sum=float(y[f].sum())) for f in flags]
    return t


def _hours(n_hours: int = 6, n: int = 80, seed: int = 3):
    rng = np.random.default_rng(seed)
    hours = []
    for _ in range(n_hours):
        s = np.round(rng.random(n), 5)  # scores of different hours share buckets (1,000 of width 0.001)
        y = (rng.random(n) < 0.15 + 0.7 * s).astype(int)
        flags = np.vstack([np.ones(n, bool), rng.random((REPLICAS, n)) < 0.8])
        hours.append((y, s, flags))
    return hours


def _union(hours):
    return tuple(np.concatenate(parts, axis=-1) for parts in zip(*hours, strict=True))


def test_merged_binary_states_give_the_unions_metrics_and_auc_within_the_stated_bound():
    hours = _hours()
    states = [state_from_tallies(binary_tallies(*h)) for h in hours]
    merged = merge_all([(f"h{i}", s) for i, s in enumerate(states)])
    assert (merged.records, merged.windows) == (480, 6)
    y, s, flags = _union(hours)
    ours = statistics_from_tallies(tallies_from_state(merged), "t")
    theirs = statistics_from_tallies(binary_tallies(y, s, flags, exact_auc=True), "t")
    assert ours.confusion_matrix == theirs.confusion_matrix
    for name, m in theirs.metrics.items():
        if name == "auc":
            continue
        assert math.isclose(ours.metrics[name].value, m.value, rel_tol=1e-12), name
        assert math.isclose(ours.metrics[name].standard_deviation, m.standard_deviation, rel_tol=1e-9), name
    # the ROC curve at the bucket edges (numpy over the union): merged bucket counts are exact
    b = _bucket(s)
    edges = sorted(set(b.tolist()), reverse=True)
    fpr = [float(((b >= e) & (y == 0)).sum() / (y == 0).sum()) for e in edges]
    tpr = [float(((b >= e) & (y == 1)).sum() / (y == 1).sum()) for e in edges]
    assert ours.roc_curve == ([0.0, *fpr, 1.0], [0.0, *tpr, 1.0])

    # AUC: the pairs of different hours in one bucket are the unknown ones; each counted ½
    estimate = auc_estimate(merged)
    hour = np.repeat(np.arange(6), 80)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    shared = int(sum(((b[neg] == b[p]) & (hour[neg] != hour[p])).sum() for p in pos))
    assert estimate.unordered_pairs == shared > 0
    assert estimate.pairs == len(pos) * len(neg)
    assert estimate.error_bound == shared / (2 * len(pos) * len(neg))
    exact = roc_auc_score(y, s)
    assert abs(estimate.auc - exact) <= estimate.error_bound
    assert ours.metrics["auc"].value == estimate.auc
    assert 0 < abs(estimate.auc - exact)  # not exact: the bound is not vacuous here


def test_one_runs_state_has_the_runs_exact_auc():
    y, s, flags = _hours(1)[0]
    state = state_from_tallies(binary_tallies(y, s, flags))
    estimate = auc_estimate(state)
    assert (estimate.error_bound, estimate.unordered_pairs) == (0.0, 0)
    assert math.isclose(estimate.auc, roc_auc_score(y, s), rel_tol=1e-12)
    replicas = tallies_from_state(state).binary
    for r in range(R):
        assert math.isclose(replicas[r].auc, roc_auc_score(y[flags[r]], s[flags[r]]), rel_tol=1e-12)


def test_merged_regression_states_equal_numpy_over_the_union():
    rng = np.random.default_rng(8)
    parts = []
    for h in range(5):
        y = rng.normal(100 + 10 * h, 3 + h, 50)  # hours with other means: Chan's term matters
        parts.append((y, y + rng.normal(0.3, 1.5, 50), np.vstack([np.ones(50, bool), rng.random((REPLICAS, 50)) < .8])))
    merged = merge_all([(str(i), state_from_tallies(regression_tallies(*p))) for i, p in enumerate(parts)])
    y, yhat, flags = _union(parts)
    ours = statistics_from_tallies(tallies_from_state(merged), "t").metrics
    theirs = statistics_from_tallies(regression_tallies(y, yhat, flags), "t").metrics
    for name, m in theirs.items():
        assert math.isclose(ours[name].value, m.value, rel_tol=1e-9), name
        assert math.isclose(ours[name].standard_deviation, m.standard_deviation, rel_tol=1e-9), name
    e = y - yhat
    assert math.isclose(ours["mae"].value, np.mean(np.abs(e)), rel_tol=1e-12)
    assert math.isclose(ours["r2"].value, 1 - np.sum(e ** 2) / np.sum((y - y.mean()) ** 2), rel_tol=1e-9)
    assert math.isclose(merged.regression[0].truth_m2, np.var(y) * len(y), rel_tol=1e-9)


def test_the_state_file_round_trips_and_bad_files_name_themselves(tmp_path):
    y, s, flags = _hours(2)[1]
    state = merge_states(state_from_tallies(binary_tallies(y[:40], s[:40], flags[:, :40])),
                         state_from_tallies(binary_tallies(y[40:], s[40:], flags[:, 40:])))
    path = tmp_path / "model_quality_state.json"
    write_quality_state(state, str(path))
    assert read_quality_state(str(path)) == state
    multiclass = QualityTallies("MulticlassClassification", records=2,
                                confusions=[{("a", "b"): 1, ("b", "b"): 1}] * R)
    with pytest.raises(FormatError, match="other.json: problem_type: MulticlassClassification does not merge with "
                                          "BinaryClassification"):
        merge_states(state, state_from_tallies(multiclass), "other.json")
    path.write_text('{"format": "something else"}')
    with pytest.raises(FormatError, match=f"{path}: format: not a model-quality state"):
        read_quality_state(str(path))
    path.write_text('{"format": "spark-model-monitor/model-quality-state", "version": 1, "problem_type": '
                    '"Regression", "records": 3, "regression": [{"count": 3}]}')
    with pytest.raises(FormatError, match=f"{path}: regression: malformed"):
        read_quality_state(str(path))


# ---------------------------------------------------------------- the roll-up's periods


def _spec(tmp_path, **keys):
    doc = {"name": "s", "monitor_type": "data-quality", "cron": "0 * * * *", "start_date": "2026-11-01T00:00:00Z",
           "output_root": "s3://b/out", "state_store": str(tmp_path), "params": {
               "dataset_source": str(tmp_path), "dataset_format": "capture", "baseline_constraints": "c.json",
               "sagemaker_endpoint_name": "ep"}, **keys}
    return schedule_from_dict(doc, "test schedule")


def test_periods_are_utc_days_and_iso_weeks_named_by_their_end(tmp_path):
    sunday = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert period_start(sunday, "P1D") == datetime(2026, 11, 22, tzinfo=UTC)
    assert period_start(sunday, "P7D") == datetime(2026, 11, 16, tzinfo=UTC)  # its ISO week's Monday
    assert periods_between(datetime(2026, 11, 20, 5, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC), "P1D") == [
        (datetime(2026, 11, d, tzinfo=UTC), datetime(2026, 11, d + 1, tzinfo=UTC)) for d in (20, 21, 22)]
    spec = _spec(tmp_path)
    assert rollup_folder(spec, "P1D", datetime(2026, 12, 1, tzinfo=UTC)) == "s3://b/out/ep/s-P1D/2026/12/01/00"
    assert check_period("p7d") == "P7D"
    with pytest.raises(ConfigError, match="--period must be one of P1D, P7D"):
        check_period("P1M")


def test_a_periods_executions_are_those_whose_window_lies_inside_it(tmp_path):
    day = datetime(2026, 11, 20, tzinfo=UTC)
    hourly = windows_in(_spec(tmp_path), day, day + timedelta(days=1))
    assert [w.scheduled_time for w in hourly] == [day + timedelta(hours=h) for h in range(1, 25)]
    # labels a day late: the execution of T analyses the hour that ended a day before T
    late = windows_in(_spec(tmp_path, end_offset="-P1D"), day, day + timedelta(days=1))
    assert [w.scheduled_time for w in late] == [day + timedelta(days=1, hours=h) for h in range(1, 25)]
    assert (late[0].start, late[-1].end) == (day, day + timedelta(days=1))
    # every 6 hours with a 6-hour window: 4 executions a day, none straddling midnight
    six = windows_in(_spec(tmp_path, cron="0 */6 * * *", window="PT6H"), day, day + timedelta(days=1))
    assert [(w.start.hour, w.end - w.start) for w in six] == [(h, timedelta(hours=6)) for h in (0, 6, 12, 18)]
