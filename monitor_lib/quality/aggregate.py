"""The model-quality aggregation: typed values, bootstrap replicas, confusion counts, error sums, exact AUC.

Everything that touches rows is a Spark expression; the driver receives small tallies only.

* **Bootstrap in the same pass**: each good record gets 5 inclusion flags ``draw_r < 0.8`` (a Bernoulli
  80 % sample per replica, SageMaker's "randomly sampling 80 % of the data 5 times"), and every sum / count
  is taken for all rows and for each replica in the same aggregation. The draw is a hash of the seed, the
  replica and the record's identity, not ``rand``. A capture record (merged with its label) is named by its
  text (eventId, time, payloads): its draws do not depend on how the rows are partitioned, so a backfill's one
  job over many windows draws exactly the replicas of N single runs. A labelled dataset's rows often repeat
  (``label,prediction``): their identity adds Spark's row id, deterministic for the same files and settings.
  No shuffle is added: the rows keep the order they are summed in.
* **Many windows** (:func:`aggregate_quality_windows`, a backfill): the same aggregations grouped by the
  window too, the AUC regroup included; each window's tallies equal its single run's.
* **Regression**: one aggregation of count, Σ|e|, Σe² and the population variance of the ground truth
  per replica (Spark's ``var_pop``, a numerically stable central-moment algorithm).
* **Classification**: one aggregation grouped by (actual, predicted) — plus the score for binary
  classification — with a count per replica; rejected records are grouped by their kind in the same
  aggregation (with up to two example records per kind), so bad input costs no extra pass.
* **AUC, exact** (Mann–Whitney with ties counted ½, what scikit-learn's ``roc_auc_score`` and Spark
  MLlib's trapezoidal area give): the binary aggregation is kept (persisted) and regrouped by distinct
  score; scores fall into ``CURVE_BUCKETS`` fixed buckets of [0, 1] (clamped outside), a window per
  bucket gives each score the number of positives above it inside its bucket, and the per-bucket sums
  (≤ 1,000 rows) are combined on the driver with the positives of the buckets above. The ROC and
  precision-recall curves are read at the bucket edges (≤ 1,000 thresholds), with MLlib's end points:
  ROC starts at (0, 0) and ends at (1, 1), the PR curve starts at recall 0 with the first precision.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from monitor_lib.errors import InputError
from monitor_lib.quality.metrics import REPLICAS, SAMPLE_FRACTION, BinaryTally, RegressionTally
from monitor_lib.quality.results import QualityTallies
from monitor_lib.spark import try_cast_double

if TYPE_CHECKING:  # the parameters of the model-quality monitor: an annotation only, no import at run time
    from monitor_lib.monitors.model_quality import ModelQualityParams

log = logging.getLogger(__name__)

CURVE_BUCKETS = 1000
MAX_CONFUSION_CELLS = 20_000  # (actual, predicted) pairs; more means the labels are not classes
SAMPLE_SIZE = 20
_R = range(REPLICAS + 1)  # replica 0 is all rows


# ------------------------------------------------------------------ typed values


def _number(x):
    from pyspark.sql import functions as F

    d = try_cast_double(F.trim(x))
    return F.when(~F.isnan(d) & (F.abs(d) != F.lit(math.inf)), d)


def _present(x):
    from pyspark.sql import functions as F

    return x.isNotNull() & (F.trim(x) != "")


def normalize_label_text(value: str) -> str:
    """Python twin of :func:`_label`: integral numbers without a fraction (``1.0`` → ``1``), else trimmed."""
    text = value.strip()
    try:
        d = float(text)
    except ValueError:
        return text
    if math.isfinite(d) and d == math.floor(d) and abs(d) < 1e15:
        return str(int(d))
    return text


def _label(x):
    """A class label as text: integral numbers without a fraction (``1.0`` and ``1`` are one class)."""
    from pyspark.sql import functions as F

    d = _number(x)
    integral = d.isNotNull() & (d == F.floor(d)) & (F.abs(d) < F.lit(1e15))
    return F.when(_present(x), F.when(integral, d.cast("long").cast("string")).otherwise(F.trim(x)))


def _binary(x, positive: str | None):
    """1 / 0 for the positive / negative class, null when the value is not a binary label."""
    from pyspark.sql import functions as F

    label = _label(x)
    if positive is not None:
        return F.when(label.isNotNull(), F.when(label == normalize_label_text(positive), 1).otherwise(0))
    lower = F.lower(label)
    return F.when(lower.isin("1", "true"), 1).when(lower.isin("0", "false"), 0)


def typed_records(labelled, config: ModelQualityParams, by: tuple[str, ...] = (), by_text: bool = False):
    """Columns ``by`` (a backfill's window), status, kind, file, line, y, yhat, s (binary score) and the
    replica flags w1..w5 (:func:`replica_flags`) — value problems become rejections. ``by_text``: the records'
    text names them (capture records: their eventId, time and payloads), so their draws depend on nothing else;
    otherwise (labelled datasets, whose rows often repeat) a row's draw also takes its row id."""
    from pyspark.sql import functions as F

    truth, pred, prob = F.col("truth"), F.col("pred"), F.col("prob")
    p = config.problem_type
    checks = [(~_present(truth), "missing_ground_truth")]
    if p == "Regression":
        y, yhat, s = _number(truth), _number(pred), F.lit(None).cast("double")
        checks += [(y.isNull(), "non_numeric_ground_truth"), (~_present(pred), "missing_prediction"),
                   (yhat.isNull(), "non_numeric_prediction")]
    elif p == "MulticlassClassification":
        y, yhat, s = _label(truth), _label(pred), F.lit(None).cast("double")
        checks += [(~_present(pred), "missing_prediction")]
    else:
        y = _binary(truth, config.positive_label)
        checks += [(y.isNull(), "invalid_label")]
        if config.probability_attribute:
            s = _number(prob)
            checks += [(~_present(prob), "missing_probability"), (s.isNull(), "non_numeric_probability")]
        threshold = config.threshold
        if threshold is not None:
            yhat = F.when(s >= F.lit(threshold), 1).otherwise(0)
        else:
            yhat = _binary(pred, config.positive_label)
            checks += [(~_present(pred), "missing_prediction"), (yhat.isNull(), "invalid_prediction")]
        if not config.probability_attribute:
            s = yhat.cast("double")  # AUC of the hard predictions
    value_kind = F.lit(None).cast("string")
    for condition, kind in reversed(checks):
        value_kind = F.when(condition, F.lit(kind)).otherwise(value_kind)
    status = F.col("status")
    kind = F.when(status.isNotNull(), F.col("kind")).otherwise(value_kind)
    status = F.when(status.isNotNull(), status).when(value_kind.isNotNull(), F.lit("reject"))
    df = labelled.select(*by, status.alias("status"), kind.alias("kind"), "file", "line",
                         y.alias("y"), yhat.alias("yhat"), s.alias("s"))
    good = F.col("status").isNull()
    df = df.select("*", (F.lit(0).cast("long") if by_text else F.monotonically_increasing_id()).alias("k"))
    return df.select(*by, "status", "kind", "file", "line",
                     *[F.when(good, F.col(c)).alias(c) for c in ("y", "yhat", "s")],
                     *[(good & flag).alias(f"w{r}")
                       for r, flag in enumerate(replica_flags(config.seed, F.col("line"), F.col("k")), start=1)])


# ------------------------------------------------------------------ bootstrap replicas

_UNIT = 2.0 ** -53  # a 53-bit integer times this is a double in [0, 1)


def replica_draw(seed: int, r: int, *identity):
    """A uniform [0, 1) number of a record for replica ``r``: xxhash64 of (seed, r, identity) — its top 53 bits.
    The same record gets the same draw in any job, on any number of files or partitions (``rand`` depends on
    the partition a row lands in), so one job over many windows draws the replicas of N single runs."""
    from pyspark.sql import functions as F

    bits = F.shiftrightunsigned(F.xxhash64(F.lit(seed).cast("long"), F.lit(r).cast("int"), *identity), 11)
    return bits.cast("double") * F.lit(_UNIT)


def replica_flags(seed: int, *identity) -> list:
    """The inclusion flags of replicas 1..REPLICAS: ``replica_draw < SAMPLE_FRACTION`` (SageMaker's "80 % of the
    data, 5 times" as independent Bernoulli draws per record)."""
    from pyspark.sql import functions as F

    return [replica_draw(seed, r, *identity) < F.lit(SAMPLE_FRACTION) for r in _R if r]


# ------------------------------------------------------------------ aggregation


def _in(r: int):
    """1 when the record is in replica r (replica 0: every good record), as a long."""
    from pyspark.sql import functions as F

    good = F.col("status").isNull()
    return F.when(good if r == 0 else F.col(f"w{r}"), F.lit(1)).otherwise(F.lit(0)).cast("long")


def _examples() -> list:
    """Up to two example records of each rejected kind, taken in the aggregation itself (a separate
    filter + limit job would re-evaluate the whole extraction row by row)."""
    from pyspark.sql import functions as F

    rejected = F.col("status") == "reject"
    record = F.when(rejected, F.struct("file", "line"))
    order = F.when(rejected, F.xxhash64("line"))
    return [F.min_by(record, order).alias("ex1"), F.max_by(record, order).alias("ex2")]


def add_examples(sample: list[dict], kind: str, examples) -> None:
    """Append example records (``file``, ``line`` rows; None skipped) of a rejected kind to a rejected-records
    sample, once each and up to ``SAMPLE_SIZE`` in all."""
    for example in examples:
        seen = {(s["file"], s["record"]) for s in sample}
        if example is not None and (example["file"], example["line"]) not in seen and len(sample) < SAMPLE_SIZE:
            sample.append({"kind": kind, "file": example["file"], "record": example["line"]})


def add_verdicts(tallies, verdicts) -> None:
    """Add ``(status, kind, count)`` of records never analysed to ``tallies.rejected`` (status ``reject``) or
    ``tallies.skipped``, both kept sorted by kind."""
    for status, kind, n in verdicts:
        target = tallies.rejected if status == "reject" else tallies.skipped
        target[kind] = target.get(kind, 0) + int(n)
    tallies.rejected = dict(sorted(tallies.rejected.items()))
    tallies.skipped = dict(sorted(tallies.skipped.items()))


def _split_counts(rows, tallies: QualityTallies) -> list:
    """Move the rejected / skipped group counts (and examples) into the tallies; return the good rows."""
    good = [row for row in rows if row["status"] is None]
    bad = sorted((row for row in rows if row["status"] is not None), key=lambda row: (row["status"], row["kind"]))
    add_verdicts(tallies, ((row["status"], row["kind"], row["n"]) for row in bad))
    for row in bad:
        add_examples(tallies.sample, row["kind"], (row["ex1"], row["ex2"]))
    return good


def aggregate_quality(labelled, config: ModelQualityParams, by_text: bool = False) -> QualityTallies:
    """All tallies of a problem type from the frame of :func:`monitor_lib.quality.extract.labelled_records`
    (``by_text``: see :func:`typed_records`; merged capture records)."""
    result = _aggregate(labelled, config, (), [None], by_text)[None]
    if isinstance(result, InputError):
        raise result
    return result


def aggregate_quality_windows(labelled, config: ModelQualityParams, windows: list[int],
                              column: str = "w") -> dict[int, QualityTallies | InputError]:
    """The tallies of many windows in the same aggregations (a backfill): ``labelled`` has the window's index in
    ``column``; each window gets what :func:`aggregate_quality` gives for its rows alone (a window with no rows,
    empty tallies), or the InputError its single run would raise."""
    return _aggregate(labelled, config, (column,), list(windows), True)


def _aggregate(labelled, config: ModelQualityParams, by: tuple[str, ...], keys: list, by_text: bool) -> dict:
    typed = typed_records(labelled, config, by, by_text)
    tallies: dict = {key: QualityTallies(config.problem_type) for key in keys}
    if config.problem_type == "Regression":
        _regression(typed, tallies, by)
    else:
        _classification(typed, config, tallies, by)
    return tallies


def _by_key(rows, by: tuple[str, ...]) -> dict:
    """Rows split by their group (None when there is no grouping column)."""
    out: dict = {}
    for row in rows:
        out.setdefault(row[by[0]] if by else None, []).append(row)
    return out


def _regression(typed, tallies: dict, by: tuple[str, ...]) -> None:
    from pyspark.sql import functions as F

    e = F.col("y") - F.col("yhat")
    aggs = [F.count(F.lit(1)).alias("n"), *_examples()]
    for r in _R:
        inside = _in(r) == 1
        aggs += [
            F.sum(_in(r)).alias(f"n{r}"),
            F.sum(F.when(inside, F.abs(e))).alias(f"ae{r}"),
            F.sum(F.when(inside, e * e)).alias(f"se{r}"),
            F.var_pop(F.when(inside, F.col("y"))).alias(f"vy{r}"),
            F.sum(F.when(inside, F.col("y"))).alias(f"sy{r}"),  # the truth's mean: the state merges its moments
        ]
    rows = typed.groupBy(*by, "status", "kind").agg(*aggs).collect()
    for key, group in _by_key(rows, by).items():
        t = tallies[key]
        good = _split_counts(group, t)
        if not good:
            continue
        g = good[0]
        t.records = int(g["n0"])
        t.regression = [
            RegressionTally(int(g[f"n{r}"]), float(g[f"ae{r}"] or 0.0), float(g[f"se{r}"] or 0.0),
                            float(g[f"vy{r}"] or 0.0) * int(g[f"n{r}"]), truth_sum=float(g[f"sy{r}"] or 0.0))
            for r in _R
        ]


def _too_many_cells(config: ModelQualityParams) -> InputError:
    return InputError(f"{config.problem_type}: more than {MAX_CONFUSION_CELLS} distinct (actual, predicted) "
                      "label pairs — are the labels classes? (check problem_type and the attributes)")


def _classification(typed, config: ModelQualityParams, tallies: dict, by: tuple[str, ...]) -> None:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    binary = config.problem_type == "BinaryClassification"
    keys = [*by, "status", "kind", "y", "yhat"] + (["s"] if binary else [])
    grouped = typed.groupBy(*keys).agg(F.count(F.lit(1)).alias("n"), *_examples(),
                                       *[F.sum(_in(r)).alias(f"n{r}") for r in _R])
    if binary:
        grouped = grouped.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        cells = grouped.groupBy(*by, "status", "kind", "y", "yhat").agg(
            F.sum("n").alias("n"), F.first("ex1", ignorenulls=True).alias("ex1"),
            F.first("ex2", ignorenulls=True).alias("ex2"), *[F.sum(f"n{r}").alias(f"n{r}") for r in _R])
        limit = (MAX_CONFUSION_CELLS + 1) * len(tallies)
        rows = cells.limit(limit).collect()
        if len(rows) >= limit and not by:
            raise _too_many_cells(config)
        with_auc = []
        for key, group in _by_key(rows, by).items():
            t = tallies[key]
            if len(group) > MAX_CONFUSION_CELLS or len(rows) >= limit:  # (grouped, cut: the window cannot be told)
                tallies[key] = _too_many_cells(config)
                continue
            good = _split_counts(group, t)
            confusions: list[dict[tuple[str, str], int]] = [{} for _ in _R]
            for row in good:
                for r in _R:
                    if row[f"n{r}"]:
                        cell = (str(row["y"]), str(row["yhat"]))
                        confusions[r][cell] = confusions[r].get(cell, 0) + int(row[f"n{r}"])
            t.records = sum(confusions[0].values())
            t.confusions = confusions
            if binary and t.records:
                with_auc.append(key)
        if with_auc:
            buckets = _auc_buckets(grouped, by)
            for key in with_auc:
                t = tallies[key]
                auc = _auc(buckets.get(key, []), t)
                t.binary = [
                    BinaryTally(tp=c.get(("1", "1"), 0), fp=c.get(("0", "1"), 0), tn=c.get(("0", "0"), 0),
                                fn=c.get(("1", "0"), 0), auc=auc[r])
                    for r, c in enumerate(t.confusions or [])
                ]
    finally:
        if binary:
            grouped.unpersist()


def _auc_buckets(grouped, by: tuple[str, ...]) -> dict:
    """The AUC regroup: per group (window) and score bucket, the positives / negatives of each replica and the
    exact Mann–Whitney numerator of the pairs inside the bucket (rows ``b``, ``in{r}``, ``P{r}``, ``N{r}``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    good = grouped.where(F.col("status").isNull())
    bucket = F.least(F.greatest(F.floor(F.col("s") * CURVE_BUCKETS), F.lit(0)), F.lit(CURVE_BUCKETS - 1))
    per_score = good.groupBy(*by, bucket.cast("int").alias("b"), "s").agg(
        *[F.sum(F.when(F.col("y") == 1, F.col(f"n{r}")).otherwise(0)).alias(f"p{r}") for r in _R],
        *[F.sum(F.when(F.col("y") == 0, F.col(f"n{r}")).otherwise(0)).alias(f"q{r}") for r in _R],
    )
    above = Window.partitionBy(*by, "b").orderBy(F.desc("s")).rowsBetween(Window.unboundedPreceding, -1)
    with_above = per_score.select(
        *by, "b", *[F.col(f"p{r}") for r in _R], *[F.col(f"q{r}") for r in _R],
        *[F.coalesce(F.sum(f"p{r}").over(above), F.lit(0)).alias(f"a{r}") for r in _R],
    )
    rows = with_above.groupBy(*by, "b").agg(
        *[F.sum(F.col(f"q{r}") * (F.col(f"a{r}") + F.col(f"p{r}") * 0.5)).alias(f"in{r}") for r in _R],
        *[F.sum(f"p{r}").alias(f"P{r}") for r in _R],
        *[F.sum(f"q{r}").alias(f"N{r}") for r in _R],
    ).collect()
    return _by_key(rows, by)


def _auc(buckets: list, tallies: QualityTallies) -> list[float | None]:
    """The exact AUC of every replica from one window's buckets; sets the curves and the score buckets."""
    buckets = sorted(buckets, key=lambda row: -row["b"])
    tallies.score_buckets = score_buckets(buckets)
    auc: list[float | None] = []
    for r in _R:
        numerator, positives_above = 0.0, 0
        for row in buckets:
            numerator += float(row[f"in{r}"]) + float(row[f"N{r}"]) * positives_above
            positives_above += int(row[f"P{r}"])
        positives, negatives = positives_above, sum(int(row[f"N{r}"]) for row in buckets)
        auc.append(numerator / (positives * negatives) if positives and negatives else None)
    tallies.roc_curve, tallies.pr_curve = _curves(buckets)
    return auc


def score_buckets(buckets) -> list[dict]:
    """The per-bucket counts of the AUC regroup (rows with ``b``, ``P{r}``, ``N{r}``, ``in{r}``), kept for the
    mergeable model-quality state (:mod:`monitor_lib.quality.state`): per bucket and replica the positives, the
    negatives and the exact Mann–Whitney numerator of the pairs inside the bucket."""
    return [{"bucket": int(row["b"]), "positives": [int(row[f"P{r}"]) for r in _R],
             "negatives": [int(row[f"N{r}"]) for r in _R], "ordered": [float(row[f"in{r}"]) for r in _R]}
            for row in buckets]


def _curves(buckets) -> tuple[tuple[list[float], list[float]], tuple[list[float], list[float]]]:
    """ROC and precision-recall points at the bucket edges (buckets sorted by descending score)."""
    positives = sum(int(row["P0"]) for row in buckets)
    negatives = sum(int(row["N0"]) for row in buckets)
    tp = fp = 0
    fpr, tpr, precisions, recalls = [0.0], [0.0], [], []
    for row in buckets:
        if not (row["P0"] or row["N0"]):
            continue
        tp += int(row["P0"])
        fp += int(row["N0"])
        fpr.append(fp / negatives if negatives else 0.0)
        tpr.append(tp / positives if positives else 0.0)
        precisions.append(tp / (tp + fp))
        recalls.append(tp / positives if positives else 0.0)
    fpr.append(1.0)
    tpr.append(1.0)
    if precisions:
        precisions.insert(0, precisions[0])
        recalls.insert(0, 0.0)
    return (fpr, tpr), (precisions, recalls)
