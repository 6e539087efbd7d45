"""Peer benchmark (issue 18): our profile and drift check against whylogs and Evidently, on the same data and machine.

    make bench-peers      # or: .venv/bin/python scripts/benchmark_peers.py [--rows 1000000] [--quick] [--skip-peers]

One run generates, seeded: a reference table of ``--rows`` rows x 10 columns (8 numeric — normal, lognormal
(skewed), bimodal, exponential, uniform, wide normal, two integers — and 2 strings) as Parquet and CSV, a second
sample of the same distribution (false alarms) and a shifted one (drift), and a ``--wide-rows`` x 500-column
Parquet table. It times, each as the best of ``--repeats`` (>= 2) after one warm-up on the same file:

* ours: the data-quality baseline (``monitor_lib.runner.run_job``, warm SparkSession, outputs written) and the
  monitoring run of the shifted sample against it (the drift check);
* a bare Spark scan (``benchmark.bare_scan``: one sum per column, string lengths for strings);
* pandas ``read_parquet`` / ``read_csv`` + ``describe()`` as a single-threaded floor;
* whylogs 1.6.4 (``why.log`` of the pandas frame; drift: profile the target + ``calculate_drift_scores``) and
  Evidently 0.7.23 (``DataSummaryPreset``; ``DataDriftPreset``), in ``.venv-peers`` as subprocesses of this
  script (``--worker``): the venv is made with ``python -m venv`` and ``requirements-peers.lock`` on first use.
  Their times include reading the file into pandas (ours include reading it in Spark).

For every numeric column each tool's drift statistic on the shifted sample is set beside scipy's exact two-sample
KS (``scipy.stats.ks_2samp``), and each tool's drift flags on the same-distribution sample are counted as false
alarms. Results: a table on stdout and ``bench-output/benchmark_peers-<UTC time>.json`` (with the load average).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS_VENV = os.path.join(ROOT, ".venv-peers")
PEERS_LOCK = os.path.join(ROOT, "requirements-peers.lock")
NUMERIC = ["normal", "lognormal", "bimodal", "exponential", "uniform", "wide_normal", "int_small", "int_wide"]
STRINGS = ["category", "ident"]


# ------------------------------------------------------------------ data


def make_table(rows: int, seed: int, shift: bool = False) -> pd.DataFrame:
    """8 numeric + 2 string columns. ``shift``: every numeric column moved by a small fraction of its spread
    (KS about 0.02-0.1), the category mix changed."""
    rng = np.random.default_rng(seed)
    s = 1.0 if shift else 0.0
    half = rng.random(rows) < 0.5
    return pd.DataFrame({
        "normal": rng.normal(0.05 * s, 1.0, rows),
        "lognormal": rng.lognormal(0.0 + 0.05 * s, 1.0, rows),
        "bimodal": np.where(half, rng.normal(-2.0, 0.5, rows), rng.normal(2.0 + 0.1 * s, 0.5, rows)),
        "exponential": rng.exponential(1.0 + 0.1 * s, rows),
        "uniform": rng.uniform(0.0 + 0.02 * s, 1.0, rows),
        "wide_normal": rng.normal(1000.0, 250.0 * (1 + 0.1 * s), rows),
        "int_small": rng.integers(0, 10 + int(s), rows),
        "int_wide": rng.integers(-50_000, 50_000 + int(5_000 * s), rows),
        "category": rng.choice(["alpha", "beta", "gamma", "delta"], rows,
                               p=[0.4, 0.3, 0.2, 0.1] if not shift else [0.35, 0.3, 0.2, 0.15]),
        "ident": np.char.add("id", rng.integers(0, 10**6, rows).astype(str)),
    })


def make_wide(path: str, rows: int, width: int = 500) -> None:
    rng = np.random.default_rng(7)
    cols = {f"f{i}": (rng.normal(size=rows) if i % 2 else rng.integers(0, 100, rows)) for i in range(width)}
    pd.DataFrame(cols).to_parquet(path)


def read_pandas(path: str) -> pd.DataFrame:
    return pd.read_csv(path) if path.endswith(".csv") else pd.read_parquet(path)


def best(fn, repeats: int) -> tuple[float, list[float]]:
    """One warm-up call, then ``repeats`` timed calls; the best and all of them."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), times


