"""``model-monitor schedule export``: the trigger definition of a schedule, printed or written.

Two families (``../shared/spec/operations.md`` §2, §7):

* triggers that only know "now" call the idempotent ``schedule tick`` every five minutes and let the schedule's
  own cron, its state store and its grace decide what is due: ``--cron`` (a crontab line under ``flock -n``),
  ``--systemd`` (a oneshot ``.service`` and its ``.timer``), ``--kubernetes`` (a ``batch/v1`` CronJob,
  ``concurrencyPolicy: Forbid``, and a ConfigMap holding the schedule file);
* triggers that know their own scheduled time submit the execution themselves, with ``--scheduled-time`` so
  that the job computes SageMaker's window: ``--airflow`` (a DAG whose schedule is the schedule's cron; the
  time is ``{{ data_interval_end }}``) and ``--eventbridge`` (a ``scheduler.create_schedule`` request whose
  universal target adds the EMR step or creates the SageMaker Processing job; the time is
  ``<aws.scheduler.scheduled-time>``). They write no execution records and catch nothing up: the tick and
  ``backfill`` own that.

The requests reuse ``submit``'s builders (``driver.emr.step_definition``, ``driver.sagemaker
.processing_job_request``) on the job flags the schedule's parameters give, checked exactly as
``model-monitor monitor`` checks them. The trigger fires ``grace`` after each scheduled time (minute 20 of the
hour for an hourly schedule and the default 20 minutes: late capture has arrived); the job truncates the time it
is given to the hour, so its window and its output folder (named by the scheduled hour) are those of the
scheduled time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pprint
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor_lib.errors import ConfigError
from monitor_lib.schedule.spec import ScheduleSpec
from monitor_lib.schedule.windows import duration_text
from monitor_lib.timefmt import iso_utc

FORMS = ("cron", "systemd", "kubernetes", "airflow", "eventbridge")
TICK_CRON = "*/5 * * * *"  # how often the tick-calling triggers fire (tick is idempotent: cheap when nothing is due)
TICK_CALENDAR = "*:0/5"  # the same for a systemd timer
DEFAULT_IMAGE = "spark-model-monitor"  # the Dockerfile's tag (docker build -t spark-model-monitor .)
SCHEDULE_MOUNT = "/etc/model-monitor"  # where the CronJob mounts the ConfigMap holding the schedule file

EVENTBRIDGE_TIME = "<aws.scheduler.scheduled-time>"
EVENTBRIDGE_EXECUTION_ID = "<aws.scheduler.execution-id>"
EVENTBRIDGE_EXECUTION_ID_MAX = 36  # a UUID at most (the docs' example, d32c5kddcf5bb8c3, has 16 characters)
EMR_TARGET = "arn:aws:scheduler:::aws-sdk:emr:addJobFlowSteps"
SAGEMAKER_TARGET = "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob"
AIRFLOW_TIME = "{{ data_interval_end | ts }}"
AIRFLOW_HOUR_FOLDER = '{{ data_interval_end.strftime("%Y/%m/%d/%H") }}'
AIRFLOW_JOB_SUFFIX = '{{ data_interval_end.strftime("%Y%m%d%H%M") }}'
PROCESSING_JOB_NAME_MAX = 63  # CreateProcessingJob's ProcessingJobName: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}

# A scheduled time no schedule uses: the job flags are checked with it, then it is replaced by the trigger's own
# placeholder (the Jinja of Airflow, the context attribute of EventBridge).
SAMPLE_TIME = datetime(2001, 2, 3, 4, 0, tzinfo=UTC)

_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


# ------------------------------------------------------------------------------------ cron dialects


def _field_values(part: str, lo: int, hi: int, names: tuple[str, ...] = (), first: int = 0) -> list[int]:
    """The values of one comma-free cron part (``*``, ``a``, ``a-b``, ``*/n``, ``a/n``, ``a-b/n``)."""

    def number(text: str) -> int:
        upper = text.upper()
        if upper in names:
            return names.index(upper) + first
        if not text.isdigit():
            raise ValueError(text)
        return int(text)

    body, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if body == "*":
        start, end = lo, hi
    elif "-" in body:
        a, b = body.split("-", 1)
        start, end = number(a), number(b)
    else:
        start = number(body)
        end = hi if step_text else start
    return list(range(start, end + 1, step))


def _aws_numeric(field: str, lo: int, hi: int, what: str, names: tuple[str, ...] = (), first: int = 0) -> str:
    """A minute / hour / day-of-month / month field in AWS's dialect (the same as Unix's but for ``*/n``, written
    ``lo/n``, and stepped ranges, which AWS does not document: written out as lists)."""
    out = []
    for part in field.split(","):
        if part == "*" or re.fullmatch(r"\d+(-\d+)?", part) or part.upper() in names \
                or re.fullmatch(r"[A-Za-z]{3}-[A-Za-z]{3}", part) or re.fullmatch(r"\d+/\d+", part):
            out.append(part.upper())
        elif re.fullmatch(r"\*/\d+", part):
            out.append(f"{lo}/{part[2:]}")
        elif what == "day-of-month" and part.upper() == "L":
            out.append("L")
        else:
            try:
                out.extend(str(v) for v in _field_values(part, lo, hi, names, first))
            except ValueError:
                raise ConfigError(f"cron {what} field {field!r}: {part!r} has no EventBridge form") from None
    return ",".join(out)


def _aws_day(value: int) -> int:
    """Unix day-of-week (0-7, Sunday 0 and 7) → AWS's (1-7, Sunday 1)."""
    return value % 7 + 1


