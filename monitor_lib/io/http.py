"""POST over HTTP(S) with bounded retries: the one client of every outbound HTTP call (the explainer's model
endpoint, webhooks, Slack, PagerDuty, OpenLineage).

One ``urllib3.PoolManager`` per process. :func:`post` retries HTTP 429/500/502/503/504, connection errors and
read errors up to ``max_retries`` times, the first retry after ``backoff_seconds``, each later one twice the one
before (a ``Retry-After`` header is honoured, up to :data:`RETRY_AFTER_MAX` seconds); ``timeout_seconds`` bounds
each attempt. It returns the final :class:`Answer` whatever its status (a 4xx is the caller's to judge) and raises
:class:`HttpError` only when no answer came: the message names ``where`` and the number of attempts, never the
URL's query or credentials (callers name the destination without its secrets).
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from monitor_lib.errors import MonitorError

RETRY_STATUSES = (429, 500, 502, 503, 504)
RETRY_AFTER_MAX = 120  # seconds: a longer Retry-After is cut to this
BODY_EXCERPT = 200  # characters of an answer quoted in a message


class HttpError(MonitorError):
    """No answer came (refused, unreachable, timed out): the message names the destination and the attempts."""


@dataclass(frozen=True)
class Answer:
    status: int
    data: bytes
    attempts: int  # 1 + the retries made

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


_lock = threading.Lock()
_pool: tuple[int, urllib3.PoolManager] | None = None  # (pid, pool): one per process


def pool_manager() -> urllib3.PoolManager:
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), urllib3.PoolManager(num_pools=8, maxsize=8))
        return _pool[1]


class _FirstDelayRetry(Retry):
    """urllib3's back-off skips the delay before the first retry: here the first retry waits ``backoff_factor``
    seconds, each later one twice the one before."""

    def get_backoff_time(self) -> float:
        errors = 0
        for attempt in reversed(self.history):
            if attempt.redirect_location is not None:
                break
            errors += 1
        return 0.0 if errors == 0 else float(min(self.backoff_max, self.backoff_factor * 2 ** (errors - 1)))


def retry_policy(max_retries: int, backoff_seconds: float) -> Retry:
    return _FirstDelayRetry(total=max_retries, backoff_factor=backoff_seconds, status_forcelist=RETRY_STATUSES,
                            allowed_methods=frozenset({"POST"}), respect_retry_after_header=True,
                            retry_after_max=RETRY_AFTER_MAX, raise_on_status=False)


def check_url(url: str, name: str, show: bool = False) -> None:
    """``url`` is an http:// or https:// URL, else a ConfigError naming ``name`` (and the URL when ``show``: a
    webhook's URL may hold a secret)."""
    from monitor_lib.errors import ConfigError

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("http", "https") or not url.split("://", 1)[1].strip("/"):
        raise ConfigError(f"{name}{f' {url!r}' if show else ''} must be an http:// or https:// URL")


def destination(url: str) -> str:
    """A URL named without its path, query or credentials (they may hold a secret): ``https://host:port``."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def post(url: str, body: bytes, headers: dict[str, str], *, where: str, timeout_seconds: float,
         max_retries: int, backoff_seconds: float) -> Answer:
    """POST ``body`` to ``url``; the last answer (any status) or :class:`HttpError` when none came."""
    attempts_max = max_retries + 1
    try:
        response = pool_manager().request("POST", url, body=body, headers=headers,
                                          retries=retry_policy(max_retries, backoff_seconds),
                                          timeout=urllib3.Timeout(total=timeout_seconds))
    except MaxRetryError as e:
        raise HttpError(unreachable(where, e.reason, attempts_max, timeout_seconds)) from None
    except HTTPError as e:
        raise HttpError(f"{where} cannot be called: {clean(str(e))}") from None
    history = response.retries.history if response.retries is not None else ()
    return Answer(response.status, response.data, len(history) + 1)


def unreachable(where: str, reason: Exception | None, attempts: int, timeout: float) -> str:
    tries = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
    text = clean(str(reason))
    if isinstance(reason, NewConnectionError):  # before ConnectTimeoutError: urllib3 derives it from that
        if "refused" in text.lower() or isinstance(reason.__cause__ or reason.__context__, ConnectionRefusedError):
            return f"{where} refused the connection {tries}: is the server running and listening there?"
        return f"{where} cannot be reached {tries}: {text}"
    if isinstance(reason, ConnectTimeoutError):
        return f"{where} cannot be reached: the connection timed out ({timeout:g} s) {tries}"
    if isinstance(reason, ReadTimeoutError):
        return f"{where} did not answer within {timeout:g} s ({tries})"
    return f"{where} cannot be reached {tries}: {text}"


def excerpt(text: str, limit: int = BODY_EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def clean(text: str) -> str:
    """urllib3's messages without the ``<urllib3.connection.HTTPConnection object at 0x…>:`` prefixes and without
    any URL (it may carry a secret: a Slack webhook path, a token in a query)."""
    text = re.sub(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*", "", text)
    text = re.sub(r"\(host='[^']*', port=\d+\): Max retries exceeded with url: \S+", "", text)
    return excerpt(re.sub(r"https?://\S+", "<url>", text))
