"""The numbers of the feature-attribution monitor (monitor_lib/explain) against independent references:

* a linear model's exact Shapley values, φ_i = w_i·(x_i − mean of the background's x_i), when every coalition is
  enumerated (num_samples ≥ 2^M − 2), with additivity Σφ + E[f] = f(x);
* the ``shap`` library run single-process (``shap.KernelExplainer`` built here, each record seeded by the
  documented :func:`~monitor_lib.explain.kernel.record_seed` contract) with fewer coalitions than exist, so the
  sampling matters: equal whatever the number of Spark partitions, with the identity and the logit link, for one
  and for two model outputs;
* NumPy's mean |φ|, median φ and mean φ² over those reference values for the three ``agg_method`` s;
* the ``max_records`` sample: its size, its independence of the partitioning, its reproducibility;
* a model behind a real HTTP server (tests/model_server.py, CSV and JSON) against the same model in-process.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import explain_models
import joblib
import numpy as np
import pytest
import shap
from model_server import start_model_server
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

from monitor_lib.explain import job
from monitor_lib.explain.analysis import explanations, global_values
from monitor_lib.explain.config import parse_explain_config
from monitor_lib.explain.kernel import record_seed

pytestmark = pytest.mark.spark

TOL = 1e-9


# ---------------------------------------------------------------- helpers


def records(spark, X: np.ndarray):
    """The ``good`` frame job.explain takes: one ``x`` array<double> per record."""
    return spark.createDataFrame([([float(v) for v in row],) for row in X], "x array<double>")


def config(features: list[str], predictor: dict, background: np.ndarray, **shap_options):
    raw = {"headers": features, "predictor": predictor,
           "methods": {"shap": {"baseline": background.tolist(), **shap_options}}}
    return parse_explain_config(raw, "test analysis_config.json")


def run(spark, X: np.ndarray, features: list[str], predictor: dict, background: np.ndarray,
        max_records: int | None = None, partitions: int | None = None, **shap_options) -> job.Explained:
    cfg = config(features, predictor, background, **shap_options)
    bg = job.given_background(cfg, features)
    assert np.array_equal(bg, background)
    return job.explain(spark, records(spark, X), cfg, features, bg, max_records or len(X), partitions)


def shap_reference(f, background: np.ndarray, X: np.ndarray, nsamples: int, seed: int,
                   link: str = "identity") -> tuple[np.ndarray, np.ndarray]:
    """(φ n × M × L, expected value L): the shap library in this process, one record at a time, each seeded
    with ``record_seed(seed, x)`` (the library's documented seeding contract)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.KernelExplainer(f, background, link=link)
        phi = []
        for x in X:
            np.random.seed(record_seed(seed, x))
            phi.append(explainer.shap_values(x.reshape(1, -1), nsamples=nsamples, l1_reg=False, silent=True)[0])
    return np.asarray(phi, dtype=np.float64).reshape(len(X), X.shape[1], -1), np.atleast_1d(
        np.asarray(explainer.expected_value, dtype=np.float64))


def sorted_rows(X: np.ndarray) -> np.ndarray:
    return X[np.lexsort(X.T[::-1])]


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


# ---------------------------------------------------------------- 1. exactness against the closed form


LINEAR_FEATURES = ["a", "b", "c", "d", "e"]  # M = 5: 2^5 − 2 = 30 coalitions


@pytest.fixture(scope="module")
def linear_data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(12, 5)) * [1.0, 3.0, 0.5, 2.0, 10.0] + [0.0, 5.0, -1.0, 2.0, 50.0]
    background = rng.normal(size=(3, 5)) * [1.0, 3.0, 0.5, 2.0, 10.0] + [0.0, 5.0, -1.0, 2.0, 50.0]
    return X, background


