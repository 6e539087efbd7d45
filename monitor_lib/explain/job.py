"""One feature-attribution analysis: records → counts → the background → KernelSHAP in the executors →
global attributions.

Reads of the input: one aggregation counts the records (and rejected / skipped ones by kind), a second read
only when there are rejected records (their examples), the K-means background of a baseline without one
given, and the explanation itself — which reads the records once more, keeps at most ``max_records`` of them
(a seeded sample: the ones with the smallest hash of seed and values, the same whatever the partitioning)
and spreads them over the cluster's cores.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

import numpy as np

from monitor_lib.errors import ConfigError, MonitorError
from monitor_lib.explain.config import DEFAULT_CLUSTERS, ExplainConfig
from monitor_lib.explain.predictor import output_names, predict_function

log = logging.getLogger(__name__)

BACKGROUND_FILE = "explanations_shap/baseline.csv"
LOCAL_VALUES_FILE = "explanations_shap/out.csv"


@dataclass
class ExplainTallies:
    records: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    sample: list[dict] = field(default_factory=list)
    jobs_reading_input: int = 0


@dataclass
class Explained:
    """What the explanation computed (arrays over the explained records, in a stable order)."""

    features: list[str]
    labels: list[str]
    phi: np.ndarray  # n × M × L local SHAP values
    fx: np.ndarray  # n × L model outputs
    expected: np.ndarray  # L expected values (link space)
    background: np.ndarray  # B × M
    nsamples: int  # coalitions per record shap used (num_samples, at most the 2^M − 2 there are)
    model_calls: int
    x: np.ndarray  # n × M the explained records' features

    @property
    def n(self) -> int:
        return len(self.phi)


def count_records(frame, tallies: ExplainTallies) -> None:
    """Records to explain, rejected and skipped ones by kind (one aggregation), then rejected examples."""
    from pyspark.sql import functions as F

    from monitor_lib.bias.aggregate import rejected_examples
    from monitor_lib.quality.aggregate import add_verdicts

    rows = frame.groupBy("status", "kind").agg(F.count(F.lit(1)).alias("n")).collect()
    tallies.jobs_reading_input += 1
    tallies.records += sum(int(row["n"]) for row in rows if row["status"] is None)
    add_verdicts(tallies, ((row["status"], row["kind"], row["n"]) for row in rows if row["status"] is not None))
    rejected_examples(frame, tallies)


# ---------------------------------------------------------------- the background


def parse_background(text: str, features: list[str], where: str) -> np.ndarray:
    """Rows of a background CSV (no header, or a header of the feature names)."""
    rows = []
    for i, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        cells = [c.strip().strip('"') for c in line.split(",")]
        if i == 0 and cells == list(features):
            continue
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            raise ConfigError(f"{where} line {i + 1}: background rows must be numbers, got {line.strip()[:80]!r}") \
                from None
    return _checked(np.array(rows, dtype=np.float64).reshape(len(rows), -1), features, where)


def _checked(rows: np.ndarray, features: list[str], where: str) -> np.ndarray:
    if rows.size == 0:
        raise ConfigError(f"{where} holds no background row")
    if rows.shape[1] != len(features):
        raise ConfigError(f"{where}: background rows have {rows.shape[1]} values, the records {len(features)} "
                          f"features ({', '.join(features)})")
    if not np.all(np.isfinite(rows)):
        raise ConfigError(f"{where}: background rows must be finite numbers")
    return rows


def background_text(rows: np.ndarray) -> str:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows)


def read_background_text(uri: str, what: str) -> str:
    """A background file's text, local or ``s3://``: one that cannot be read is an error naming it (a local read
    raises what ``open`` raises, not a MonitorError)."""
    from monitor_lib.io.storage import read_text

    try:
        return read_text(uri, what)
    except OSError as e:
        raise ConfigError(f"{what} {uri} " + ("does not exist" if isinstance(e, FileNotFoundError)
                                              else f"cannot be read: {e.strerror or e}")) from None


def given_background(config: ExplainConfig, features: list[str]) -> np.ndarray | None:
    """The background the config gives (rows, or a file), else None."""
    shap = config.shap
    if shap.baseline_rows is not None:
        return _checked(np.array(shap.baseline_rows, dtype=np.float64), features,
                        f"{config.source}: methods.shap.baseline")
    if shap.baseline_uri:
        return parse_background(read_background_text(shap.baseline_uri, "methods.shap.baseline"), features,
                                f"methods.shap.baseline {shap.baseline_uri}")
    return None


def kmeans_background(good, config: ExplainConfig, n_features: int) -> np.ndarray:
    """Spark ML K-means centroids of the records (``num_clusters``, default 10, seeded)."""
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.functions import array_to_vector

    k = config.shap.num_clusters or DEFAULT_CLUSTERS
    vectors = good.select(array_to_vector("x").alias("features"))
    model = KMeans(k=k, seed=config.shap.seed, maxIter=50).fit(vectors)
    centers = np.array([np.asarray(c, dtype=np.float64) for c in model.clusterCenters()])
    log.info("background: %d K-means centroids of the baseline data", len(centers))
    return centers.reshape(len(centers), n_features)


# ---------------------------------------------------------------- the explanation


def model_outputs(config: ExplainConfig, background: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The model's outputs on the background, computed on the driver before any explanation (a model that
    cannot be loaded or called fails here, once); and the names of the explained outputs."""
    f = predict_function(config.predictor)
    out = f(background)
    return out, output_names(config.predictor, out.shape[1])