def _aws_days(field: str) -> str:
    """A Unix day-of-week field in AWS's dialect: plain days as names (no numbering to confuse: Unix 1 = MON,
    AWS 1 = SUN), ranges compressed; ``nL`` (last weekday n of the month) and ``n#k`` (k-th) renumbered."""
    days: set[int] = set()
    special = []
    for part in field.split(","):
        m = re.fullmatch(r"([0-7]|[A-Za-z]{3})(L|#[1-5])", part)
        if m:
            day = m.group(1).upper()
            n = _DAYS.index(day) if day in _DAYS else int(day)
            special.append(f"{_aws_day(n)}{m.group(2).upper()}")
            continue
        try:
            days.update(v % 7 for v in _field_values(part, 0, 7, _DAYS))
        except ValueError:
            raise ConfigError(f"cron day-of-week field {field!r}: {part!r} has no EventBridge form") from None
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    names = [_DAYS[r[0]] if len(r) == 1 else f"{_DAYS[r[0]]}-{_DAYS[r[-1]]}" if len(r) > 2
             else f"{_DAYS[r[0]]},{_DAYS[r[1]]}" for r in runs]
    return ",".join(names + special)


def aws_cron(unix: str) -> str:
    """A Unix five-field expression as EventBridge's ``cron(minutes hours day-of-month month day-of-week year)``.

    AWS needs ``?`` in one of the two day fields and cannot say Unix's "either day field matches" (Debian's
    rule when both are restricted): that case is refused. Days of the week become names (AWS numbers them
    1-7 from Sunday, Unix 0-6)."""
    fields = unix.split()
    if len(fields) != 5:
        raise ConfigError(f"cron {unix!r}: a Unix expression has five fields")
    minute, hour, dom, month, dow = fields
    dom_any = dom in ("*", "?")
    dow_any = dow in ("*", "?")
    if not dom_any and not dow_any:
        raise ConfigError(f"cron {unix!r} restricts both the day of the month and the day of the week (Unix runs when "
                          "either matches); EventBridge needs one of them to be any (?): restrict one, or use "
                          "--cron/--systemd/--kubernetes, whose tick evaluates Unix cron itself")
    aws_minute = _aws_numeric(minute, 0, 59, "minute")
    aws_hour = _aws_numeric(hour, 0, 23, "hour")
    aws_month = _aws_numeric(month, 1, 12, "month", _MONTHS, 1)
    if dow_any:
        aws_dom, aws_dow = _aws_numeric(dom, 1, 31, "day-of-month"), "?"
    else:
        aws_dom, aws_dow = "?", _aws_days(dow)
    return f"cron({aws_minute} {aws_hour} {aws_dom} {aws_month} {aws_dow} *)"


def grace_minutes(spec: ScheduleSpec) -> int:
    return math.ceil(spec.grace.total_seconds() / 60)


def trigger_cron(spec: ScheduleSpec) -> str:
    """The Unix cron of a trigger that passes its own time as the scheduled time: the schedule's, ``grace``
    later (``0 * * * *`` with the default 20 minutes → ``20 * * * *``). The job truncates that time to the
    hour, so the grace must keep the trigger inside the scheduled hour."""
    fields = spec.cron.unix.split()
    if not fields[0].isdigit():
        raise ConfigError(f"{spec.source}: cron {spec.cron.expression!r} must fire at one minute of the hour "
                          "(a single number in the minute field) to be exported to --airflow or --eventbridge")
    minute = int(fields[0]) + grace_minutes(spec)
    if minute > 59:
        raise ConfigError(f"{spec.source}: grace {duration_text(spec.grace)} after minute {fields[0]} leaves the "
                          "scheduled hour: --airflow/--eventbridge fire at the scheduled time plus grace and the job "
                          "truncates it to the hour; give a grace under "
                          f"{60 - int(fields[0])} minutes, or use --cron/--systemd/--kubernetes (tick honours any "
                          "grace)")
    return " ".join([str(minute), *fields[1:]])


# ------------------------------------------------------------------------------------ the job of an execution


def _flag_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "Enabled" if value else "Disabled"
    return str(value)


def job_flags(params_cls, params: dict[str, Any], source: str) -> list[str]:
    """The flags of ``model-monitor monitor`` that give ``params`` (SageMaker names), in declaration order."""
    from monitor_lib.params import declared

    specs = {p.env: p for _, p in declared(params_cls)}
    unknown = sorted(k for k in params if k not in specs)
    if unknown:
        raise ConfigError(f"{source}: the monitor has no parameter(s) {', '.join(unknown)}")
    flags: list[str] = []
    for env, spec in specs.items():
        if env not in params or params[env] is None:
            continue
        value = params[env]
        if spec.switch:
            given = spec.parse(value, env)
            if given == spec.parse(spec.switch_value, env):
                flags.append(spec.flag)
            continue  # the other value of a switch is its default
        flags.append(f"{spec.flag}={_flag_value(value)}")
    return flags


