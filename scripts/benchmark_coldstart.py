"""Cold-start benchmark (issue 18, item 5): what the ``model-monitor`` CLI costs before it does any work.

    make bench            # or: .venv/bin/python scripts/benchmark_coldstart.py [--rounds 3 --rows 1000]

Every timing runs in a FRESH process (a cold start is what is measured), the best of ``--rounds`` (default 3)
after one warm-up (which fills the OS file cache and Python's bytecode cache):

* **interpreter**: ``python -c pass`` with the project's venv — the floor of any command;
* **CLI without Spark**: ``model-monitor --help``, ``--version``, an argument error (``--format nope``) and a
  configuration error (an unknown YAML key). Each must stay well under a second and import no pyspark
  (``python -X importtime`` lists what each imported; the heavy third-party packages are shown);
* **import cost**: ``python -X importtime`` of the ``--help`` path, summed by top-level package, the largest
  listed;
* **SparkSession**: time to a ready session through ``monitor_lib.spark.get_spark`` and its first tiny job
  (``spark.range(1000)`` summed), against a **bare PySpark session** in its own process
  (``SparkSession.builder.master("local[*]").getOrCreate()``, nothing else set): the reference of the ratios;
* **class-data sharing**: ``get_spark`` and the jobs below with the archive of Spark's classes off
  (``MODEL_MONITOR_CLASS_CACHE=off``) and on (a cache folder of this run: the warm-up's JVM writes it as it exits,
  the next run checks and promotes it), interleaved round by round; the warm-up's exit shows what writing costs;
* **small jobs through the CLI**: a data-quality baseline of a ``--rows``-row CSV and a monitoring run over the
  same rows as SageMaker data capture (one hour folder), each in a fresh process calling
  ``monitor_lib.cli.main`` after timing ``get_spark`` (which the run then reuses), so the wall time splits into
  interpreter + imports, session start, the run itself (read, profile, check, write) and the exit (JVM
  shutdown).

The machine is shared and noisy: read the ratios to the bare session of the same run, not the seconds. Spark
settings for an experiment: ``--conf KEY=VALUE`` (repeatable) is passed to every Spark process, ours and the
bare one, as ``spark-submit --conf`` would (``PYSPARK_SUBMIT_ARGS``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import load, source_state  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CLI = str(Path(PYTHON).parent / "model-monitor")
HEAVY = ("pyspark", "py4j", "pandas", "numpy", "pyarrow", "scipy", "boto3", "botocore", "urllib3", "datasketches",
         "jinja2", "yaml", "requests", "sklearn")
ENDPOINT = "coldstart-endpoint"
HOUR = "2026/11/20/10"

# A child process that marks its progress in seconds since the parent started it (MARK_ORIGIN, epoch seconds).
_CHILD = r"""
import json, os, sys, time
origin = float(os.environ["MARK_ORIGIN"])
marks = {}
def mark(name):
    marks[name] = time.time() - origin
def cpu():  # CPU seconds of this interpreter and of the JVM it started (from /proc: Linux only)
    import resource
    from pyspark import SparkContext
    usage = resource.getrusage(resource.RUSAGE_SELF)
    marks["python_cpu"] = usage.ru_utime + usage.ru_stime
    proc = getattr(SparkContext._gateway, "proc", None)
    try:
        with open(f"/proc/{proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        marks["jvm_cpu"] = sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError):
        pass
mark("python")
mode, argv = sys.argv[1], sys.argv[2:]
if mode == "bare":
    from pyspark.sql import SparkSession
    mark("imports")
    spark = SparkSession.builder.master("local[*]").getOrCreate()
    mark("session")
    spark.range(1000).selectExpr("sum(id)").collect()
    mark("work")
    cpu()
elif mode == "session":
    from monitor_lib.spark import get_spark
    import pyspark.sql  # what the runner imports anyway
    mark("imports")
    spark = get_spark()
    mark("session")
    spark.range(1000).selectExpr("sum(id)").collect()
    mark("work")
    cpu()
else:  # a CLI command: its modules, the session it will reuse, then the command
    from monitor_lib import cli
    from monitor_lib.spark import get_spark
    import pyspark.sql
    mark("imports")
    get_spark()
    mark("session")
    code = cli.main(argv)
    mark("work")
    cpu()
    if code != 0:
        sys.exit(f"exit {code}")
print("MARKS " + json.dumps(marks))
"""


# ------------------------------------------------------------------ running fresh processes


def _env(confs: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET")}
    env.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")
    if confs:
        env["PYSPARK_SUBMIT_ARGS"] = " ".join(f"--conf {c}" for c in confs) + " pyspark-shell"
    return env


def timed(cmd: list[str], env: dict[str, str], cwd: str, expect: int = 0) -> tuple[float, dict[str, float]]:
    """Wall seconds of ``cmd`` and the marks it printed (none for a command that prints none)."""
    env = {**env, "MARK_ORIGIN": repr(time.time())}
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=1800)
    wall = time.perf_counter() - started
    if proc.returncode != expect:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode} (expected {expect}):\n{proc.stderr[-3000:]}")
    marks = {}
    for line in proc.stdout.splitlines():
        if line.startswith("MARKS "):
            marks = json.loads(line[6:])
    return wall, marks


def best(rounds: int, run: Callable[[], tuple[float, dict[str, float]]]) -> tuple[float, dict[str, float]]:
    """The fastest of ``rounds`` runs after one warm-up."""
    run()
    return min((run() for _ in range(rounds)), key=lambda r: r[0])


def compare(rounds: int, runs: dict[str, tuple], cwd: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """Each run's best phases of ``rounds`` after one warm-up, the runs interleaved round by round (the load moves
    under all of them alike), and the warm-ups' phases. A run is ``(argv or a function making it, env)``."""
    def once(name: str) -> tuple[float, dict[str, float]]:
        argv, env = runs[name]
        return timed(argv() if callable(argv) else argv, env, cwd)

    warmups = {name: phases(*once(name)) for name in runs}
    found: dict[str, dict] = {}
    for _ in range(rounds):
        for name in runs:
            p = phases(*once(name))
            if name not in found or p["total"] < found[name]["total"]:
                found[name] = p
    return found, warmups


