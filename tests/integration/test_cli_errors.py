"""Bad files and flags through `model-monitor` as a user runs it (a subprocess): exactly one line on stderr
starting with `error: ` that names the file or field, nothing on stdout, no traceback anywhere, exit code 2
(monitor_lib/errors.py). argparse's own usage errors exit 2 too, with its usage text.

Every case fails before Spark starts: the baseline files are read first thing in the run and Spark starts
lazily; a started Spark would print its own lines on stderr, which the one-line rule catches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES

REPO = Path(__file__).resolve().parents[2]
MODEL_MONITOR = str(Path(sys.executable).parent / "model-monitor")
DQ_CONSTRAINTS = FIXTURES / "sdk-pipeline-dq-baseline" / "good_cases" / "constraints.json"
DQ_STATISTICS = FIXTURES / "sdk-pipeline-dq-baseline" / "statistics.json"
MQ_CONSTRAINTS = FIXTURES / "sdk-pipeline-mq-regression" / "good_cases" / "constraints.json"
ANALYZER_KEYS = ("dataset_source", "dataset_format", "output_path", "baseline_constraints", "baseline_statistics",
                 "analysis_type", "start_time", "end_time", "publish_cloudwatch_metrics", "PYSPARK_GATEWAY_PORT",
                 "PYSPARK_GATEWAY_SECRET")

@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Bad baseline files and configs, one dataset (never read: every case fails before)."""
    d = tmp_path_factory.mktemp("cli-errors")
    (d / "data.csv").write_text("a,b\n1,2\n")
    (d / "corrupt.json").write_text('{"features": [')
    (d / "empty.json").write_text("")
    (d / "list.json").write_text("[]")
    (d / "binary.json").write_bytes(b"\xff\xfe\x00\x81 not utf-8")
    (d / "no_features.json").write_text(json.dumps({"version": 0.0, "monitoring_config": {}}))  # constraints
    (d / "no_dataset.json").write_text(json.dumps({"version": 0.0, "features": []}))  # statistics
    (d / "no_group.json").write_text(json.dumps({"version": 0.0}))  # model-quality constraints
    (d / "a_folder.json").mkdir()
    (d / "unknown_key.yaml").write_text("dataset_source: x\ndataset_sauce: y\n")
    (d / "bad_switch.yaml").write_text("publish_cloudwatch_metrics: maybe\n")
    (d / "broken.yaml").write_text("kll_k: [1,\n")
    (d / "binary.yaml").write_bytes(b"\xff\xfe\x00\x81 not utf-8")
    return {p.name: p for p in d.iterdir()} | {"missing.json": d / "missing.json", "out": d / "out", "dir": d}


def _dq_monitor(f: dict[str, Path], constraints: Path | None = None, statistics: Path | None = None) -> list[str]:
    argv = ["monitor", "--dataset", str(f["data.csv"]), "--format", "csv", "--header", "--output", str(f["out"]),
            "--baseline-constraints", str(constraints or DQ_CONSTRAINTS)]
    return argv + (["--baseline-statistics", str(statistics)] if statistics else [])


