"""Notifications of a monitoring run: SNS, a Standard Webhooks-signed webhook, Slack, PagerDuty Events v2.

One notification per run (:mod:`.message`, built once from the outcome), sent by each configured channel when
``notify_on`` asks for it (PagerDuty on every run: a clean window resolves). Every channel is best effort: a
failure is recorded in ``run_summary.json`` ``deliveries.<channel>`` and never fails the run.
"""

from monitor_lib.sinks.notify.pagerduty import SINK as PAGERDUTY
from monitor_lib.sinks.notify.slack import SINK as SLACK
from monitor_lib.sinks.notify.sns import SINK as SNS
from monitor_lib.sinks.notify.webhook import SINK as WEBHOOK

SINKS: list = [SNS, WEBHOOK, SLACK, PAGERDUTY]
