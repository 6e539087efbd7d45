"""KernelSHAP over Spark: the ``shap`` library's ``KernelExplainer`` inside ``mapInPandas``.

One explainer per partition (the background is broadcast, the model built once per executor process), each
record explained on its own with ``l1_reg`` off (every feature gets a value) and NumPy's generator seeded from
the config's ``seed`` and the record's own values (:func:`record_seed`): the coalitions a record draws do not
depend on which partition, batch or position it lands in, so the values equal single-process ``shap`` with the
same seeding whatever the number of partitions, and a rerun reproduces them. With ``num_samples`` ≥ 2^M − 2
shap enumerates every coalition (exact, no randomness).

Model calls: shap evaluates all the coalitions of a record (``num_samples`` × background rows) in one call of
the batch predict function, and its call on the record itself is answered from one prediction of the whole
Arrow batch made up front — one model call per explained record, plus one per batch and one per partition
(the background).
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable, Iterator

import numpy as np


def record_seed(seed: int, x: np.ndarray) -> int:
    """The seed of one record's coalitions: CRC-32 of its float64 values, started from ``seed``."""
    return zlib.crc32(np.ascontiguousarray(x, dtype=np.float64).tobytes(), seed & 0xFFFFFFFF)


class CountingModel:
    """The batch predict function as shap sees it: counts calls, answers a one-row call on a record whose
    prediction is already known (:meth:`known`) without calling the model."""

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray]):
        self.predict = predict
        self.calls = 0
        self._known: dict[bytes, np.ndarray] = {}

    def known(self, X: np.ndarray) -> np.ndarray:
        out = self(X)
        self._known = {np.ascontiguousarray(x, dtype=np.float64).tobytes(): out[i] for i, x in enumerate(X)}
        return out

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if len(X) == 1 and (hit := self._known.get(np.ascontiguousarray(X[0]).tobytes())) is not None:
            return hit.reshape(1, -1)
        self.calls += 1
        return np.asarray(self.predict(X), dtype=np.float64)


def explainer(model: CountingModel, background: np.ndarray, use_logit: bool):
    import shap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Using N background data samples could cause slower run times"
        return shap.KernelExplainer(model, background, link="logit" if use_logit else "identity")


def explain_rows(explain, X: np.ndarray, nsamples: int | str, seed: int) -> np.ndarray:
    """SHAP values of each row of ``X``: (n, M, L), each row seeded by :func:`record_seed`."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x in X:
            np.random.seed(record_seed(seed, x))
            out.append(explain.shap_values(x.reshape(1, -1), nsamples=nsamples, l1_reg=False, silent=True)[0])
    return np.asarray(out, dtype=np.float64).reshape(len(X), X.shape[1], -1)


def default_nsamples(n_features: int) -> int:
    """shap's ``"auto"``: 2M + 2048 coalitions (shap caps it at the 2^M − 2 there are)."""
    return 2 * n_features + 2048


def partition_explainer(spec, background, nsamples: int, seed: int, use_logit: bool, n_outputs: int):
    """The ``mapInPandas`` function (``background``: the rows, or a Spark broadcast of them): ``key``, ``x``
    (array<double>) in; the same with ``phi`` (M × L values,
    feature-major), ``fx`` (the model's L outputs) and ``calls`` (model calls this batch made) out. A
    :class:`~monitor_lib.errors.MonitorError` (the model's, the endpoint's) ends the partition with one row
    carrying its message in ``error``: the driver reports it as one line, where a failed task would print
    the worker's traceback in Spark's log."""

    def run(batches: Iterator):
        import pandas as pd

        from monitor_lib.errors import MonitorError
        from monitor_lib.explain.predictor import predict_function

        try:
            model = CountingModel(predict_function(spec))
            explain = None
            for pdf in batches:
                if pdf.empty:
                    continue
                X = np.stack(pdf["x"].to_numpy()).astype(np.float64)
                before = model.calls
                if explain is None:
                    rows = background.value if hasattr(background, "value") else background
                    explain = explainer(model, rows, use_logit)
                fx = model.known(X)
                phi = explain_rows(explain, X, nsamples, seed)
                calls = [0] * len(X)
                calls[0] = model.calls - before
                yield pd.DataFrame({"key": pdf["key"].to_numpy(), "x": list(X),
                                    "phi": list(phi.reshape(len(X), -1)), "fx": list(fx.reshape(len(X), n_outputs)),
                                    "calls": calls, "error": [None] * len(X)})
        except MonitorError as e:
            yield pd.DataFrame({"key": [0], "x": [[]], "phi": [[]], "fx": [[]], "calls": [0], "error": [str(e)]})

    return run


SCHEMA = "key long, x array<double>, phi array<double>, fx array<double>, calls long, error string"