def assert_exact_linear(e: job.Explained, X: np.ndarray, background: np.ndarray, w: np.ndarray, f) -> None:
    assert e.features == LINEAR_FEATURES and e.labels == ["label0"]
    assert e.phi.shape == (len(X), 5, 1)
    assert np.array_equal(sorted_rows(e.x), sorted_rows(X)), "every record is explained, once"
    closed = w[None, :] * (e.x - background.mean(axis=0)[None, :])  # φ_i = w_i (x_i − E_bg[x_i])
    assert max_diff(e.phi[:, :, 0], closed) <= TOL
    fx = f(e.x)
    assert max_diff(e.fx[:, 0], fx) <= TOL
    expected = float(np.mean(f(background)))
    assert abs(e.expected[0] - expected) <= TOL
    assert max_diff(e.phi[:, :, 0].sum(axis=1) + e.expected[0], fx) <= TOL  # additivity
    assert job.additivity_error(e, use_logit=False) <= TOL
    g = global_values(e.phi, "mean_abs")
    assert g.shape == (1, 5)
    assert max_diff(g[0], np.mean(np.abs(closed), axis=0)) <= TOL


def test_linear_model_uri_is_exact_when_every_coalition_is_enumerated(spark, linear_data, tmp_path):
    X, background = linear_data
    rng = np.random.default_rng(12)
    Xt = rng.normal(size=(40, 5))
    model = LinearRegression().fit(Xt, Xt @ [2.0, -1.0, 0.5, 0.0, 4.0] + rng.normal(size=40))
    joblib.dump(model, tmp_path / "linear.joblib")
    e = run(spark, X, LINEAR_FEATURES, {"model_uri": str(tmp_path / "linear.joblib")}, background, partitions=2,
            num_samples=30, seed=3)
    assert e.nsamples == 30
    assert_exact_linear(e, X, background, model.coef_, model.predict)


def test_linear_model_factory_is_exact_when_every_coalition_is_enumerated(spark, linear_data):
    spark.sparkContext.addPyFile(str(Path(explain_models.__file__).resolve()))
    X, background = linear_data
    e = run(spark, X, LINEAR_FEATURES, {"model_factory": "explain_models:linear"}, background,
            num_samples=1000, partitions=3)  # more than the 30 coalitions there are: all of them, exactly
    assert e.nsamples == 30  # what shap used: the 2^5 - 2 coalitions there are
    w, b = explain_models.LINEAR_WEIGHTS, explain_models.LINEAR_BIAS
    assert_exact_linear(e, X, background, w, lambda Z: Z @ w + b)



# ---------------------------------------------------------------- 2. equal to single-process shap (sampled)


CLS_FEATURES = ["f0", "f1", "f2", "f3", "f4", "f5"]  # M = 6: 62 coalitions, 24 sampled
NSAMPLES = 24
SEED = 7
PARTITIONS = (1, 3, 7)
MAX_RECORDS = 10  # of 14: every run explains a seeded sample
MODELS = ("gradient_boosting", "logistic")


@pytest.fixture(scope="module")
def classification(tmp_path_factory):
    rng = np.random.default_rng(2024)
    Xt = rng.normal(size=(300, 6))
    y = (Xt @ [1.0, -2.0, 0.5, 0.0, 1.5, -0.5] + 0.8 * Xt[:, 0] * Xt[:, 1] + rng.normal(size=300) > 0).astype(int)
    folder = tmp_path_factory.mktemp("explain-models")
    models = {"gradient_boosting": GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0),
              "logistic": LogisticRegression(max_iter=1000)}
    paths = {}
    for name, model in models.items():
        model.fit(Xt, y)
        paths[name] = folder / f"{name}.joblib"
        joblib.dump(model, paths[name])
    X = rng.normal(size=(14, 6))
    background = Xt[rng.choice(len(Xt), 4, replace=False)]
    return {"models": models, "paths": paths, "X": X, "background": background}


def positive_class(model):
    return lambda Z: model.predict_proba(Z)[:, [1]]


@pytest.fixture(scope="module")
def positive_class_runs(spark, classification):
    """name → (runs by partitions, reference φ, reference expected value): the explanation of the positive-class
    probability (``probability: 1``) with 1, 3 and 7 partitions, and single-process shap on the same rows.
    Computed once per model, on first use."""
    c, cache = classification, {}

    def get(name: str):
        if name not in cache:
            predictor = {"model_uri": str(c["paths"][name]), "probability": 1}
            runs = {p: run(spark, c["X"], CLS_FEATURES, predictor, c["background"], max_records=MAX_RECORDS,
                           partitions=p, num_samples=NSAMPLES, seed=SEED) for p in PARTITIONS}
            ref_phi, ref_expected = shap_reference(positive_class(c["models"][name]), c["background"], runs[1].x,
                                                   NSAMPLES, SEED)
            cache[name] = runs, ref_phi, ref_expected
        return cache[name]

    return get


