"""Model factories for the feature-attribution tests (``predictor.model_factory: "explain_models:<name>"``).

A factory returns a batch predict function ``f(X) -> scores`` (X: n × M floats). The Spark executors import this
module: a test ships it with ``spark.sparkContext.addPyFile(str(Path(explain_models.__file__)))``.
"""

from __future__ import annotations

import numpy as np

LINEAR_WEIGHTS = np.array([1.5, -2.0, 0.25, 3.0, -0.75])
LINEAR_BIAS = 0.4


def linear():
    """f(x) = w·x + b with :data:`LINEAR_WEIGHTS` and :data:`LINEAR_BIAS`, one output (1-D scores)."""

    def predict(X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ LINEAR_WEIGHTS + LINEAR_BIAS

    return predict


def fails_on_large_batches():
    """A model that answers small calls (the background on the driver) and fails on KernelSHAP's batch of
    coalitions in the executors: how an executor-side model error reaches the user."""

    def predict(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if len(X) > 8:
            raise RuntimeError(f"out of GPU memory for {len(X)} rows")
        return X.sum(axis=1) / 100.0

    return predict