@dataclass(frozen=True)
class ExecutionJob:
    """The ``monitor`` job of one execution with the scheduled time and the output folder left as the trigger's
    placeholders, ready for ``step_definition`` / ``processing_job_request``."""

    job: Any  # driver.jobspec.JobSpec, flags and params holding the placeholders
    scheduled_time: str  # the placeholder given
    output: str  # the output folder given (a placeholder, or a folder in which one appears)


def execution_job(spec: ScheduleSpec, scheduled_time: str, output: str | None) -> ExecutionJob:
    """The job of the execution scheduled at ``scheduled_time`` (text the trigger fills in), writing to
    ``output`` (None: no ``--output`` flag; the caller appends it). The flags are checked as ``model-monitor
    monitor`` checks them, with a sample time in place of the placeholders."""
    from monitor_lib.driver.jobspec import JobSpec, parse_job

    sample = spec.run_params(SAMPLE_TIME)  # scheduled_time, window, offsets, output folder, schedule name, …
    flags = ["--type", spec.monitor_type, *job_flags(spec.phase.params, sample, f"{spec.source} params")]
    parsed = parse_job(spec.phase.command, flags)  # ConfigError naming the flag, as `submit` does

    sample_time, sample_output = iso_utc(SAMPLE_TIME), spec.output_for(SAMPLE_TIME)
    folder = output if output is not None else sample_output

    def placeholders(text):  # the sample time and folder -> the trigger's text (the metric folder is inside)
        return text.replace(sample_time, scheduled_time).replace(sample_output, folder) if isinstance(text, str) \
            else text

    output_flag = _flag(spec, "output_path") + "="
    new_flags = [placeholders(f) for f in flags if output is not None or not f.startswith(output_flag)]
    new_params = {k: placeholders(v) for k, v in parsed.params.items()}
    job = JobSpec(parsed.job, tuple(new_flags), parsed.monitor, parsed.phase, new_params,
                  uses_config_file=parsed.uses_config_file)
    return ExecutionJob(job=job, scheduled_time=scheduled_time, output=new_params["output_path"])


def _flag(spec: ScheduleSpec, env: str) -> str:
    from monitor_lib.params import declared

    for _, p in declared(spec.phase.params):
        if p.env == env:
            return p.flag
    raise ConfigError(f"{spec.source}: monitor type {spec.monitor_type} has no parameter {env} (needed to export "
                      "a trigger that passes the scheduled time)")


def schedule_folder(spec: ScheduleSpec) -> str:
    """The folder holding every execution folder: ``{output_root}/{endpoint}/{schedule}``."""
    return spec.output_for(SAMPLE_TIME).rsplit("/", 4)[0]


def _option(spec: ScheduleSpec, key: str, default: Any = None, required_for: str | None = None) -> Any:
    value = spec.target_options.get(key)
    if value in (None, ""):
        if required_for:
            raise ConfigError(f"{spec.source}: target_options.{key} is required for {required_for}")
        return default
    return value


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def spark_conf(spec: ScheduleSpec) -> list[tuple[str, str]]:
    """``target_options.conf`` (a mapping, or KEY=VALUE texts) as Spark settings."""
    from monitor_lib.driver.spark_submit import parse_conf

    conf = _option(spec, "conf")
    if isinstance(conf, dict):
        return [(str(k), _flag_value(v)) for k, v in conf.items()]
    return parse_conf(_as_list(conf))


def _check_remote_paths(spec: ScheduleSpec) -> None:
    """An EMR step or a Processing job cannot read this machine's files: every path parameter is s3://."""
    from monitor_lib.params import declared

    if not spec.output_root.startswith("s3://"):
        raise ConfigError(f"{spec.source}: output_root must be an s3:// URI for target {spec.target} (the job "
                          f"runs on AWS), got {spec.output_root!r}")
    for _, p in declared(spec.phase.params):
        value = spec.params.get(p.env)
        if p.path and value not in (None, "") and not str(value).startswith("s3://"):
            raise ConfigError(f"{spec.source}: params.{p.env} must be an s3:// URI for target {spec.target} (the "
                              f"job runs on AWS and cannot read this machine's files), got {value!r}")


def emr_options(spec: ScheduleSpec):
    from monitor_lib.driver.emr import EmrOptions, split_s3_uri

    what = "target emr"
    code_uri = str(_option(spec, "code_uri", required_for=what))
    split_s3_uri(code_uri, f"{spec.source}: target_options.code_uri")
    return EmrOptions(cluster_id=str(_option(spec, "cluster_id", required_for=what)), code_uri=code_uri,
                      archives=tuple(_as_list(_option(spec, "archives"))), python=_option(spec, "python"),
                      conf=tuple(spark_conf(spec)),
                      step_name=_option(spec, "step_name", f"spark-model-monitor {spec.name}"))


