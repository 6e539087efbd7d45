"""The mergeable model-quality state (``model_quality_state.json``): what a monitoring run's aggregation counted,
kept so that hours roll up into days and weeks without reading the records again (``model-monitor rollup``).

Per replica (index 0 is every record, 1..5 the bootstrap replicas, as the tallies of
:mod:`monitor_lib.quality.aggregate`):

* **regression** — count, Σ|e|, Σe², Σy and Σ(y - ȳ)². Counts and error sums add; the truth's second central
  moment merges by Chan et al.'s parallel formula (``M2 = M2a + M2b + δ²·na·nb/n``), so mae, mse, rmse and r2 of
  the union are exact (to floating-point rounding).
* **classification** — the confusion counts ``(actual, predicted) -> n``; they add, so every confusion-based
  metric (accuracy, precision, recall, f-scores, rates, the weighted multiclass ones) of the union is exact.
* **binary classification: AUC** — AUC is a statistic of pairs (every positive against every negative) and does
  not add. The state keeps the score histogram the run's exact AUC already computed: the scores' 1,000 buckets of
  [0, 1] (``CURVE_BUCKETS``), per bucket the positives, the negatives, the exact Mann–Whitney numerator of the
  pairs inside the bucket whose order is known (``ordered``: a single run knows every one) and the number of
  pairs inside the bucket whose order is not known (``unordered``: a positive of one hour and a negative of
  another in the same bucket). Pairs in different buckets are ordered by their buckets, so the merged AUC is
  ``Σ_b (ordered_b + unordered_b / 2 + N_b · P_above_b) / (P · N)``: each unordered pair counted ½. Its error
  is at most ``Σ_b unordered_b / (2 · P · N)`` (each unknown pair is off by at most ½): the **AUC error bound**
  the roll-up reports. A single run's state has no unordered pair: its AUC is the run's exact AUC. The ROC and
  precision-recall curves are read at the bucket edges, as a run draws them, so they merge exactly.

Replicas merge replica by replica: the roll-up's replica r is the union of the hours' replicas r. With replica
draws that depend on the record alone (not on the partitioning), that is exactly the replica r of one run over
the whole period, and the standard deviations match too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from monitor_lib.errors import FormatError
from monitor_lib.quality.metrics import REPLICAS, BinaryTally, RegressionTally
from monitor_lib.quality.results import QualityTallies

STATE_FORMAT = "spark-model-monitor/model-quality-state"
STATE_VERSION = 1


@dataclass(frozen=True)
class RegressionSums:
    """One replica's regression sums."""

    count: int
    sum_abs_error: float
    sum_squared_error: float
    truth_sum: float
    truth_m2: float  # Σ(y - ȳ)²

    def merged(self, other: RegressionSums) -> RegressionSums:
        n = self.count + other.count
        if self.count == 0 or other.count == 0:
            m2 = self.truth_m2 + other.truth_m2
        else:
            delta = other.truth_sum / other.count - self.truth_sum / self.count
            m2 = self.truth_m2 + other.truth_m2 + delta * delta * self.count * other.count / n
        return RegressionSums(n, self.sum_abs_error + other.sum_abs_error,
                              self.sum_squared_error + other.sum_squared_error, self.truth_sum + other.truth_sum, m2)

    def tally(self) -> RegressionTally:
        return RegressionTally(self.count, self.sum_abs_error, self.sum_squared_error, self.truth_m2,
                               truth_sum=self.truth_sum)


@dataclass(frozen=True)
class ScoreBucket:
    """One score bucket of one replica: positives, negatives, the exact numerator of its ordered in-bucket pairs
    (ties ½) and how many of its positive × negative pairs have an unknown order."""

    positives: int = 0
    negatives: int = 0
    ordered: float = 0.0
    unordered: int = 0

    def merged(self, other: ScoreBucket) -> ScoreBucket:
        across = self.positives * other.negatives + other.positives * self.negatives
        return ScoreBucket(self.positives + other.positives, self.negatives + other.negatives,
                           self.ordered + other.ordered, self.unordered + other.unordered + across)


@dataclass
class QualityState:
    """What a model-quality run counted, per replica (index 0: every record)."""

    problem_type: str
    records: int = 0
    regression: list[RegressionSums] | None = None
    confusions: list[dict[tuple[str, str], int]] | None = None
    histograms: list[dict[int, ScoreBucket]] | None = None  # binary: bucket -> counts, per replica
    windows: int = 1  # how many runs were merged into it

    @property
    def replicas(self) -> int:
        parts = self.regression or self.confusions or []
        return len(parts)


@dataclass(frozen=True)
class AucEstimate:
    """The AUC of a histogram and the largest error it can have (0: exact)."""

    auc: float | None
    error_bound: float | None
    unordered_pairs: int = 0
    pairs: int = 0


