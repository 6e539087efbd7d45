"""The ``--help`` texts of ``model-monitor`` and its commands: what each reads and writes, examples, exit codes.

The commands that run a monitor (``baseline``, ``monitor``, ``merge``) get their examples from the parameter
declarations of the registered monitors (:func:`monitor_command_epilog`), so a new monitor or parameter
needs no text here.
"""

from __future__ import annotations

import textwrap

from monitor_lib.errors import EXIT_ANALYZER_FAILED, EXIT_ERROR, EXIT_INTERNAL, EXIT_OK, EXIT_RUN_FAILED

EXIT_CODES = f"""exit codes:
  {EXIT_OK}    the run completed: with or without violations, or with no data in the window
  {EXIT_INTERNAL}    an internal error (a bug): one line; MODEL_MONITOR_DEBUG=1 prints the traceback
  {EXIT_ERROR}    bad flags or configuration, a missing / unreadable / malformed input, an output that
       cannot be written, a storage or Spark failure: one line on stderr naming the field or file.
       Paths and configuration are checked before Spark starts
  3    the run read records but could not analyse them (status Failed: every record, or more
       than max_rejected_fraction of them, was rejected); its summary and report are written"""

ENVIRONMENT = """environment:
  MODEL_MONITOR_DEBUG=1           tracebacks, and Spark's task-failure logs
  MODEL_MONITOR_SPARK_LOG_LEVEL   Spark's log level (default WARN; INFO shows task failures too)
  MODEL_MONITOR_DRIVER_MEMORY     the driver heap of local mode (default 4g)
  MODEL_MONITOR_CLASS_CACHE       where the driver's class-data sharing archive goes, or off (docs/clusters.md)
  spark-defaults.conf, PYSPARK_SUBMIT_ARGS   any Spark setting (master, memory, ...)
  MODEL_MONITOR_WEBHOOK_SECRET    the webhook_url's Standard Webhooks signing secret (whsec_...)
  MODEL_MONITOR_SLACK_WEBHOOK_URL, MODEL_MONITOR_PAGERDUTY_ROUTING_KEY   alert secrets (docs/alerts.md)
  OPENLINEAGE_URL, OPENLINEAGE_API_KEY, OPENLINEAGE_NAMESPACE   send the lineage events (docs/lineage.md)"""

DESCRIPTION = """\
Spark-native SageMaker Model Monitor: profile a baseline dataset, check captured endpoint traffic (or any
dataset) against it, and write the files SageMaker's analyzer writes — statistics.json, constraints.json,
constraint_violations.json, CloudWatch metrics — plus run_summary.json and an HTML report. Data quality,
model quality, model bias and feature attribution (`model-monitor monitors` lists the monitor types;
--type picks one). Runs on Spark local mode, a cluster (submit), EMR or as the SageMaker container
(analyze); schedules own their windows (schedule tick, backfill in one Spark job, rollup)."""

EPILOG = f"""examples:
  model-monitor baseline --dataset train.csv --format csv --header --output baseline/
  model-monitor monitor --dataset capture/my-endpoint/AllTraffic \\
      --scheduled-time 2026-11-20T11:00:00Z \\
      --baseline-constraints baseline/constraints.json --baseline-statistics baseline/statistics.json \\
      --output runs/my-endpoint/hourly/2026/11/20/11
      (the window is the hour before the scheduled time, [10:00, 11:00), as SageMaker's; or give it with
      --start-time 2026-11-20T10:00:00Z --end-time 2026-11-20T11:00:00Z; a day late: --end-offset=-P1D)
  model-monitor report runs/
  model-monitor schedule tick --schedule conf/schedule.example.yaml    run the due windows (from cron, ...)
  model-monitor backfill --schedule conf/schedule.example.yaml --from 2026-11-20T00:00:00Z \\
      --to 2026-11-21T00:00:00Z                                          a day of windows in one Spark job
  model-monitor monitors
  model-monitor COMMAND --help       the flags, examples and exit codes of one command

{EXIT_CODES}
  (analyze exits {EXIT_OK} or {EXIT_ANALYZER_FAILED}, as SageMaker's analyzer does; submit has its own codes;
  schedule tick and backfill exit {EXIT_RUN_FAILED} when a window they recorded ended Failed)

{ENVIRONMENT}

Documentation: docs/README.md; every parameter: docs/reference.md; every error: docs/errors.md."""

ANALYZE_DESCRIPTION = """\
Run exactly as SageMaker's Model Monitor analyzer container does (this is the image's entrypoint): no
flags, the job comes from the container's files and environment, the outcome goes to the exit message.
One implementation for every monitor: analysis_type picks it."""


