"""The report's pure parts against independent references: histograms rebuilt from KLL sketches vs numpy,
category shares vs pandas, the drawn bars vs their numbers, the page's order and escaping, and the history
loader on the real container's output folders (no Spark here)."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import datasketches as ds
import numpy as np
import pandas as pd
import pytest

from monitor_lib.formats.statistics import (
    CategoricalBucket,
    DatasetStatistics,
    FeatureStatistics,
    KllSketch,
    NumericalStatistics,
    StringStatistics,
)
from monitor_lib.formats.violations import Violation
from monitor_lib.html import svg
from monitor_lib.monitors.base import RunOutcome
from monitor_lib.monitors.data_quality import DataQualityArtifacts
from monitor_lib.monitors.data_quality_report import category_shares, numeric_histogram
from monitor_lib.profile.sketches import kll_levels
from monitor_lib.sinks.report.history import load_history, render_history
from monitor_lib.sinks.report.run import render_run_report


def numeric_stats(values: np.ndarray) -> NumericalStatistics:
    sketch = ds.kll_doubles_sketch(2048)
    for v in values:
        sketch.update(float(v))
    return NumericalStatistics(len(values), 0, float(values.mean()), float(values.sum()), float(values.std()),
                               float(values.min()), float(values.max()), sketch=KllSketch(kll_levels(sketch)))


def string_stats(values: pd.Series) -> FeatureStatistics:
    counts = values.value_counts()
    buckets = [CategoricalBucket(str(k), int(v)) for k, v in counts.items()]
    return FeatureStatistics("f", "String", string=StringStatistics(len(values), 0, float(len(counts)), 1.0, buckets))


def test_numeric_histogram_is_the_exact_histogram_of_both_sides_on_shared_bins():
    rng = np.random.default_rng(3)
    base, cur = rng.normal(0, 1, 1_500), rng.normal(0.7, 1.3, 1_200)  # under k: the sketches hold every value
    h = numeric_histogram(numeric_stats(base), numeric_stats(cur), integral=False)
    lo, hi = min(base.min(), cur.min()), max(base.max(), cur.max())
    assert h.edges == pytest.approx(np.linspace(lo, hi, 21).tolist()) and h.edges[-1] == hi
    for values, shares in ((base, h.baseline), (cur, h.current)):
        counts, _ = np.histogram(values, bins=np.array(h.edges))
        assert shares == pytest.approx((counts / len(values)).tolist(), abs=1e-12)
        assert sum(shares) == pytest.approx(1.0)


def test_integral_features_with_a_small_range_get_one_bin_per_integer():
    rng = np.random.default_rng(5)
    base, cur = rng.integers(0, 7, 900).astype(float), rng.integers(2, 9, 700).astype(float)
    h = numeric_histogram(numeric_stats(base), numeric_stats(cur), integral=True)
    assert h.edges == pytest.approx(np.arange(-0.5, 9.0, 1.0).tolist())
    assert h.baseline == pytest.approx((np.bincount(base.astype(int), minlength=9) / len(base)).tolist())
    assert h.current == pytest.approx((np.bincount(cur.astype(int), minlength=9) / len(cur)).tolist())
    assert h.ticks == pytest.approx([0, 2, 4, 6, 8])


def test_one_side_only_and_no_sketch():
    values = np.array([4.0, 4.0, 4.0])
    h = numeric_histogram(numeric_stats(values), None, integral=False)
    assert h.edges == [3.5, 4.5] and h.baseline == [1.0] and h.current is None
    assert numeric_histogram(None, NumericalStatistics(0, 5, 0, 0, 0, 0, 0), integral=False) is None


def test_category_shares_are_the_top_categories_then_the_rest():
    rng = np.random.default_rng(9)
    names = [f"c{i:02d}" for i in range(14)]
    base = pd.Series(rng.choice(names, 5_000, p=np.linspace(1, 2, 14) / np.linspace(1, 2, 14).sum()))
    cur = pd.Series(rng.choice(names[:12] + ["new"], 3_000))
    labels, b, c = category_shares(string_stats(base), string_stats(cur))
    pb, pc = base.value_counts(normalize=True), cur.value_counts(normalize=True)
    larger = pd.concat([pb, pc], axis=1).fillna(0).max(axis=1)
    top = sorted(larger.index, key=lambda k: (-larger[k], k))[:10]
    assert labels == top + ["(other 5 values)"]
    assert b[:10] == pytest.approx([pb.get(k, 0.0) for k in top])
    assert c[:10] == pytest.approx([pc.get(k, 0.0) for k in top])
    assert b[10] == pytest.approx(1 - sum(pb.get(k, 0.0) for k in top))
    assert c[10] == pytest.approx(1 - sum(pc.get(k, 0.0) for k in top))


def _rects(markup: str) -> list[ET.Element]:
    root = ET.fromstring(markup)
    return [e for e in root.iter() if e.tag.endswith("rect")]


def test_bars_are_drawn_in_proportion_to_their_shares():
    edges, base, cur = [0.0, 1.0, 2.0, 3.0], [0.5, 0.3, 0.2], [0.1, 0.6, 0.3]
    rects = _rects(svg.histogram(edges, base, cur))
    assert [r.get("fill") for r in rects] == [svg.BASELINE] * 3 + [svg.CURRENT] * 3
    heights = [float(r.get("height")) for r in rects]
    unit = heights[0] / 0.5
    assert heights == pytest.approx([s * unit for s in base + cur], abs=0.15)
    assert [r.find("{*}title").text if r.find("{*}title") is not None else r[0].text for r in rects][4] \
        == "current [1, 2): 60%"
    rows = _rects(svg.category_bars(["a", "b"], [0.25, 0.75], [0.5, 0.5]))
    widths = [float(r.get("width")) for r in rows]
    assert widths[1] / widths[0] == pytest.approx(0.5 / 0.25, rel=0.01) and widths[2] == pytest.approx(3 * widths[0],
                                                                                                       rel=0.01)


def test_run_report_puts_violated_features_first_and_escapes_names():
    stats = DatasetStatistics(10, [
        FeatureStatistics("calm", "Fractional", numerical=numeric_stats(np.arange(10.0))),
        FeatureStatistics("<b>odd</b>", "String", string=string_stats(pd.Series(list("aabbbccccc"))).string),
        FeatureStatistics("drifted", "Fractional", numerical=numeric_stats(np.arange(10.0) * 2)),
    ])
    view = RunOutcome("data-quality", "monitoring", "data_quality_monitoring", status="CompletedWithViolations",
                      message="CompletedWithViolations: Job completed successfully with 2 violations.",
                      rejected={"malformed_json": 2}, output_path="/tmp/run",
                      details={"features_measured": [
                          {"name": "calm", "drift_distance": 0.01, "drift_threshold": 0.1},
                          {"name": "<b>odd</b>", "drift_distance": 0.05, "drift_threshold": 0.1},
                          {"name": "drifted", "drift_distance": 0.4, "drift_threshold": 0.1}]},
                      violations=[Violation("drifted", "baseline_drift_check",
                                            "Baseline drift distance: 0.4 exceeds threshold: 0.1"),
                                  Violation("missing", "missing_column_check",
                                            "Column presence requirement is not met.")],
                      artifacts=DataQualityArtifacts(statistics=stats, baseline=stats))
    html = render_run_report(view)
    cards = re.findall(r'<section id="f(\d+)" class="feature[^"]*"><h3>([^<]*(?:&lt;[^<]*)*)</h3>', html)
    assert [name for _, name in cards] == ["drifted", "missing", "&lt;b&gt;odd&lt;/b&gt;", "calm"]
    assert "<b>odd</b>" not in html
    assert "Baseline drift distance: 0.4 exceeds threshold: 0.1" in html and "malformed_json: 2" in html
    assert not re.search(r"https?://|src=|@import|url\(", html)


# ---------------------------------------------------------------- history of the real container's folders


def test_history_reads_the_real_containers_folders(fixtures, tmp_path):
    root = tmp_path / "reports"
    dq = [root / "ep" / "dq-schedule" / "2026" / "11" / "20" / f"{h:02d}" for h in (1, 2)]
    for folder in dq:
        folder.mkdir(parents=True)
        shutil.copy(fixtures / "sdk-pipeline-dq-baseline" / "statistics.json", folder)
    shutil.copy(fixtures / "sdk-monitor-taxi-violations" / "constraint_violations.json", dq[0])
    (dq[1] / "constraint_violations.json").write_text(json.dumps({"violations": [
        {"feature_name": "_c1", "constraint_check_type": "baseline_drift_check",
         "description": "Baseline drift distance: 0.2573 exceeds threshold: 0.1"}]}))
    mq = root / "ep" / "mq-schedule" / "2026" / "11" / "20" / "05"
    mq.mkdir(parents=True)
    shutil.copy(fixtures / "sdk-model-card-mq-regression" / "statistics.json", mq)
    shutil.copy(fixtures / "sdk-pipeline-mq-regression" / "good_cases" / "constraints.json", mq)
    (mq / "constraint_violations.json").write_text('{"violations": []}')

    points = load_history(str(root))
    assert [(p.schedule, p.kind, p.when) for p in points] == [
        ("ep / dq-schedule", "data-quality", datetime(2026, 11, 20, 1, tzinfo=UTC)),
        ("ep / dq-schedule", "data-quality", datetime(2026, 11, 20, 2, tzinfo=UTC)),
        ("ep / mq-schedule", "model-quality", datetime(2026, 11, 20, 5, tzinfo=UTC))]
    first, second, quality = points
    taxi = json.loads((fixtures / "sdk-monitor-taxi-violations" / "constraint_violations.json").read_text())
    assert first.violated == {v["feature_name"]: [v["constraint_check_type"]] for v in taxi["violations"]}
    assert first.status == "CompletedWithViolations"
    stats = json.loads((fixtures / "sdk-pipeline-dq-baseline" / "statistics.json").read_text())
    for f in stats["features"]:
        common = (f.get("numerical_statistics") or f.get("string_statistics"))["common"]
        assert first.values[f["name"]]["completeness"] == common["num_present"] / (
            common["num_present"] + common["num_missing"])
    assert second.values["_c1"]["drift_distance"] == 0.2573 and second.values["_c1"]["drift_threshold"] == 0.1
    metrics = json.loads((fixtures / "sdk-model-card-mq-regression" / "statistics.json").read_text())
    limits = json.loads((fixtures / "sdk-pipeline-mq-regression" / "good_cases" / "constraints.json").read_text())
    assert quality.values == {k: {"value": v["value"], "threshold": limits["regression_constraints"][k]["threshold"]}
                              for k, v in metrics["regression_metrics"].items()}
    assert quality.status == "Completed" and quality.violated == {}

    html = render_history(str(root), points, str(root))
    assert html.count('class="viol"') == 1  # the one drift violation that has a number to draw
    for name in ("_c1", "fare_amount", "congestion_surcharge", "mae", "r2", "ep / dq-schedule", "ep / mq-schedule"):
        assert name in html
    assert not re.search(r"https?://|src=|@import|url\(", html)
