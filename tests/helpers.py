"""Test data generators and exact references (numpy / pandas), independent of the code under test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# The real SageMaker outputs, read from ../shared beside the repository (never copied into it).
FIXTURES = (Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "sagemaker").resolve()


def exact_buckets(values: np.ndarray, lo: float, hi: float, n: int = 10) -> list[tuple[float, float, int]]:
    """The exact histogram with SageMaker's edges: [lo_i, hi_i) buckets, the last one closed."""
    v = np.sort(values)
    out = []
    for i in range(n):
        a = lo + (hi - lo) * i / float(n)
        b = lo + (hi - lo) * (i + 1) / float(n)
        right = np.searchsorted(v, b, side="right" if i == n - 1 else "left")
        out.append((a, b, int(right - np.searchsorted(v, a, side="left"))))
    return out


def mixed_frame(n: int, seed: int = 7) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """A CSV-ready frame (all strings, '' = missing) with numeric, string, null-bearing, mixed-type
    and all-null columns, plus the numeric truth behind each numeric column."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 91, n)
    income = np.round(rng.lognormal(10, 0.7, n), 2)
    balance = np.round(rng.normal(0, 1000, n), 3)
    balance_missing = rng.random(n) < 0.05
    cities = np.array([f"city_{i:02d}" for i in range(50)])
    city = cities[np.minimum(rng.zipf(1.5, n) - 1, 49)]
    user = np.char.add("u", rng.integers(0, 700_000, n).astype(str))
    mixed = rng.integers(0, 1000, n).astype(str).astype(object)
    mixed[rng.random(n) < 0.001] = "n/a"
    flag = np.where(rng.random(n) < 0.3, "true", "false")
    score = rng.random(n)
    frame = pd.DataFrame({
        "age": age.astype(str),
        "income": [repr(float(x)) for x in income],
        "balance": np.where(balance_missing, "", [repr(float(x)) for x in balance]),
        "city": city,
        "user id": user,
        "mixed": mixed,
        "flag": flag,
        "größe.v2": [repr(float(x)) for x in score],
        "empty": [""] * n,
    })
    truth = {"age": age.astype(float), "income": income, "balance": balance[~balance_missing],
             "größe.v2": score}
    return frame, truth


def capture_line(inp: str | None, out: str | None = None, time: str | None = "2026-11-20T10:15:00Z", *,
                 in_encoding: str = "CSV", in_type: str = "text/csv", out_encoding: str = "CSV",
                 out_type: str = "text/csv", event_id: str = "e", **meta: str) -> str:
    """One SageMaker data-capture record (spec §1.1) as a JSON line."""
    import json

    data = {}
    if inp is not None:
        data["endpointInput"] = {"observedContentType": in_type, "mode": "INPUT", "data": inp, "encoding": in_encoding}
    if out is not None:
        data["endpointOutput"] = {"observedContentType": out_type, "mode": "OUTPUT", "data": out,
                                  "encoding": out_encoding}
    metadata = {"eventId": event_id, **meta}
    if time is not None:
        metadata["inferenceTime"] = time
    return json.dumps({"captureData": data, "eventMetadata": metadata, "eventVersion": "0"})


def simple_constraints(names: list[str], inferred_type: str = "Fractional", **monitoring) -> dict:
    """A constraints.json document with one feature per name and SageMaker's default monitoring_config."""
    config = {"evaluate_constraints": "Enabled", "emit_metrics": "Enabled", "datatype_check_threshold": 1.0,
              "domain_content_threshold": 1.0,
              "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": 0.1,
                                           "comparison_method": "Robust"}}
    config.update(monitoring)
    return {"version": 0.0, "features": [{"name": n, "inferred_type": inferred_type, "completeness": 1.0}
                                         for n in names], "monitoring_config": config}


def run_process(cmd, env_extra=None, env=None, timeout=600):
    """Run a command from the repository root with the current environment (minus PySpark's gateway)."""
    import os
    import subprocess

    env = dict(os.environ if env is None else env)
    env.update(env_extra or {})
    env.pop("PYSPARK_GATEWAY_PORT", None)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=Path(__file__).resolve().parents[1])