# ---------------------------------------------------------------- from a run's tallies


def mergeable(t: QualityTallies | None) -> bool:
    """Whether a run's tallies hold everything the state needs (every aggregation of this package fills it)."""
    if t is None or t.records == 0:
        return False
    if t.problem_type == "Regression":
        return bool(t.regression) and all(r.truth_sum is not None for r in t.regression or [])
    if t.problem_type == "BinaryClassification":
        return bool(t.confusions) and t.score_buckets is not None
    return bool(t.confusions)


def state_from_tallies(t: QualityTallies) -> QualityState:
    """The state of one run (its exact AUC: no unordered pair)."""
    if not mergeable(t):
        raise ValueError(f"{t.problem_type} tallies without the sums a state needs")
    state = QualityState(t.problem_type, t.records)
    if t.problem_type == "Regression":
        state.regression = [RegressionSums(r.count, r.sum_abs_error, r.sum_squared_error, float(r.truth_sum or 0.0),
                                           r.truth_sum_squares) for r in t.regression or []]
        return state
    state.confusions = [dict(c) for c in t.confusions or []]
    if t.problem_type == "BinaryClassification":
        replicas = len(state.confusions)
        state.histograms = [{} for _ in range(replicas)]
        for row in t.score_buckets or []:
            for r in range(replicas):
                if row["positives"][r] or row["negatives"][r]:
                    state.histograms[r][int(row["bucket"])] = ScoreBucket(
                        int(row["positives"][r]), int(row["negatives"][r]), float(row["ordered"][r]), 0)
    return state


# ---------------------------------------------------------------- merge


def merge_states(a: QualityState, b: QualityState, source: str = "model_quality_state.json") -> QualityState:
    """The state of the union of two runs' records (``source`` names ``b`` in errors)."""
    if a.problem_type != b.problem_type:
        raise FormatError(source, "problem_type", f"{b.problem_type} does not merge with {a.problem_type}")
    if a.replicas != b.replicas:
        raise FormatError(source, "replicas", f"{b.replicas} replicas do not merge with {a.replicas}")
    out = QualityState(a.problem_type, a.records + b.records, windows=a.windows + b.windows)
    if a.regression is not None and b.regression is not None:
        out.regression = [x.merged(y) for x, y in zip(a.regression, b.regression, strict=True)]
    if a.confusions is not None and b.confusions is not None:
        out.confusions = []
        for x, y in zip(a.confusions, b.confusions, strict=True):
            merged = dict(x)
            for key, n in y.items():
                merged[key] = merged.get(key, 0) + n
            out.confusions.append(merged)
    if a.histograms is not None and b.histograms is not None:
        out.histograms = []
        for x, y in zip(a.histograms, b.histograms, strict=True):
            merged_h = dict(x)
            for bucket, counts in y.items():
                merged_h[bucket] = merged_h[bucket].merged(counts) if bucket in merged_h else counts
            out.histograms.append(merged_h)
    return out


# ---------------------------------------------------------------- back to tallies


def histogram_auc(histogram: dict[int, ScoreBucket]) -> AucEstimate:
    """AUC of a score histogram, unordered in-bucket pairs counted ½, and its error bound (see the module)."""
    positives = sum(c.positives for c in histogram.values())
    negatives = sum(c.negatives for c in histogram.values())
    pairs = positives * negatives
    unordered = sum(c.unordered for c in histogram.values())
    if not pairs:
        return AucEstimate(None, None, unordered, pairs)
    numerator, above = 0.0, 0
    for bucket in sorted(histogram, reverse=True):
        c = histogram[bucket]
        numerator += c.ordered + 0.5 * c.unordered + c.negatives * above
        above += c.positives
    return AucEstimate(numerator / pairs, unordered / (2 * pairs), unordered, pairs)


def _curve_rows(histogram: dict[int, ScoreBucket]) -> list[dict]:
    return [{"b": b, "P0": histogram[b].positives, "N0": histogram[b].negatives}
            for b in sorted(histogram, reverse=True)]


def tallies_from_state(state: QualityState) -> QualityTallies:
    """The tallies :func:`monitor_lib.quality.results.statistics_from_tallies` turns into statistics.json."""
    from monitor_lib.quality.aggregate import _curves

    t = QualityTallies(state.problem_type, records=state.records)
    if state.regression is not None:
        t.regression = [r.tally() for r in state.regression]
    if state.confusions is not None:
        t.confusions = [dict(c) for c in state.confusions]
    if state.problem_type == "BinaryClassification" and state.confusions is not None:
        histograms = state.histograms or [{} for _ in state.confusions]
        t.binary = [BinaryTally(tp=c.get(("1", "1"), 0), fp=c.get(("0", "1"), 0), tn=c.get(("0", "0"), 0),
                                fn=c.get(("1", "0"), 0), auc=histogram_auc(h).auc)
                    for c, h in zip(state.confusions, histograms, strict=True)]
        t.roc_curve, t.pr_curve = _curves(_curve_rows(histograms[0]))
    return t


