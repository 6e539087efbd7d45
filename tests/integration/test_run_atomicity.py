"""A run folder is whole or absent, and one run writes an output at a time (issue 17, defects 2 and 3).

Kill tests: `model-monitor monitor` as a subprocess in its own session, SIGKILLed (its whole process group, the
JVM included) at named points — while reading, while profiling (the stage lines it logs on stderr), with some of
its files written (the MODEL_MONITOR_TEST_PAUSE_AT test hook), staged but not yet published, and after a seeded
random delay — over an output holding an earlier complete run: that run's files are byte-identical afterwards
and `model-monitor report` counts exactly it; with no earlier run nothing a reader counts is left. The re-run
completes, takes over the dead run's lock and leaves no staging folder or lock. Locally and on the S3 emulator.

Race tests: two runs started together into one output — one publishes, the other is refused with one line
naming the holder (or waits); the published files are all of one run (run_summary.json's records equal
statistics.json's item_count and the winner's row count). Lock tests: real processes race for a stale lock
(exactly one wins), a dead holder's lock is taken over, another host's lock only after the stale timeout; moto
honours S3's create-if-absent and if-match writes the S3 lock relies on.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FIXTURES

from monitor_lib.errors import OutputLockedError
from monitor_lib.io import lock as lock_mod
from monitor_lib.io import storage
from monitor_lib.io.lock import Holder, lock_location, output_lock
from monitor_lib.io.storage import incomplete_run, output_location
from monitor_lib.runner import run_job
from monitor_lib.sinks.report.history import scan_run_folders

REPO = Path(__file__).resolve().parents[2]
MODEL_MONITOR = str(Path(sys.executable).parent / "model-monitor")
DQ = FIXTURES / "sdk-pipeline-dq-baseline"
CONSTRAINTS = DQ / "good_cases" / "constraints.json"
STATISTICS = DQ / "statistics.json"
CSV = '{"csv": {"header": false}}'
BUCKET = "run-atomicity"
WINDOW = ("ep", "sched", "2026", "11", "20", "10")  # {endpoint}/{schedule}/yyyy/mm/dd/hh: report's layout
GATEWAY_KEYS = ("PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET")


# ---------------------------------------------------------------- helpers


def write_data(path: Path, rows: int, seed: int) -> Path:
    """A headerless CSV shaped like the fixture's baseline dataset (6 numeric columns), shifted so that its
    statistics differ from the earlier run's."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.integers(0, 5, size=(rows, 6)).astype(float) + seed % 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, header=False, index=False)
    return path


def tree(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) -> sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(out: Path) -> list[str]:
    """The hidden siblings a run makes next to its output (staging folders, a lock, an old run set aside)."""
    return sorted(n for n in os.listdir(out.parent) if n.startswith(f".{out.name}."))


def monitor_params(data: Path | str, out: Path | str) -> dict:
    return {"dataset_source": str(data), "dataset_format": CSV, "output_path": str(out),
            "baseline_constraints": str(CONSTRAINTS), "baseline_statistics": str(STATISTICS)}


def cli_argv(data: Path | str, out: Path | str) -> list[str]:
    return ["monitor", "--dataset", str(data), "--format", "csv", "--no-header", "--output", str(out),
            "--baseline-constraints", str(CONSTRAINTS), "--baseline-statistics", str(STATISTICS)]


def whole(summary: dict, statistics: dict, rows: int) -> None:
    """The files of one run: the summary's records are the statistics' item count are the rows of its data."""
    assert summary["records"] == statistics["dataset"]["item_count"] == rows, (summary["records"], statistics)


def local_run(out: Path) -> tuple[dict, dict]:
    return (json.loads((out / "run_summary.json").read_text()), json.loads((out / "statistics.json").read_text()))


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in GATEWAY_KEYS}
    e.update(extra)
    return e