@pytest.mark.parametrize("name", MODELS)
def test_equals_single_process_shap_whatever_the_partitions(positive_class_runs, classification, name):
    runs, ref_phi, ref_expected = positive_class_runs(name)
    model = classification["models"][name]
    first = runs[PARTITIONS[0]]
    for p, e in runs.items():
        assert e.nsamples == NSAMPLES and e.labels == ["label0"] and e.phi.shape == (MAX_RECORDS, 6, 1)
        assert np.array_equal(e.x, first.x), f"{name}, {p} partitions: the same records in the same order"
        assert max_diff(e.phi, ref_phi) <= TOL, f"{name}, {p} partitions"
        assert max_diff(e.phi, first.phi) <= TOL
        assert max_diff(e.expected, ref_expected) <= TOL
        assert max_diff(e.fx[:, 0], model.predict_proba(e.x)[:, 1]) <= TOL
        assert job.additivity_error(e, use_logit=False) <= TOL
    # the coalitions are sampled (24 of 62): another seed gives other values, so agreeing above proves the seeding
    other, _ = shap_reference(positive_class(model), classification["background"], first.x, NSAMPLES, SEED + 1)
    assert max_diff(other, ref_phi) > 1e-4


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("agg", ["mean_abs", "median", "mean_sq"])
def test_global_values_equal_numpy_over_the_reference(positive_class_runs, name, agg):
    runs, ref_phi, ref_expected = positive_class_runs(name)
    e = runs[3]
    cfg = config(CLS_FEATURES, {"model_uri": "model.joblib"}, np.zeros((1, 6)), agg_method=agg)
    local = ref_phi[:, :, 0]
    want = {"mean_abs": np.mean(np.abs(local), axis=0), "median": np.median(local, axis=0),
            "mean_sq": np.mean(local ** 2, axis=0)}[agg]
    values = global_values(e.phi, cfg.shap.agg_method)
    assert values.shape == (1, 6)
    assert max_diff(values[0], want) <= TOL
    doc = explanations(e.labels, e.features, values, e.expected)
    entry = doc["kernel_shap"]["label0"]
    assert list(entry["global_shap_values"]) == CLS_FEATURES
    assert max_diff(np.array(list(entry["global_shap_values"].values())), want) <= TOL
    assert abs(entry["expected_value"] - ref_expected[0]) <= TOL


def test_use_logit_equals_shap_with_the_logit_link(spark, classification):
    c = classification
    model = c["models"]["logistic"]
    e = run(spark, c["X"], CLS_FEATURES, {"model_uri": str(c["paths"]["logistic"]), "probability": 1},
            c["background"], partitions=2, num_samples=NSAMPLES, seed=SEED, use_logit=True)
    assert e.n == len(c["X"])
    ref_phi, ref_expected = shap_reference(positive_class(model), c["background"], e.x, NSAMPLES, SEED, link="logit")
    assert max_diff(e.phi, ref_phi) <= TOL
    assert abs(e.expected[0] - ref_expected[0]) <= TOL
    assert abs(e.expected[0] - logit(np.mean(model.predict_proba(c["background"])[:, 1]))) <= TOL
    # log-odds units: Σφ + E = logit f(x), not f(x)
    fx = model.predict_proba(e.x)[:, 1]
    assert max_diff(e.phi[:, :, 0].sum(axis=1) + e.expected[0], logit(fx)) <= TOL
    assert job.additivity_error(e, use_logit=True) <= TOL
    identity, _ = shap_reference(positive_class(model), c["background"], e.x, NSAMPLES, SEED)
    assert max_diff(identity, ref_phi) > 1e-3  # the link changes the values


@pytest.fixture(scope="module")
def two_outputs(spark, classification):
    """Both predict_proba columns of the tree model, named by label_headers, seed SEED + 1."""
    c = classification
    return run(spark, c["X"], CLS_FEATURES,
               {"model_uri": str(c["paths"]["gradient_boosting"]), "label_headers": ["rejected", "accepted"]},
               c["background"], max_records=MAX_RECORDS, partitions=2, num_samples=NSAMPLES, seed=SEED + 1)


