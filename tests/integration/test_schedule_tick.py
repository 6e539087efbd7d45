"""`schedule tick` end to end: real Spark, real files, real ticks as separate processes racing on a state store
(local folder and S3 on the moto server on 127.0.0.1), a tick killed mid-run, EMR and SageMaker submissions.

References: separate `monitor` runs of the same windows (run_job with the window's own flat parameters) for the
statistics and violations; the store's objects as read back with boto3 / the file system; moto's own record of
the EMR steps and processing jobs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from helpers import capture_line, simple_constraints

from monitor_lib.cli import main
from monitor_lib.errors import EXIT_RUN_FAILED
from monitor_lib.runner import run_job
from monitor_lib.schedule.spec import read_schedule
from monitor_lib.schedule.store import open_store

REPO = Path(__file__).resolve().parents[2]
NAMES = ["label", "a", "b"]
NOW = "2026-11-20T14:30:00Z"  # grace 20 min: 11:00, 12:00, 13:00, 14:00 are due


def when(hour: int, i: int) -> str:
    return f"2026-11-20T{hour:02d}:{i % 60:02d}:{i % 50:02d}Z"


def write_hour(root: Path, hour: int, lines: list[str]) -> None:
    d = root / "credit" / "AllTraffic" / "2026" / "11" / "20" / f"{hour:02d}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "00-00-000-x.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def capture(root: Path, hours: dict[int, str]) -> Path:
    """Per capture hour: clean (30 numeric records), typo (a third of column a not numbers), broken (every line
    malformed JSON: the run Failed), or nothing (NoData)."""
    for hour, kind in hours.items():
        if kind == "clean":
            lines = [capture_line(f"{i * 0.5},{hour + i}", str(i % 2), when(hour, i), event_id=f"{hour}-{i}")
                     for i in range(30)]
        elif kind == "typo":
            lines = [capture_line(f"{'x' if i % 3 == 0 else i},{i}", str(i % 2), when(hour, i), event_id=f"t{i}")
                     for i in range(30)]
        else:
            lines = ["{broken"] * 20
        write_hour(root, hour, lines)
    return root


def schedule_file(tmp: Path, name: str = "credit-hourly", state_store: str | None = None, **overrides) -> Path:
    constraints = tmp / "constraints.json"
    constraints.write_text(json.dumps(simple_constraints(NAMES)))
    doc = {"name": name, "monitor_type": "data-quality", "cron": "0 * * * *", "start_date": "2026-11-20T11:00:00Z",
           "output_root": str(tmp / "runs"), "state_store": state_store or str(tmp / "state"), "max_retries": 1,
           "params": {"dataset_source": str(tmp / "capture"), "dataset_format": "capture",
                      "baseline_constraints": str(constraints), "sagemaker_endpoint_name": "credit",
                      "html_report": "Disabled", "lineage": "Disabled"}}
    doc.update(overrides)
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def t(hour: int) -> datetime:
    return datetime(2026, 11, 20, hour, tzinfo=UTC)


def read(path: Path) -> dict:
    return json.loads(path.read_text())


# ---------------------------------------------------------------- tick in process (the shared SparkSession)


def test_tick_runs_the_due_windows_like_separate_monitor_runs_and_retries_failures(spark, tmp_path, capsys):
    capture(tmp_path / "capture", {10: "clean", 11: "typo", 13: "broken"})  # hour 12: no data
    path = schedule_file(tmp_path)
    spec = read_schedule(str(path))

    assert main(["schedule", "due", "--schedule", str(path), "--now", NOW, "--json"]) == 0
    due = json.loads(capsys.readouterr().out)
    assert [d["ScheduledTime"] for d in due] == [f"2026-11-20T{h}:00:00Z" for h in (11, 12, 13, 14)]
    assert due[0] == {"ScheduledTime": "2026-11-20T11:00:00Z", "WindowStart": "2026-11-20T10:00:00Z",
                      "WindowEnd": "2026-11-20T11:00:00Z", "Attempt": 1, "PreviousStatus": "",
                      "OutputUri": str(tmp_path / "runs" / "credit" / "credit-hourly" / "2026" / "11" / "20" / "11")}

    assert main(["schedule", "tick", "--schedule", str(path), "--now", NOW, "--dry-run"]) == 0
    assert [line.split()[1:3] for line in capsys.readouterr().out.splitlines()] == [["would", "run"]] * 4
    assert open_store(spec).list() == []  # a dry run writes nothing

    assert main(["schedule", "tick", "--schedule", str(path), "--now", NOW]) == EXIT_RUN_FAILED
    out, err = capsys.readouterr()
    assert "1 window(s) Failed: 2026-11-20T14:00:00Z" in err
    records = {r.scheduled_time: r for r in open_store(spec).list()}
    assert {h: records[t(h)].status for h in (11, 12, 13, 14)} == {
        11: "Completed", 12: "CompletedWithViolations", 13: "NoData", 14: "Failed"}
    assert all(r.attempts == 1 and r.run_id for r in records.values())

    # each completed window equals a separate `monitor` run of the same window; the folder is the scheduled hour
    for hour in (11, 12):
        rec = records[t(hour)]
        folder = tmp_path / "runs" / "credit" / "credit-hourly" / "2026" / "11" / "20" / f"{hour}"
        assert rec.output_uri == str(folder) and (rec.window_start, rec.window_end) == (t(hour - 1), t(hour))
        reference = tmp_path / f"reference-{hour}"
        flat = {**spec.run_params(t(hour)), "output_path": str(reference)}
        ref = run_job("data-quality", flat, spark=spark)
        assert ref.status == rec.status
        assert read(folder / "statistics.json") == read(reference / "statistics.json")
        assert read(folder / "constraint_violations.json") == read(reference / "constraint_violations.json")
        summary = read(folder / "run_summary.json")
        assert summary["run_id"] == rec.run_id and summary["status"] == rec.status
        assert rec.extra["violations"] == len(ref.violations) and rec.extra["records"] == ref.records == 30
    assert records[t(12)].extra["violations"] >= 1
    assert read(Path(records[t(13)].output_uri) / "run_summary.json")["status"] == "NoData"
    failed = records[t(14)]
    assert failed.failure_reason == ("20 of 20 record(s) in window [2026-11-20T13:00:00Z, 2026-11-20T14:00:00Z) "
                                     "rejected (malformed_json: 20), none could be profiled")
    assert failed.extra["records_rejected"] == {"malformed_json": 20}
    for line, hour in zip(out.splitlines(), (11, 12, 13, 14), strict=True):
        assert line.startswith(f"2026-11-20T{hour}:00:00Z  ran")

    # the next tick retries the Failed window once (max_retries 1), then leaves it
    assert main(["schedule", "tick", "--schedule", str(path), "--now", NOW]) == EXIT_RUN_FAILED
    capsys.readouterr()
    again = open_store(spec).get(t(14))
    assert (again.status, again.attempts, again.failure_reason) == ("Failed", 2, failed.failure_reason)
    assert again.extra["previous_failure"] == failed.failure_reason
    assert main(["schedule", "tick", "--schedule", str(path), "--now", NOW]) == 0
    assert capsys.readouterr().out == f"credit-hourly: nothing to do at {NOW}\n"
    assert open_store(spec).get(t(14)).attempts == 2

    assert main(["executions", "--schedule", str(path), "--status", "Failed", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["ScheduledTime"], r["MonitoringExecutionStatus"], r["Attempts"]) for r in listed] == [
        ("2026-11-20T14:00:00Z", "Failed", 2)]
    assert main(["executions", "--schedule", str(path), "--from", "2026-11-20T12:00:00Z",
                 "--to", "2026-11-20T14:00:00Z"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() [:4] == ["scheduled", "time", "status", "window"]
    assert [row.split()[:2] for row in table[1:]] == [["2026-11-20T12:00:00Z", "CompletedWithViolations"],
                                                      ["2026-11-20T13:00:00Z", "NoData"]]


# ---------------------------------------------------------------- ticks as processes


def tick_process(schedule: Path, log: Path, env: dict | None = None) -> subprocess.Popen:
    """`python -m monitor_lib.cli schedule tick` as its own process (stdout piped, stderr to ``log``)."""
    environment = dict(os.environ)
    environment.update(env or {})
    environment.pop("PYSPARK_GATEWAY_PORT", None)
    environment.pop("PYSPARK_GATEWAY_SECRET", None)
    environment.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")
    with open(log, "w") as err:
        return subprocess.Popen([sys.executable, "-m", "monitor_lib.cli", "schedule", "tick", "--schedule",
                                 str(schedule), "--now", NOW], cwd=REPO, env=environment, stdout=subprocess.PIPE,
                                stderr=err, text=True)


def race_schedule(tmp: Path, state_store: str, prefix: str) -> Path:
    """Four due windows submitted as SageMaker processing jobs (a cheap target: no Spark in the racing ticks,
    so they reach their claims together; each claim is followed by one CreateProcessingJob on the moto
    server, whose list of jobs is the independent count)."""
    doc = {"name": "credit-race", "monitor_type": "data-quality", "cron": "0 * * * *",
           "start_date": "2026-11-20T11:00:00Z", "output_root": "s3://out/runs", "state_store": state_store,
           "target": "sagemaker", "target_options": {
               "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/spark-model-monitor:latest",
               "role_arn": "arn:aws:iam::123456789012:role/monitor", "job_name_prefix": prefix},
           "params": {"dataset_source": "s3://data/capture", "dataset_format": "capture",
                      "baseline_constraints": "s3://data/baseline/constraints.json",
                      "sagemaker_endpoint_name": "credit"}}
    path = tmp / "race.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def race(tmp: Path, schedule: Path, endpoint: str, processes: int = 2) -> list[tuple[set[str], int]]:
    """Start the ticks together; per tick, the scheduled times it printed it submitted and its pid."""
    procs = [tick_process(schedule, tmp / f"tick-{i}.log", {"AWS_ENDPOINT_URL": endpoint}) for i in range(processes)]
    results = []
    for i, p in enumerate(procs):
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, (tmp / f"tick-{i}.log").read_text()[-3000:]
        results.append(({line.split()[0] for line in out.splitlines() if line.split()[1:2] == ["submitted"]},
                        p.pid))
    return results


def assert_claimed_once(results, records, sm, prefix: str) -> None:
    due = {f"2026-11-20T{h}:00:00Z" for h in (11, 12, 13, 14)}
    (first, pid1), (second, pid2) = results
    assert first | second == due and first & second == set()
    assert {r.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ") for r in records} == due
    for rec in records:
        when_ = rec.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert rec.attempts == 1 and rec.status == "InProgress"
        assert rec.owner.split(":")[1] == str(pid1 if when_ in first else pid2)  # the one that said it ran it
    jobs = sorted(j["ProcessingJobName"] for j in sm.list_processing_jobs(MaxResults=100)["ProcessingJobSummaries"]
                  if j["ProcessingJobName"].startswith(prefix))
    assert jobs == [f"{prefix}-20261120-{h}00-a1" for h in (11, 12, 13, 14)]  # one job per window, no second


def test_two_tick_processes_claim_each_window_once_on_s3(aws_server, tmp_path):
    s3 = aws_server.client("s3")
    s3.create_bucket(Bucket="race-state")
    path = race_schedule(tmp_path, "s3://race-state/schedules", "race-s3")
    results = race(tmp_path, path, aws_server.endpoint)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="race-state", Prefix="schedules/")["Contents"])
    assert keys == [f"schedules/credit-race/executions/20261120T{h}0000Z.json" for h in (11, 12, 13, 14)]
    assert_claimed_once(results, open_store(read_schedule(str(path))).list(), aws_server.client("sagemaker"),
                        "race-s3")


def test_two_tick_processes_claim_each_window_once_in_a_local_folder(aws_server, tmp_path):
    path = race_schedule(tmp_path, str(tmp_path / "state"), "race-local")
    results = race(tmp_path, path, aws_server.endpoint)
    folder = tmp_path / "state" / "credit-race" / "executions"
    assert sorted(p.name for p in folder.iterdir() if p.name != ".lock") == [
        f"20261120T{h}0000Z.json" for h in (11, 12, 13, 14)]  # no temporary file left
    assert_claimed_once(results, open_store(read_schedule(str(path))).list(), aws_server.client("sagemaker"),
                        "race-local")


def test_a_killed_tick_is_marked_failed_and_its_window_retried(spark, tmp_path, capsys):
    capture(tmp_path / "capture", {10: "clean"})
    path = schedule_file(tmp_path, cron="0 11 * * *")
    spec = read_schedule(str(path))
    store = open_store(spec)
    proc = tick_process(path, tmp_path / "killed.log")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rec = store.get(t(11))
        if rec is not None and rec.status == "InProgress":
            break
        assert proc.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed = store.get(t(11))
    assert killed.status == "InProgress" and killed.owner.split(":")[1] == str(proc.pid)

    assert main(["schedule", "tick", "--schedule", str(path), "--now", NOW]) == 0
    out = capsys.readouterr().out.splitlines()
    reason = f"the tick {killed.owner} that ran it ended without recording a result (killed?)"
    assert out[0].split()[:3] == ["2026-11-20T11:00:00Z", "marked", "Failed"] and out[0].endswith(reason)
    assert out[1].split()[:3] == ["2026-11-20T11:00:00Z", "ran", "Completed"]
    done = store.get(t(11))
    assert (done.status, done.attempts, done.extra["previous_failure"]) == ("Completed", 2, reason)
    assert read(Path(done.output_uri) / "run_summary.json")["run_id"] == done.run_id


# ---------------------------------------------------------------- remote targets on the moto server


def remote_schedule(tmp: Path, target: str, options: dict) -> Path:
    doc = {"name": f"credit-{target}", "monitor_type": "data-quality", "cron": "0 11-12 * * *",
           "start_date": "2026-11-20T11:00:00Z", "output_root": "s3://out/runs", "state_store": "s3://state/s",
           "target": target, "target_options": options,
           "params": {"dataset_source": "s3://data/capture", "dataset_format": "capture",
                      "baseline_constraints": "s3://data/baseline/constraints.json",
                      "sagemaker_endpoint_name": "credit"}}
    path = tmp / f"{target}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def buckets(aws_server):
    s3 = aws_server.client("s3")
    for bucket in ("state", "out", "code", "data"):
        s3.create_bucket(Bucket=bucket)
    return s3


def test_emr_target_submits_a_step_per_window_and_follows_it(aws_server, buckets, tmp_path, capsys):
    emr = aws_server.client("emr")
    cluster = emr.run_job_flow(
        Name="monitoring", ReleaseLabel="emr-7.5.0", JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
        Applications=[{"Name": "Spark"}], Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                                                     "KeepJobFlowAliveWhenNoSteps": True})["JobFlowId"]
    path = remote_schedule(tmp_path, "emr", {"cluster_id": cluster, "code_uri": "s3://code/mm"})
    assert main(["schedule", "tick", "--schedule", str(path), "--now", NOW]) == 0
    out = capsys.readouterr().out.splitlines()
    steps = {s["Id"]: s for s in emr.list_steps(ClusterId=cluster)["Steps"]}
    assert len(steps) == 2
    records = open_store(read_schedule(str(path))).list()
    assert [r.status for r in records] == ["InProgress", "InProgress"]
    for rec, line in zip(records, out, strict=True):
        c, _, step_id = rec.emr_step_id.partition("/")
        assert c == cluster and step_id in steps
        assert line.split()[1:3] == ["submitted", "InProgress"] and line.endswith(f"EMR step {rec.emr_step_id}")
        args = emr.describe_step(ClusterId=cluster, StepId=step_id)["Step"]["Config"]["Args"]
        hour = f"{rec.scheduled_time:%H}"
        assert f"--scheduled-time=2026-11-20T{hour}:00:00Z" in args  # --flag=value: offsets like -P1D stay values
        assert f"--output=s3://out/runs/credit/credit-emr/2026/11/20/{hour}" in args
        assert args[args.index("monitor") + 1:args.index("monitor") + 3] == ["--type", "data-quality"]
    # the next tick follows the steps (moto keeps them RUNNING): nothing new is submitted
    assert main(["schedule", "tick", "--schedule", str(path), "--now", NOW]) == 0
    assert capsys.readouterr().out == f"credit-emr: nothing to do at {NOW}\n"
    assert len(emr.list_steps(ClusterId=cluster)["Steps"]) == 2


def test_sagemaker_target_submits_processing_jobs_and_records_their_results(aws_server, buckets, tmp_path, capsys):
    sm = aws_server.client("sagemaker")
    options = {"image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/spark-model-monitor:latest",
               "role_arn": "arn:aws:iam::123456789012:role/monitor"}
    path = remote_schedule(tmp_path, "sagemaker", options)
    assert main(["schedule", "tick", "--schedule", str(path), "--now", NOW]) == 0
    capsys.readouterr()
    spec = read_schedule(str(path))
    records = open_store(spec).list()
    assert [(r.status, r.processing_job_arn.rsplit("/", 1)[-1]) for r in records] == [
        ("InProgress", "credit-sagemaker-20261120-1100-a1"), ("InProgress", "credit-sagemaker-20261120-1200-a1")]
    job = sm.describe_processing_job(ProcessingJobName="credit-sagemaker-20261120-1100-a1")
    assert job["ProcessingJobArn"] == records[0].processing_job_arn
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == \
        "s3://out/runs/credit/credit-sagemaker/2026/11/20/11"
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}  # the schedule's max_runtime
    # moto completes a processing job at once; the container would have uploaded run_summary.json: the 11:00
    # window's stands for it, the 12:00 window has none (its status then comes from the job's state)
    summary = {"status": "CompletedWithViolations", "violations": 2, "records": 30, "run_id": "r-11",
               "message": "CompletedWithViolations: Job completed successfully with 2 violations."}
    buckets.put_object(Bucket="out", Key="runs/credit/credit-sagemaker/2026/11/20/11/run_summary.json",
                       Body=json.dumps(summary).encode())
    assert main(["schedule", "tick", "--schedule", str(path), "--now", NOW]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in out] == [["2026-11-20T11:00:00Z", "followed", "CompletedWithViolations"],
                                                  ["2026-11-20T12:00:00Z", "followed", "Completed"]]
    first, second = open_store(spec).list()
    assert (first.run_id, first.extra["violations"], first.extra["records"]) == ("r-11", 2, 30)
    assert second.extra["message"].startswith("the processing job credit-sagemaker-20261120-1200-a1 completed; its "
                                              "output has no run_summary.json")
    assert main(["schedule", "tick", "--schedule", str(path), "--now", NOW]) == 0  # all final: nothing to do
    assert capsys.readouterr().out == f"credit-sagemaker: nothing to do at {NOW}\n"