def code_uris(options, package_dir: str | None = None) -> tuple[dict[str, str], Any]:
    """Where ``submit --target emr`` puts (or has put) this code: ``{code_uri}/{digest}/monitor_lib.zip`` and
    the entry script. The package is built (in a temporary folder) for its digest; nothing is uploaded."""
    import tempfile

    from monitor_lib.driver.emr import split_s3_uri
    from monitor_lib.driver.jobspec import ENTRY_SCRIPT
    from monitor_lib.driver.package import ZIP_NAME, build_package

    bucket, prefix = split_s3_uri(options.code_uri)
    directory = package_dir or tempfile.mkdtemp(prefix="model-monitor-export-")
    package = build_package(directory)
    base = "/".join(p for p in (prefix, package.short_digest) if p)
    return {name: f"s3://{bucket}/{base}/{name}" for name in (ZIP_NAME, ENTRY_SCRIPT)}, package


def processing_options(spec: ScheduleSpec, job_name: str):
    from monitor_lib.driver.sagemaker import ProcessingOptions

    what = "target sagemaker"

    def integer(key: str, default: int) -> int:
        value = _option(spec, key, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{spec.source}: target_options.{key} must be an integer, got {value!r}") from None

    return ProcessingOptions(
        image_uri=str(_option(spec, "image_uri", required_for=what)),
        role_arn=str(_option(spec, "role_arn", required_for=what)),
        instance_type=str(_option(spec, "instance_type", "ml.m5.xlarge")),
        instance_count=integer("instance_count", 1), volume_size_gb=integer("volume_size_gb", 30),
        max_runtime_seconds=integer("max_runtime_seconds", int(spec.max_runtime.total_seconds())),
        job_name=job_name, kms_key_id=_option(spec, "kms_key_id"),
        volume_kms_key_id=_option(spec, "volume_kms_key_id"))


def job_name_prefix(spec: ScheduleSpec, room: int) -> str:
    """``target_options.job_name_prefix`` (else the schedule's name, as the tick's) cut to leave ``room``
    characters for a suffix."""
    prefix = str(_option(spec, "job_name_prefix", spec.name))
    if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", prefix):
        raise ConfigError(f"{spec.source}: target_options.job_name_prefix {prefix!r} must be letters, digits and '-' "
                          "(SageMaker's ProcessingJobName)")
    return prefix[:PROCESSING_JOB_NAME_MAX - room].rstrip("-")


# ------------------------------------------------------------------------------------ shell wrappers

# The step and the container only get the scheduled time as text; the execution folder is named by its hour.
_HOUR = "date -u -d {time} +%Y/%m/%d/%H"


def emr_output_script(folder: str, scheduled_time: str) -> str:
    """``bash -c`` script of an EMR step: run the command given after it with ``--output
    {folder}/yyyy/mm/dd/hh`` of the scheduled time (GNU date, as on EMR's Amazon Linux)."""
    hour = _HOUR.format(time=shlex.quote(scheduled_time))
    return f'hour=$({hour}) || exit 2; exec "$0" "$@" --output={shlex.quote(folder + "/")}"$hour"'


def container_entrypoint(local_output: str) -> list[str]:
    """A Processing job's entrypoint: ``model-monitor analyze`` writing into ``{local_output}/yyyy/mm/dd/hh`` of
    the ``scheduled_time`` of its environment; the output's S3 URI is the schedule's folder, so the upload
    lands in the execution folder."""
    hour = _HOUR.format(time='"$scheduled_time"')
    return ["/bin/sh", "-c", f'hour=$({hour}) || exit 2; output_path={shlex.quote(local_output)}/"$hour"; '
                             'export output_path; exec model-monitor analyze']


# ------------------------------------------------------------------------------------ remote requests


def emr_step(spec: ScheduleSpec, scheduled_time: str, output: str | None, uris: dict[str, str]) -> dict:
    """The AddJobFlowSteps step of an execution (``output`` None: the EventBridge form, which computes the
    execution folder in a ``bash -c`` wrapper)."""
    from monitor_lib.driver.emr import step_definition

    _check_remote_paths(spec)
    options = emr_options(spec)
    job = execution_job(spec, scheduled_time, output).job
    step = step_definition(job, uris, options)
    if output is None:
        args = step["HadoopJarStep"]["Args"]
        step["HadoopJarStep"]["Args"] = ["bash", "-c", emr_output_script(schedule_folder(spec), scheduled_time),
                                         *args]
    return step


def processing_request(spec: ScheduleSpec, scheduled_time: str, output: str | None, job_name: str) -> dict:
    """The CreateProcessingJob request of an execution (``output`` None: the EventBridge form, whose output URI is
    the schedule's folder and whose entrypoint writes into the execution folder)."""
    from monitor_lib.driver.sagemaker import OUTPUT_LOCAL_PATH, processing_job_request

    _check_remote_paths(spec)
    job = execution_job(spec, scheduled_time, output if output is not None else schedule_folder(spec)).job
    request = processing_job_request(job, processing_options(spec, job_name))
    if output is None:
        request["AppSpecification"]["ContainerEntrypoint"] = container_entrypoint(OUTPUT_LOCAL_PATH)
    return request


def _require_remote(spec: ScheduleSpec, form: str) -> None:
    if spec.target not in ("emr", "sagemaker"):
        raise ConfigError(f"--{form}: target {spec.target} has no {form} form (it submits an EMR step or a "
                          "SageMaker Processing job): use --cron, --systemd or --kubernetes, whose tick runs it")


def eventbridge_request(spec: ScheduleSpec, role_arn: str | None, uris: dict[str, str] | None = None,
                        group: str | None = None, now: datetime | None = None) -> dict:
    """The ``scheduler.create_schedule`` request."""
    if not role_arn:
        raise ConfigError("--eventbridge needs --role-arn: the IAM role EventBridge Scheduler assumes to call "
                          "emr:AddJobFlowSteps or sagemaker:CreateProcessingJob")
    _require_remote(spec, "eventbridge")
    if spec.target == "emr":
        step = emr_step(spec, EVENTBRIDGE_TIME, None, uris or code_uris(emr_options(spec))[0])
        arn, request = EMR_TARGET, {"JobFlowId": emr_options(spec).cluster_id, "Steps": [step]}
    else:
        room = 1 + EVENTBRIDGE_EXECUTION_ID_MAX
        name = f"{job_name_prefix(spec, room)}-{EVENTBRIDGE_EXECUTION_ID}"
        arn, request = SAGEMAKER_TARGET, processing_request(spec, EVENTBRIDGE_TIME, None, name)
    window = int(max(60, min(86400, spec.window.total_seconds())))
    out: dict[str, Any] = {
        "Name": spec.name,
        "Description": f"spark-model-monitor schedule {spec.name} ({spec.monitor_type}): one execution per "
                       f"scheduled time of {spec.cron.expression}, {grace_minutes(spec)} min after it"[:512],
        "ScheduleExpression": aws_cron(trigger_cron(spec)),
        "ScheduleExpressionTimezone": spec.cron.timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {"Arn": arn, "RoleArn": role_arn, "Input": json.dumps(request, separators=(",", ":")),
                   "RetryPolicy": {"MaximumRetryAttempts": spec.max_retries, "MaximumEventAgeInSeconds": window}},
    }
    if group:
        out["GroupName"] = group
    if spec.start_date > (now or datetime.now(UTC)):
        out["StartDate"] = iso_utc(spec.start_date)
    return out


# ------------------------------------------------------------------------------------ tick-calling triggers


def default_command() -> list[str]:
    """How a trigger on this machine runs model-monitor: the console script beside this interpreter, else the
    interpreter with ``-m monitor_lib.cli`` (cron and systemd have no PATH of ours)."""
    script = Path(sys.executable).with_name("model-monitor")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("model-monitor")
    if found:
        return [os.path.abspath(found)]
    return [sys.executable, "-m", "monitor_lib.cli"]


def schedule_location(path: str) -> str:
    return path if "://" in path else os.path.abspath(path)


def tick_command(command: list[str], schedule_path: str) -> list[str]:
    return [*command, "schedule", "tick", "--schedule", schedule_path]


def unit_name(spec: ScheduleSpec) -> str:
    return f"model-monitor-{spec.name}"


def crontab(spec: ScheduleSpec, command: list[str], schedule_path: str, log_file: str, lock_file: str) -> str:
    """A crontab entry calling the tick every five minutes under ``flock -n`` (a tick still running makes the
    next one exit at once), appending to ``log_file``; ``%`` escaped (cron reads it as a newline)."""
    line = shlex.join(["flock", "-n", lock_file, *tick_command(command, schedule_path)])
    line += f" >> {shlex.quote(log_file)} 2>&1"
    return (f"# spark-model-monitor schedule {spec.name}: tick every 5 minutes; the schedule's cron "
            f"({spec.cron.expression}, {spec.cron.timezone}) decides which windows are due. Times are UTC.\n"
            f"{TICK_CRON} {line.replace('%', chr(92) + '%')}\n")


def _systemd_arg(arg: str) -> str:
    arg = arg.replace("%", "%%").replace("$", "$$")
    if re.search(r"[\s\"'\\;]", arg):
        return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg


def systemd_units(spec: ScheduleSpec, command: list[str], schedule_path: str, working_directory: str) -> dict[str, str]:
    """``{name}.service`` (oneshot: one tick) and ``{name}.timer`` (every five minutes, Persistent)."""
    name = unit_name(spec)
    exec_start = " ".join(_systemd_arg(a) for a in tick_command(command, schedule_path))
    service = "\n".join([
        "[Unit]",
        f"Description=spark-model-monitor schedule {spec.name}: claim and run the due windows",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={_systemd_arg(working_directory)}",
        f"ExecStart={exec_start}",
        "",
    ])
    timer = "\n".join([
        "[Unit]",
        f"Description=spark-model-monitor schedule {spec.name}: tick every 5 minutes",
        "",
        "[Timer]",
        f"OnCalendar={TICK_CALENDAR}",
        "Persistent=true",
        f"Unit={name}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])
    return {f"{name}.service": service, f"{name}.timer": timer}


def kubernetes_manifest(spec: ScheduleSpec, schedule_path: str, schedule_text: str | None, image: str) -> str:
    """A ``batch/v1`` CronJob running the tick every five minutes (``concurrencyPolicy: Forbid``), and the
    ConfigMap holding the schedule file (unless the schedule is read from ``s3://``)."""
    name = unit_name(spec).lower()[:52].rstrip("-")  # a CronJob's name: at most 52 characters (its Jobs add 11)
    labels = {"app.kubernetes.io/name": "spark-model-monitor", "app.kubernetes.io/instance": name}
    container: dict[str, Any] = {"name": "tick", "image": image}
    pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    docs: list[dict] = []
    if schedule_text is None:  # s3://: the tick reads it there
        location = schedule_path
    else:
        location = f"{SCHEDULE_MOUNT}/schedule.yaml"
        container["volumeMounts"] = [{"name": "schedule", "mountPath": SCHEDULE_MOUNT, "readOnly": True}]
        pod["volumes"] = [{"name": "schedule", "configMap": {"name": f"{name}-schedule"}}]
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": f"{name}-schedule", "labels": labels},
                     "data": {"schedule.yaml": schedule_text}})
    container["command"] = tick_command(["model-monitor"], location)
    if spec.target in ("local", "standalone"):  # the tick's Spark driver runs in the pod (4g heap by default)
        container["env"] = [{"name": "MODEL_MONITOR_DRIVER_MEMORY", "value": "4g"}]
        container["resources"] = {"requests": {"cpu": "2", "memory": "6Gi"}, "limits": {"memory": "6Gi"}}
    else:  # the tick only submits and follows the EMR step / Processing job
        container["resources"] = {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    cron_job = {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "schedule": TICK_CRON, "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 240,  # a start missed by 4 min is skipped: the next tick catches up
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"metadata": {"labels": labels},
                                                                     "spec": pod}}},
        },
    }
    header = (f"# spark-model-monitor schedule {spec.name}: tick every 5 minutes (the schedule's cron "
              f"{spec.cron.expression} decides which windows are due).\n"
              "# The state store and the outputs must outlive the pod: s3:// URIs (or mount a volume at their path).\n")
    import yaml

    return header + yaml.dump_all([*docs, cron_job], Dumper=_manifest_dumper(), sort_keys=False,
                                  default_flow_style=False, width=1000, allow_unicode=True)


