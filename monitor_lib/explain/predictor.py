"""Where the explained model lives: Clarify's ``predictor`` block (clarify-contract §1.1) plus three open
sources, one of which a config names:

* ``model_factory`` — ``module:function`` returning a batch predict function (``f(X) -> scores``, X a 2-D
  float array of the features in header order);
* ``model_uri`` — a scikit-learn / XGBoost model pickled with joblib or pickle, a local path or ``s3://``
  URI; its ``predict_proba`` (else ``predict``) is the predict function;
* ``endpoint_name`` (a SageMaker endpoint, boto3 ``invoke_endpoint``) or ``endpoint_url`` (any HTTP server),
  with Clarify's request/response fields (:mod:`monitor_lib.explain.endpoint`).

:func:`predict_function` gives the batch predict function of a :class:`PredictorSpec`, built once per
process (the executors keep it between tasks), returning a 2-D array: one column per explained model
output. ``probability`` (an index, or a JSON path for JSON responses) picks the output(s) to explain, else
``label``; without either every output column is explained. Output column ``i`` is called
``label_headers[i]`` in analysis.json, else ``label<i>``.
"""

from __future__ import annotations

import importlib
import io
import pickle
from collections.abc import Callable

import numpy as np

from monitor_lib.errors import ConfigError, MonitorError
from monitor_lib.explain.spec import SOURCES, PredictorSpec  # noqa: F401  (part of this module's interface)

_cache: dict[PredictorSpec, Callable[[np.ndarray], np.ndarray]] = {}


def predict_function(spec: PredictorSpec) -> Callable[[np.ndarray], np.ndarray]:
    """The batch predict function of ``spec`` (X: 2-D float array) → 2-D float array, one column per
    explained output; built once per process."""
    f = _cache.get(spec)
    if f is None:
        if spec.remote:
            from monitor_lib.explain.endpoint import endpoint_predict

            raw = endpoint_predict(spec)
        elif spec.model_factory:
            raw = _factory(spec.model_factory)
        else:
            raw = _model_predict(load_model(spec.model_uri))
        f = _cache[spec] = _selected(raw, spec)
    return f


def _factory(ref: str) -> Callable:
    module, _, name = ref.partition(":")
    if not module or not name:
        raise ConfigError(f"predictor.model_factory {ref!r} must be module:function")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"predictor.model_factory {ref}: cannot import it ({e})") from None
    try:
        predict = fn()
    except Exception as e:
        raise MonitorError(f"predictor.model_factory {ref} failed: {type(e).__name__}: {e}") from None
    if not callable(predict):
        raise ConfigError(f"predictor.model_factory {ref} must return a batch predict function, got "
                          f"{type(predict).__name__}")
    return predict


def load_model(uri: str):
    """A pickled model (joblib or pickle), local or ``s3://``."""
    from monitor_lib.io import s3
    from monitor_lib.io.storage import local_path

    try:
        if s3.is_s3(uri):
            data = s3.fetch(uri, s3.S3Settings.from_environment(), "predictor.model_uri", decompress=False)
        else:
            with open(local_path(uri), "rb") as fh:
                data = fh.read()
    except MonitorError:
        raise
    except OSError as e:
        raise ConfigError(f"predictor.model_uri {uri} cannot be read: {e.strerror or e}") from None
    try:
        import joblib

        return joblib.load(io.BytesIO(data))
    except Exception:
        try:
            return pickle.loads(data)
        except Exception as e:
            raise ConfigError(f"predictor.model_uri {uri} is not a joblib or pickle file of a model: "
                              f"{type(e).__name__}: {e}") from None


def _model_predict(model) -> Callable:
    for name in ("predict_proba", "predict"):
        if callable(getattr(model, name, None)):
            return getattr(model, name)
    if callable(model):
        return model
    raise ConfigError(f"predictor.model_uri holds a {type(model).__name__}, which has neither predict_proba nor "
                      "predict")


def _selected(raw: Callable, spec: PredictorSpec) -> Callable[[np.ndarray], np.ndarray]:
    """Scores as a 2-D float array; for in-process models an integer ``probability`` / ``label`` picks a
    column (remote responses are picked by the endpoint module)."""
    pick = spec.probability if spec.probability is not None else spec.label
    column = pick if isinstance(pick, int) and not spec.remote else None

    def predict(X: np.ndarray) -> np.ndarray:
        try:
            out = np.asarray(raw(X), dtype=float)
        except MonitorError:
            raise
        except Exception as e:
            raise MonitorError(f"the model ({spec.where}) failed on a batch of {len(X)} rows: "
                               f"{type(e).__name__}: {e}") from None
        if out.ndim == 1:
            out = out.reshape(-1, 1)
        if out.ndim != 2 or out.shape[0] != len(X):
            raise MonitorError(f"the model ({spec.where}) returned shape {out.shape} for {len(X)} rows: expected "
                               "one score or one row of scores per row")
        if column is not None:
            if not -out.shape[1] <= column < out.shape[1]:
                raise ConfigError(f"predictor.probability {column} is not an output of the model ({spec.where}): "
                                  f"it returns {out.shape[1]} column(s)")
            out = out[:, [column]]
        if not np.all(np.isfinite(out)):
            bad = int(np.sum(~np.all(np.isfinite(out), axis=1)))
            raise MonitorError(f"the model ({spec.where}) returned NaN or infinite scores for {bad} of {len(X)} rows: "
                               "SHAP values explain finite outputs")
        return out

    return predict


def output_names(spec: PredictorSpec, n_outputs: int) -> list[str]:
    """analysis.json's key of each explained output."""
    if spec.label_headers and len(spec.label_headers) == n_outputs:
        return list(spec.label_headers)
    return [f"label{i}" for i in range(n_outputs)]
