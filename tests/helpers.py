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


def run_process(cmd, env_extra=None, env=None, timeout=600, cwd=None):
    """Run a command from the repository root (or ``cwd``) with the current environment (minus PySpark's
    gateway)."""
    import os
    import subprocess

    env = dict(os.environ if env is None else env)
    env.update(env_extra or {})
    env.pop("PYSPARK_GATEWAY_PORT", None)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=cwd or Path(__file__).resolve().parents[1])


# ---------------------------------------------------------------- headless Chromium (Debian's package)

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")


def chromium_binary() -> str:
    import os
    import shutil

    path = os.environ.get("MODEL_MONITOR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    assert os.path.exists(path), (f"headless Chromium is needed at {path}: `make test` installs Debian's chromium "
                                  "(scripts/ensure_chromium.sh); or set MODEL_MONITOR_CHROMIUM")
    return path


def _chromium(args: list[str], workdir: Path) -> str:
    import subprocess

    profile = workdir / f"chromium-profile-{len(list(workdir.glob('chromium-profile-*')))}"
    done = subprocess.run([chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def page_dom(page: Path, workdir: Path) -> tuple[str, list[str]]:
    """The page's DOM after Chromium loaded it, and every network request the page itself made (from
    Chromium's net log: requests in the page's file:// isolation context; Chromium's own background
    requests to its update and account services are not the page's)."""
    import json

    log = workdir / f"net-{page.stem}-{len(list(workdir.glob('net-*.json')))}.json"
    dom = _chromium([f"--log-net-log={log}", "--virtual-time-budget=3000", "--dump-dom", page.resolve().as_uri()],
                    workdir)
    events = json.loads(log.read_text())
    names = {v: k for k, v in events["constants"]["logEventTypes"].items()}
    requests = [e["params"]["url"] for e in events["events"]
                if names.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in e.get("params", {})
                and "file://" in e["params"].get("network_isolation_key", "")]
    return dom, requests


def page_screenshot(page: Path, workdir: Path, width: int = 1200, height: int = 2400) -> Path:
    shot = workdir / f"{page.stem}-{len(list(workdir.glob('*.png')))}.png"
    _chromium([f"--window-size={width},{height}", f"--screenshot={shot}", page.resolve().as_uri()], workdir)
    return shot


def ink(png: Path) -> dict[str, float]:
    """Shares of a screenshot's pixels: anything but the page background, the report's blue (current
    values), red (violations) and grey (baseline) — to tell a drawn page from a blank one."""
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)

    def near(rgb: tuple[int, int, int], tol: int = 30) -> float:
        return float((np.abs(pixels - np.array(rgb)).sum(axis=1) <= tol).mean())

    background = near((245, 247, 250), 6) + near((255, 255, 255), 6)
    return {"drawn": 1.0 - background, "blue": near((47, 111, 223)), "red": near((214, 51, 108)),
            "grey": near((154, 165, 177))}


def analyze_in_process(root: Path, monkeypatch, env: dict | None = None) -> str:
    """``model-monitor analyze`` in this process, as the container runs it: parameters from
    <root>/config/processingjobconfig.json (``env``, when given), the exit message in <root>/output/message."""
    import json

    from monitor_lib.cli import main

    if env is not None:
        (root / "config").mkdir(parents=True, exist_ok=True)
        (root / "config" / "processingjobconfig.json").write_text(json.dumps({"Environment": env}))
    monkeypatch.setenv("MODEL_MONITOR_OPT_ML", str(root))
    assert main(["analyze"]) == 0
    return (root / "output" / "message").read_text()