def _manifest_dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data) -> bool:  # no &id001 anchors: each label block written out
            return True

    def text(dumper, value: str):
        style = "|" if "\n" in value else None  # the schedule file as a literal block, readable in the manifest
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


# ------------------------------------------------------------------------------------ Airflow


def _literal(value: Any) -> str:
    return pprint.pformat(value, width=110, sort_dicts=False)


def airflow_dag(spec: ScheduleSpec, command: list[str], uris: dict[str, str] | None = None,
                catchup: bool = False, working_directory: str | None = None) -> str:
    """A DAG file (Airflow 2.4+ and 3) whose schedule is the schedule's cron (``grace`` later) and whose task
    submits the execution of ``{{ data_interval_end }}``."""
    dag_id = "model_monitor_" + spec.name.replace("-", "_")
    folder = schedule_folder(spec)
    output = f"{folder}/{AIRFLOW_HOUR_FOLDER}"
    start = spec.start_date.astimezone(_zone(spec))
    lines = [
        f'"""spark-model-monitor schedule {spec.name} ({spec.monitor_type}) as an Airflow DAG.',
        "",
        "Exported by `model-monitor schedule export --airflow`. Each run submits the execution of the scheduled time",
        "{{ data_interval_end }} (--scheduled-time: the job computes SageMaker's window and writes the folder named",
        "by the scheduled hour). The DAG runs grace minutes after each scheduled time; catch-up belongs to",
        "`model-monitor backfill` (one Spark job for many windows). No execution records are written: use",
        "`schedule tick` (--cron/--systemd/--kubernetes) for those.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import pendulum",
        "",
        "try:  # Airflow 3",
        "    from airflow.sdk import DAG",
        "except ImportError:  # Airflow 2",
        "    from airflow import DAG",
    ]
    if spec.target == "emr":
        options = emr_options(spec)
        step = emr_step(spec, AIRFLOW_TIME, output, uris or code_uris(options)[0])
        lines += [
            "from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator",
            "from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor",
            "",
            f"CLUSTER_ID = {options.cluster_id!r}",
            f"STEP = {_literal(step)}",
        ]
        tasks = [
            "    add_step = EmrAddStepsOperator(task_id='add_step', job_flow_id=CLUSTER_ID, steps=[STEP],",
            "                                   wait_for_completion=False)",
            "    watch_step = EmrStepSensor(task_id='watch_step', job_flow_id=CLUSTER_ID,",
            "                               step_id=\"{{ task_instance.xcom_pull(task_ids='add_step')[0] }}\")",
            "    add_step >> watch_step",
        ]
    elif spec.target == "sagemaker":
        name = f"{job_name_prefix(spec, 1 + 12 + 20)}-{AIRFLOW_JOB_SUFFIX}"  # 20: room for the operator's suffix
        request = processing_request(spec, AIRFLOW_TIME, output, name)
        lines += [
            "from airflow.providers.amazon.aws.operators.sagemaker import SageMakerProcessingOperator",
            "",
            f"PROCESSING_JOB = {_literal(request)}",
        ]
        tasks = [
            "    SageMakerProcessingOperator(task_id='processing_job', config=PROCESSING_JOB,",
            "                                wait_for_completion=True)",
        ]
    else:
        job = execution_job(spec, AIRFLOW_TIME, output).job
        if spec.target == "standalone":
            master = str(_option(spec, "master", required_for="target standalone"))
            head = [*command, "submit", "--target", "standalone", "--master", master]
            if _option(spec, "python"):
                head += ["--python", str(_option(spec, "python"))]
            for key, value in spark_conf(spec):
                head += ["--conf", f"{key}={value}"]
            argv = [*head, job.job, "--", *job.flags]
        else:
            argv = [*command, job.job, *job.flags]
        lines += [
            "try:  # Airflow 3",
            "    from airflow.providers.standard.operators.bash import BashOperator",
            "except ImportError:  # Airflow 2",
            "    from airflow.operators.bash import BashOperator",
            "",
            f"BASH_COMMAND = {_literal(shlex.join(argv))}",
            f"WORKING_DIRECTORY = {working_directory or os.getcwd()!r}",
        ]
        tasks = ["    BashOperator(task_id='monitor', bash_command=BASH_COMMAND, cwd=WORKING_DIRECTORY)"]
    lines += [
        "",
        "with DAG(",
        f"    dag_id={dag_id!r},",
        f"    schedule={trigger_cron(spec)!r},  # {spec.cron.expression} ({spec.cron.timezone}), "
        f"{grace_minutes(spec)} min later",
        f"    start_date=pendulum.datetime({start.year}, {start.month}, {start.day}, {start.hour}, {start.minute}, "
        f"tz={spec.cron.timezone!r}),",
        f"    catchup={catchup!r},  # model-monitor backfill catches up",
        f"    default_args={{'retries': {spec.max_retries}}},",
        "    tags=['spark-model-monitor'],",
        ") as dag:",
        *tasks,
        "",
    ]
    return "\n".join(lines)


