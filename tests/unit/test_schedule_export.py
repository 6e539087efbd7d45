"""``schedule export``: every trigger definition checked as what consumes it would check it.

References, independent of the code under test: botocore's Stubber (validates each request against the real
service models: EMR AddJobFlowSteps, SageMaker CreateProcessingJob, EventBridge Scheduler CreateSchedule) and the
models' own ProcessingJobName pattern; cronsim for the Unix schedules and a small evaluator of AWS's six-field
cron written here; Jinja2 (Airflow's engine, with Airflow's ``ts`` filter) for the DAG's templates; py_compile and
ast for the DAG file; configparser and ``systemd-analyze verify`` for the units; PyYAML for the CronJob; real
bash / sh / flock for the command lines; and ``model-monitor monitor``'s own flag parser: a rendered job must give
exactly the parameters the schedule gives its execution (``spec.typed_params``). No Spark."""

from __future__ import annotations

import ast
import configparser
import json
import os
import py_compile
import re
import shlex
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.session
import jinja2
import pytest
import yaml
from botocore.stub import Stubber
from cronsim import CronSim

from monitor_lib.commands import parse_job
from monitor_lib.errors import ConfigError
from monitor_lib.schedule import export
from monitor_lib.schedule.spec import read_schedule

T = datetime(2026, 11, 20, 11, tzinfo=UTC)  # the scheduled time of the execution the tests render
FIRED = T + timedelta(minutes=20)  # when a trigger fires for it: the default grace later
EXECUTION_IDS = ("d32c5kddcf5bb8c3", "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b")  # the docs' example; a UUID

DATA_QUALITY = {
    "name": "churn-hourly", "monitor_type": "data-quality", "cron": "cron(0 * ? * * *)",
    "start_date": "2026-11-20T11:00:00Z", "output_root": "s3://reports/monitoring", "state_store": "s3://reports/state",
    "params": {"dataset_source": "s3://capture/churn-endpoint", "dataset_format": "capture",
               "baseline_statistics": "s3://reports/baseline/statistics.json",
               "baseline_constraints": "s3://reports/baseline/constraints.json",
               "sagemaker_endpoint_name": "churn-endpoint", "publish_cloudwatch_metrics": "Enabled"},
}
EMR = {**DATA_QUALITY, "target": "emr", "window": "PT2H", "cron": "0 */2 * * *",
       "target_options": {"cluster_id": "j-1ABCDEFGHIJKL", "code_uri": "s3://code-bucket/model-monitor",
                          "archives": ["s3://code-bucket/env.tar.gz#env"], "conf": {"spark.executor.memory": "2g"}}}
SAGEMAKER = {**DATA_QUALITY, "target": "sagemaker", "end_offset": "-PT1H",
             "target_options": {"image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/spark-model-monitor:1",
                                "role_arn": "arn:aws:iam::123456789012:role/monitor",
                                "instance_type": "ml.m5.2xlarge"}}
CODE = {"monitor_lib.zip": "s3://code-bucket/model-monitor/0123456789ab/monitor_lib.zip",
        "model_monitor.py": "s3://code-bucket/model-monitor/0123456789ab/model_monitor.py"}
ROLE = "arn:aws:iam::123456789012:role/scheduler"