class Run:
    """``model-monitor`` in its own session (process group): the JVM it starts is killed with it."""

    def __init__(self, argv: list[str], cwd: Path, **extra_env: str):
        self.proc = subprocess.Popen([MODEL_MONITOR, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env(**extra_env), cwd=cwd, start_new_session=True)
        self.stderr: list[str] = []
        self._watchdog = threading.Timer(300, self.kill)
        self._watchdog.start()

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill_when(self, marker: str) -> str:
        """SIGKILL the process group as soon as a stderr line contains ``marker`` (the run is at that stage)."""
        for line in self.proc.stderr:
            self.stderr.append(line)
            if marker in line:
                self.kill()
                self.wait()
                return line
        self.wait()
        pytest.fail(f"the run ended (exit {self.proc.returncode}) before {marker!r}:\n" + "".join(self.stderr)[-3000:])

    def kill_after(self, marker: str, seconds: float) -> int:
        """SIGKILL the process group ``seconds`` after a stderr line contains ``marker`` (an arbitrary moment of
        reading, profiling or writing), unless it ended before; return its exit code."""
        for line in self.proc.stderr:
            self.stderr.append(line)
            if marker in line:
                break
        killer = threading.Timer(seconds, self.kill)
        killer.start()
        code = self.wait()[0]
        killer.cancel()
        return code

    def wait(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=300)
        self._watchdog.cancel()
        self.stderr.append(err)
        return self.proc.returncode, out, "".join(self.stderr)


def report(root: Path) -> str:
    proc = subprocess.run([MODEL_MONITOR, "report", str(root)], capture_output=True, text=True, env=env(),
                          timeout=300, cwd=REPO)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


# ---------------------------------------------------------------- local kills


@pytest.fixture(scope="module")
def earlier(spark, tmp_path_factory) -> Path:
    """A complete monitoring run (the fixture's 100 baseline rows) in a window folder."""
    root = tmp_path_factory.mktemp("earlier")
    out = root.joinpath(*WINDOW)
    run_job("data-quality", monitor_params(DQ / "baseline_dataset.csv", out), spark=spark)
    whole(*local_run(out), 100)
    return root


@pytest.fixture(scope="module")
def new_data(tmp_path_factory) -> Path:
    return write_data(tmp_path_factory.mktemp("new-data") / "data.csv", 240, seed=5)


KILL_POINTS = [
    pytest.param({"marker": "monitor_lib.io.readers: reading"}, id="while-reading"),
    pytest.param({"marker": "monitor_lib.profile.profiler: profiling"}, id="while-profiling"),
    pytest.param({"marker": "test hook: paused at written", "pause": "written"}, id="files-half-written"),
    pytest.param({"marker": "test hook: paused at publish", "pause": "publish"}, id="staged-not-published"),
    pytest.param({"marker": "monitor_lib.io.readers: reading", "delay": random.Random(17).uniform(0.0, 5.0)},
                 id="seeded-random-moment"),
]


@pytest.mark.slow
@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_killed_run_leaves_the_earlier_run_intact_and_the_rerun_recovers(spark, earlier, new_data, tmp_path,
                                                                            point):
    root = tmp_path / "root"
    shutil.copytree(earlier, root)
    out = root.joinpath(*WINDOW)
    before = tree(out)
    run = Run(cli_argv(new_data, out), tmp_path,
              **({storage.TEST_PAUSE_ENV: point["pause"]} if "pause" in point else {}))
    if "delay" in point:
        run.kill_after(point["marker"], point["delay"])
        if tree(out) != before:  # killed after it published (or it finished first): then the new run is whole
            whole(*local_run(out), 240)
            assert "history of 1 run(s)" in report(root)
            return
    else:
        run.kill_when(point["marker"])
        if point.get("pause") == "written":  # killed with the new statistics written into its staging folder
            staged = [n for n in leftovers(out) if ".staging-" in n]
            assert len(staged) == 1 and (out.parent / staged[0] / "statistics.json").exists()
            assert (out.parent / staged[0] / "_INCOMPLETE").exists()
    assert tree(out) == before  # byte for byte the earlier run
    assert f".{out.name}.lock" in leftovers(out)  # the dead run's lock is left behind …
    assert "history of 1 run(s) in 1 schedule(s)" in report(root)
    assert scan_run_folders(str(root)) == ([str(out)], [])

    outcome = run_job("data-quality", monitor_params(new_data, out), spark=spark)  # … and taken over
    assert outcome.output_path == str(out)
    whole(*local_run(out), 240)
    assert leftovers(out) == []  # no staging folder, no lock
    assert "history of 1 run(s)" in report(root)


@pytest.mark.slow
def test_a_killed_first_run_leaves_nothing_a_reader_counts(spark, new_data, tmp_path):
    root = tmp_path / "root"
    out = root.joinpath(*WINDOW)
    Run(cli_argv(new_data, out), tmp_path, **{storage.TEST_PAUSE_ENV: "written"}).kill_when("paused at written")
    assert not out.exists()
    assert scan_run_folders(str(root)) == ([], [])
    assert "history of 0 run(s)" in report(root)
    run_job("data-quality", monitor_params(new_data, out), spark=spark)
    whole(*local_run(out), 240)
    assert leftovers(out) == []


def test_report_ignores_incomplete_run_folders_and_says_how_many(earlier, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(earlier, root)
    hours = root.joinpath(*WINDOW[:-1])
    shutil.copytree(hours / "10", hours / "11")
    (hours / "11" / "_INCOMPLETE").write_bytes(b"")  # an s3:// run killed while uploading, downloaded
    shutil.copytree(hours / "10", hours / "12")
    (hours / "12" / "run_summary.json").unlink()  # ours, killed before its summary by an older version
    (hours / "12" / "report.html").unlink()
    stdout = report(root)
    assert "history of 1 run(s) in 1 schedule(s)" in stdout
    assert "ignored 2 incomplete run folder(s) (a run killed while writing them; re-run its window): " \
           "ep/sched/2026/11/20/11, ep/sched/2026/11/20/12" in stdout
    proc = subprocess.run([MODEL_MONITOR, "report", str(hours / "11")], capture_output=True, text=True, env=env(),
                          timeout=300, cwd=REPO)
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"error: {hours / '11'} holds an incomplete run (_INCOMPLETE: it was killed while being written): re-run "
        "its window")


# ---------------------------------------------------------------- S3 kills


@pytest.fixture(scope="module")
def bucket(aws_server):
    client = aws_server.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def objects(client, prefix: str) -> dict[str, bytes]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"][len(prefix):]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
            for p in pages for o in p.get("Contents", [])}