# ------------------------------------------------------------------ peers (run inside .venv-peers)


def worker(args: argparse.Namespace) -> int:
    """Times one peer on the given files and prints one JSON object."""
    out: dict = {"tool": args.worker}
    ref_path = args.ref
    if args.worker == "whylogs":
        import whylogs as why
        from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

        out["version"] = why.__version__
        out["profile"] = best(lambda: why.log(pandas=read_pandas(ref_path)).view(), args.repeats)
        if args.target:
            ref_view = why.log(pandas=read_pandas(ref_path)).view()

            def drift(path):
                scores = calculate_drift_scores(target_view=why.log(pandas=read_pandas(path)).view(),
                                                reference_view=ref_view, with_thresholds=True)
                return {c: {"algorithm": v.get("algorithm"), "statistic": v.get("statistic"),
                            "pvalue": v.get("pvalue"), "category": v.get("drift_category")}
                        for c, v in scores.items() if v}

            out["drift"] = best(lambda: drift(args.target), args.repeats)
            out["drift_scores"] = drift(args.target)
            out["same_scores"] = drift(args.same)
    else:
        import evidently
        from evidently import Report
        from evidently.presets import DataDriftPreset, DataSummaryPreset

        out["version"] = evidently.__version__
        out["profile"] = best(lambda: Report([DataSummaryPreset()]).run(read_pandas(ref_path), None), args.repeats)
        if args.target:
            ref = read_pandas(ref_path)

            def drift(path):
                snap = Report([DataDriftPreset()]).run(read_pandas(path), ref)
                scores = {}
                for m in snap.dict()["metrics"]:
                    cfg = m.get("config", {})
                    if cfg.get("type", "").endswith(":ValueDrift"):
                        method, threshold, value = cfg.get("method", ""), cfg.get("threshold"), m.get("value")
                        # distances drift at or above their threshold, p-values below it
                        is_distance = any(w in method.lower() for w in ("distance", "divergence", "psi"))
                        drifted = (value >= threshold) if is_distance else (value < threshold)
                        scores[cfg["column"]] = {"method": method, "statistic": value, "threshold": threshold,
                                                 "drift": bool(drifted)}
                return scores

            out["drift"] = best(lambda: drift(args.target), args.repeats)
            out["drift_scores"] = drift(args.target)
            out["same_scores"] = drift(args.same)
    print("PEER-RESULT " + json.dumps(out, default=str), flush=True)
    return 0


def ensure_peers_venv() -> str:
    py = os.path.join(PEERS_VENV, "bin", "python")
    stamp = os.path.join(PEERS_VENV, ".installed")
    if not (os.path.exists(stamp) and os.path.getmtime(stamp) >= os.path.getmtime(PEERS_LOCK)):
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", PEERS_VENV], check=True)
            with open(os.path.join(PEERS_VENV, ".gitignore"), "w") as f:
                f.write("*\n")  # not part of the repository
        subprocess.run([py, "-m", "pip", "install", "--quiet", "-r", PEERS_LOCK], check=True)
        open(stamp, "w").close()
    return py