def print_rows(results: dict[str, dict], bare: dict[str, float]) -> None:
    for what, p in results.items():
        print(f"{what:<50}{p['imports']:>8.2f}{p['session']:>8.2f}{p['work']:>8.2f}{p['exit']:>7.2f}"
              f"{p['total']:>8.2f}{p['jvm_cpu']:>9.2f}{p['session'] / bare['session']:>16.2f}"
              f"{p['total'] / bare['total']:>14.2f}", flush=True)


def phases(wall: float, marks: dict[str, float]) -> dict[str, float]:
    """Wall time split by the child's marks: interpreter + imports, session start, work, exit."""
    return {"imports": marks["imports"], "session": marks["session"] - marks["imports"],
            "work": marks["work"] - marks["session"], "exit": wall - marks["work"], "total": wall,
            "jvm_cpu": marks.get("jvm_cpu", float("nan")), "python_cpu": marks.get("python_cpu", float("nan"))}


# ------------------------------------------------------------------ import cost


def import_profile(argv: list[str], env: dict[str, str], cwd: str, expect: int) -> dict[str, float]:
    """``python -X importtime -m monitor_lib.cli ARGV``: self time (ms) by top-level package (``monitor_lib`` by
    its second level)."""
    proc = subprocess.run([PYTHON, "-X", "importtime", "-m", "monitor_lib.cli", *argv], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)
    if proc.returncode != expect:
        raise SystemExit(f"model-monitor {' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    by_package: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line[len("import time:"):].split("|")
        parts = name.strip().lstrip("_").split(".")
        key = ".".join(parts[:2]) if parts[0] == "monitor_lib" else parts[0]
        by_package[key] = by_package.get(key, 0.0) + int(self_us) / 1000
    return by_package


def heavy_of(profile: dict[str, float]) -> str:
    found = [p for p in HEAVY if p in profile]
    return ", ".join(found) if found else "none"


# ------------------------------------------------------------------ data


def write_data(folder: Path, rows: int) -> tuple[Path, Path]:
    """A ``rows``-row CSV (2 float, 1 integer, 1 categorical feature, the prediction last) and the same rows as one
    hour of SageMaker data capture with CSV payloads."""
    import numpy as np

    rng = np.random.default_rng(18)
    x1 = np.round(rng.normal(50, 10, rows), 3)
    x2 = np.round(rng.gamma(2.0, 3.0, rows), 3)
    n1 = rng.integers(0, 100, rows)
    cat = rng.choice(["a", "b", "c"], rows)
    pred = np.round(rng.random(rows), 4)
    csv = folder / "data.csv"
    with open(csv, "w", encoding="utf-8") as fh:
        fh.write("x1,x2,n1,cat,prediction\n")
        for row in zip(x1, x2, n1, cat, pred, strict=True):
            fh.write(",".join(str(v) for v in row) + "\n")
    capture = folder / "capture"
    hour = capture / ENDPOINT / "AllTraffic" / HOUR
    hour.mkdir(parents=True)
    with open(hour / "00-00-000-coldstart.jsonl", "w", encoding="utf-8") as fh:
        for i, row in enumerate(zip(x1, x2, n1, cat, pred, strict=True)):
            data = {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                      "data": ",".join(str(v) for v in row[:4]), "encoding": "CSV"},
                    "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": str(row[4]),
                                       "encoding": "CSV"}}
            meta = {"eventId": f"e{i}", "inferenceTime": f"2026-11-20T10:{i * 60 // rows:02d}:00Z"}
            fh.write(json.dumps({"captureData": data, "eventMetadata": meta, "eventVersion": "0"}) + "\n")
    return csv, capture