def s3_run(client, prefix: str) -> tuple[dict, dict]:
    got = objects(client, prefix + "/")
    return json.loads(got["run_summary.json"]), json.loads(got["statistics.json"])


@pytest.mark.slow
def test_killed_runs_on_s3_leave_the_earlier_run_or_an_incomplete_marker(spark, bucket, new_data, tmp_path):
    prefix = "k/ep/sched/2026/11/20/10"
    uri = f"s3://{BUCKET}/{prefix}"
    run_job("data-quality", monitor_params(DQ / "baseline_dataset.csv", uri), spark=spark)
    before = objects(bucket, "k/")
    assert sorted(before) == sorted(f"ep/sched/2026/11/20/10/{n}" for n in (
        "constraint_violations.json", "constraints.json", "lineage.json", "openlineage_events.jsonl", "profile.json",
        "report.html", "run_summary.json", "statistics.json"))
    whole(*s3_run(bucket, prefix), 100)

    # killed while reading: nothing in S3 changed but the dead run's lock beside the output
    Run(cli_argv(new_data, uri), tmp_path).kill_when("monitor_lib.io.readers: reading")
    after = objects(bucket, "k/")
    lock_key = "ep/sched/2026/11/20/.10.lock"
    assert json.loads(after.pop(lock_key))["host"] == socket.gethostname()
    assert after == before and not incomplete_run(uri)

    # killed in the middle of its upload: the folder is marked incomplete, readers ignore it
    run = Run(cli_argv(new_data, uri), tmp_path, **{storage.TEST_PAUSE_ENV: "publish"})
    run.kill_when("test hook: paused at publish")
    after = objects(bucket, "k/")
    assert "ep/sched/2026/11/20/10/_INCOMPLETE" in after and incomplete_run(uri)
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert len(changed) <= 1  # at most one object of the new run uploaded, then killed: not counted as a run

    outcome = run_job("data-quality", monitor_params(new_data, uri), spark=spark)  # takes the stale lock over
    assert outcome.output_path == uri and not incomplete_run(uri)
    final = objects(bucket, "k/")
    assert sorted(final) == sorted(before)  # no marker, no lock
    whole(*s3_run(bucket, prefix), 240)


# ---------------------------------------------------------------- races