def run_peer(py: str, tool: str, ref: str, repeats: int, target: str | None = None, same: str | None = None,
             timeout: int = 3600) -> dict:
    cmd = [py, os.path.abspath(__file__), "--worker", tool, "--ref", ref, "--repeats", str(repeats)]
    if target:
        cmd += ["--target", target, "--same", same]
    env = {**os.environ, "WHYLOGS_NO_ANALYTICS": "True", "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("PEER-RESULT "):
            return json.loads(line[len("PEER-RESULT "):])
    return {"tool": tool, "error": (proc.stderr or proc.stdout)[-2000:]}


# ------------------------------------------------------------------ ours


def ours_baseline(spark, path: str, out: str):
    from monitor_lib.runner import run_job

    fmt = '{"csv": {"header": true}}' if path.endswith(".csv") else '{"parquet": {}}'
    shutil.rmtree(out, ignore_errors=True)
    return run_job("data-quality", {"dataset_source": path, "dataset_format": fmt, "output_path": out}, spark=spark)


def ours_monitor(spark, path: str, baseline: str, out: str, constraints: str | None = None):
    from monitor_lib.runner import run_job

    shutil.rmtree(out, ignore_errors=True)
    return run_job("data-quality", {
        "dataset_source": path, "dataset_format": '{"parquet": {}}', "output_path": out,
        "baseline_constraints": constraints or os.path.join(baseline, "constraints.json"),
        "baseline_statistics": os.path.join(baseline, "statistics.json")}, spark=spark)


def pandas_floor(path: str) -> None:
    read_pandas(path).describe()


# ------------------------------------------------------------------ report


def profile_case(spark, label: str, path: str, rows: int, args, peers_py: str | None, tmp: str) -> dict:
    from bench_common import load
    from benchmark import bare_scan

    print(f"\n{label} ({load()})", flush=True)
    res: dict = {"case": label, "rows": rows, "load_before": os.getloadavg()}
    bare_scan(spark, path)
    scans = [bare_scan(spark, path) for _ in range(args.repeats)]
    res["bare_scan"] = (min(scans), scans)
    res["ours_baseline"] = best(lambda: ours_baseline(spark, path, os.path.join(tmp, "base-" + label[:3])),
                                args.repeats)
    res["pandas_describe"] = best(lambda: pandas_floor(path), args.repeats)
    if peers_py:
        for tool in ("whylogs", "evidently"):
            r = run_peer(peers_py, tool, path, args.repeats)
            res[tool] = r.get("profile") or r
    res["load_after"] = os.getloadavg()
    scan = res["bare_scan"][0]
    print(f"  {'tool':<34} {'best s':>8} {'runs':<22} {'rows/s':>11} {'x scan':>7} {'time / ours':>11}")
    ours = res["ours_baseline"][0]
    for key in ("bare_scan", "ours_baseline", "pandas_describe", "whylogs", "evidently"):
        v = res.get(key)
        if not v:
            continue
        if isinstance(v, dict):
            print(f"  {key:<34} error: {v.get('error', '')[-300:]}")
            continue
        secs, runs = v
        print(f"  {key:<34} {secs:8.2f} {' / '.join(f'{t:.2f}' for t in runs):<22} {rows / secs:11,.0f} "
              f"{secs / scan:6.1f}x {secs / ours:10.2f}x", flush=True)
    return res


def drift_case(spark, ref: str, same: str, shift: str, args, peers_py: str | None, tmp: str) -> dict:
    from scipy.stats import ks_2samp

    base = os.path.join(tmp, "drift-baseline")
    ours_baseline(spark, ref, base)
    res: dict = {"case": "drift (Parquet)", "load_before": os.getloadavg()}
    res["ours_monitor"] = best(lambda: ours_monitor(spark, shift, base, os.path.join(tmp, "mon")), args.repeats)

    # the suggested constraints compare "Robust" (L-inf minus 1.8 sqrt((n+m)/nm), Deequ's KS critical value):
    # the plain L-inf ("Simple") is the number to set beside the exact KS
    with open(os.path.join(base, "constraints.json")) as f:
        simple = json.load(f)
    simple.setdefault("monitoring_config", {}).setdefault("distribution_constraints", {})["comparison_method"] = \
        "Simple"
    simple_path = os.path.join(tmp, "constraints-simple.json")
    with open(simple_path, "w") as f:
        json.dump(simple, f)

    def ours_scores(path, constraints=None):
        outcome = ours_monitor(spark, path, base, os.path.join(tmp, "mon"), constraints)
        return {m["name"]: {"statistic": m.get("drift_distance"), "threshold": m.get("drift_threshold")}
                for m in outcome.artifacts.measurements}

    res["scores"] = {"ours": {"shift": ours_scores(shift, simple_path), "same": ours_scores(same, simple_path)},
                     "ours_robust": {"shift": ours_scores(shift), "same": ours_scores(same)}}
    ref_df, same_df, shift_df = pd.read_parquet(ref), pd.read_parquet(same), pd.read_parquet(shift)
    res["scores"]["exact_ks"] = {
        "shift": {c: float(ks_2samp(ref_df[c], shift_df[c]).statistic) for c in NUMERIC},
        "same": {c: float(ks_2samp(ref_df[c], same_df[c]).statistic) for c in NUMERIC}}
    if peers_py:
        for tool in ("whylogs", "evidently"):
            r = run_peer(peers_py, tool, ref, args.repeats, target=shift, same=same)
            if "error" in r:
                res[tool] = r
                continue
            res[tool] = r["drift"]
            res["scores"][tool] = {"shift": r["drift_scores"], "same": r["same_scores"], "version": r.get("version")}
    res["load_after"] = os.getloadavg()
    print("\ndrift check, shifted sample (time includes reading the target)", flush=True)
    ours = res["ours_monitor"][0]
    for key in ("ours_monitor", "whylogs", "evidently"):
        v = res.get(key)
        if isinstance(v, dict):
            print(f"  {key:<14} error: {v.get('error', '')[-300:]}")
        elif v:
            print(f"  {key:<14} {v[0]:8.2f} s ({' / '.join(f'{t:.2f}' for t in v[1])}), time / ours "
                  f"{v[0] / ours:.2f}x", flush=True)
    sc = res["scores"]
    print(f"\n  {'column':<12} {'exact KS':>9} {'ours L∞':>9} {'whylogs KS':>11} {'Evidently':>10}   "
          f"same-dist: {'exact':>7} {'ours':>7} {'whylogs':>8} {'Evid.':>7}")

    def g(tool, kind, col):
        v = sc.get(tool, {}).get(kind, {}).get(col) or {}
        x = v.get("statistic") if isinstance(v, dict) else v
        return f"{x:.4f}" if isinstance(x, int | float) else "-"

    for c in NUMERIC:
        print(f"  {c:<12} {sc['exact_ks']['shift'][c]:9.4f} {g('ours', 'shift', c):>9} {g('whylogs', 'shift', c):>11} "
              f"{g('evidently', 'shift', c):>10}   {'':>10} {sc['exact_ks']['same'][c]:7.4f} {g('ours', 'same', c):>7} "
              f"{g('whylogs', 'same', c):>8} {g('evidently', 'same', c):>7}", flush=True)
    print("  ours L∞: the plain (Simple) L∞ of the KLL CDFs; alarms below use the suggested constraints (Robust)")
    ours_alarms = [c for c, v in sc["ours_robust"]["same"].items() if v["statistic"] is not None and v["threshold"]
                   and v["statistic"] > v["threshold"]]
    wl_alarms = [c for c, v in sc.get("whylogs", {}).get("same", {}).items()
                 if v.get("category") in ("DRIFT", "POSSIBLE_DRIFT")]
    ev_alarms = [c for c, v in sc.get("evidently", {}).get("same", {}).items() if v.get("drift")]
    ev_missed = [c for c, v in sc.get("evidently", {}).get("shift", {}).items() if not v.get("drift")]
    wl_missed = [c for c, v in sc.get("whylogs", {}).get("shift", {}).items() if v.get("category") != "DRIFT"]
    ours_missed = [c for c, v in sc["ours_robust"]["shift"].items() if v["statistic"] is not None and v["threshold"]
                   and v["statistic"] <= v["threshold"]]
    res["false_alarms"] = {"ours": ours_alarms, "whylogs": wl_alarms, "evidently": ev_alarms}
    res["not_flagged_on_shift"] = {"ours": ours_missed, "whylogs": wl_missed, "evidently": ev_missed}
    ran = {"whylogs": "whylogs" in sc, "evidently": "evidently" in sc}

    def names(tool, cols):
        return (cols or "none") if ran.get(tool, True) else "not run"

    print(f"  false alarms on the same-distribution sample: ours {names('ours', ours_alarms)}, "
          f"whylogs (DRIFT or POSSIBLE_DRIFT) {names('whylogs', wl_alarms)}, "
          f"Evidently {names('evidently', ev_alarms)}")
    print(f"  shifted columns not flagged: ours {names('ours', ours_missed)}, whylogs {names('whylogs', wl_missed)}, "
          f"Evidently {names('evidently', ev_missed)}")
    methods = sorted({v.get("method") for v in sc.get("evidently", {}).get("shift", {}).values()} - {None})
    if methods:
        print(f"  Evidently's statistics are its defaults, not KS: {', '.join(methods)}")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--wide-rows", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="a smoke check: 20,000 rows, 2,000 wide rows")
    ap.add_argument("--skip-peers", action="store_true", help="no whylogs / Evidently (no PyPI on this machine)")
    ap.add_argument("--skip-narrow", action="store_true", help="no 10-column Parquet profile and drift cases")
    ap.add_argument("--skip-csv", action="store_true")
    ap.add_argument("--skip-wide", action="store_true")
    ap.add_argument("--worker", choices=("whylogs", "evidently"), help=argparse.SUPPRESS)
    ap.add_argument("--ref", help=argparse.SUPPRESS)
    ap.add_argument("--target", help=argparse.SUPPRESS)
    ap.add_argument("--same", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    if args.quick:
        args.rows, args.wide_rows = 20_000, 2_000
    args.repeats = max(2, args.repeats)
    from bench_common import load, source_state

    os.environ.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")
    peers_py = None if args.skip_peers else ensure_peers_venv()
    from monitor_lib.spark import get_spark

    started = time.perf_counter()
    spark = get_spark("model-monitor-benchmark-peers")
    print(f"source: {source_state()}; Spark {spark.version}, master {spark.sparkContext.master}, "
          f"{os.cpu_count()} cores, {load()}", flush=True)
    results: dict = {"source": source_state(), "argv": sys.argv, "cores": os.cpu_count(), "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        ref, same, shift = (os.path.join(tmp, f"{n}.parquet") for n in ("reference", "same", "shifted"))
        make_table(args.rows, 1).to_parquet(ref, row_group_size=500_000)
        make_table(args.rows, 2).to_parquet(same, row_group_size=500_000)
        make_table(args.rows, 3, shift=True).to_parquet(shift, row_group_size=500_000)
        if not args.skip_narrow:
            results["cases"].append(profile_case(spark, f"{args.rows:,} x 10 Parquet", ref, args.rows, args,
                                                 peers_py, tmp))
            results["cases"].append(drift_case(spark, ref, same, shift, args, peers_py, tmp))
        if not args.skip_csv:
            csv = os.path.join(tmp, "reference.csv")
            pd.read_parquet(ref).to_csv(csv, index=False)
            results["cases"].append(profile_case(spark, f"{args.rows:,} x 10 CSV", csv, args.rows, args, peers_py,
                                                 tmp))
        if not args.skip_wide:
            wide = os.path.join(tmp, "wide.parquet")
            make_wide(wide, args.wide_rows)
            results["cases"].append(profile_case(spark, f"{args.wide_rows:,} x 500 Parquet", wide, args.wide_rows,
                                                 args, peers_py, tmp))
    results["source_at_end"] = source_state()
    results["load_at_end"] = os.getloadavg()
    os.makedirs(os.path.join(ROOT, "bench-output"), exist_ok=True)
    path = os.path.join(ROOT, "bench-output", f"benchmark_peers-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)
    print(f"\ntotal {time.perf_counter() - started:.0f} s, {load()}; wrote {os.path.relpath(path, ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