# ------------------------------------------------------------------ main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="timed runs after the warm-up (default 3)")
    ap.add_argument("--rows", type=int, default=1000, help="rows of the small jobs (default 1000)")
    ap.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                    help="a Spark setting for every Spark process (repeatable)")
    ap.add_argument("--skip-jobs", action="store_true", help="no baseline / monitoring runs (the slow part)")
    args = ap.parse_args()

    print(f"cold start, best of {args.rounds} after one warm-up, fresh processes; {source_state()}")
    print(f"before: {load()}")
    env = _env(args.conf)
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        work = Path(tmp)
        csv, capture = write_data(work, args.rows)
        bad_yaml = work / "bad.yaml"
        bad_yaml.write_text("dataset_source: x\ndataset_sauce: y\n")
        child = work / "child.py"
        child.write_text(_CHILD)
        cwd = str(work)

        rows: list[tuple[str, str, str]] = []  # (what, seconds, notes)
        floor, _ = best(args.rounds, lambda: timed([PYTHON, "-c", "pass"], env, cwd))
        rows.append(("python -c pass (interpreter floor)", f"{floor:.2f}", ""))
        light = [("model-monitor --help", ["--help"], 0), ("model-monitor --version", ["--version"], 0),
                 ("argument error (--format nope)",
                  ["baseline", "--dataset", str(csv), "--format", "nope", "--output", "o"], 2),
                 ("config error (unknown YAML key)", ["baseline", "--config", str(bad_yaml), "--output", "o"], 2)]
        help_profile: dict[str, float] = {}
        for what, argv, code in light:
            wall, _ = best(args.rounds, lambda argv=argv, code=code: timed([CLI, *argv], env, cwd, code))
            profile = import_profile(argv, env, cwd, code)
            help_profile = help_profile or profile
            rows.append((what, f"{wall:.2f}", f"+{wall - floor:.2f} s over the floor; heavy imports: "
                                              f"{heavy_of(profile)}"))

        print(f"\n{'command / step':<52}{'seconds':>9}  notes")
        for what, secs, notes in rows:
            print(f"{what:<52}{secs:>9}  {notes}")

        total = sum(help_profile.values())
        print(f"\nimport cost of `model-monitor --help` (python -X importtime, self time, {total:.0f} ms in all; "
              "inflated by the measurement):")
        for name, ms in sorted(help_profile.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {name:<40}{ms:8.1f} ms")

        # class-data sharing off (MODEL_MONITOR_CLASS_CACHE=off) and on (a cache folder of this run: its warm-up
        # writes the archive, the next run checks and promotes it), interleaved round by round
        env_off = {**env, "MODEL_MONITOR_CLASS_CACHE": "off"}
        env_on = {**env, "MODEL_MONITOR_CLASS_CACHE": str(work / "class-cache")}
        session = {"bare PySpark session + sum of range(1000)": ([PYTHON, str(child), "bare"], env),
                   "get_spark() + sum, class archive off": ([PYTHON, str(child), "session"], env_off),
                   "get_spark() + sum, class archive on": ([PYTHON, str(child), "session"], env_on)}
        results, warmups = compare(args.rounds, session, cwd)
        bare = results["bare PySpark session + sum of range(1000)"]
        print(f"\n{'fresh process':<50}{'imports':>8}{'session':>8}{'work':>8}{'exit':>7}{'total':>8}"
              f"{'JVM CPU':>9}{'x bare session':>16}{'x bare total':>14}")
        print_rows(results, bare)
        first = warmups["get_spark() + sum, class archive on"]
        if not args.skip_jobs:
            baseline_out = work / "baseline"
            baseline = ["baseline", "--dataset", str(csv), "--format", "csv", "--header", "--output"]
            # the monitoring run needs a baseline: one run outside the timing
            timed([PYTHON, str(child), "cli", *baseline, str(baseline_out)], env_on, cwd)
            monitor = ["monitor", "--dataset", str(capture), "--output-columns-position", "END",
                       "--baseline-statistics", str(baseline_out / "statistics.json"),
                       "--baseline-constraints", str(baseline_out / "constraints.json"),
                       "--start-time", "2026-11-20T10:00:00Z", "--end-time", "2026-11-20T11:00:00Z",
                       "--endpoint", ENDPOINT, "--output"]
            counter = iter(range(10**6))

            def out() -> str:
                return str(work / f"out-{next(counter)}")

            jobs = {}
            for what, argv in ((f"CLI baseline, {args.rows}-row CSV", baseline),
                               (f"CLI monitor, {args.rows} captured records", monitor)):
                for label, e in (("off", env_off), ("on", env_on)):
                    jobs[f"{what}, archive {label}"] = (lambda argv=argv: [PYTHON, str(child), "cli", *argv, out()], e)
            print_rows(compare(args.rounds, jobs, cwd)[0], bare)
        print("\nseconds of wall time. imports: interpreter start + imports; session: to a ready SparkSession; work: "
              "the tiny job, or the CLI command (read, profile, check, write); exit: interpreter and JVM shutdown; "
              "JVM CPU: CPU seconds the JVM used up to the end of the work (less sensitive to other load than wall "
              "time). x bare session: session start over the bare PySpark session's; x bare total: the whole "
              "process over the bare process (session + a tiny job).")
        print(f"\nthe first run with the class archive on writes it as its JVM exits: exit {first['exit']:.2f} s, "
              f"total {first['total']:.2f} s (once per java / Spark / heap size; a terminal does not wait for it, "
              "a caller reading the JVM's output does)")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