@pytest.mark.slow
def test_two_runs_started_together_one_publishes_the_other_is_refused(tmp_path):
    out = tmp_path / "root" / "out"
    small, large = write_data(tmp_path / "a.csv", 150, seed=1), write_data(tmp_path / "b.csv", 260, seed=2)
    runs = {150: Run(cli_argv(small, out), tmp_path), 260: Run(cli_argv(large, out), tmp_path)}
    results = {rows: run.wait() for rows, run in runs.items()}
    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 2], {rows: (code, err[-1500:]) for rows, (code, _, err) in results.items()}
    winner = next(rows for rows, (code, _, _) in results.items() if code == 0)
    loser = next(rows for rows in results if rows != winner)
    _, stdout, stderr = results[loser]
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in stderr and stdout == ""
    assert lines[0].startswith(f"error: output_path {out} is being written by another run (pid "
                               f"{runs[winner].proc.pid} on {socket.gethostname()}, started ")
    assert str(lock_location(str(out))) in lines[0]
    whole(*local_run(out), winner)  # every file of the winner's run
    assert leftovers(out) == []


def test_a_run_waits_for_the_lock_when_asked(spark, tmp_path, monkeypatch):
    out = tmp_path / "out"
    holder = LockHolder(out)
    monkeypatch.setenv(lock_mod.WAIT_ENV, "120")
    data = write_data(tmp_path / "d.csv", 30, seed=3)
    threading.Timer(1.5, holder.release).start()
    outcome = run_job("data-quality", monitor_params(data, out), spark=spark)
    assert holder.released_at is not None and outcome.status.startswith("Completed")
    whole(*local_run(out), 30)
    assert leftovers(out) == []


# ---------------------------------------------------------------- the lock itself

HOLD = textwrap.dedent("""
    import sys, time
    from monitor_lib.errors import OutputLockedError
    from monitor_lib.io.lock import output_lock
    go, output, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
    while go and not __import__("os").path.exists(go):
        time.sleep(0.005)
    try:
        with output_lock(output):
            print("won", flush=True)
            if hold < 0:
                sys.stdin.read()
            else:
                time.sleep(hold)
    except OutputLockedError as e:
        print("refused", e, flush=True)
""")


def hold_lock(output: str, go: str = "", hold: float = -1) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLD, go, output, str(hold)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env(PYTHONPATH=str(REPO)), cwd=REPO)


class LockHolder:
    """Another process holding the lock of ``output`` until :meth:`release`."""

    def __init__(self, output: Path | str):
        self.proc = hold_lock(str(output))
        assert self.proc.stdout.readline().strip() == "won"
        self.released_at: float | None = None

    def release(self) -> None:
        self.released_at = time.monotonic()
        self.proc.communicate("", timeout=60)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_held_lock_refuses_with_the_holder_and_is_released(tmp_path):
    out = tmp_path / "out"
    holder = LockHolder(out)
    with pytest.raises(OutputLockedError) as e, output_lock(str(out)):
        pass
    assert str(e.value).startswith(f"output_path {out} is being written by another run (pid {holder.proc.pid} "
                                   f"on {socket.gethostname()}, started ")
    lock = json.loads(Path(lock_location(str(out))).read_text())
    assert lock["pid"] == holder.proc.pid and lock["output"] == str(out)
    holder.release()
    assert leftovers(out) == []
    with output_lock(str(out)) as path:
        assert json.loads(Path(path).read_text())["pid"] == os.getpid()
    assert leftovers(out) == []