def _zone(spec: ScheduleSpec):
    from monitor_lib.schedule.cron import zone_info

    return zone_info(spec.cron.timezone)


# ------------------------------------------------------------------------------------ CLI

EXPORT_EPILOG = """examples:
  model-monitor schedule export --schedule conf/schedule.yaml --cron >> mycrontab
  model-monitor schedule export --schedule conf/schedule.yaml --systemd --output ~/.config/systemd/user/
  model-monitor schedule export --schedule s3://bucket/hourly.yaml --kubernetes --image REPO/spark-model-monitor:1
  model-monitor schedule export --schedule conf/schedule.yaml --airflow --output dags/model_monitor_hourly.py
  model-monitor schedule export --schedule conf/schedule.yaml --eventbridge \\
      --role-arn arn:aws:iam::123456789012:role/scheduler > request.json
  aws scheduler create-schedule --cli-input-json file://request.json

--cron, --systemd and --kubernetes call `schedule tick` every 5 minutes (the schedule's cron, grace and state
store decide what runs); --airflow and --eventbridge submit the schedule's EMR step or Processing job (Airflow
also runs local/standalone targets) with --scheduled-time, grace after each scheduled time, and write no
execution records. None of them catches up missed windows: `schedule tick` and `backfill` do.

exit codes: 0 printed / written; 2 a bad flag or schedule file (one line naming it)"""