def _schedule(tmp_path, doc: dict, name: str = "schedule.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _spec(tmp_path, doc: dict):
    return read_schedule(str(_schedule(tmp_path, doc)))


_SESSION = botocore.session.get_session()  # one session: the service models are loaded once


def _stubbed(service: str):
    client = _SESSION.create_client(
        service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    return client, Stubber(client)


def _validated(service: str, operation: str, params: dict, response: dict) -> None:
    """botocore validates ``params`` against the service model (a wrong member, type or a missing required one
    raises ParamValidationError before the stub answers)."""
    client, stub = _stubbed(service)
    stub.add_response(operation, response, params)
    with stub:
        getattr(client, operation)(**params)
        stub.assert_no_pending_responses()


def _job_name_rule() -> tuple[re.Pattern, int]:
    model = _SESSION.get_service_model("sagemaker")
    shape = model.operation_model("CreateProcessingJob").input_shape.members["ProcessingJobName"]
    return re.compile(shape.metadata["pattern"]), shape.metadata["max"]


def _job_flags(args: list[str]) -> list[str]:
    """The flags of ``model-monitor monitor`` in a spark-submit / command line: what follows ``monitor``."""
    return args[args.index("monitor") + 1:]


# ------------------------------------------------------------------------------- EventBridge's cron dialect

_AWS_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_AWS_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _aws_matches(field: str, value: int, lo: int, hi: int, names=(), first: int = 0) -> bool:
    """AWS's field grammar (EventBridge "Cron expressions reference"): * ? , - / and names."""
    for part in field.split(","):
        if part in ("*", "?"):
            return True
        body, _, step = part.partition("/")

        def n(text: str) -> int:
            return names.index(text) + first if text in names else int(text)

        if "-" in body:
            a, b = (n(x) for x in body.split("-"))
        else:
            a = n(body)
            b = hi if step else a
        if a <= value <= b and (value - a) % int(step or 1) == 0:
            return True
    return False


def _aws_times(expression: str, start: datetime, days: int) -> list[datetime]:
    """The minutes in (start, start + days) at which the six-field AWS expression fires."""
    minute, hour, dom, month, dow, year = expression[len("cron("):-1].split()
    assert year == "*"
    out = []
    for h in range(days * 24):
        t = start + timedelta(hours=h)
        aws_dow = (t.weekday() + 1) % 7 + 1  # AWS: 1 = Sunday
        if (_aws_matches(hour, t.hour, 0, 23) and _aws_matches(dom, t.day, 1, 31)
                and _aws_matches(month, t.month, 1, 12, _AWS_MONTHS, 1)
                and _aws_matches(dow, aws_dow, 1, 7, _AWS_DAYS, 1)):
            out += [t + timedelta(minutes=m) for m in range(60) if _aws_matches(minute, m, 0, 59)]
    return [t for t in out if t > start]


@pytest.mark.parametrize("unix", [
    "0 * * * *", "20 * * * *", "0 12 * * *", "0 1/6 * * *", "5 */2 * * *", "0 18 * * 1-5", "0 9 * * 0",
    "0 9 * * 7", "30 6 * * 5-7", "0 8 1 * *", "0 8 1,15 */3 *", "0 0 * * SAT,SUN", "10 4-20/4 * JAN-MAR *",
    "0 23 * * 1,3,5", "0 7 10-20 * *",
])
def test_eventbridge_cron_fires_at_the_times_cronsim_gives_the_unix_expression(unix):
    aws = export.aws_cron(unix)
    start = datetime(2026, 1, 1)
    expected = []
    for t in CronSim(unix, start):
        if t >= start + timedelta(days=90):
            break
        expected.append(t)
    fired = _aws_times(aws, start, 90)
    assert expected and fired == expected, aws


@pytest.mark.parametrize("unix, aws", [  # the forms of operations.md §2 and the EventBridge guide's examples
    ("0 * * * *", "cron(0 * * * ? *)"),
    ("0 12 * * *", "cron(0 12 * * ? *)"),
    ("0 17/12 * * *", "cron(0 17/12 * * ? *)"),
    ("0 18 * * 1-5", "cron(0 18 ? * MON-FRI *)"),
    ("0 8 1 * *", "cron(0 8 1 * ? *)"),
    ("*/10 * * * 1-5", "cron(0/10 * ? * MON-FRI *)"),
    ("*/5 8-17 * * 1-5", "cron(0/5 8-17 ? * MON-FRI *)"),
    ("15 10 * * 5L", "cron(15 10 ? * 6L *)"),  # the last Friday: AWS numbers Friday 6
    ("0 9 * * 1#2", "cron(0 9 ? * 2#2 *)"),  # the second Monday
    ("0 9 L * *", "cron(0 9 L * ? *)"),
    ("0 9 * * 0,6", "cron(0 9 ? * SUN,SAT *)"),
])
def test_eventbridge_cron_translation_table(unix, aws):
    assert export.aws_cron(unix) == aws


def test_a_cron_restricting_both_day_fields_has_no_eventbridge_form():
    with pytest.raises(ConfigError, match=r"both the day of the month and the day of the week.*--cron"):
        export.aws_cron("0 9 1 * 1")


def test_the_trigger_fires_grace_after_each_scheduled_time_inside_its_hour(tmp_path):
    assert export.trigger_cron(_spec(tmp_path, SAGEMAKER)) == "20 * * * *"
    assert export.trigger_cron(_spec(tmp_path, {**SAGEMAKER, "cron": "cron(0 5 ? * * *)",
                                                "grace": "PT45M"})) == "45 5 * * *"
    with pytest.raises(ConfigError, match=r"grace PT1H.*under 60 minutes.*--cron/--systemd/--kubernetes"):
        export.trigger_cron(_spec(tmp_path, {**SAGEMAKER, "grace": "PT1H"}))


# ------------------------------------------------------------------------------- EventBridge

def _eventbridge(tmp_path, doc: dict) -> dict:
    return export.eventbridge_request(_spec(tmp_path, doc), ROLE, CODE, now=datetime(2026, 1, 1, tzinfo=UTC))


def _fill(text: str, scheduled: str, execution_id: str) -> str:
    return text.replace(export.EVENTBRIDGE_TIME, scheduled).replace(export.EVENTBRIDGE_EXECUTION_ID, execution_id)


def test_eventbridge_emr_request_validates_and_its_step_runs_the_execution_of_the_scheduled_time(tmp_path):
    spec = _spec(tmp_path, EMR)
    request = _eventbridge(tmp_path, EMR)
    _validated("scheduler", "create_schedule", request, {"ScheduleArn": "arn:aws:scheduler:us-east-1:1:schedule/x"})
    assert request["ScheduleExpression"] == "cron(20 0/2 * * ? *)"
    assert request["ScheduleExpressionTimezone"] == "UTC" and request["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert request["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:emr:addJobFlowSteps"
    assert request["Target"]["RoleArn"] == ROLE and request["StartDate"] == "2026-11-20T11:00:00Z"
    assert request["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 2

    step_request = json.loads(_fill(request["Target"]["Input"], "2026-11-20T12:20:00Z", EXECUTION_IDS[0]))
    _validated("emr", "add_job_flow_steps", step_request, {"StepIds": ["s-1"]})
    assert step_request["JobFlowId"] == "j-1ABCDEFGHIJKL"
    args = step_request["Steps"][0]["HadoopJarStep"]["Args"]
    assert args[:2] == ["bash", "-c"] and args[3:6] == ["spark-submit", "--deploy-mode", "cluster"]
    assert args[args.index("--py-files") + 1] == CODE["monitor_lib.zip"]
    assert args[args.index("monitor") - 1] == CODE["model_monitor.py"]

    # the step's bash wrapper, run by real bash with a program that prints what spark-submit would get
    printer = [sys.executable, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))"]
    out = subprocess.run(["bash", "-c", args[2], printer[0], *printer[1:], *args[4:]], capture_output=True,
                         text=True, check=True).stdout
    flags = _job_flags(json.loads(out))
    scheduled = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert parse_job("monitor", flags).typed() == spec.typed_params(scheduled)
    assert flags[-1] == "--output=s3://reports/monitoring/churn-endpoint/churn-hourly/2026/11/20/12"
    typed = parse_job("monitor", flags).typed()
    assert (typed.start_time, typed.end_time) == (datetime(2026, 11, 20, 10, tzinfo=UTC), scheduled)  # PT2H


def test_eventbridge_sagemaker_request_validates_and_its_container_writes_the_execution_folder(tmp_path):
    from monitor_lib.container import sagemaker_environment
    from monitor_lib.params import env_names

    spec = _spec(tmp_path, SAGEMAKER)
    request = _eventbridge(tmp_path, SAGEMAKER)
    _validated("scheduler", "create_schedule", request, {"ScheduleArn": "arn:aws:scheduler:us-east-1:1:schedule/x"})
    assert request["ScheduleExpression"] == "cron(20 * * * ? *)"
    assert request["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob"
    pattern, longest = _job_name_rule()
    for execution_id in EXECUTION_IDS:
        job = json.loads(_fill(request["Target"]["Input"], FIRED.strftime("%Y-%m-%dT%H:%M:%SZ"), execution_id))
        _validated("sagemaker", "create_processing_job", job, {"ProcessingJobArn": "arn:aws:sagemaker:x"})
        name = job["ProcessingJobName"]
        assert pattern.fullmatch(name) and len(name) <= longest and name.endswith(execution_id)
    assert job["RoleArn"] == "arn:aws:iam::123456789012:role/monitor"
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.2xlarge"
    output = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]
    assert output["S3Uri"] == "s3://reports/monitoring/churn-endpoint/churn-hourly"
    env = job["Environment"]
    assert env["scheduled_time"] == "2026-11-20T11:20:00Z" and env["end_offset"] == "-PT1H"

    # the entrypoint, run by real sh; `model-monitor` here prints the output_path it is given
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "model-monitor").write_text('#!/bin/sh\necho "$output_path $*"\n')
    (bin_dir / "model-monitor").chmod(0o755)
    entry = job["AppSpecification"]["ContainerEntrypoint"]
    run_env = {**{k: str(v) for k, v in env.items()}, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    printed = subprocess.run(entry, env=run_env, capture_output=True, text=True, check=True).stdout.split()
    assert printed == ["/opt/ml/processing/output/2026/11/20/11", "analyze"]
    local = printed[0]
    assert output["S3Uri"] + local[len(output["LocalPath"]):] == spec.output_for(T)  # uploaded into T's folder
    # what `model-monitor analyze` reads from that environment: T's window, one hour late (end_offset)
    names = sorted({n for m in [spec.monitor] for p in m.phases for n in env_names(p.params)})
    seen = sagemaker_environment(names, root=str(tmp_path / "no-opt-ml"), environ={**run_env, "output_path": local})
    typed = spec.monitor.phase("monitoring").params
    from monitor_lib.params import from_params

    params = from_params(typed, seen, "environment", strict=False)
    assert (params.start_time, params.end_time) == (datetime(2026, 11, 20, 9, tzinfo=UTC),
                                                    datetime(2026, 11, 20, 10, tzinfo=UTC))
    assert params.output_path == local


def test_eventbridge_job_name_leaves_room_for_the_execution_id(tmp_path):
    long = {**SAGEMAKER, "target_options": {**SAGEMAKER["target_options"], "job_name_prefix": "x" * 60}}
    request = _eventbridge(tmp_path, long)
    name = json.loads(request["Target"]["Input"])["ProcessingJobName"]
    assert name == "x" * 26 + "-" + export.EVENTBRIDGE_EXECUTION_ID


def test_eventbridge_errors_name_the_flag_or_key(tmp_path):
    with pytest.raises(ConfigError, match="--eventbridge needs --role-arn"):
        export.eventbridge_request(_spec(tmp_path, SAGEMAKER), None, CODE)
    local = {**DATA_QUALITY, "target": "local"}
    with pytest.raises(ConfigError, match=r"target local has no eventbridge form.*--cron, --systemd or --kubernetes"):
        export.eventbridge_request(_spec(tmp_path, local), ROLE, CODE)
    no_cluster = {**EMR, "target_options": {"code_uri": "s3://code-bucket/x"}}
    with pytest.raises(ConfigError, match=r"target emr needs target_options cluster_id"):
        export.eventbridge_request(_spec(tmp_path, no_cluster), ROLE, CODE)
    local_data = {**EMR, "params": {**EMR["params"], "dataset_source": "capture/churn"}}
    with pytest.raises(ConfigError, match=r"params.dataset_source must be an s3:// URI for target emr"):
        export.eventbridge_request(_spec(tmp_path, local_data), ROLE, CODE)
    no_role = {**SAGEMAKER, "target_options": {"image_uri": "img"}}
    with pytest.raises(ConfigError, match=r"target sagemaker needs target_options role_arn"):
        export.eventbridge_request(_spec(tmp_path, no_role), ROLE, CODE)


# ------------------------------------------------------------------------------- Airflow

_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined)
_JINJA.filters["ts"] = lambda value: value.isoformat()  # Airflow's own definition of the ts filter


def _render(value, **context):
    if isinstance(value, str):
        return _JINJA.from_string(value).render(**context)
    if isinstance(value, list):
        return [_render(v, **context) for v in value]
    if isinstance(value, dict):
        return {k: _render(v, **context) for k, v in value.items()}
    return value


def _dag(tmp_path, doc: dict, command=("model-monitor",)) -> tuple[str, ast.Module, dict]:
    spec = _spec(tmp_path, doc)
    text = export.airflow_dag(spec, list(command), CODE, working_directory=str(tmp_path))
    path = tmp_path / "dag.py"
    path.write_text(text, encoding="utf-8")
    py_compile.compile(str(path), doraise=True)
    tree = ast.parse(text)
    constants = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
                 if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    return text, tree, constants


def _calls(tree: ast.Module) -> dict[str, dict[str, ast.expr]]:
    return {node.func.id: {k.arg: k.value for k in node.keywords} for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}


def _dag_settings(calls) -> dict:
    dag = calls["DAG"]
    return {"dag_id": ast.literal_eval(dag["dag_id"]), "schedule": ast.literal_eval(dag["schedule"]),
            "catchup": ast.literal_eval(dag["catchup"]), "default_args": ast.literal_eval(dag["default_args"])}


def test_airflow_dag_for_emr_adds_the_step_of_data_interval_end(tmp_path):
    spec = _spec(tmp_path, EMR)
    _, tree, constants = _dag(tmp_path, EMR)
    calls = _calls(tree)
    assert _dag_settings(calls) == {"dag_id": "model_monitor_churn_hourly", "schedule": "20 */2 * * *",
                                    "catchup": False, "default_args": {"retries": 2}}
    assert ast.unparse(calls["EmrAddStepsOperator"]["steps"]) == "[STEP]"
    assert ast.unparse(calls["EmrAddStepsOperator"]["job_flow_id"]) == "CLUSTER_ID"
    assert "xcom_pull(task_ids='add_step')[0]" in ast.literal_eval(calls["EmrStepSensor"]["step_id"])
    step = constants["STEP"]
    assert "--scheduled-time={{ data_interval_end | ts }}" in step["HadoopJarStep"]["Args"]
    scheduled = datetime(2026, 11, 20, 14, tzinfo=UTC)
    rendered = _render(step, data_interval_end=scheduled + timedelta(minutes=20))
    _validated("emr", "add_job_flow_steps", {"JobFlowId": constants["CLUSTER_ID"], "Steps": [rendered]},
               {"StepIds": ["s-1"]})
    flags = _job_flags(rendered["HadoopJarStep"]["Args"])
    assert parse_job("monitor", flags).typed() == spec.typed_params(scheduled)
    assert f"--output={spec.output_for(scheduled)}" in flags


def test_airflow_dag_for_sagemaker_creates_the_processing_job_of_data_interval_end(tmp_path):
    spec = _spec(tmp_path, SAGEMAKER)
    _, tree, constants = _dag(tmp_path, SAGEMAKER)
    calls = _calls(tree)
    assert _dag_settings(calls)["schedule"] == "20 * * * *"
    assert ast.unparse(calls["SageMakerProcessingOperator"]["config"]) == "PROCESSING_JOB"
    request = constants["PROCESSING_JOB"]
    assert request["Environment"]["scheduled_time"] == "{{ data_interval_end | ts }}"
    rendered = _render(request, data_interval_end=FIRED)
    _validated("sagemaker", "create_processing_job", rendered, {"ProcessingJobArn": "arn:aws:sagemaker:x"})
    pattern, longest = _job_name_rule()
    assert pattern.fullmatch(rendered["ProcessingJobName"]) and len(rendered["ProcessingJobName"]) <= longest - 20
    assert rendered["ProcessingJobName"] == "churn-hourly-202611201120"
    assert rendered["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == spec.output_for(T)
    assert rendered["AppSpecification"]["ContainerEntrypoint"] == ["model-monitor", "analyze"]
    assert rendered["Environment"]["scheduled_time"] == "2026-11-20T11:20:00+00:00"


def test_airflow_dag_for_a_local_target_runs_the_monitor_command(tmp_path):
    local = {**DATA_QUALITY, "target": "local", "output_root": "out/scheduled", "timezone": "Europe/Berlin",
             "start_offset": "-PT3H",  # a negative value after a flag: written --start-offset=-PT3H
             "params": {**DATA_QUALITY["params"], "dataset_source": "capture", "html_report": "Disabled",
                        "lineage": "Disabled", "max_rejected_fraction": 0.25}}
    spec = _spec(tmp_path, local)
    text, tree, constants = _dag(tmp_path, local, command=("/opt/venv/bin/model-monitor",))
    calls = _calls(tree)
    assert ast.unparse(calls["BashOperator"]["bash_command"]) == "BASH_COMMAND"
    assert constants["WORKING_DIRECTORY"] == str(tmp_path)
    assert "tz='Europe/Berlin'" in text and "pendulum.datetime(2026, 11, 20, 12, 0," in text  # 11:00Z = 12:00 CET
    argv = shlex.split(_render(constants["BASH_COMMAND"], data_interval_end=FIRED))
    assert argv[:2] == ["/opt/venv/bin/model-monitor", "monitor"]
    typed = parse_job("monitor", argv[2:]).typed()
    assert typed == spec.typed_params(T)
    assert (typed.start_time, typed.end_time) == (datetime(2026, 11, 20, 8, tzinfo=UTC), T)
    assert {"--no-html-report", "--no-lineage", "--start-offset=-PT3H"} <= set(argv)


def test_airflow_dag_for_a_model_quality_schedule_on_sagemaker_maps_the_ground_truth(tmp_path):
    doc = {**SAGEMAKER, "monitor_type": "model-quality", "end_offset": "-P1D",
           "params": {"dataset_source": "s3://capture/churn-endpoint", "ground_truth_source": "s3://labels/churn",
                      "problem_type": "BinaryClassification", "inference_attribute": "0",
                      "probability_attribute": "0", "probability_threshold_attribute": 0.5,
                      "baseline_constraints": "s3://reports/mq-baseline/constraints.json",
                      "sagemaker_endpoint_name": "churn-endpoint"}}
    spec = _spec(tmp_path, doc)
    _, _, constants = _dag(tmp_path, doc)
    rendered = _render(constants["PROCESSING_JOB"], data_interval_end=FIRED)
    _validated("sagemaker", "create_processing_job", rendered, {"ProcessingJobArn": "arn:aws:sagemaker:x"})
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in rendered["ProcessingInputs"]}
    assert inputs["ground_truth_input"] == "s3://labels/churn"
    assert rendered["Environment"]["end_offset"] == "-P1D"
    assert rendered["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == spec.output_for(T)


def test_unknown_target_options_are_refused_as_the_tick_refuses_them(tmp_path):
    doc = {**SAGEMAKER, "target_options": {**SAGEMAKER["target_options"], "cluster_id": "j-1"}}
    with pytest.raises(ConfigError, match=r"target_options cluster_id do\(es\) not apply to target sagemaker"):
        export.eventbridge_request(_spec(tmp_path, doc), ROLE, CODE)


def test_airflow_dag_for_standalone_submits_to_the_master(tmp_path):
    doc = {**DATA_QUALITY, "target": "standalone", "target_options": {"master": "spark://head:7077"}}
    spec = _spec(tmp_path, doc)
    _, _, constants = _dag(tmp_path, doc)
    argv = shlex.split(_render(constants["BASH_COMMAND"], data_interval_end=FIRED))
    assert argv[:6] == ["model-monitor", "submit", "--target", "standalone", "--master", "spark://head:7077"]
    assert argv[argv.index("--") - 1] == "monitor"
    assert parse_job("monitor", argv[argv.index("--") + 1:]).typed() == spec.typed_params(T)


# ------------------------------------------------------------------------------- cron, systemd, Kubernetes

def test_crontab_line_ticks_every_five_minutes_under_flock(tmp_path):
    schedule = _schedule(tmp_path, {**DATA_QUALITY, "target": "local"}, "50%-sample schedule.yaml")
    spec = read_schedule(str(schedule))
    log, lock = tmp_path / "tick.log", tmp_path / "tick.lock"
    text = export.crontab(spec, ["/bin/echo"], str(schedule), str(log), str(lock))
    entries = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(entries) == 1 and "CRON_TZ" not in text
    fields = entries[0].split(None, 5)
    expression, command = " ".join(fields[:5]), fields[5]
    first = datetime(2026, 11, 20, 10, 1)
    sim = CronSim(expression, first)
    assert [next(sim) for _ in range(3)] == [datetime(2026, 11, 20, 10, m) for m in (5, 10, 15)]
    assert "\\%" in command and "%" not in command.replace("\\%", "")  # cron reads a bare % as a newline
    argv = shlex.split(command.replace("\\%", "%"))
    assert argv[:3] == ["flock", "-n", str(lock)] and argv[-3:] == [">>", str(log), "2>&1"]
    assert argv[3:-3] == ["/bin/echo", "schedule", "tick", "--schedule", str(schedule)]
    # what cron runs: the line through sh (the % unescaped as cron does)
    subprocess.run(["/bin/sh", "-c", command.replace("\\%", "%")], check=True)
    assert log.read_text() == f"schedule tick --schedule {schedule}\n"


def test_systemd_units_parse_and_verify(tmp_path):
    schedule = _schedule(tmp_path, {**DATA_QUALITY, "target": "local"})
    spec = read_schedule(str(schedule))
    units = export.systemd_units(spec, [sys.executable, "-m", "monitor_lib.cli"], str(schedule), str(tmp_path))
    assert sorted(units) == ["model-monitor-churn-hourly.service", "model-monitor-churn-hourly.timer"]
    service, timer = configparser.ConfigParser(interpolation=None), configparser.ConfigParser(interpolation=None)
    service.optionxform = timer.optionxform = str
    service.read_string(units["model-monitor-churn-hourly.service"])
    timer.read_string(units["model-monitor-churn-hourly.timer"])
    assert service["Service"]["Type"] == "oneshot"
    assert shlex.split(service["Service"]["ExecStart"]) == [sys.executable, "-m", "monitor_lib.cli", "schedule",
                                                             "tick", "--schedule", str(schedule)]
    assert dict(timer["Timer"]) == {"OnCalendar": "*:0/5", "Persistent": "true",
                                    "Unit": "model-monitor-churn-hourly.service"}
    assert timer["Install"]["WantedBy"] == "timers.target"
    analyze = shutil.which("systemd-analyze")
    if analyze:  # systemd's own parser, where it is installed
        for name, text in units.items():
            (tmp_path / name).write_text(text)
        done = subprocess.run([analyze, "verify", *(str(tmp_path / n) for n in units)], capture_output=True,
                              text=True)
        problems = [line for line in done.stderr.splitlines() if "model-monitor-churn-hourly" in line]
        assert done.returncode == 0 and problems == [], done.stderr


def test_systemd_quotes_and_escapes_specifiers():
    assert export._systemd_arg("/srv/my schedules/50%.yaml") == '"/srv/my schedules/50%%.yaml"'
    assert export._systemd_arg("$HOME") == "$$HOME"


def test_kubernetes_cronjob_and_configmap(tmp_path):
    doc = {**DATA_QUALITY, "target": "local"}
    schedule = _schedule(tmp_path, doc)
    spec = read_schedule(str(schedule))
    manifest = export.kubernetes_manifest(spec, str(schedule), schedule.read_text(), "repo/spark-model-monitor:1")
    config_map, cron_job = yaml.safe_load_all(manifest)
    assert (config_map["apiVersion"], config_map["kind"]) == ("v1", "ConfigMap")
    assert yaml.safe_load(config_map["data"]["schedule.yaml"]) == doc
    assert (cron_job["apiVersion"], cron_job["kind"]) == ("batch/v1", "CronJob")
    s = cron_job["spec"]
    assert (s["schedule"], s["timeZone"], s["concurrencyPolicy"]) == ("*/5 * * * *", "Etc/UTC", "Forbid")
    assert 0 < s["startingDeadlineSeconds"] < 300
    pod = s["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in ("OnFailure", "Never")
    container = pod["containers"][0]
    assert container["image"] == "repo/spark-model-monitor:1"
    assert container["env"] == [{"name": "MODEL_MONITOR_DRIVER_MEMORY", "value": "4g"}]  # under the 6Gi limit
    assert container["resources"]["limits"]["memory"] == "6Gi"
    mount = container["volumeMounts"][0]
    assert container["command"] == ["model-monitor", "schedule", "tick", "--schedule",
                                    f"{mount['mountPath']}/schedule.yaml"]
    assert pod["volumes"][0] == {"name": mount["name"], "configMap": {"name": config_map["metadata"]["name"]}}
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", cron_job["metadata"]["name"])
    assert len(cron_job["metadata"]["name"]) <= 52
    # a schedule read from s3:// needs no ConfigMap
    (only,) = yaml.safe_load_all(export.kubernetes_manifest(spec, "s3://b/schedules/churn.yaml", None, "img"))
    assert only["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1] == \
        "s3://b/schedules/churn.yaml"


# ------------------------------------------------------------------------------- the command

def test_cli_prints_writes_and_refuses(tmp_path, capsys, monkeypatch):
    from monitor_lib.cli import main

    monkeypatch.chdir(tmp_path)
    schedule = _schedule(tmp_path, {**DATA_QUALITY, "target": "local"})
    assert main(["schedule", "export", "--schedule", str(schedule), "--cron", "--command", "/usr/bin/mm"]) == 0
    assert "/usr/bin/mm schedule tick --schedule " + str(schedule) in capsys.readouterr().out
    assert main(["schedule", "export", "--schedule", str(schedule), "--systemd", "--output", "units"]) == 0
    assert sorted(os.listdir(tmp_path / "units")) == ["model-monitor-churn-hourly.service",
                                                      "model-monitor-churn-hourly.timer"]
    assert main(["schedule", "export", "--schedule", str(schedule), "--airflow", "--output", "dags/mm.py"]) == 0
    py_compile.compile(str(tmp_path / "dags" / "mm.py"), doraise=True)
    capsys.readouterr()
    for argv, message in [
        (["--eventbridge"], "--eventbridge needs --role-arn"),
        (["--eventbridge", "--role-arn", ROLE], "target local has no eventbridge form"),
        (["--cron", "--image", "x"], "--image does not apply to --cron"),
        (["--kubernetes", "--role-arn", ROLE], "--role-arn do(es) not apply to --kubernetes"),
    ]:
        assert main(["schedule", "export", "--schedule", str(schedule), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