def test_a_dead_holders_lock_is_taken_over_and_another_hosts_only_when_old(tmp_path, monkeypatch):
    out = tmp_path / "out"
    path = Path(lock_location(str(out)))
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": dead_pid(), "started": "2026-01-01T00:00:00+00:00",
                                "token": "x", "output": str(out)}))
    with output_lock(str(out)):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not path.exists()

    # a live pid: the same process (its start time matches) holds it; another one reusing the pid does not
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        live = Holder.me(str(out))
        live = Holder(live.host, sleeper.pid, live.started, "z", str(out), lock_mod._process_start(sleeper.pid))
        path.write_bytes(live.to_json())
        with pytest.raises(OutputLockedError, match=f"pid {sleeper.pid} on "), output_lock(str(out)):
            pass
        reused = Holder(live.host, sleeper.pid, live.started, "z", str(out), str(int(live.pid_started) - 1))
        path.write_bytes(reused.to_json())
        with output_lock(str(out)):
            assert json.loads(path.read_text())["pid"] == os.getpid()
    finally:
        sleeper.kill()
        sleeper.wait()

    started = (datetime.now(UTC) - timedelta(minutes=10)).isoformat(timespec="seconds")
    path.write_bytes(Holder("elsewhere", 1, started, "y", str(out)).to_json())  # a live run on another host?
    with pytest.raises(OutputLockedError, match="pid 1 on elsewhere"), output_lock(str(out)):
        pass  # 10 minutes old: within the default 6 h
    monkeypatch.setenv(lock_mod.STALE_ENV, "300")  # older than the timeout now
    with output_lock(str(out)):
        assert json.loads(path.read_text())["host"] == socket.gethostname()
    assert not path.exists()


def test_takers_of_a_stale_lock_race_and_exactly_one_wins(tmp_path):
    for attempt in range(3):
        out = tmp_path / f"out{attempt}"
        Path(lock_location(str(out))).write_text(json.dumps(
            {"host": socket.gethostname(), "pid": dead_pid(), "started": "2026-01-01T00:00:00+00:00", "token": "t",
             "output": str(out)}))
        go = tmp_path / f"go{attempt}"
        takers = [hold_lock(str(out), str(go), hold=3.0) for _ in range(4)]
        time.sleep(0.5)  # let the interpreters start; they all spin on the go file
        go.touch()
        said = sorted(p.communicate(timeout=60)[0].split(" ")[0].strip() for p in takers)
        assert said == ["refused", "refused", "refused", "won"], said
        assert leftovers(out) == []


def test_moto_honours_the_conditional_writes_of_the_s3_lock(bucket):
    from botocore.exceptions import ClientError

    first = bucket.put_object(Bucket=BUCKET, Key="cond/x", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as e:
        bucket.put_object(Bucket=BUCKET, Key="cond/x", Body=b"2", IfNoneMatch="*")
    assert e.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError):
        bucket.put_object(Bucket=BUCKET, Key="cond/x", Body=b"3", IfMatch='"0000"')
    bucket.put_object(Bucket=BUCKET, Key="cond/x", Body=b"4", IfMatch=first["ETag"])
    assert bucket.get_object(Bucket=BUCKET, Key="cond/x")["Body"].read() == b"4"


def test_the_s3_lock_refuses_takes_over_and_two_takers_do_not_both_win(bucket, tmp_path):
    uri = f"s3://{BUCKET}/locks/out"
    key = "locks/.out.lock"
    holder = LockHolder(uri)
    with pytest.raises(OutputLockedError, match=f"pid {holder.proc.pid} on {socket.gethostname()}"), \
            output_lock(uri):
        pass
    holder.release()
    assert "Contents" not in bucket.list_objects_v2(Bucket=BUCKET, Prefix=key)

    bucket.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(
        {"host": socket.gethostname(), "pid": dead_pid(), "started": "2026-01-01T00:00:00+00:00", "token": "t",
         "output": uri}).encode())
    go = tmp_path / "go"
    takers = [hold_lock(uri, str(go), hold=3.0) for _ in range(3)]
    time.sleep(0.5)
    go.touch()
    said = sorted(p.communicate(timeout=60)[0].split(" ")[0].strip() for p in takers)
    assert said == ["refused", "refused", "won"], said
    assert "Contents" not in bucket.list_objects_v2(Bucket=BUCKET, Prefix=key)


def test_a_failed_s3_run_changes_nothing_and_releases_its_lock(bucket):
    bucket.put_object(Bucket=BUCKET, Key="fail/out/statistics.json", Body=b"earlier")
    with pytest.raises(RuntimeError), output_location(f"s3://{BUCKET}/fail/out", run=True) as folder:
        assert bucket.get_object(Bucket=BUCKET, Key="fail/.out.lock")["Body"].read()  # held while it runs
        Path(folder, "statistics.json").write_text("new")
        folder.destination()  # executors handed the output: the folder is marked incomplete from here on
        assert incomplete_run(f"s3://{BUCKET}/fail/out")
        raise RuntimeError("the run failed")
    # the lock is gone; the marker stays (executors may have written), so readers keep ignoring the folder
    assert sorted(objects(bucket, "fail/")) == ["out/_INCOMPLETE", "out/statistics.json"]
    assert objects(bucket, "fail/")["out/statistics.json"] == b"earlier"
    with output_location(f"s3://{BUCKET}/fail/out", run=True) as folder:  # the re-run clears the marker
        Path(folder, "statistics.json").write_text("new")
    assert objects(bucket, "fail/") == {"out/statistics.json": b"new"}


