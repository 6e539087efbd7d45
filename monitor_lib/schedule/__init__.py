"""Schedules that own their windows (SageMaker's monitoring schedules, run by us).

A schedule (``conf/schedule.example.yaml``) names a registered monitor type and its parameters, a cron
expression, offsets, a grace period, a target and a state store. SageMaker's rule gives each scheduled time its
window: the period before it, minus the offsets. The package:

* :mod:`.model` — the shared types: :class:`~.model.Window`, the execution statuses and
  :class:`~.model.ExecutionRecord` (shaped like SageMaker's ``MonitoringExecutionSummary``);
* :mod:`.windows` — ISO-8601 durations, scheduled time → window, the execution folder (named by the scheduled
  hour, as SageMaker does);
* :mod:`.cron` — Unix cron (``cronsim``) and SageMaker's ``cron(...)`` subset;
* :mod:`.spec` — the schedule file, validated;
* :mod:`.due` — which scheduled times are due at a given clock;
* :mod:`.store` — the execution records in a local folder or an ``s3://`` prefix, claimed create-if-absent;
* :mod:`.tick` — ``schedule due``, ``schedule tick``, ``executions``;
* :mod:`.export` — ``schedule export``: the trigger definitions (cron, systemd, Kubernetes, Airflow, EventBridge);
* :mod:`.backfill` — ``backfill``: many windows in one Spark job;
* :mod:`.rollup` — ``rollup``: hourly profiles merged into days and weeks;
* :mod:`.commands` — the command-line parsers of all of them.
"""