def analyze_epilog() -> str:
    from monitor_lib.monitors import registry

    types = textwrap.fill(", ".join(f"{m.analysis_type} ({m.name})" for m in registry.monitors()), width=96,
                          initial_indent="    ", subsequent_indent="    ")
    names = textwrap.fill(", ".join(n for n in registry.environment_names() if n != "analysis_type"), width=96,
                          initial_indent="    ", subsequent_indent="    ")
    return f"""reads (ROOT is /opt/ml, or $MODEL_MONITOR_OPT_ML):
  ROOT/config/processingjobconfig.json
                 "Environment": the parameters; ProcessingOutputConfig.KmsKeyId: SSE-KMS of s3://
                 outputs; the inputs' S3DataDistributionType (ShardedByS3Key with several hosts is refused)
  ROOT/config/resourceconfig.json
                 the hosts: the first one runs the analysis (Spark local mode), the others exit 0
  environment variables of the same names
                 override the file's Environment (handy for a local run)
  ROOT/processing/input/config/analysis_config.json, ROOT/processing/input/data
                 Clarify's layout (model bias, feature attribution) when the Environment does not name them
  the paths the parameters name: dataset_source (e.g. ROOT/processing/input/endpoint/...),
                 baseline_constraints, baseline_statistics, ground_truth_source, scripts (local or s3://)

parameters (Environment keys; `model-monitor COMMAND --type T --help` and docs/reference.md explain each):
  analysis_type  the monitor (default DATA_QUALITY):
{types}
  every key a monitor declares:
{names}
  any other key  exported as an environment variable (record_preprocessor_script and
                 post_analytics_processor_script read them)

writes:
  output_path    the run's files (e.g. ROOT/processing/resultdata): statistics.json, constraints.json,
                 constraint_violations.json, run_summary.json, report.html, ...
  ROOT/output/message
                 the exit message: "Completed: ..." or the error (SageMaker shows it as ExitMessage)
  ROOT/output/metrics/cloudwatch (or CLOUDWATCH_METRICS_DIRECTORY)
                 the CloudWatch metric file, with publish_cloudwatch_metrics=Enabled

exit codes:
  {EXIT_OK}    completed (with or without violations, or no data in the window)
  {EXIT_ANALYZER_FAILED}  failed — an error, or a window whose records could not be analysed (status Failed):
       the reason is in ROOT/output/message and on stderr

example (a data-quality run outside a container):
  MODEL_MONITOR_OPT_ML=/tmp/opt_ml dataset_source=/tmp/capture/my-endpoint output_path=/tmp/out \\
  baseline_constraints=/tmp/baseline/constraints.json baseline_statistics=/tmp/baseline/statistics.json \\
  scheduled_time=2026-11-20T11:00:00Z model-monitor analyze   (or start_time=… end_time=…)
  cat /tmp/opt_ml/output/message"""


REPORT_EPILOG = f"""examples:
  model-monitor report runs/my-endpoint            history.html of every run below it
  model-monitor report runs/my-endpoint/hourly/2026/11/20/11   report.html of that run again
  model-monitor report runs/ --output /tmp/history.html

exit codes:
  {EXIT_OK}    the page was written
  {EXIT_INTERNAL}    an internal error (MODEL_MONITOR_DEBUG=1 prints the traceback)
  {EXIT_ERROR}    OUTPUT_ROOT is not a folder, or a run's files cannot be read (one line naming it)"""

MERGE_PROFILES_EPILOG = f"""examples:
  model-monitor merge-profiles runs/2026/11/20/*/profile.json --output rollups/2026-11-20
  model-monitor merge-profiles s3://bucket/runs/a/profile.json s3://bucket/runs/b/profile.json \\
      --output s3://bucket/rollups/ab --kms-key alias/monitor

exit codes:
  {EXIT_OK}    merged
  {EXIT_INTERNAL}    an internal error (MODEL_MONITOR_DEBUG=1 prints the traceback)
  {EXIT_ERROR}    a file is missing, not a profile.json (a statistics.json is not one), of other sketch
       sizes, or --output cannot be written: one line naming it"""

MONITORS_EPILOG = f"""examples:
  model-monitor monitors       name, SageMaker analysis_type, commands (phase) of each monitor type

exit codes:
  {EXIT_OK}    listed
  {EXIT_ERROR}    a registered plug-in is broken (the message names it)"""