# ---------------------------------------------------------------- publishing, each way


def _publish(out: Path, files: dict[str, str], fail: bool = False) -> Path:
    with output_location(str(out), run=True) as folder:
        assert folder.staged and (Path(folder).parent == out.parent and Path(folder).name.startswith(f".{out.name}.")
                                  or Path(folder).parent == out and Path(folder).name.startswith(".model-monitor."))
        for name, text in files.items():
            if text is None:
                os.remove(os.path.join(folder, name))
            else:
                Path(folder, name).parent.mkdir(parents=True, exist_ok=True)
                Path(folder, name).write_text(text)
        assert folder.public(os.path.join(folder, "a.json")) == str(out / "a.json")
        if fail:
            raise RuntimeError("the run failed")
    return Path(folder)


def _contents(out: Path) -> dict[str, str]:
    return {k: (out / k).read_text() for k in tree(out)}


def test_renameat2_swaps_two_folders_in_one_step(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("in a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "y").write_text("in b")
    assert storage._exchange(str(tmp_path / "a"), str(tmp_path / "b"))  # this kernel and ext4 offer it
    assert os.listdir(tmp_path / "a") == ["y"] and os.listdir(tmp_path / "b") == ["x"]


@pytest.mark.parametrize("way", ["exchange", "rename-aside", "move-into", "inside"])
def test_a_run_is_published_whole_each_way_and_a_failed_one_changes_nothing(tmp_path, monkeypatch, way):
    if way == "rename-aside":  # a system without renameat2
        monkeypatch.setattr(storage, "_exchange", lambda a, b: False)
    elif way == "move-into":  # an output folder that cannot be renamed (a mount point)
        def busy(a, b):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), b)
        monkeypatch.setattr(storage, "_exchange", busy)
    elif way == "inside":  # an output folder whose parent cannot be written (tests run as root: simulated)
        monkeypatch.setattr(storage, "_writable", lambda folder: folder != str(tmp_path))
    out = tmp_path / "out"
    _publish(out, {"a.json": "1", "b.json": "1", "sub/c.json": "1"})  # the first run: a plain rename
    assert _contents(out) == {"a.json": "1", "b.json": "1", "sub/c.json": "1"}
    staged = _publish(out, {"a.json": "2", "b.json": None})  # overwrites a, removes b, keeps sub/c
    assert staged.parent == (out if way == "inside" else out.parent)
    assert _contents(out) == {"a.json": "2", "sub/c.json": "1"}
    with pytest.raises(RuntimeError):
        _publish(out, {"a.json": "3", "sub/c.json": None}, fail=True)
    assert _contents(out) == {"a.json": "2", "sub/c.json": "1"}
    assert leftovers(out) == []


def test_an_output_set_aside_by_a_killed_publish_is_restored(tmp_path):
    out = tmp_path / "out"
    aside = tmp_path / ".out.old-0123456789ab"  # killed between its two renames: the old run set aside …
    aside.mkdir()
    (aside / "a.json").write_text("old")
    staging = tmp_path / ".out.staging-0123456789ab"  # … and its staging folder
    staging.mkdir()
    (staging / "a.json").write_text("new")
    with output_location(str(out), run=True) as folder:
        assert Path(folder, "a.json").read_text() == "old"  # the next run starts from the restored run
        assert not aside.exists() and not staging.exists()
        Path(folder, "b.json").write_text("b")
    assert _contents(out) == {"a.json": "old", "b.json": "b"}
    assert leftovers(out) == []


def test_an_output_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(Exception, match="is a file"), output_location(str(tmp_path / "f"), run=True):
        pass
    assert (tmp_path / "f").read_text() == "x" and leftovers(tmp_path / "f") == []
