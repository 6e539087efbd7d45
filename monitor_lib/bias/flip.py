"""The flip test (FT), exactly as smclarify computes it, with the rows in Spark.

smclarify fits scikit-learn's ``KNeighborsClassifier`` (k = 5, or 1 when group ``a`` has at most 9 rows;
uniform weights, Euclidean distance, no scaling) on group ``a``'s features and predicted labels, predicts
group ``d``, and reports (flips to positive − flips to negative) / n_d. The features are every column but
the facet, the label and the prediction.

Here group ``a`` is collected to the driver — all of it up to ``row_limit`` rows, beyond that a seeded
sample of ``row_limit`` rows (the run summary and the report say so) — the classifier is fitted once and
broadcast, and group ``d`` is predicted in the executors (``mapInPandas``), which return flip counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from monitor_lib.bias.metrics import MetricError, divide

log = logging.getLogger(__name__)

DEFAULT_ROW_LIMIT = 100_000
FT_DEFAULT_NEIGHBOR, FT_MIN_NEIGHBOR, FT_SAMPLES_COUNT_THRESHOLD = 5, 1, 9
NON_NUMERIC = "FlipTest does not support non-numeric columns"
MISSING = "Input X contains NaN."


def features_of(x, positions: list[int]):
    """The features as ``array<double>`` (null elements where a value is missing or not a number), plus a flag
    per row: 2 = a value is not a number, 1 = a value is missing, 0 = all numbers."""
    from pyspark.sql import functions as F

    from monitor_lib.bias.aggregate import is_bool, number, present

    def value(v):  # pandas reads true / false as bool, a numeric feature to the flip test
        return F.when(is_bool(v), F.when(F.lower(F.trim(v)) == "true", F.lit(1.0)).otherwise(F.lit(0.0))) \
            .otherwise(number(v))

    values = [F.try_element_at(x, F.lit(p + 1)) for p in positions]
    nums = F.array(*[value(v) for v in values]) if values else F.array().cast("array<double>")
    flag = F.lit(0)
    for v in values:
        flag = F.greatest(flag, F.when(~present(v), F.lit(1)).when(value(v).isNull(), F.lit(2)).otherwise(0))
    return nums, flag


def flip_test(typed, d_condition, yhat, positions: list[int], n_a: int, n_d: int, row_limit: int, seed: int,
              spark) -> tuple[float | MetricError, str | None]:
    """(FT or the error smclarify would report, a note when group a was sampled)."""
    import numpy as np
    from pyspark.sql import functions as F

    if n_d == 0:
        return MetricError("Facet set is empty"), None
    if n_a == 0:
        return MetricError("Negated Facet set is empty"), None
    nums, flag = features_of(F.col("x"), positions)
    good = F.col("status").isNull()
    rows = typed.where(good).select(d_condition.alias("d"), nums.alias("f"), flag.alias("flag"),
                                    F.when(yhat, 1).otherwise(0).alias("yhat"), "ord")
    a_rows = rows.where(~F.col("d"))
    note = None
    if n_a > row_limit:
        a_rows = a_rows.sample(fraction=min(1.0, 1.2 * row_limit / n_a), seed=seed).orderBy(F.rand(seed)).limit(
            row_limit)
        note = (f"FT: group a has {n_a} rows; the flip test's neighbours were fitted on a seeded sample of "
                f"{row_limit} (flip_test_rows), seed {seed}")
    a = sorted(a_rows.select("f", "flag", "yhat", "ord").collect(), key=lambda r: r["ord"])
    flags = {r["flag"] for r in a}
    if 2 in flags:
        return MetricError(NON_NUMERIC), note
    if 1 in flags:
        return MetricError(MISSING), note
    from sklearn.neighbors import KNeighborsClassifier

    features = np.array([list(r["f"]) for r in a], dtype=float).reshape(len(a), len(positions))
    labels = np.array([bool(r["yhat"]) for r in a])
    k = FT_DEFAULT_NEIGHBOR if len(a) > FT_SAMPLES_COUNT_THRESHOLD else FT_MIN_NEIGHBOR
    knn = KNeighborsClassifier(n_neighbors=k, weights="uniform", algorithm="auto", leaf_size=30, p=2,
                               metric="minkowski")
    try:
        knn.fit(features, labels)
    except ValueError as e:
        return MetricError(str(e).splitlines()[0]), note
    model = spark.sparkContext.broadcast(knn)
    width = len(positions)

    def predict(batches: Iterator) -> Iterator:
        import numpy as np
        import pandas as pd

        clf = model.value
        for batch in batches:
            if batch.empty:
                continue
            worst = int(batch["flag"].max())
            if worst:
                yield pd.DataFrame({"pos": [0], "neg": [0], "flag": [worst]})
                continue
            x = np.array(batch["f"].tolist(), dtype=float).reshape(len(batch), width)
            predicted = clf.predict(x).astype(bool)
            model_says = batch["yhat"].to_numpy().astype(bool)
            yield pd.DataFrame({"pos": [int(np.sum(model_says & ~predicted))],
                                "neg": [int(np.sum(~model_says & predicted))], "flag": [0]})

    try:
        out = rows.where(F.col("d")).select("f", "flag", "yhat").mapInPandas(
            predict, "pos long, neg long, flag int").agg(
            F.sum("pos").alias("pos"), F.sum("neg").alias("neg"), F.max("flag").alias("flag")).collect()[0]
    finally:
        model.destroy()
    if out["flag"] == 2:
        return MetricError(NON_NUMERIC), note
    if out["flag"] == 1:
        return MetricError(MISSING), note
    return divide(int(out["pos"] or 0) - int(out["neg"] or 0), n_d), note