def expected_values(outputs: np.ndarray, use_logit: bool) -> np.ndarray:
    fnull = outputs.mean(axis=0)
    if use_logit:
        with np.errstate(divide="ignore"):
            return np.log(fnull / (1 - fnull))
    return fnull


def explain_frame(spark, good, config: ExplainConfig, features: list[str], background: np.ndarray,
                  n_outputs: int, max_records: int, partitions: int | None = None) -> tuple:
    """(the explained rows sorted by their sample key — key, x, phi, fx, calls —, the coalitions asked for): the
    explanation of at most ``max_records`` of ``good`` (status null, ``x`` doubles)."""
    from pyspark.sql import functions as F

    from monitor_lib.explain.kernel import SCHEMA, default_nsamples, partition_explainer

    shap = config.shap
    nsamples = shap.num_samples or default_nsamples(len(features))
    keyed = good.select(F.xxhash64(F.lit(shap.seed), F.col("x")).alias("key"), "x")
    chosen = keyed.orderBy("key", F.col("x").cast("string")).limit(max_records)
    parts = partitions or max(1, 4 * spark.sparkContext.defaultParallelism)
    rows = spark.sparkContext.broadcast(background)  # once per executor, not in every task's closure
    run = partition_explainer(config.predictor, rows, nsamples, shap.seed, shap.use_logit, n_outputs)
    out = chosen.repartition(parts).mapInPandas(run, SCHEMA)
    try:
        pdf = out.toPandas()
    except Exception as e:  # an executor's error (the model's, the endpoint's) as its one line
        raise MonitorError(f"explaining the records failed: {executor_message(e)}") from None
    finally:
        rows.unpersist()
    failed = pdf["error"].dropna()
    if len(failed):
        raise MonitorError(f"explaining the records failed: {failed.iloc[0]}")
    pdf = pdf.sort_values(by="key", kind="stable")
    return pdf, nsamples


def explain(spark, good, config: ExplainConfig, features: list[str], background: np.ndarray, max_records: int,
            partitions: int | None = None) -> Explained:
    outputs, labels = model_outputs(config, background)
    _check_probabilities(config, outputs, "the background")
    L, M = len(labels), len(features)
    pdf, nsamples = explain_frame(spark, good, config, features, background, L, max_records, partitions)
    n = len(pdf)
    phi = np.stack(pdf["phi"].to_numpy()).reshape(n, M, L) if n else np.zeros((0, M, L))
    fx = np.stack(pdf["fx"].to_numpy()).reshape(n, L) if n else np.zeros((0, L))
    x = np.stack(pdf["x"].to_numpy()).reshape(n, M) if n else np.zeros((0, M))
    _check_probabilities(config, fx, "the explained records")
    used = min(nsamples, 2 ** M - 2) if M < 62 else nsamples  # shap draws no more coalitions than there are
    return Explained(features, labels, phi, fx, expected_values(outputs, config.shap.use_logit), background,
                     used, int(pdf["calls"].sum()) if n else 0, x)


def _check_probabilities(config: ExplainConfig, outputs: np.ndarray, where: str) -> None:
    """``use_logit`` takes the logit of the model's outputs: they must be probabilities."""
    if config.shap.use_logit and outputs.size and (np.any(outputs <= 0) or np.any(outputs >= 1)):
        raise ConfigError(f"{config.source}: methods.shap.use_logit needs model outputs in (0, 1) (probabilities); "
                          f"the model ({config.predictor.where}) returned {float(outputs.min())} … "
                          f"{float(outputs.max())} on {where}")


def additivity_error(e: Explained, use_logit: bool) -> float:
    """max |Σφ + expected value − f(x)| over records and outputs (f in link space): KernelSHAP's efficiency
    property, a check that the explanation is whole."""
    if not e.n:
        return 0.0
    f = e.fx
    if use_logit:
        f = np.log(f / (1 - f))
    err = np.abs(e.phi.sum(axis=1) + e.expected[None, :] - f)
    return float(np.max(err))


def local_values_text(e: Explained) -> str:
    """``explanations_shap/out.csv``: a header of the features (``label/feature`` with several labels), one row of
    SHAP values per explained record."""
    out = io.StringIO()
    if len(e.labels) == 1:
        head = list(e.features)
    else:
        head = [f"{label}/{f}" for label in e.labels for f in e.features]
    out.write(",".join(head) + "\n")
    for i in range(e.n):
        values = e.phi[i].T.reshape(-1)  # label-major
        out.write(",".join(repr(float(v)) for v in values) + "\n")
    return out.getvalue()


def executor_message(e: Exception) -> str:
    """The last exception a Python worker raised, as ``Kind: message``, found in the Spark error's text (the
    model's and the endpoint's own errors come back as rows, see :func:`partition_explainer`); else Spark's own
    first line."""
    import re

    from monitor_lib.io.readers import spark_message

    found = re.findall(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.+)$", str(e), flags=re.M)
    if found:
        return f"{found[-1][0]}: {found[-1][1].strip()}"
    return spark_message(e)
