"""The schedule file (``conf/schedule.example.yaml``), read and checked before anything runs.

Every error names the key and the file. The monitor's parameters (``params``) are checked against its monitoring
phase exactly as a ``--config`` YAML is (unknown keys refused), with the window, the output folder and the
schedule's name filled in per execution (they must not be given).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor_lib.errors import ConfigError
from monitor_lib.schedule.cron import SAGEMAKER_FORMS, Cron, parse_cron
from monitor_lib.schedule.model import Window
from monitor_lib.schedule.windows import (
    DEFAULT_WINDOW,
    duration_text,
    execution_folder,
    parse_duration,
    window_for,
)
from monitor_lib.timefmt import iso_utc, parse_time

TARGETS = ("local", "standalone", "emr", "sagemaker")
# parameters each execution sets itself: a schedule's params must not give them
PER_EXECUTION = ("start_time", "end_time", "metric_time", "output_path", "sagemaker_monitoring_schedule_name",
                 "scheduled_time", "window", "start_offset", "end_offset")
KEYS = ("name", "monitor_type", "params", "cron", "timezone", "start_date", "window", "start_offset", "end_offset",
        "grace", "max_retries", "max_windows_per_tick", "max_runtime", "target", "target_options", "output_root",
        "state_store")
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule. Times are UTC-aware; durations are timedeltas."""

    name: str  # SageMaker's MonitoringScheduleName rules: letters, digits, '-', at most 63
    monitor_type: str  # a registered monitor type (model-monitor monitors)
    cron: Cron
    start_date: datetime  # no execution is scheduled before it
    output_root: str  # executions write {output_root}/{endpoint}/{name}/yyyy/mm/dd/hh
    state_store: str  # a local folder or an s3:// prefix: {state_store}/{name}/executions/<time>.json
    params: dict[str, Any] = field(default_factory=dict)  # the monitor's parameters (SageMaker names)
    window: timedelta = DEFAULT_WINDOW
    start_offset: timedelta | None = None
    end_offset: timedelta | None = None
    grace: timedelta = timedelta(minutes=20)  # a window is due this long after its scheduled time (late capture)
    max_retries: int = 2  # a Failed execution is claimed again at most this many times
    max_windows_per_tick: int = 24
    max_runtime: timedelta = timedelta(hours=1)  # an InProgress record older than this (since claimed) is Failed
    target: str = "local"
    target_options: dict[str, Any] = field(default_factory=dict)  # as `submit`'s flags, without dashes
    source: str = "schedule"  # the file it was read from (for messages)

    @property
    def endpoint(self) -> str | None:
        return self.params.get("sagemaker_endpoint_name")

    @property
    def monitor(self):
        from monitor_lib.monitors.registry import get

        return get(self.monitor_type)

    @property
    def phase(self):
        """The monitor's monitoring phase (what every execution runs)."""
        return self.monitor.phase("monitoring")

    def window_for(self, scheduled_time: datetime) -> Window:
        return window_for(scheduled_time, self.window, self.start_offset, self.end_offset)

    def output_for(self, scheduled_time: datetime) -> str:
        return execution_folder(self.output_root, self.endpoint, self.name, scheduled_time)

    def run_params(self, scheduled_time: datetime) -> dict[str, Any]:
        """The flat parameters (SageMaker names) of the execution scheduled at ``scheduled_time``."""
        from monitor_lib.monitors.common import FORMAT_SHORTHANDS

        w = self.window_for(scheduled_time)
        params = dict(self.params)
        fmt = params.get("dataset_format")
        if isinstance(fmt, str) and fmt.strip() in FORMAT_SHORTHANDS:  # capture, merged: as the CLI's --format
            params["dataset_format"] = FORMAT_SHORTHANDS[fmt.strip()]
        window = {"scheduled_time": iso_utc(w.scheduled_time), "window": duration_text(self.window)}
        for key, offset in (("start_offset", self.start_offset), ("end_offset", self.end_offset)):
            if offset is not None:
                window[key] = duration_text(offset)
        return {**params, **window, "output_path": self.output_for(scheduled_time),
                "sagemaker_monitoring_schedule_name": self.name, **self.execution_defaults(scheduled_time)}

    def execution_defaults(self, scheduled_time: datetime) -> dict[str, Any]:
        """Parameters an execution derives from its folder unless ``params`` gives them: a local or standalone
        run writes its CloudWatch metric file into ``{execution folder}/cloudwatch`` (the analyzer's default,
        ``/opt/ml/output/metrics/cloudwatch``, is one folder every execution would overwrite; a SageMaker or EMR
        job keeps it, the container's own)."""
        if self.target not in ("local", "standalone") or "CLOUDWATCH_METRICS_DIRECTORY" in self.params:
            return {}
        return {"CLOUDWATCH_METRICS_DIRECTORY": self.output_for(scheduled_time) + "/cloudwatch"}

    def typed_params(self, scheduled_time: datetime):
        """The monitoring phase's parameter dataclass of that execution (checked)."""
        from monitor_lib.params import from_params

        typed = from_params(self.phase.params, self.run_params(scheduled_time), f"{self.source} params")
        if self.phase.validate is not None:
            self.phase.validate(typed)
        return typed


def check_at_most_hourly(cron: Cron, name: str = "cron") -> None:
    """A schedule runs at most once an hour, as SageMaker's: its executions and windows are named by the scheduled
    hour. So the minute field must be one number 0-59 (the SageMaker forms always are: minute 0)."""
    minute = cron.unix.split()[0]
    if not (minute.isdigit() and 0 <= int(minute) <= 59):
        raise ConfigError(f"{name} {cron.expression!r} can run more than once an hour (minute field {minute!r}): "
                          "executions are named by their scheduled hour, as SageMaker's, so the minute must be one "
                          "number 0-59; give a Unix expression like '0 * * * *' (hourly), '0 5 * * *' (daily at "
                          f"05:00), '0 1/6 * * *' (every 6 hours from 01:00), or one of SageMaker's: {SAGEMAKER_FORMS}")