def test_two_outputs_equal_shap_and_take_the_label_headers(two_outputs, classification):
    c, e = classification, two_outputs
    model = c["models"]["gradient_boosting"]
    assert e.labels == ["rejected", "accepted"]
    assert e.phi.shape == (MAX_RECORDS, 6, 2) and e.fx.shape == (MAX_RECORDS, 2)
    ref_phi, ref_expected = shap_reference(model.predict_proba, c["background"], e.x, NSAMPLES, SEED + 1)
    assert ref_phi.shape == (MAX_RECORDS, 6, 2)
    assert max_diff(e.phi, ref_phi) <= TOL
    assert max_diff(e.expected, ref_expected) <= TOL
    assert max_diff(e.fx, model.predict_proba(e.x)) <= TOL
    assert job.additivity_error(e, use_logit=False) <= TOL
    # the probabilities sum to 1: the two outputs' attributions are opposite
    assert max_diff(e.phi[:, :, 0], -e.phi[:, :, 1]) <= TOL
    values = global_values(e.phi, "mean_abs")
    doc = explanations(e.labels, e.features, values, e.expected)
    assert list(doc["kernel_shap"]) == ["rejected", "accepted"]
    for i, label in enumerate(e.labels):
        got = np.array(list(doc["kernel_shap"][label]["global_shap_values"].values()))
        assert max_diff(got, np.mean(np.abs(ref_phi[:, :, i]), axis=0)) <= TOL
        assert abs(doc["kernel_shap"][label]["expected_value"] - ref_expected[i]) <= TOL


# ---------------------------------------------------------------- 4. max_records


def test_max_records_explains_one_seeded_sample_whatever_the_partitions(spark, positive_class_runs, two_outputs,
                                                                        classification):
    c = classification
    X = c["X"]
    first = positive_class_runs("logistic")[0][1]
    assert first.n == MAX_RECORDS < len(X)
    assert len({row.tobytes() for row in first.x}) == MAX_RECORDS, "different records"
    assert all(any(np.array_equal(row, r) for r in X) for row in first.x), "records of the input"
    for name in MODELS:  # the sample depends on the seed and the records only: not the partitions, nor the model
        for p, e in positive_class_runs(name)[0].items():
            assert e.n == MAX_RECORDS and np.array_equal(e.x, first.x), f"{name}, {p} partitions"
    # another seed, another sample
    assert two_outputs.n == MAX_RECORDS
    assert not np.array_equal(sorted_rows(two_outputs.x), sorted_rows(first.x))
    # a rerun reproduces the sample and the values
    again = run(spark, X, CLS_FEATURES, {"model_uri": str(c["paths"]["logistic"]), "probability": 1},
                c["background"], max_records=MAX_RECORDS, partitions=1, num_samples=NSAMPLES, seed=SEED)
    assert np.array_equal(again.x, first.x)
    assert max_diff(again.phi, first.phi) <= TOL and max_diff(again.fx, first.fx) <= TOL


# ---------------------------------------------------------------- 5. a model behind an HTTP server


@pytest.mark.parametrize("predictor", [
    {"content_type": "text/csv"},  # the server answers the positive class's probability, one per line
    {"content_type": "application/json", "probability": "predictions[*].score"},
], ids=["csv", "json"])
def test_http_endpoint_equals_the_model_in_process(spark, positive_class_runs, classification, model_server,
                                                   predictor):
    c = classification
    runs, ref_phi, _ = positive_class_runs("logistic")
    local = runs[3]
    model_server.reset()
    e = run(spark, c["X"], CLS_FEATURES, {"endpoint_url": model_server.url, **predictor}, c["background"],
            max_records=MAX_RECORDS, partitions=2, num_samples=NSAMPLES, seed=SEED)
    stats = model_server.stats()
    assert stats["requests"] >= e.n, "the server answered the model calls"
    assert set(stats["content_types"]) == {predictor["content_type"]} and set(stats["statuses"]) == {200}
    assert np.array_equal(e.x, local.x)
    assert max_diff(e.phi, local.phi) <= TOL
    assert max_diff(e.phi, ref_phi) <= TOL
    assert max_diff(e.fx, local.fx) <= TOL
    assert max_diff(e.expected, local.expected) <= TOL


@pytest.fixture(scope="module")
def model_server(classification):
    with start_model_server(classification["paths"]["logistic"]) as server:
        yield server
