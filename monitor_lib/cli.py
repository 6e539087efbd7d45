"""``model-monitor``: the command line. Thin: flags / YAML / the SageMaker environment → a monitor's typed
parameters → :func:`monitor_lib.runner.run` → a summary on stdout.

The commands that run a monitor (``baseline``, ``monitor``, ``merge``) and their flags come from the registry
(:mod:`monitor_lib.monitors.registry`): ``--type`` picks the monitor (default data quality), its phase for the
command declares the flags. Errors are one line on stderr, no traceback (exit codes in
:mod:`monitor_lib.errors`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from monitor_lib import __version__
from monitor_lib.commands import print_outcome
from monitor_lib.errors import (
    EXIT_ANALYZER_FAILED,
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_RUN_FAILED,
    ConfigError,
    MonitorError,
)
from monitor_lib.monitors.base import FAILED

log = logging.getLogger("monitor_lib")

def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("monitor_lib").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("py4j").setLevel(logging.WARNING)


# ---------------------------------------------------------------- analyze: the SageMaker container


def cmd_monitor_command(args: argparse.Namespace) -> int:
    from monitor_lib.commands import job_from_args
    from monitor_lib.runner import run

    job = job_from_args(args, args.extras)
    outcome = run(job.monitor, job.phase, job.typed())
    print_outcome(job.monitor, outcome)
    return EXIT_RUN_FAILED if outcome.status == FAILED else EXIT_OK


def cmd_analyze(args: argparse.Namespace) -> int:
    """Run exactly like SageMaker's analyzer container: parameters from processingjobconfig.json and/or
    environment variables, the monitor from ``analysis_type``, exit message in <root>/output/message, exit 0
    or 255."""
    from monitor_lib.container import (
        ACCEPTED_UNUSED,
        idle_host_message,
        opt_ml_root,
        resource_hosts,
        sagemaker_environment,
        sharded_inputs,
    )
    from monitor_lib.sinks.message import write_message

    root = opt_ml_root()
    try:
        hosts = resource_hosts(root)
        if hosts is not None and not hosts.is_primary:  # one host does the work (Spark local mode)
            message = idle_host_message(hosts)
            log.warning("%s", message)
            print(message)
            write_message(root, message)
            return EXIT_OK
        if hosts is not None and len(hosts.hosts) > 1:
            sharded = sharded_inputs(root)
            if sharded:
                raise ConfigError(
                    f"input(s) {', '.join(sharded)} use S3DataDistributionType ShardedByS3Key with "
                    f"{len(hosts.hosts)} hosts: {hosts.primary} alone runs the analysis and would see only "
                    "its shard. Use FullyReplicated (the default) or InstanceCount=1")
            log.warning("%d hosts in resourceconfig.json: the analysis runs on %s alone (Spark local mode), the "
                        "others exit at once; InstanceCount=1 does the same for less", len(hosts.hosts), hosts.primary)
        from monitor_lib.monitors import registry
        from monitor_lib.params import from_params
        from monitor_lib.runner import run

        known = registry.environment_names() + list(ACCEPTED_UNUSED)
        params = sagemaker_environment(known, root)
        for m in registry.monitors():  # e.g. the Clarify layout: processing/input/config/analysis_config.json
            if params.get("analysis_type") in (None, "", m.analysis_type):
                for key, value in m.container_params(root).items():
                    params.setdefault(key, value)
        custom = {k: v for k, v in params.items() if k not in known}
        _export_custom_environment(custom)
        monitor, phase = registry.for_environment(params)
        extra = {"extra_environment": tuple(sorted(custom.items()))} if _has_field(phase.params,
                                                                                    "extra_environment") else {}
        typed = from_params(phase.params, {k: v for k, v in params.items() if k not in custom and k != "analysis_type"
                                           and k not in ACCEPTED_UNUSED},
                            f"SageMaker environment under {root}", strict=False, **extra)
        outcome = run(monitor, phase, typed, analyzer_root=root)
        print_outcome(monitor, outcome)
        return EXIT_ANALYZER_FAILED if outcome.status == FAILED else EXIT_OK  # the message file has its reason
    except Exception as e:  # the container contract: message file + exit 255, whatever went wrong
        log.error("Exception performing analysis: %s", e)
        if (not isinstance(e, MonitorError) and not _refused_file(e)) or os.environ.get("MODEL_MONITOR_DEBUG"):
            traceback.print_exc()
        write_message(root, str(e), overwrite=False)
        return EXIT_ANALYZER_FAILED


def _refused_file(e: BaseException) -> bool:
    """An OSError naming a file (permission denied, disk full, a path through a file): the machine refused it,
    not a bug — reported in one line, without a traceback."""
    return isinstance(e, OSError) and e.filename is not None and bool(e.strerror)


def _has_field(cls, name: str) -> bool:
    from dataclasses import fields

    return any(f.name == name for f in fields(cls))


def _export_custom_environment(custom: dict[str, str]) -> None:
    """Like the real image: non-analyzer keys of processingjobconfig.json become environment variables
    (pre/post-processing scripts read them)."""
    for key, value in custom.items():
        if key not in os.environ:
            os.environ[key] = value


# ---------------------------------------------------------------- commands that run no monitor


def cmd_merge_profiles(args: argparse.Namespace) -> int:
    from monitor_lib.rollup import merge_profile_files

    merged = merge_profile_files(args.profiles, args.output_path, args.categorical_drift_method, args.kms_key)
    print(f"merged {len(args.profiles)} profiles: {merged.item_count} records, {merged.features} features")
    print(f"  output          {merged.output_path}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from monitor_lib import filenames
    from monitor_lib.sinks.report.history import scan_run_folders, write_history
    from monitor_lib.sinks.report.run import write_run_report

    root = args.root
    if not os.path.isdir(root):
        raise ConfigError(f"OUTPUT_ROOT {root} is not a folder: give a monitoring output root "
                          "({endpoint}/{schedule}/yyyy/mm/dd/hh below it) or one run's output folder")
    if os.path.exists(os.path.join(root, filenames.INCOMPLETE)):
        raise ConfigError(f"{root} holds an incomplete run ({filenames.INCOMPLETE}: it was killed while being "
                          "written): re-run its window")
    if os.path.exists(os.path.join(root, filenames.RUN_SUMMARY)):
        try:
            path = write_run_report(root, args.output)
        except (ValueError, OSError) as e:
            raise ConfigError(f"{os.path.join(root, filenames.RUN_SUMMARY)} cannot be read: {e}") from None
        print(f"report of the run in {root}: {path}")
        return EXIT_OK
    path, points = write_history(root, args.output)
    schedules = sorted({(p.schedule, p.kind) for p in points})
    print(f"history of {len(points)} run(s) in {len(schedules)} schedule(s): {path}")
    incomplete = scan_run_folders(root)[1]
    if incomplete:
        print(f"  ignored {len(incomplete)} incomplete run folder(s) (a run killed while writing them; re-run "
              f"its window): {', '.join(os.path.relpath(f, root) for f in incomplete[:5])}"
              + (" …" if len(incomplete) > 5 else ""))
    for schedule, kind in schedules:
        runs = [p for p in points if (p.schedule, p.kind) == (schedule, kind)]
        counts: dict[str, int] = {}
        for p in runs:
            for name in p.violated:
                counts[name] = counts.get(name, 0) + 1
        often = ", ".join(f"{k} ({v})" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
        failed = sum(1 for p in runs if p.status == "Failed")
        print(f"  {schedule} ({kind.replace('-', ' ')}): {len(runs)} runs, "
              f"{sum(1 for p in runs if p.violated)} with violations" + (f", {failed} failed" if failed else "")
              + f"; last {runs[-1].when:%Y-%m-%d %H:%M} {runs[-1].status}"
              + (f"; most violated: {often}" if often else ""))
    if not points:
        print(f"  no monitoring run found under {root} (folders with run_summary.json or constraint_violations.json)")
    return EXIT_OK


def cmd_monitors(args: argparse.Namespace) -> int:
    """``model-monitor monitors``: the registered monitor types and their commands."""
    from monitor_lib.monitors import registry

    for m in registry.monitors():
        commands = ", ".join(f"{p.command} ({p.name})" for p in m.phases)
        print(f"{m.name:<24}{m.analysis_type:<24}{commands}")
    return EXIT_OK


def cmd_alarms_create(args: argparse.Namespace) -> int:
    """``model-monitor alarms create``: one CloudWatch alarm per check of a baseline (monitor_lib.alarms)."""
    from monitor_lib.alarms import AlarmSettings, create_alarms, dry_run_text, put_metric_alarm_requests
    from monitor_lib.formats.jsonfmt import load_json_file
    from monitor_lib.monitors import registry

    monitor = registry.get(args.type)
    settings = AlarmSettings(namespace=args.namespace or monitor.cloudwatch_namespace(args.endpoint),
                             sns_topic_arn=args.sns_topic_arn, period=args.period,
                             treat_missing_data=args.treat_missing_data, prefix=args.prefix, endpoint=args.endpoint,
                             schedule=args.schedule, ok_actions=not args.no_ok_actions,
                             source=args.baseline_constraints)
    plan = monitor.alarm_plan(load_json_file(args.baseline_constraints), args.baseline_constraints, args.endpoint,
                              args.schedule)
    requests = put_metric_alarm_requests(plan, settings)
    for what, why in plan.not_alarmed:
        print(f"no alarm for {what}: {why}", file=sys.stderr)
    if args.dry_run:
        print(dry_run_text(requests))
        return EXIT_OK
    for name, a in zip(create_alarms(requests), plan.alarms, strict=True):
        print(f"alarm {name}: {a.statistic} of {a.metric_name} {a.comparison_operator} {a.threshold!r}")
    print(f"{len(requests)} alarm(s) in {settings.namespace}, actions to {settings.sns_topic_arn}")
    return EXIT_OK


# ---------------------------------------------------------------- parser


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; ``argv`` (its ``--type``) decides which monitor's flags each command has."""
    from monitor_lib import cli_help
    from monitor_lib.checks.drift import CATEGORICAL, method_names
    from monitor_lib.commands import add_monitor_command, given_type
    from monitor_lib.driver.submit import add_submit_parser
    from monitor_lib.monitors import registry
    from monitor_lib.schedule.commands import add_parsers as add_schedule_parsers

    type_hint = given_type(list(argv or []))
    raw = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(prog="model-monitor", description=cli_help.DESCRIPTION, epilog=cli_help.EPILOG,
                                formatter_class=raw)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="run as the SageMaker analyzer container (env / processingjobconfig.json)",
                       description=cli_help.ANALYZE_DESCRIPTION, epilog=cli_help.analyze_epilog(),
                       formatter_class=raw)
    a.set_defaults(func=cmd_analyze)
    for command in registry.commands():
        add_monitor_command(sub, command, type_hint)
        sub.choices[command].set_defaults(func=cmd_monitor_command)

    r = sub.add_parser("report", help="draw the history of every run under a monitoring output root into one "
                                      "HTML page (or draw one run's report.html again)",
                       description="Draw the history of every run under a monitoring output root into one HTML "
                                   "page, or one run's report.html again.", epilog=cli_help.REPORT_EPILOG,
                       formatter_class=raw)
    r.add_argument("root", metavar="OUTPUT_ROOT",
                   help="monitoring output root ({endpoint}/{schedule}/yyyy/mm/dd/hh/ below it), or one run's folder")
    r.add_argument("--output", help="the page to write (default OUTPUT_ROOT/history.html, or the run's report.html)")
    r.set_defaults(func=cmd_report)

    m = sub.add_parser("merge-profiles", help="merge profile.json states into the statistics of their union",
                       description="Merge the profile.json files of earlier baseline or monitoring runs (hours "
                                   "into a day, shards of a backfill) without Spark: writes statistics.json, "
                                   "suggested constraints.json and the merged profile.json.",
                       epilog=cli_help.MERGE_PROFILES_EPILOG, formatter_class=raw)
    m.add_argument("profiles", nargs="+", help="profile.json files or s3:// URIs (from earlier runs)")
    m.add_argument("--output", dest="output_path", required=True, help="folder or s3:// URI")
    m.add_argument("--categorical-drift-method", choices=method_names(CATEGORICAL))
    m.add_argument("--kms-key", dest="kms_key", help="s3:// outputs: SSE-KMS with this key")
    m.set_defaults(func=cmd_merge_profiles)

    t = sub.add_parser("monitors", help="list the registered monitor types",
                       description="List the registered monitor types.", epilog=cli_help.MONITORS_EPILOG,
                       formatter_class=raw)
    t.set_defaults(func=cmd_monitors)

    al = sub.add_parser("alarms", help="create CloudWatch alarms from a baseline's constraints",
                        description="CloudWatch alarms on the metrics the runs publish (put_metric_data).",
                        formatter_class=raw)
    actions = al.add_subparsers(dest="alarms_command", required=True)
    ac = actions.add_parser("create", help="one alarm per drift / completeness / model metric / bias metric",
                            description=cli_help.ALARMS_CREATE_DESCRIPTION, epilog=cli_help.ALARMS_CREATE_EPILOG,
                            formatter_class=raw)
    ac.add_argument("--type", default="data-quality", help="the monitor type of the baseline: "
                    f"{', '.join(m.name for m in registry.monitors())} (default %(default)s)")
    ac.add_argument("--baseline-constraints", required=True, metavar="FILE",
                    help="the baseline's constraints.json (model bias: analysis.json), a path or s3:// URI")
    ac.add_argument("--sns-topic-arn", required=True, help="the SNS topic of the alarms' actions")
    ac.add_argument("--endpoint", help="the endpoint the runs name (CloudWatch dimension Endpoint)")
    ac.add_argument("--schedule", help="the schedule the runs name (CloudWatch dimension MonitoringSchedule)")
    ac.add_argument("--namespace", help="the namespace the runs publish to (default: as put_metric_data, "
                                        "aws/sagemaker/Endpoints/<…>-metrics, ModelMonitoring without --endpoint)")
    ac.add_argument("--period", type=int, default=3600, help="seconds each data point covers (default 3600)")
    ac.add_argument("--treat-missing-data", default="notBreaching",
                    choices=("notBreaching", "breaching", "ignore", "missing"),
                    help="an hour without a data point (default notBreaching)")
    ac.add_argument("--prefix", default="model-monitor", help="alarm names: PREFIX/ENDPOINT/SCHEDULE/METRIC "
                                                              "(default %(default)s)")
    ac.add_argument("--no-ok-actions", action="store_true", help="notify the topic of ALARM only, not of the "
                                                                  "return to OK")
    ac.add_argument("--dry-run", action="store_true", help="print the PutMetricAlarm requests as JSON, create "
                                                           "nothing")
    ac.set_defaults(func=cmd_alarms_create)

    add_submit_parser(sub)
    add_schedule_parsers(sub)  # schedule due|tick|export, executions, backfill, rollup
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # what the parser would print, without importing every monitor to build it
        print(f"model-monitor {__version__}")
        return EXIT_OK
    try:
        parser = build_parser(argv)
    except MonitorError as e:  # a broken plug-in: the registry names it
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    args, extras = parser.parse_known_args(argv)
    if extras and args.func is not cmd_monitor_command:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    args.extras = extras
    _setup_logging(not args.quiet)
    if args.command == "analyze":
        return args.func(args)
    try:
        code = args.func(args)
        sys.stdout.flush()  # here, where a reader gone away (| head) is caught, not at the interpreter's exit
        return code
    except MonitorError as e:
        print(f"error: {e}", file=sys.stderr)
        if os.environ.get("MODEL_MONITOR_DEBUG"):
            traceback.print_exc()
        return e.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # the reader of stdout went away (| head): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit must not fail again
        return EXIT_OK
    except OSError as e:
        if not _refused_file(e):
            return _internal_error(e)
        # the machine refused a file (permission, disk full, a path through a file): not a bug
        print(f"error: {e.filename}: {e.strerror}", file=sys.stderr)
        if os.environ.get("MODEL_MONITOR_DEBUG"):
            traceback.print_exc()
        return EXIT_ERROR
    except Exception as e:
        return _internal_error(e)


def _internal_error(e: Exception) -> int:
    """A bug: one line, the traceback on request."""
    print(f"error: internal error ({type(e).__name__}: {' '.join(str(e).split())[:500]}); rerun with "
          "MODEL_MONITOR_DEBUG=1 for the traceback", file=sys.stderr)
    if os.environ.get("MODEL_MONITOR_DEBUG"):
        traceback.print_exc()
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