def add_parser(schedule_actions) -> None:
    """``schedule export``."""
    from monitor_lib.schedule.spec import add_schedule_flag

    e = schedule_actions.add_parser(
        "export", help="print the trigger definition of a schedule: cron, systemd, Kubernetes, Airflow, EventBridge",
        description="Print (or write with --output) the definition of a trigger for the schedule.",
        epilog=EXPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_schedule_flag(e)
    forms = e.add_mutually_exclusive_group(required=True)
    forms.add_argument("--cron", dest="form", action="store_const", const="cron",
                       help="a crontab line: flock -n + schedule tick every 5 minutes")
    forms.add_argument("--systemd", dest="form", action="store_const", const="systemd",
                       help="a oneshot .service and its .timer (every 5 minutes, Persistent=true)")
    forms.add_argument("--kubernetes", dest="form", action="store_const", const="kubernetes",
                       help="a batch/v1 CronJob (every 5 minutes, concurrencyPolicy Forbid) and its ConfigMap")
    forms.add_argument("--airflow", dest="form", action="store_const", const="airflow",
                       help="an Airflow DAG file submitting each scheduled time's job")
    forms.add_argument("--eventbridge", dest="form", action="store_const", const="eventbridge",
                       help="the EventBridge Scheduler create_schedule request (JSON)")
    e.add_argument("--output", help="write to this file (a folder for --systemd: both units) instead of stdout")
    e.add_argument("--command", help="cron / systemd / airflow (local, standalone): how to run model-monitor on that "
                                     "machine, e.g. '/opt/venv/bin/model-monitor' (default: this installation's)")
    e.add_argument("--log-file", help="cron: where the ticks append their output "
                                      "(default /tmp/model-monitor-<schedule>.log)")
    e.add_argument("--lock-file", help="cron: the flock file (default /tmp/model-monitor-<schedule>.lock)")
    e.add_argument("--image", default=DEFAULT_IMAGE,
                   help=f"kubernetes: the container image with model-monitor (default {DEFAULT_IMAGE}, the "
                        "Dockerfile's tag; push it to your registry)")
    e.add_argument("--catchup", action="store_true",
                   help="airflow: catchup=True (default False: model-monitor backfill catches up in one Spark job)")
    e.add_argument("--role-arn", help="eventbridge (required): the IAM role EventBridge Scheduler assumes")
    e.add_argument("--group", help="eventbridge: the schedule group (default: the account's default group)")
    e.add_argument("--upload", action="store_true",
                   help="emr: upload monitor_lib.zip and the entry script to target_options.code_uri (as submit "
                        "does); without it the step names where they must be")
    e.set_defaults(func=cmd_export)


def _refuse(args: argparse.Namespace, form: str, *names: str) -> None:
    given = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n, None) not in (None, False)]
    if given:
        raise ConfigError(f"{', '.join(given)} do(es) not apply to --{form}")


