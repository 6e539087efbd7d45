"""Where each channel sends and with which secret: the run's alert parameters and the environment.

Secrets (the webhook signing secret, the Slack webhook URL, the PagerDuty routing key) come from the
environment (or, for Slack and PagerDuty, a parameter); every message here names the parameter or variable,
never its value. The parameters' shapes are checked when they are read
(:func:`monitor_lib.monitors.common.check_alert_params`); the environment is read when a run starts (before
Spark), since a remote job's environment is not the submitting machine's.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from typing import Any

from monitor_lib.errors import ConfigError
from monitor_lib.io.http import check_url
from monitor_lib.monitors.common import SNS_TOPIC_ARN

WEBHOOK_SECRET_ENV = "MODEL_MONITOR_WEBHOOK_SECRET"
SLACK_URL_ENV = "MODEL_MONITOR_SLACK_WEBHOOK_URL"
PAGERDUTY_KEY_ENV = "MODEL_MONITOR_PAGERDUTY_ROUTING_KEY"
PAGERDUTY_URL_ENV = "MODEL_MONITOR_PAGERDUTY_URL"
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
SECRET_PREFIX = "whsec_"
BACKOFF_SECONDS = 1.0  # first retry after 1 s, then doubling (io/http)


@dataclass(frozen=True)
class Delivery:
    """How a channel calls out: its timeout and retries (``notify_timeout_seconds``, ``notify_max_retries``)."""

    timeout_seconds: float
    max_retries: int
    backoff_seconds: float = BACKOFF_SECONDS


def delivery(params: Any) -> Delivery:
    timeout = getattr(params, "notify_timeout_seconds", None)
    retries = getattr(params, "notify_max_retries", None)
    return Delivery(10.0 if timeout is None else float(timeout), 3 if retries is None else int(retries))


def sns_region(arn: str) -> str:
    match = SNS_TOPIC_ARN.match(arn)
    return match.group(1) if match else "us-east-1"


def webhook_secret() -> bytes:
    """The HMAC key of the Standard Webhooks signature: ``MODEL_MONITOR_WEBHOOK_SECRET`` = ``whsec_<base64>``,
    base64-decoded. A ConfigError names the variable (never its value) when it is missing or not that shape."""
    value = os.environ.get(WEBHOOK_SECRET_ENV, "").strip()
    fix = (f"set {WEBHOOK_SECRET_ENV} to the receiver's signing secret, whsec_ followed by base64 of at least 24 "
           "random bytes (e.g. python -c \"import base64,os; print('whsec_'+base64.b64encode(os.urandom(32))"
           ".decode())\")")
    if not value:
        raise ConfigError(f"webhook_url is set but {WEBHOOK_SECRET_ENV} is not: {fix}")
    if not value.startswith(SECRET_PREFIX):
        raise ConfigError(f"{WEBHOOK_SECRET_ENV} does not start with {SECRET_PREFIX}: {fix}")
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{WEBHOOK_SECRET_ENV} is not whsec_ followed by base64: {fix}") from None
    if not key:
        raise ConfigError(f"{WEBHOOK_SECRET_ENV} holds no key after whsec_: {fix}")
    return key


def slack_url(params: Any) -> str | None:
    """``slack_webhook_url``, else ``MODEL_MONITOR_SLACK_WEBHOOK_URL`` (checked; the URL is never shown)."""
    given = getattr(params, "slack_webhook_url", None)
    if given:
        return given
    env = os.environ.get(SLACK_URL_ENV, "").strip()
    if env:
        check_url(env, SLACK_URL_ENV)
    return env or None


def pagerduty_key(params: Any) -> str | None:
    """``pagerduty_routing_key``, else ``MODEL_MONITOR_PAGERDUTY_ROUTING_KEY``."""
    given = getattr(params, "pagerduty_routing_key", None)
    if given:
        return given.strip()
    return os.environ.get(PAGERDUTY_KEY_ENV, "").strip() or None


def pagerduty_url() -> str:
    """The Events v2 endpoint (``MODEL_MONITOR_PAGERDUTY_URL`` overrides it: a proxy, a test receiver)."""
    url = os.environ.get(PAGERDUTY_URL_ENV, "").strip() or PAGERDUTY_URL
    check_url(url, PAGERDUTY_URL_ENV, show=True)
    return url


def is_monitoring(params: Any) -> bool:
    """Only monitoring runs notify (a baseline and the model-quality merge phase have no alert parameters)."""
    return hasattr(params, "notify_on")
