"""The demo: generate a credit-default-style training set and baseline it in Spark local mode.

Run with `make demo`. Writes under ./demo-output and prints where the files are and a summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "demo-output"


def credit_default(n: int = 30_000, seed: int = 42) -> pd.DataFrame:
    """A synthetic take on the UCI 'default of credit card clients' table (no download needed)."""
    rng = np.random.default_rng(seed)
    limit = rng.choice(np.arange(10_000, 800_001, 10_000), n)
    bill = np.round(limit * rng.beta(2, 5, n), 2)
    frame = pd.DataFrame({
        "LIMIT_BAL": limit,
        "SEX": rng.choice([1, 2], n, p=[0.4, 0.6]),
        "EDUCATION": rng.choice(["graduate school", "university", "high school", "others"], n, p=[0.35, 0.47, 0.16, 0.02]),
        "MARRIAGE": rng.choice(["married", "single", "others"], n, p=[0.45, 0.53, 0.02]),
        "AGE": rng.integers(21, 80, n),
        "PAY_0": rng.choice([-2, -1, 0, 1, 2, 3], n, p=[0.1, 0.2, 0.5, 0.12, 0.06, 0.02]),
        "BILL_AMT1": bill,
        "PAY_AMT1": np.round(bill * rng.beta(1, 8, n), 2),
        "default payment next month": (rng.random(n) < 0.22).astype(int),
    })
    frame.loc[rng.random(n) < 0.01, "BILL_AMT1"] = np.nan  # a few unknown bills
    return frame


def main() -> int:
    from monitor_lib.cli import main as cli

    data = OUT / "data" / "train.csv"
    data.parent.mkdir(parents=True, exist_ok=True)
    credit_default().to_csv(data, index=False)
    print(f"generated {data} (30,000 rows, 9 columns)\n")
    out = OUT / "baseline"
    code = cli(["baseline", "--dataset", str(data), "--format", "csv", "--header", "--output", str(out)])
    if code:
        return code
    stats = json.loads((out / "statistics.json").read_text())
    constraints = {f["name"]: f for f in json.loads((out / "constraints.json").read_text())["features"]}
    print("\nfeature                     type        missing  summary / suggested constraint")
    for f in stats["features"]:
        c = constraints[f["name"]]
        if "numerical_statistics" in f:
            s = f["numerical_statistics"]
            summary = (f"mean {s['mean']:.2f}, std {s['std_dev']:.2f}, [{s['min']:g}, {s['max']:g}]"
                       f"; non-negative: {c['num_constraints']['is_non_negative']}")
        else:
            s = f["string_statistics"]
            domain = c.get("string_constraints", {}).get("domains")
            summary = f"{int(s['distinct_count'])} distinct" + (f"; domain {domain}" if domain else "")
        print(f"{f['name']:<28}{f['inferred_type']:<12}{s['common']['num_missing']:>7}  {summary}")
    print(f"\nopen {out / 'statistics.json'} and {out / 'constraints.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