def render(args: argparse.Namespace, spec: ScheduleSpec, clients=None) -> dict[str, str]:
    """File name (or "" for stdout) → text of the requested form."""
    form = args.form
    location = schedule_location(args.schedule)
    command = shlex.split(args.command) if args.command else default_command()
    all_flags = ("log_file", "lock_file", "catchup", "role_arn", "group", "upload", "command")
    tolerated = {"cron": ("log_file", "lock_file", "command"), "systemd": ("command",), "kubernetes": (),
                 "airflow": ("catchup", "upload", "command"), "eventbridge": ("role_arn", "group", "upload")}
    _refuse(args, form, *(n for n in all_flags if n not in tolerated[form]))
    if form != "kubernetes" and args.image != DEFAULT_IMAGE:
        raise ConfigError(f"--image does not apply to --{form}")
    if form == "cron":
        log = args.log_file or f"/tmp/model-monitor-{spec.name}.log"
        lock = args.lock_file or f"/tmp/model-monitor-{spec.name}.lock"
        return {"": crontab(spec, command, location, log, lock)}
    if form == "systemd":
        return systemd_units(spec, command, location, os.getcwd())
    if form == "kubernetes":
        for key in ("state_store", "output_root"):
            if "://" not in getattr(spec, key):
                print(f"warning: {key} {getattr(spec, key)} is a folder: a pod's files vanish with it; use an s3:// "
                      "URI or mount a persistent volume at that path in the CronJob", file=sys.stderr)
        text = None
        if "://" not in args.schedule:
            text = Path(args.schedule).read_text(encoding="utf-8")
        return {"": kubernetes_manifest(spec, location, text, args.image)}
    uris = None
    if spec.target == "emr":
        uris = _emr_code(spec, args.upload, clients)
    elif args.upload:
        raise ConfigError(f"--upload applies to target emr (the schedule's target is {spec.target})")
    if form == "airflow":
        return {"": airflow_dag(spec, command, uris, catchup=args.catchup)}
    return {"": json.dumps(eventbridge_request(spec, args.role_arn, uris, args.group), indent=2) + "\n"}


def _emr_code(spec: ScheduleSpec, upload: bool, clients) -> dict[str, str]:
    import tempfile

    from monitor_lib.driver.emr import upload_package
    from monitor_lib.driver.jobspec import ENTRY_SCRIPT

    options = emr_options(spec)
    with tempfile.TemporaryDirectory(prefix="model-monitor-export-") as tmp:
        uris, package = code_uris(options, tmp)
        if upload:
            if clients is not None:
                s3 = clients("s3")
            else:
                from monitor_lib.driver.submit import _client

                s3 = _client("s3", _option(spec, "region"))
            upload_package(s3, package, options.code_uri, ENTRY_SCRIPT)
            print(f"uploaded {', '.join(uris.values())}", file=sys.stderr)
        else:
            print(f"the step runs {uris['monitor_lib.zip']}: upload it with --upload (or any `submit --target emr` "
                  "of this code)", file=sys.stderr)
    return uris


def cmd_export(args: argparse.Namespace, clients=None) -> int:
    """``clients(service)`` makes boto3 clients (tests pass ones bound to the moto server)."""
    from monitor_lib.schedule.spec import read_schedule

    if args.form == "eventbridge" and not args.role_arn:
        raise ConfigError("--eventbridge needs --role-arn: the IAM role EventBridge Scheduler assumes to call "
                          "emr:AddJobFlowSteps or sagemaker:CreateProcessingJob")
    spec = read_schedule(args.schedule)
    if args.form in ("eventbridge",):
        _require_remote(spec, args.form)
    files = render(args, spec, clients)
    if not args.output:
        for name, text in files.items():
            if name:
                print(f"# ---- {name} ----")
            sys.stdout.write(text)
            if name:
                print()
        return 0
    if args.form == "systemd":
        folder = Path(args.output)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"--output {args.output}: --systemd writes two units, give a folder")
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
            print(f"wrote {folder / name}", file=sys.stderr)
        return 0
    target = Path(args.output)
    if target.is_dir():
        raise ConfigError(f"--output {args.output} is a folder: give the file to write")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(files[""], encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    return 0