_OPTIONS = {  # target -> the target_options it reads (submit's flags without dashes)
    "local": ("python", "conf", "spark_submit", "master"),
    "standalone": ("master", "python", "conf", "spark_submit"),
    "emr": ("cluster_id", "code_uri", "archives", "python", "conf", "step_name", "region"),
    "sagemaker": ("image_uri", "role_arn", "instance_type", "instance_count", "volume_size_gb",
                  "max_runtime_seconds", "job_name_prefix", "kms_key_id", "volume_kms_key_id", "region"),
}
_REQUIRED = {"standalone": ("master",), "emr": ("cluster_id", "code_uri"), "sagemaker": ("image_uri", "role_arn")}


def check_target_options(spec) -> None:
    """The schedule's target_options for its target: unknown or missing ones are a ConfigError naming them."""
    known = _OPTIONS[spec.target]
    unknown = sorted(k for k in spec.target_options if k not in known)
    if unknown:
        raise ConfigError(f"{spec.source}: target_options {', '.join(unknown)} do(es) not apply to target "
                          f"{spec.target}; it reads {', '.join(known)}")
    missing = [k for k in _REQUIRED.get(spec.target, ()) if not spec.target_options.get(k)]
    if missing:
        raise ConfigError(f"{spec.source}: target {spec.target} needs target_options {', '.join(missing)} (as "
                          f"submit's --{' --'.join(m.replace('_', '-') for m in missing)})")


def _integer(doc: dict, key: str, default: int, lo: int, hi: int, source: str) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{source}: {key} must be an integer between {lo} and {hi}, got {value!r}")
    return value


def schedule_from_dict(doc: dict[str, Any], source: str = "schedule") -> ScheduleSpec:
    """A :class:`ScheduleSpec` from the schedule file's mapping; ConfigError naming the key and ``source``."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{source} must be a mapping of settings, got {type(doc).__name__}")
    unknown = sorted(str(k) for k in doc if k not in KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(KEYS)}")
    for key in ("name", "monitor_type", "cron", "start_date", "output_root", "state_store"):
        if doc.get(key) in (None, ""):
            raise ConfigError(f"{source}: {key} is required")
    name = str(doc["name"])
    if len(name) > 63 or not set(name) <= _NAME_CHARS or name.startswith("-"):
        raise ConfigError(f"{source}: name {name!r} must be 1-63 letters, digits and '-' (SageMaker's "
                          "MonitoringScheduleName)")
    params = doc.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{source}: params must be a mapping of the monitor's parameters, got "
                          f"{type(params).__name__}")
    given = sorted(k for k in params if k in PER_EXECUTION)
    if given:
        raise ConfigError(f"{source}: params must not set {', '.join(given)}: each execution sets them from its "
                          "scheduled time (window, start_offset, end_offset are schedule keys)")
    target = str(doc.get("target") or "local")
    if target not in TARGETS:
        raise ConfigError(f"{source}: target must be one of {', '.join(TARGETS)}, got {target!r}")
    options = doc.get("target_options") or {}
    if not isinstance(options, dict):
        raise ConfigError(f"{source}: target_options must be a mapping (submit's flags without dashes)")

    def duration(key: str, default=None):
        return default if doc.get(key) in (None, "") else parse_duration(doc[key], f"{source}: {key}")

    start = parse_time(doc["start_date"], f"{source}: start_date")
    cron = parse_cron(str(doc["cron"]), str(doc.get("timezone") or "UTC"), f"{source}: cron")
    check_at_most_hourly(cron, f"{source}: cron")
    spec = ScheduleSpec(
        name=name, monitor_type=str(doc["monitor_type"]), cron=cron,
        start_date=start.astimezone(UTC), output_root=str(doc["output_root"]),
        state_store=str(doc["state_store"]), params=dict(params), window=duration("window", DEFAULT_WINDOW),
        start_offset=duration("start_offset"), end_offset=duration("end_offset"),
        grace=duration("grace", timedelta(minutes=20)),
        max_retries=_integer(doc, "max_retries", 2, 0, 100, source),
        max_windows_per_tick=_integer(doc, "max_windows_per_tick", 24, 1, 10000, source),
        max_runtime=duration("max_runtime", timedelta(hours=1)), target=target, target_options=dict(options),
        source=source)
    check_target_options(spec)
    if spec.grace < timedelta(0) or spec.max_runtime <= timedelta(0):
        raise ConfigError(f"{source}: grace must be zero or positive and max_runtime positive")
    spec.monitor  # noqa: B018 — an unknown monitor type is an error naming the registered ones
    try:
        spec.window_for(spec.start_date)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    spec.typed_params(spec.start_date)  # the monitor's parameters, checked as the executions will use them
    return spec


def add_schedule_flag(parser) -> None:
    """The ``--schedule FILE`` every schedule command takes."""
    parser.add_argument("--schedule", required=True, metavar="FILE",
                        help="the schedule file (YAML; a path or s3:// URI)")


def read_schedule(path: str) -> ScheduleSpec:
    """The schedule file at ``path`` (local or ``s3://``), checked."""
    from monitor_lib.params import read_yaml

    try:
        doc = read_yaml(path, KEYS)
    except ConfigError as e:  # read_yaml names a --config file
        raise ConfigError(str(e).replace(f"--config {path}", f"schedule {path}", 1)) from None
    return schedule_from_dict(doc, f"schedule {path}")