def monitor_command_epilog(command: str, monitor, phase, default_monitor) -> str:
    """Examples (from the phase's required parameters) and exit codes of ``model-monitor COMMAND``."""
    from monitor_lib.params import completed, declared, env_names

    filled = set(completed(phase.params, {}))  # parameters with a default derived by the monitor
    formats = tuple(getattr(phase.params, "FORMAT_CHOICES", ()) or ())
    words = ["model-monitor", command]
    if monitor is not default_monitor:
        words += ["--type", monitor.name]
    for _, spec in declared(phase.params):
        # the required parameters; and for a monitoring run the baseline and ground truth it reads
        wanted = spec.required or (command != "baseline" and spec.path in ("input", "input_file"))
        if not wanted or spec.env in filled:
            continue
        if spec.env == "dataset_format" and formats:  # a baseline is a labelled dataset, a monitoring run a capture
            fmt = "csv" if command == "baseline" and "csv" in formats else formats[0]
            words += ["--format", fmt] + (["--header"] if fmt == "csv" else [])
        elif spec.choices:
            words += [spec.flag, spec.choices[0]]
        else:
            words += [spec.flag, _placeholder(spec)]
    words += list(getattr(phase.params, "EXAMPLE_FLAGS", ()))
    keys = ", ".join(env_names(phase.params)[:3])
    config = _wrapped([*words[:2 if monitor is default_monitor else 4], "--config", "job.yaml"])
    return f"""examples:
{_wrapped(words)}
{config}
      (job.yaml: the parameters by name, e.g. {keys}: ...; flags override it)

{EXIT_CODES}"""


def _placeholder(spec) -> str:
    if spec.path == "output":
        return "out/"
    if spec.path == "input_file":  # the file its help names, e.g. "constraints.json of the baseline"
        named = [w.strip(".,:;()'") for w in spec.help.split() if w.strip(".,:;()'").endswith(".json")]
        name = named[0].rsplit("'", 1)[-1] if named else spec.env + ".json"
        return ("baseline/" if spec.env.startswith("baseline_") else "") + name
    if spec.path == "input":
        return "data/" if spec.env == "dataset_source" else spec.env.replace("_source", "") + "/"
    return spec.env.upper()


def _wrapped(words: list[str]) -> str:
    """``model-monitor ...`` over lines of at most 100 characters, a flag kept with its value."""
    groups: list[str] = []
    for word in words:
        if groups and groups[-1].startswith("--") and " " not in groups[-1] and not word.startswith("--"):
            groups[-1] += " " + word
        else:
            groups.append(word)
    lines, line = [], " "
    for group in groups:
        if len(line) + len(group) + 3 > 100:
            lines.append(line + " \\")
            line = "     "
        line += " " + group
    lines.append(line)
    return "\n".join(lines)


ALARMS_CREATE_DESCRIPTION = """\
Create (or update: the names are the same each time) one CloudWatch alarm per check of a baseline, on the
metrics the monitoring runs publish with put_metric_data: data quality, per feature, drift
(feature_baseline_drift_<f> above comparison_threshold) and completeness (feature_non_null_<f> below the
feature's completeness); model quality, each constrained metric with its threshold and operator; model bias,
each metric of a categorical facet farther from neutral than the baseline (metric math). Feature attribution
has no alarmable metric. Defaults for hourly runs: Period 3600, EvaluationPeriods 1, DatapointsToAlarm 1,
TreatMissingData notBreaching; ALARM and OK go to the SNS topic. Endpoint, schedule and namespace must be what
the runs are given, or the alarms watch metrics nobody publishes."""

ALARMS_CREATE_EPILOG = f"""examples:
  model-monitor alarms create --baseline-constraints baseline/constraints.json \\
      --sns-topic-arn arn:aws:sns:us-east-1:123456789012:model-monitor \\
      --endpoint my-endpoint --schedule hourly
  model-monitor alarms create --type model-quality --baseline-constraints s3://bucket/mq/constraints.json \\
      --sns-topic-arn arn:aws:sns:us-east-1:123456789012:model-monitor --endpoint my-endpoint \\
      --schedule mq-hourly --dry-run        print the PutMetricAlarm requests as JSON

environment:
  AWS credentials, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_CLOUDWATCH (boto3's own)

exit codes:
  {EXIT_OK}    the alarms were created (or printed); what has no alarm is listed on stderr
  {EXIT_INTERNAL}    an internal error (MODEL_MONITOR_DEBUG=1 prints the traceback)
  {EXIT_ERROR}    an unreadable baseline, a bad flag, a monitor type without alarms, or CloudWatch refused a
       request (one line naming it)"""

SCHEDULE_DESCRIPTION = """\
A schedule file (conf/schedule.example.yaml) names a monitor type and its parameters, a cron expression, the
window of each scheduled time (SageMaker's rule: the period before it, minus the offsets), a grace period, a
target and a state store. `schedule due` lists the windows that are due; `schedule tick` claims them (each
scheduled time once, whoever else ticks), runs or submits them and records their executions; `schedule
export` prints the trigger that calls tick (cron, systemd, Kubernetes) or submits the job itself (Airflow,
EventBridge)."""
