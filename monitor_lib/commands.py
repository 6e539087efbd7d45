"""The commands that run a monitor (``baseline``, ``monitor``, ``merge``): their flags, derived from the
registry and the parameter declarations, and the flags → :class:`Job` step shared by ``model-monitor <command>``
and ``submit`` (which checks the job flags before anything is packaged or submitted)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import textwrap
from dataclasses import dataclass
from typing import Any

from monitor_lib.errors import ConfigError

TYPE_FLAGS = ("--type", "--analysis-type")  # --analysis-type: the name before monitors were registered


@dataclass
class Job:
    """What ``model-monitor <command> [--type T] FLAGS`` asks for, checked: monitor, phase, flat parameters."""

    command: str
    monitor: Any  # Monitor
    phase: Any  # Phase
    params: dict[str, Any]  # SageMaker names -> values (flags over --config)
    config_file: str | None = None

    def typed(self, source: str = "flags / --config"):
        from monitor_lib.params import from_params

        params = from_params(self.phase.params, dict(self.params), source)
        if self.phase.validate is not None:
            self.phase.validate(params)
        return params


def given_type(argv: list[str]) -> str | None:
    """The ``--type`` given anywhere in ``argv`` (before the parser, which needs it to know the flags)."""
    for i, arg in enumerate(argv):
        for flag in TYPE_FLAGS:
            if arg == flag and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return None


def _format_choices(cls) -> tuple[str, ...]:
    return tuple(getattr(cls, "FORMAT_CHOICES", ()) or ())


def add_monitor_command(sub, command: str, type_hint: str | None) -> None:
    """The subcommand ``command``, with the flags of the monitor ``--type`` names (default: the command's)."""
    from monitor_lib.monitors import registry
    from monitor_lib.params import add_flags, env_names

    monitor = registry.default_for(command)
    if type_hint:
        try:
            hinted = registry.get(type_hint)
            if hinted.phase_for_command(command):
                monitor = hinted
        except ConfigError:
            pass  # reported when the command runs
    phase = monitor.phase_for_command(command)
    types = [m.name for m in registry.monitors() if m.phase_for_command(command)]
    from monitor_lib.cli_help import monitor_command_epilog

    description = (f"{phase.title}: {phase.help}. Flags of --type {monitor.name}; `model-monitor {command} --type T "
                   "--help` shows those of another type. Every flag is also a key of a --config YAML file and a "
                   "SageMaker environment name (docs/reference.md).")
    p = sub.add_parser(command, help=phase.help, description=textwrap.fill(description, 100),
                       epilog=monitor_command_epilog(command, monitor, phase, registry.default_for(command)),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(*TYPE_FLAGS, dest="monitor_type", metavar="{" + ",".join(types) + "}",
                   help=f"the monitor type (default {registry.default_for(command).name}); "
                        "--analysis-type is the same flag")
    p.add_argument("--config", help="YAML file with any of: " + ", ".join(env_names(phase.params)))
    formats = _format_choices(phase.params)
    if formats:
        p.add_argument("--format", metavar="{" + ",".join(formats) + "}", help="shorthand for --dataset-format")
        hdr = p.add_mutually_exclusive_group()
        hdr.add_argument("--header", dest="header", action="store_true", default=None, help="CSV has a header line")
        hdr.add_argument("--no-header", dest="header", action="store_false",
                         help="CSV has no header (_c0, _c1, ...)")
    add_flags(p, phase.params)
    p.set_defaults(command_name=command)


def _other_monitors(command: str, monitor):
    """``(monitor, phase)`` of every other registered monitor that runs ``command``."""
    from monitor_lib.monitors import registry

    for other in registry.monitors():
        phase = other.phase_for_command(command)
        if other is not monitor and phase is not None:
            yield other, phase


def _foreign_flags(command: str, monitor, extras: list[str]) -> str | None:
    """``--problem-type belong(s) to model quality: add --type model-quality`` for flags of another monitor."""
    from monitor_lib.params import declared

    given = [a.split("=", 1)[0] for a in extras if a.startswith("--")]
    for other, phase in _other_monitors(command, monitor):
        flags = {spec.flag for _, spec in declared(phase.params)}
        theirs = [f for f in given if f in flags]
        if theirs:
            return f"{', '.join(theirs)} belong(s) to {other.title}: add --type {other.name}"
    return None


def _format_value(args: argparse.Namespace, cls, monitor, command: str) -> str | None:
    """``--format`` (with ``--header``) as SageMaker's ``dataset_format`` JSON, or None when not given."""
    from monitor_lib.monitors.common import FORMAT_SHORTHANDS

    fmt, header = getattr(args, "format", None), getattr(args, "header", None)
    if fmt is None:
        return json.dumps({"csv": {"header": header}}) if header is not None else None
    if fmt not in _format_choices(cls):
        for other, phase in _other_monitors(command, monitor):
            if fmt in _format_choices(phase.params):
                raise ConfigError(f"--format {fmt} is the {other.title} input: add --type {other.name}")
        raise ConfigError(f"--format must be one of {', '.join(_format_choices(cls))}, got {fmt!r}")
    if fmt in FORMAT_SHORTHANDS:
        return FORMAT_SHORTHANDS[fmt]
    options: dict = {fmt: {}}
    if fmt == "csv":
        options["csv"]["header"] = bool(header)
    return json.dumps(options)


def job_from_args(args: argparse.Namespace, extras: list[str]) -> Job:
    from monitor_lib.monitors import registry
    from monitor_lib.params import completed, env_names, params_from_args, read_yaml

    command = args.command_name
    monitor, phase = registry.resolve(command, args.monitor_type)
    if extras:
        foreign = _foreign_flags(command, monitor, extras)
        raise ConfigError(foreign or f"unrecognized arguments for `model-monitor {command}`: {' '.join(extras)}")
    params: dict[str, Any] = read_yaml(args.config, env_names(phase.params)) if args.config else {}
    fmt = _format_value(args, phase.params, monitor, command)
    if fmt is not None:
        params["dataset_format"] = fmt
    params.update(params_from_args(args, phase.params))
    return Job(command, monitor, phase, completed(phase.params, params), args.config)


def _parser(argv: list[str]) -> argparse.ArgumentParser:
    from monitor_lib.monitors import registry

    p = argparse.ArgumentParser(prog="model-monitor")
    sub = p.add_subparsers(dest="command", required=True)
    hint = given_type(argv)
    for command in registry.commands():
        add_monitor_command(sub, command, hint)
    return p


def parse_job(command: str, flags: list[str]) -> Job:
    """Parse and check ``model-monitor <command> FLAGS`` exactly as the command would, without running it
    (``submit`` checks the job flags before anything is packaged or submitted)."""
    from monitor_lib.monitors import registry

    if command not in registry.commands():
        raise ConfigError(f"job must be one of {', '.join(registry.commands())}, got {command!r}")
    if flags and flags[0] == "--":
        flags = flags[1:]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args, extras = _parser(flags).parse_known_args([command, *flags])
    except SystemExit as e:
        if e.code in (0, None):
            raise
        text = err.getvalue().strip().splitlines()
        raise ConfigError(f"the flags after `--` are not valid for `model-monitor {command}`: "
                          f"{text[-1] if text else flags}") from None
    try:
        job = job_from_args(args, extras)
    except ConfigError as e:
        raise ConfigError(f"the flags after `--` are not valid for `model-monitor {command}`: {e}") from None
    job.typed("submit's job flags")
    return job


def print_outcome(monitor, outcome) -> None:
    """The terminal summary: the message, the monitor's lines, time and Spark master, the files."""
    print(outcome.message)
    for line in monitor.summary_lines(outcome):
        print(line)
    print(f"  {outcome.seconds:.1f} s on Spark master {outcome.spark_master or '-'}")
    width = max((len(k) for k in outcome.files), default=0) + 3
    for name, path in outcome.files.items():
        print(f"  {name:<{max(width, 16)}}{path}")