def auc_estimate(state: QualityState) -> AucEstimate | None:
    """The AUC of every record (replica 0) and its error bound; None for other problem types."""
    if state.problem_type != "BinaryClassification" or not state.histograms:
        return None
    return histogram_auc(state.histograms[0])


# ---------------------------------------------------------------- the file


def state_to_dict(state: QualityState) -> dict[str, Any]:
    doc: dict[str, Any] = {"format": STATE_FORMAT, "version": STATE_VERSION, "problem_type": state.problem_type,
                           "records": state.records, "windows": state.windows, "replicas": REPLICAS}
    if state.regression is not None:
        doc["regression"] = [{"count": r.count, "sum_abs_error": r.sum_abs_error,
                              "sum_squared_error": r.sum_squared_error, "truth_sum": r.truth_sum,
                              "truth_m2": r.truth_m2} for r in state.regression]
    if state.confusions is not None:
        doc["confusion"] = [[[actual, predicted, n] for (actual, predicted), n in sorted(c.items())]
                            for c in state.confusions]
    if state.histograms is not None:
        from monitor_lib.quality.aggregate import CURVE_BUCKETS

        doc["score_histogram"] = {
            "buckets": CURVE_BUCKETS,
            "columns": ["bucket", "positives", "negatives", "ordered", "unordered"],
            "replicas": [[[b, c.positives, c.negatives, c.ordered, c.unordered] for b, c in sorted(h.items())]
                         for h in state.histograms]}
    return doc


def state_from_dict(doc: Any, source: str = "model_quality_state.json") -> QualityState:
    """The state a ``model_quality_state.json`` holds; FormatError naming ``source`` and the key otherwise."""
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
        raise FormatError(source, "format", f"not a model-quality state (expected format {STATE_FORMAT})")
    if doc.get("version") != STATE_VERSION:
        raise FormatError(source, "version", f"version {doc.get('version')!r} is not supported (expected "
                                             f"{STATE_VERSION})")
    key = "problem_type"
    try:
        state = QualityState(str(doc["problem_type"]), int(doc["records"]), windows=int(doc.get("windows", 1)))
        if "regression" in doc:
            key = "regression"
            state.regression = [RegressionSums(int(r["count"]), float(r["sum_abs_error"]),
                                               float(r["sum_squared_error"]), float(r["truth_sum"]),
                                               float(r["truth_m2"])) for r in doc["regression"]]
        if "confusion" in doc:
            key = "confusion"
            state.confusions = [{(str(a), str(p)): int(n) for a, p, n in cells} for cells in doc["confusion"]]
        if "score_histogram" in doc:
            key = "score_histogram"
            from monitor_lib.quality.aggregate import CURVE_BUCKETS

            hist = doc["score_histogram"]
            if int(hist["buckets"]) != CURVE_BUCKETS:
                raise FormatError(source, key, f"{hist['buckets']} buckets do not merge with {CURVE_BUCKETS}")
            state.histograms = [{int(b): ScoreBucket(int(p), int(n), float(o), int(u)) for b, p, n, o, u in rows}
                                for rows in hist["replicas"]]
    except FormatError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(source, key, f"malformed ({type(e).__name__}: {e})") from None
    if state.replicas != REPLICAS + 1 or (state.histograms is not None and len(state.histograms) != REPLICAS + 1):
        raise FormatError(source, key, f"expected {REPLICAS + 1} entries (every record, then {REPLICAS} replicas)")
    return state


def write_quality_state(state: QualityState, path: str) -> None:
    """``model_quality_state.json`` at ``path`` (atomically)."""
    from monitor_lib.formats.jsonfmt import write_json_atomic

    write_json_atomic(path, json.dumps(state_to_dict(state), indent=1, allow_nan=False) + "\n")


def read_quality_state(path: str) -> QualityState:
    """The state in a ``model_quality_state.json`` (local path or ``s3://`` URI)."""
    from monitor_lib.io.storage import read_text

    text = read_text(path, "model-quality state")
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise FormatError(path, "", f"not JSON ({e})") from None
    return state_from_dict(doc, path)


def merge_all(states: list[tuple[str, QualityState]]) -> QualityState | None:
    """Every state merged (None for none)."""
    merged: QualityState | None = None
    for source, state in states:
        merged = state if merged is None else merge_states(merged, state, source)
    return merged