def _mq_monitor(f: dict[str, Path], constraints: Path) -> list[str]:
    return ["monitor", "--type", "model-quality", "--dataset", str(f["data.csv"]), "--format", "csv", "--header",
            "--problem-type", "Regression", "--inference-attribute", "a", "--ground-truth-attribute", "b",
            "--output", str(f["out"]), "--baseline-constraints", str(constraints)]


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ANALYZER_KEYS}
    return subprocess.run([MODEL_MONITOR, *argv], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.returncode == 2, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith("error: ")
    return lines[0]


# ---------------------------------------------------------------- bad baseline files

# (which file, bad file, what the message says besides its path)
BASELINE_FILES = [
    pytest.param("dq-constraints", "corrupt.json", "invalid JSON at line 1 column 15", id="dq-constraints-corrupt"),
    pytest.param("dq-constraints", "empty.json", "invalid JSON at line 1 column 1", id="dq-constraints-empty"),
    pytest.param("dq-constraints", "list.json", "expected an object, got an array", id="dq-constraints-list"),
    pytest.param("dq-constraints", "no_features.json", "features: required key is missing",
                 id="dq-constraints-keyless"),
    pytest.param("dq-constraints", "missing.json", "does not exist", id="dq-constraints-missing"),
    pytest.param("dq-constraints", "binary.json", "not UTF-8 text (byte ", id="dq-constraints-not-utf8"),
    pytest.param("dq-constraints", "a_folder.json", "is a folder, not a file", id="dq-constraints-folder"),
    pytest.param("dq-statistics", "corrupt.json", "invalid JSON at line 1 column 15", id="dq-statistics-corrupt"),
    pytest.param("dq-statistics", "empty.json", "invalid JSON at line 1 column 1", id="dq-statistics-empty"),
    pytest.param("dq-statistics", "list.json", "expected an object, got an array", id="dq-statistics-list"),
    pytest.param("dq-statistics", "no_dataset.json", "dataset: required key is missing", id="dq-statistics-keyless"),
    pytest.param("dq-statistics", "missing.json", "does not exist", id="dq-statistics-missing"),
    pytest.param("dq-statistics", "binary.json", "not UTF-8 text (byte ", id="dq-statistics-not-utf8"),
    pytest.param("mq-constraints", "corrupt.json", "invalid JSON at line 1 column 15", id="mq-constraints-corrupt"),
    pytest.param("mq-constraints", "empty.json", "invalid JSON at line 1 column 1", id="mq-constraints-empty"),
    pytest.param("mq-constraints", "list.json", "expected an object, got an array", id="mq-constraints-list"),
    pytest.param("mq-constraints", "no_group.json", "no model-quality group: expected one of regression_constraints",
                 id="mq-constraints-keyless"),
    pytest.param("mq-constraints", "missing.json", "does not exist", id="mq-constraints-missing"),
    pytest.param("mq-constraints", "binary.json", "not UTF-8 text (byte ", id="mq-constraints-not-utf8"),
]


@pytest.mark.parametrize(("which", "name", "says"), BASELINE_FILES)
def test_bad_baseline_file(files, which, name, says):
    bad = files[name]
    argv = {"dq-constraints": lambda: _dq_monitor(files, constraints=bad),
            "dq-statistics": lambda: _dq_monitor(files, statistics=bad),
            "mq-constraints": lambda: _mq_monitor(files, bad)}[which]()
    line = _one_error_line(_run(argv))
    field = "baseline_statistics" if which == "dq-statistics" else "baseline_constraints"
    # the file's own problems start with the file; a missing file or a folder is found before any work
    # (monitor_lib/preflight.py) and named with its field
    assert line.startswith((f"error: {bad}: ", f"error: {field} {bad} ")), line
    assert says in line


# ---------------------------------------------------------------- bad configuration and flags

def _flags(files, *extra: str) -> list[str]:
    return [*_dq_monitor(files), *extra]


# (argv after `model-monitor`, the exact error line — {dir} is the fixture folder)
BAD_FLAGS = [
    pytest.param(lambda f: _flags(f, "--config", str(f["unknown_key.yaml"])),
                 "error: --config {dir}/unknown_key.yaml: unknown key(s) dataset_sauce; known keys: "
                 "CLOUDWATCH_METRICS_DIRECTORY, baseline_constraints, ", id="yaml-unknown-key"),
    pytest.param(lambda f: _flags(f, "--config", str(f["bad_switch.yaml"])),
                 "error: publish_cloudwatch_metrics must be Enabled or Disabled, got 'maybe' (flags / --config)",
                 id="yaml-publish-cloudwatch-metrics-maybe"),
    pytest.param(lambda f: _flags(f, "--config", str(f["broken.yaml"])),
                 "error: --config {dir}/broken.yaml is not valid YAML: ", id="yaml-broken"),
    pytest.param(lambda f: _flags(f, "--config", str(f["dir"] / "nope.yaml")),
                 "error: --config {dir}/nope.yaml cannot be read: No such file or directory", id="yaml-missing"),
    pytest.param(lambda f: _flags(f, "--config", str(f["dir"])),
                 "error: --config {dir} cannot be read: Is a directory", id="yaml-folder"),
    pytest.param(lambda f: _flags(f, "--config", str(f["binary.yaml"])),
                 "error: --config {dir}/binary.yaml is not UTF-8 text (byte ", id="yaml-not-utf8"),
    pytest.param(lambda f: _flags(f, "--kll-k", "abc"),
                 "error: kll_k must be an integer, got 'abc' (flags / --config)", id="kll-k-abc"),
    pytest.param(lambda f: ["baseline", "--dataset", str(f["data.csv"]), "--format", "csv", "--output",
                            str(f["out"]), "--kll-k", "abc"],
                 "error: kll_k must be an integer, got 'abc' (flags / --config)", id="baseline-kll-k-abc"),
    pytest.param(lambda f: _flags(f, "--start-time", "noon"),
                 "error: start_time must be an ISO-8601 UTC time like 2026-11-20T10:00:00Z, got 'noon' "
                 "(flags / --config)", id="start-time-noon"),
    pytest.param(lambda f: _flags(f, "--start-time", "2026-11-20T11:00:00Z", "--end-time", "2026-11-20T10:00:00Z"),
                 "error: start_time 2026-11-20T11:00:00Z must be before end_time 2026-11-20T10:00:00Z "
                 "(flags / --config)", id="window-reversed"),
    pytest.param(lambda f: _flags(f, "--publish-cloudwatch-metrics", "maybe"),
                 "error: unrecognized arguments for `model-monitor monitor`: maybe", id="switch-given-a-value"),
    pytest.param(lambda f: _flags(f, "--type", "nosuch"),
                 "error: unknown monitor type 'nosuch'; registered: data-quality (DATA_QUALITY), model-quality "
                 "(MODEL_QUALITY)", id="type-nosuch"),
    pytest.param(lambda f: _flags(f, "--format", "xml"),
                 "error: --format must be one of capture, csv, json, parquet, got 'xml'", id="format-xml"),
    pytest.param(lambda f: ["baseline", "--dataset", str(f["data.csv"]), "--format", "merged", "--output",
                            str(f["out"])],
                 "error: --format merged is the model quality input: add --type model-quality",
                 id="format-of-the-other-type"),
    pytest.param(lambda f: _flags(f, "--dataset-format", "not json"),
                 "error: dataset_format is not valid JSON (Expecting value): 'not json' (flags / --config)",
                 id="dataset-format-not-json"),
    pytest.param(lambda f: _flags(f, "--problem-type", "Regression"),
                 "error: --problem-type belong(s) to model quality: add --type model-quality",
                 id="model-quality-flag-without-type"),
    pytest.param(lambda f: [*_mq_monitor(f, MQ_CONSTRAINTS), "--kll-k", "5"],
                 "error: --kll-k belong(s) to data quality: add --type data-quality",
                 id="data-quality-flag-with-model-quality"),
    pytest.param(lambda f: ["baseline", "--type", "model-quality", "--dataset", str(f["data.csv"]), "--format",
                            "csv", "--output", str(f["out"]), "--problem-type", "Ranking"],
                 "error: problem_type must be one of BinaryClassification, MulticlassClassification, Regression, "
                 "got 'Ranking' (flags / --config)", id="problem-type-ranking"),
    pytest.param(lambda f: ["monitor", "--format", "csv", "--output", str(f["out"]), "--baseline-constraints",
                            str(DQ_CONSTRAINTS)],
                 "error: dataset_source is required (flags / --config; flag --dataset): ", id="dataset-missing"),
    pytest.param(lambda f: ["submit", "--target", "local", "monitor", "--", *_flags(f, "--kll-k", "abc")[1:]],
                 "error: kll_k must be an integer, got 'abc' (submit's job flags)", id="submit-job-flags"),
    pytest.param(lambda f: ["report", str(f["dir"] / "no-such-root")],
                 "error: OUTPUT_ROOT {dir}/no-such-root is not a folder: ", id="report-root-missing"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD_FLAGS)
def test_bad_configuration_or_flag(files, argv, expected):
    proc = _run(argv(files))
    line = _one_error_line(proc)
    assert line.startswith(expected.format(dir=files["dir"])), line
    assert not files["out"].exists() or not any(files["out"].iterdir())  # nothing was written


@pytest.mark.parametrize("argv", [
    pytest.param(["nosuch"], id="unknown-subcommand"),
    pytest.param(["monitor", "--kll-k"], id="flag-without-value"),
    pytest.param(["monitors", "extra"], id="extra-argument"),
])
def test_argparse_usage_errors_exit_2(argv):
    proc = _run(argv)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("usage: model-monitor")
    assert lines[-1].startswith("model-monitor") and ": error: " in lines[-1]
    assert {"nosuch": "invalid choice: 'nosuch'", "monitor": "argument --kll-k: expected one argument",
            "monitors": "unrecognized arguments: extra"}[argv[0]] in lines[-1]


DQ_CONSTRAINTS = FIXTURES / "sdk-pipeline-dq-baseline" / "bad_cases" / "constraints.json"


@pytest.mark.parametrize("argv", [["monitors"], ["alarms", "create", "--baseline-constraints", str(DQ_CONSTRAINTS),
                                                 "--sns-topic-arn", "arn:aws:sns:us-east-1:123456789012:t",
                                                 "--dry-run"]], ids=["monitors", "alarms-dry-run"])
def test_a_reader_gone_away_is_not_an_error(argv):
    """``model-monitor … | head``: stdout closed before the command writes is not an internal error."""
    env = {k: v for k, v in os.environ.items() if k not in ANALYZER_KEYS}
    proc = subprocess.Popen([MODEL_MONITOR, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=REPO)
    proc.stdout.close()  # the reader is gone before the first write
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and err == "", err


# ---------------------------------------------------------------- errors before work (monitor_lib/preflight.py)

def _run_in(argv: list[str], cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ANALYZER_KEYS} | (env_extra or {})
    return subprocess.run([MODEL_MONITOR, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, Path]:
    """A dataset, a file where a folder is expected, a profile.json that is not UTF-8, a statistics.json."""
    d = tmp_path_factory.mktemp("preflight")
    (d / "data.csv").write_text("a,b\n1,2\n3,4\n")
    (d / "a_file").write_text("not a folder\n")
    (d / "binary.json").write_bytes(b"\xff\xfe\x00\x81 not utf-8")
    return {p.name: p for p in d.iterdir()} | {"dir": d, "missing": d / "no-such-thing"}


def _dq_baseline(p: dict[str, Path], output: Path | str, dataset: Path | None = None) -> list[str]:
    return ["baseline", "--dataset", str(dataset or p["data.csv"]), "--format", "csv", "--header", "--output",
            str(output)]


# (argv, the exact error line) — every one is found before Spark starts: the one stderr line proves it (a started
# Spark prints its own lines), and the run's folder is never created
PREFLIGHT = [
    pytest.param(lambda p: _dq_baseline(p, p["a_file"]),
                 "error: output_path {a_file} is a file, not a folder: give a folder (it is created if needed)",
                 id="output-is-a-file"),
    pytest.param(lambda p: [*_dq_monitor({"data.csv": p["data.csv"], "out": p["a_file"]})],
                 "error: output_path {a_file} is a file, not a folder: give a folder (it is created if needed)",
                 id="monitor-output-is-a-file"),
    pytest.param(lambda p: _dq_baseline(p, p["a_file"] / "runs" / "out"),
                 "error: output_path {a_file}/runs/out cannot be created: {a_file} is a file, not a folder",
                 id="output-below-a-file"),
    # read-only for root too (a chmod 0555 folder is writable by root): sysfs refuses new files to everyone
    pytest.param(lambda p: _dq_baseline(p, "/sys/model-monitor-preflight/out"),
                 "error: output_path /sys/model-monitor-preflight/out is not writable (/sys is not): "
                 "Permission denied", id="output-read-only"),
    pytest.param(lambda p: _dq_baseline(p, p["dir"] / "out", dataset=p["missing"]),
                 "error: dataset_source {missing} does not exist", id="dataset-missing"),
    pytest.param(lambda p: [*_dq_monitor({"data.csv": p["missing"], "out": p["dir"] / "out"}),
                            "--baseline-statistics", str(DQ_STATISTICS)],
                 "error: dataset_source {missing} does not exist", id="monitor-dataset-missing"),
    pytest.param(lambda p: [*_dq_monitor({"data.csv": p["data.csv"], "out": p["dir"] / "out"}),
                            "--baseline-statistics", str(p["missing"])],
                 "error: baseline_statistics {missing} does not exist", id="baseline-statistics-missing"),
    pytest.param(lambda p: [*_mq_monitor({"data.csv": p["data.csv"], "out": p["dir"] / "out"}, MQ_CONSTRAINTS),
                            "--ground-truth", str(p["missing"])],
                 "error: ground_truth_source {missing} does not exist", id="ground-truth-missing"),
    pytest.param(lambda p: ["merge-profiles", str(p["missing"]), "--output", str(p["dir"] / "out")],
                 "error: profile {missing} does not exist", id="merge-profiles-missing"),
    pytest.param(lambda p: ["merge-profiles", str(p["dir"]), "--output", str(p["dir"] / "out")],
                 "error: profile {dir} is a folder, not a file", id="merge-profiles-folder"),
    pytest.param(lambda p: ["merge-profiles", str(p["binary.json"]), "--output", str(p["dir"] / "out")],
                 "error: {binary}: not UTF-8 text (byte 0): not a profile state file",
                 id="merge-profiles-not-utf8"),
    pytest.param(lambda p: ["merge-profiles", str(DQ_STATISTICS), "--output", str(p["dir"] / "out")],
                 f"error: {DQ_STATISTICS}: format: not a profile state file", id="merge-profiles-statistics-json"),
    pytest.param(lambda p: ["merge-profiles", str(DQ_STATISTICS), "--output", str(p["a_file"])],
                 "error: --output {a_file} is a file, not a folder: give a folder (it is created if needed)",
                 id="merge-profiles-output-is-a-file"),
]


@pytest.mark.parametrize(("argv", "expected"), PREFLIGHT)
def test_errors_before_work(paths, tmp_path, argv, expected):
    proc = _run_in(argv(paths), cwd=tmp_path)
    line = _one_error_line(proc)
    names = {k.removesuffix(".json"): str(v) for k, v in paths.items()}
    assert line.startswith(expected.format(**names)), line
    assert not (paths["dir"] / "out").exists()  # no output folder
    assert list(tmp_path.iterdir()) == []  # no spark-warehouse/, nothing else in the working directory


def test_analyze_checks_paths_before_work(paths, tmp_path):
    """The container edge: the same check, the message in <root>/output/message, exit 255, no traceback."""
    root = tmp_path / "opt_ml"
    (root / "config").mkdir(parents=True)
    env = {"dataset_source": str(paths["data.csv"]), "dataset_format": '{"csv": {"header": true}}',
           "output_path": str(root / "processing" / "resultdata"),
           "baseline_constraints": str(paths["missing"])}
    (root / "config" / "processingjobconfig.json").write_text(json.dumps({"Environment": env}))
    proc = _run_in(["analyze"], cwd=tmp_path, env_extra={"MODEL_MONITOR_OPT_ML": str(root)})
    assert proc.returncode == 255, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    expected = f"baseline_constraints {paths['missing']} does not exist"
    assert (root / "output" / "message").read_text() == expected
    assert proc.stderr.splitlines() == [f"{proc.stderr.split(' ERROR ')[0]} ERROR monitor_lib: "
                                        f"Exception performing analysis: {expected}"]
    assert not (root / "processing").exists()


def test_report_to_a_read_only_folder_is_one_line(paths, tmp_path):
    """An OSError naming a file is the machine's refusal, not a bug: one line naming it, exit 2."""
    root = tmp_path / "runs"
    root.mkdir()
    line = _one_error_line(_run_in(["report", str(root), "--output", "/sys/history.html"], cwd=tmp_path))
    assert line.startswith("error: /sys/") and line.endswith(": Permission denied"), line


# ---------------------------------------------------------------- Spark's errors as one line (these start Spark)

def _spark_error_line(proc: subprocess.CompletedProcess, cwd: Path) -> str:
    """The run failed after Spark started: exit 2, the last stderr line is the error, and neither a Python
    traceback, nor a Java stack, nor Spark's task-failure logs, nor a stage progress bar are on stderr."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    java = [ln for ln in lines if ln.startswith(("\tat ", "Caused by:", "org.apache.", "java."))
            or " ERROR " in ln or "[Stage " in ln]
    assert java == [], proc.stderr[-3000:]
    assert "spark-warehouse" not in [p.name for p in cwd.iterdir()]  # a temporary warehouse, removed at exit
    return lines[-1]


@pytest.mark.slow  # starts Spark
def test_csv_read_as_parquet_is_one_line_naming_file_and_format(paths, tmp_path):
    """Spark's footer check names the file's last 4 bytes; a CSV read as JSON: test_readers."""
    data = paths["data.csv"]
    proc = _run_in(["-q", "baseline", "--dataset", str(data), "--format", "parquet", "--output",
                    str(tmp_path / "out")], cwd=tmp_path)
    tail = list(data.read_bytes()[-4:])
    assert _spark_error_line(proc, tmp_path) == (
        f"error: dataset_source {data} cannot be read as Parquet (--format parquet): file:{data} is not a "
        f"Parquet file. Expected magic number at tail, but found {tail}")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # starts Spark
def test_empty_csv_is_no_data(tmp_path):
    """Monitoring a dataset whose CSV is empty: Completed with no data, exit 0, as a header-only CSV
    (test_readers.test_empty_and_header_only_csv_end_alike); a baseline refuses both (test_empty_inputs)."""
    (tmp_path / "empty.csv").write_text("")
    out = tmp_path / "out"
    proc = _run_in(["-q", *_dq_monitor({"data.csv": tmp_path / "empty.csv", "out": out})], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert proc.stdout.splitlines()[0] == ("Completed: No data in window [beginning, end): 1 capture file(s) read, "
                                           "no record to profile: the files hold no records.")
    summary = json.loads((out / "run_summary.json").read_text())
    assert {k: summary[k] for k in ("status", "files_read", "records", "records_rejected")} == {
        "status": "NoData", "files_read": 1, "records": 0, "records_rejected": {}}
    assert "spark-warehouse" not in [p.name for p in tmp_path.iterdir()]


# ---------------------------------------------------------------- --help of every command

def _help_cases() -> list:
    from monitor_lib.monitors import registry

    cases = [pytest.param([], id="top-level"), pytest.param(["analyze"], id="analyze")]
    for command in registry.commands():
        for m in registry.monitors():
            if m.phase_for_command(command):
                cases.append(pytest.param([command, "--type", m.name], id=f"{command}-{m.name}"))
    return cases + [pytest.param([c], id=c) for c in ("report", "merge-profiles", "monitors", "submit")]


def _examples(text: str) -> list[list[str]]:
    """The command lines under ``examples:`` (continuation lines joined), split like a shell does."""
    import shlex

    block = text.split("examples:\n", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ")
    return [shlex.split(ln) for ln in block.splitlines() if ln.strip().startswith("model-monitor")]


@pytest.mark.parametrize("argv", _help_cases())
def test_help_of_every_command(argv):
    proc = _run([*argv, "--help"])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    text = proc.stdout
    assert "exit codes:" in text
    if argv[:1] == ["analyze"]:  # no flags: which files and variables it reads, what it writes
        from monitor_lib.monitors import registry

        for needed in ("ROOT/config/processingjobconfig.json", "ROOT/config/resourceconfig.json",
                       "MODEL_MONITOR_OPT_ML", "ROOT/output/message", "255", "model-monitor analyze",
                       *registry.environment_names(), *(m.analysis_type for m in registry.monitors())):
            assert needed in text, needed
        return
    examples = _examples(text)
    assert examples, text
    command = argv[0] if argv else None
    for words in examples:
        assert words[0] == "model-monitor" and (command is None or words[1] == command), words
    if argv[1:2] == ["--type"]:  # the first example is a valid job: the declared flags parse and validate
        from monitor_lib.commands import parse_job

        job = parse_job(command, examples[0][2:])
        assert job.monitor.name == argv[2] and job.command == command
