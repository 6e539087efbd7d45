"""The remote model the explainer calls: an HTTP(S) server (``predictor.endpoint_url``) or a SageMaker endpoint
(``predictor.endpoint_name``), with Clarify's request and response fields (clarify-contract §1.1).

:func:`endpoint_predict` gives the batch predict function of a :class:`PredictorSpec`: X (n rows × M features, in
``feature_names`` order) → n scores, or n rows of k scores. A call is split into requests of at most
``max_records_per_request`` rows (KernelSHAP sends thousands of coalition rows per call), sent one after the other
and spaced at least ``1 / requests_per_second`` apart in this process; the answers are concatenated in order.

Request body, by ``content_type`` (:func:`request_body`):

* ``text/csv`` — one line per row, the values comma-separated, each written as ``repr(float(v))`` (it reads back
  as the same float); a missing value (NaN) is an empty field. Lines are joined by ``\\n``, no trailing newline
  (as the SageMaker SDK's ``CSVSerializer`` writes them).
* ``application/jsonlines`` — one line per row: ``content_template`` (default ``{"features":$features}``)
  rendered for the row.
* ``application/json`` — ``content_template`` (default ``$records``) with ``$records`` replaced by a JSON array of
  the rows, each rendered by ``record_template`` (default ``$features``). A ``content_template`` with ``$record``
  (singular) sends one row per request, rendered by ``record_template``.

A row's placeholders (``record_template``, and the JSON Lines ``content_template``): ``$features`` → the values
as a JSON array, ``$feature_names`` → the names as a JSON array, ``$features_kvp`` → a JSON object name → value,
``${name}`` → the value of feature ``name``. JSON numbers are written as ``repr(float(v))``; NaN and ±inf
(not JSON numbers) as ``null``.

Response, by ``accept_type`` (default: ``content_type``) (:func:`parse_response`); ``probability``, else ``label``,
picks the explained output(s) of each record, without either the whole record is:

* ``text/csv`` — one line per record, comma-separated numbers; an integer picks that field. A single line of n
  fields answering n > 1 rows (older SageMaker XGBoost containers) is read as one score per row when nothing is
  picked.
* ``application/jsonlines`` — one JSON document per line; a JMESPath is evaluated on each line, an integer picks an
  element of a JSON array line; the result is a number or a list of numbers.
* ``application/json`` — one JSON document; a JMESPath is evaluated on the whole document and gives a list of
  n numbers or n lists of numbers (``predictions[*].score``); an integer picks an element of each record; with
  nothing picked the document is that list, or ``{"predictions": [...]}``. With ``$record`` requests the
  document is the one record's answer and the JMESPath is evaluated on it as on a JSON Lines line.

Transports. HTTP: one ``urllib3.PoolManager`` per process; a ``POST`` with ``Content-Type`` and ``Accept``;
``max_retries`` retries on HTTP 429/500/502/503/504, connection errors and read errors, the first after
``backoff_seconds``, doubled each time (a ``Retry-After`` header is honoured, up to :data:`RETRY_AFTER_MAX`
seconds); ``timeout_seconds`` per attempt. Only first attempts are rate limited: retries are already spaced by the
back-off. SageMaker: one ``sagemaker-runtime`` client per process and configuration, region from ``AWS_REGION`` /
``AWS_DEFAULT_REGION`` / the boto3 session (default ``us-east-1``), ``AWS_ENDPOINT_URL`` honoured by boto3,
botocore's ``standard`` retry mode with ``max_retries + 1`` attempts.

Every failure is an :class:`EndpointError` naming the endpoint (``endpoint <url>`` or ``SageMaker endpoint
<name>``), the HTTP status, the first 200 characters of the answer and the number of attempts; configuration
problems are :class:`~monitor_lib.errors.ConfigError` naming the ``predictor`` field.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jmespath
import numpy as np
from jmespath.exceptions import JMESPathError

from monitor_lib.errors import ConfigError, MonitorError
from monitor_lib.explain.spec import PredictorSpec
from monitor_lib.io import http
from monitor_lib.io.http import RETRY_AFTER_MAX, RETRY_STATUSES, check_url  # noqa: F401  (documented here)

CSV = "text/csv"
JSON_LINES = "application/jsonlines"
JSON = "application/json"
SUPPORTED_TYPES = (CSV, JSON_LINES, JSON)

DEFAULT_JSON_LINES_TEMPLATE = '{"features":$features}'
DEFAULT_JSON_TEMPLATE = "$records"
DEFAULT_RECORD_TEMPLATE = "$features"


class EndpointError(MonitorError):
    """The remote model failed or answered something unusable: the message names the endpoint."""


def endpoint_predict(spec: PredictorSpec) -> Callable[[np.ndarray], np.ndarray]:
    """The batch predict function of the remote model of ``spec``: X (2-D float, n × M) → an array of n scores
    (shape ``(n,)``) or n rows of k scores (``(n, k)``). Configuration problems are raised here, before any
    request."""
    if not spec.remote:
        raise ConfigError("the predictor names no endpoint: give predictor.endpoint_url or predictor.endpoint_name")
    if spec.requests_per_second is not None and not spec.requests_per_second > 0:
        raise ConfigError(f"predictor.requests_per_second must be a positive number, got {spec.requests_per_second!r}")
    if spec.max_records_per_request < 1:
        raise ConfigError(f"predictor.max_records_per_request must be at least 1, got {spec.max_records_per_request}")
    codec = _codec(spec)
    send = _http_sender(spec) if spec.endpoint_url else _sagemaker_sender(spec)
    limiter = _rate_limiter(spec)
    rows_per_request = 1 if codec.single_record else spec.max_records_per_request

    def predict(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise EndpointError(f"{codec.where}: the model is called with a 2-D array of rows, got shape {X.shape}")
        parts = []
        for start in range(0, len(X), rows_per_request):
            rows = X[start:start + rows_per_request]
            body = codec.request(rows)
            if limiter is not None:
                limiter.wait()
            answer = send(body)
            parts.append(codec.response(answer, len(rows), start))
        return _joined(parts, codec.where)

    return predict


def request_body(X: np.ndarray, spec: PredictorSpec) -> bytes:
    """The request body of the rows X (one request: no splitting)."""
    return _codec(spec).request(np.asarray(X, dtype=float))


def parse_response(body: bytes | str, spec: PredictorSpec, n_rows: int) -> np.ndarray:
    """The scores in the answer to a request of ``n_rows`` rows: shape ``(n,)`` or ``(n, k)``."""
    return _joined([_codec(spec).response(body, n_rows, 0)], _where(spec))


# -- serialisation -----------------------------------------------------------------------------------------------

def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _where(spec: PredictorSpec) -> str:
    return f"endpoint {spec.endpoint_url}" if spec.endpoint_url else f"SageMaker endpoint {spec.endpoint_name}"


_PLACEHOLDER = re.compile(r"\$(?:\{([^}]*)\}|(features_kvp|feature_names|features|records|record)(?![A-Za-z0-9_]))")


def _json_number(v: float) -> str:
    return repr(v) if math.isfinite(v) else "null"


def _csv_number(v: float) -> str:
    return "" if v != v else repr(v)


@dataclass(frozen=True)
class _Template:
    """A template split into literal text and placeholders, rendered once per row (or once per request)."""

    parts: tuple[str | tuple[str, str], ...]  # text, or (kind, argument)

    @classmethod
    def compile(cls, text: str, field: str, allowed: set[str], feature_names: tuple[str, ...]) -> _Template:
        parts: list[str | tuple[str, str]] = []
        at = 0
        for m in _PLACEHOLDER.finditer(text):
            name, kind = m.group(1), m.group(2) or "feature"
            if kind not in allowed:
                usable = [f"${a}" for a in sorted(allowed - {"feature"})] + ["${name}"] * ("feature" in allowed)
                raise ConfigError(f"{field} {text!r}: {m.group(0)} is not a placeholder of this template — use "
                                  f"{', '.join(usable)}")
            if kind in ("feature_names", "features_kvp", "feature") and not feature_names:
                raise ConfigError(f"{field} {text!r} uses {m.group(0)}, but the features' names are not known: "
                                  "give the dataset's headers")
            if kind == "feature" and name not in feature_names:
                raise ConfigError(f"{field} {text!r}: {m.group(0)} is not a feature — the features are "
                                  f"{', '.join(feature_names)}")
            parts += [text[at:m.start()], (kind, feature_names.index(name) if kind == "feature" else "")]
            at = m.end()
        parts.append(text[at:])
        return cls(tuple(p for p in parts if p != ""))

    def kinds(self) -> set[str]:
        return {p[0] for p in self.parts if isinstance(p, tuple)}

    def render(self, fill: Callable[[str, Any], str]) -> str:
        return "".join(p if isinstance(p, str) else fill(*p) for p in self.parts)


@dataclass(frozen=True)
class _Codec:
    where: str
    content_type: str
    accept_type: str
    pick: int | str | None
    pick_field: str
    feature_names: tuple[str, ...]
    line_template: _Template | None  # JSON Lines: one row
    content_template: _Template | None  # JSON: the request
    record_template: _Template | None  # JSON: one row
    single_record: bool  # JSON $record: one row per request

    # requests

    def request(self, rows: np.ndarray) -> bytes:
        if self.feature_names and rows.shape[1] != len(self.feature_names) and self._uses_names():
            raise EndpointError(f"{self.where}: the rows have {rows.shape[1]} values, the features are "
                                f"{len(self.feature_names)} ({', '.join(self.feature_names)})")
        values = rows.tolist()
        if self.content_type == CSV:
            text = "\n".join(",".join(map(_csv_number, row)) for row in values)
        elif self.content_type == JSON_LINES:
            text = "\n".join(self._render_row(self.line_template, row) for row in values)
        else:
            records = [self._render_row(self.record_template, row) for row in values]
            if self.single_record and len(records) != 1:
                raise EndpointError(f"{self.where}: a $record request holds one row, not {len(records)}")
            joined = "[" + ",".join(records) + "]"
            text = self.content_template.render(lambda kind, _: joined if kind == "records" else records[0])
        return text.encode("utf-8")

    def _uses_names(self) -> bool:
        templates = (self.line_template, self.record_template)
        return any(t is not None and t.kinds() & {"feature_names", "features_kvp", "feature"} for t in templates)

    def _render_row(self, template: _Template, row: list[float]) -> str:
        names = self.feature_names

        def fill(kind: str, index: Any) -> str:
            if kind == "features":
                return "[" + ",".join(map(_json_number, row)) + "]"
            if kind == "feature_names":
                return json.dumps(list(names), separators=(",", ":"))
            if kind == "features_kvp":
                pairs = zip(names, row, strict=True)
                return "{" + ",".join(f"{json.dumps(n)}:{_json_number(v)}" for n, v in pairs) + "}"
            return _json_number(row[index])

        return template.render(fill)

    # responses

    def response(self, body: bytes | str, n_rows: int, first_row: int) -> list:
        """One output per row: a float or a list of floats."""
        if isinstance(body, bytes):
            try:
                text = body.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise EndpointError(f"{self.where} answered a body that is not UTF-8 text: "
                                    f"{_excerpt(body.decode('latin-1'))}") from None
        else:
            text = body
        if self.accept_type == CSV:
            records = self._csv_records(text, n_rows)
        elif self.accept_type == JSON_LINES or self.single_record:
            records = self._json_lines_records(text)
        else:
            records = self._json_records(text)
        if len(records) != n_rows:
            rows = f"row {first_row}" if n_rows == 1 else f"rows {first_row}-{first_row + n_rows - 1}"
            raise EndpointError(f"{self.where} answered {len(records)} record(s) to a request of {n_rows} ({rows}): "
                                f"expected one per row — {_excerpt(text)}")
        return [self._output(r, i, text) for i, r in enumerate(records)]

    def _csv_records(self, text: str, n_rows: int) -> list:
        lines = [line for line in csv.reader(io.StringIO(text)) if line and any(f.strip() for f in line)]
        if len(lines) == 1 and n_rows > 1 and len(lines[0]) == n_rows and self.pick is None:
            return list(lines[0])  # one line of n scores (older SageMaker XGBoost containers)
        if isinstance(self.pick, int):
            picked = []
            for i, line in enumerate(lines):
                if not -len(line) <= self.pick < len(line):
                    raise EndpointError(f"{self.where}: {self.pick_field} {self.pick} is not a field of record {i} "
                                        f"of the answer, which has {len(line)}: {_excerpt(','.join(line))}")
                picked.append(line[self.pick])
            return picked
        return [line[0] if len(line) == 1 else line for line in lines]

    def _json_lines_records(self, text: str) -> list:
        docs = [text] if self.single_record else [line for line in text.splitlines() if line.strip()]
        records = []
        for i, line in enumerate(docs):
            doc = self._json(line, f"line {i} of the answer")
            records.append(self._picked(doc, i, line))
        return records

    def _json_records(self, text: str) -> list:
        doc = self._json(text, "the answer")
        if isinstance(self.pick, str):
            found = self._search(doc)
            if not isinstance(found, list):
                raise EndpointError(f"{self.where}: {self.pick_field} {self.pick!r} gives "
                                    f"{_excerpt(json.dumps(found))} on the answer, not a list with one entry per row: "
                                    f"{_excerpt(text)}")
            return found
        if isinstance(doc, dict) and isinstance(doc.get("predictions"), list):
            doc = doc["predictions"]
        if not isinstance(doc, list):
            raise EndpointError(f"{self.where} answered a JSON document that is not a list of records (nor "
                                "{\"predictions\": [...]}): set predictor.probability to a JMESPath that finds "
                                f"the scores — {_excerpt(text)}")
        if isinstance(self.pick, int):
            return [self._indexed(r, i, json.dumps(r)) for i, r in enumerate(doc)]
        return doc

    def _picked(self, doc: Any, i: int, text: str) -> Any:
        if isinstance(self.pick, str):
            found = self._search(doc)
            if self.single_record and isinstance(found, list) and len(found) == 1 and isinstance(found[0], list):
                found = found[0]  # [[p0, p1]]: a batch of one
            return found
        if isinstance(self.pick, int):
            return self._indexed(doc, i, text)
        return doc

    def _indexed(self, record: Any, i: int, text: str) -> Any:
        if not isinstance(record, list) or not -len(record) <= self.pick < len(record):
            raise EndpointError(f"{self.where}: {self.pick_field} {self.pick} is not an element of record {i} of the "
                                f"answer: {_excerpt(text)}")
        return record[self.pick]

    def _search(self, doc: Any) -> Any:
        return jmespath.search(self.pick, doc)

    def _json(self, text: str, what: str) -> Any:
        try:
            return json.loads(text)
        except ValueError as e:
            raise EndpointError(f"{self.where}: {what} is not JSON ({e}): {_excerpt(text)}") from None

    def _output(self, record: Any, i: int, text: str) -> float | list[float]:
        if isinstance(record, list):
            if not record:
                raise EndpointError(f"{self.where}: record {i} of the answer has no score: {_excerpt(text)}")
            return [self._number(v, i, text) for v in record]
        return self._number(record, i, text)

    def _number(self, value: Any, i: int, text: str) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        what = f"{self.pick_field} {self.pick!r} of record {i}" if self.pick is not None else f"record {i}"
        shown = value if isinstance(value, str) else json.dumps(value)
        raise EndpointError(f"{self.where}: {what} of the answer is {_excerpt(shown)!r}, not a number"
                            f"{'' if self.pick is not None else ' (set predictor.probability to pick the score)'}"
                            f" — answer: {_excerpt(text)}")


def _codec(spec: PredictorSpec) -> _Codec:
    content_type = _media_type(spec.content_type or CSV)
    accept_type = _media_type(spec.accept_type or spec.content_type or CSV)
    for field, value in (("content_type", content_type), ("accept_type", accept_type)):
        if value not in SUPPORTED_TYPES:
            raise ConfigError(f"predictor.{field} {value!r} is not supported by endpoints — use one of "
                              f"{', '.join(SUPPORTED_TYPES)}")
    pick_field = "predictor.probability" if spec.probability is not None else "predictor.label"
    pick = spec.probability if spec.probability is not None else spec.label
    if isinstance(pick, str) and pick.strip().lstrip("-").isdigit():
        pick = int(pick)
    if isinstance(pick, str):
        if accept_type == CSV:
            raise ConfigError(f"{pick_field} {pick!r}: a text/csv answer is picked by a 0-based field index, not a "
                              "JSON path")
        try:
            jmespath.compile(pick)
        except JMESPathError as e:
            raise ConfigError(f"{pick_field} {pick!r} is not a JMESPath expression: {e}") from None
    names = tuple(spec.feature_names)
    row_kinds = {"features", "feature_names", "features_kvp", "feature"}
    line = content = record = None
    single = False
    if content_type == JSON_LINES:
        text = spec.content_template or DEFAULT_JSON_LINES_TEMPLATE
        line = _Template.compile(text, "predictor.content_template", row_kinds, names)
        if not line.kinds() & {"features", "features_kvp", "feature"}:
            raise ConfigError(f"predictor.content_template {text!r} has no $features placeholder: the rows would "
                              "not be sent")
    elif content_type == JSON:
        text = spec.content_template or DEFAULT_JSON_TEMPLATE
        content = _Template.compile(text, "predictor.content_template", {"records", "record"}, names)
        kinds = [p[0] for p in content.parts if isinstance(p, tuple)]
        if len(kinds) != 1:
            raise ConfigError(f"predictor.content_template {text!r} must hold $records (all the rows) or $record "
                              "(one row per request) once — a record is written by predictor.record_template")
        single = kinds[0] == "record"
        record = _Template.compile(spec.record_template or DEFAULT_RECORD_TEMPLATE, "predictor.record_template",
                                   row_kinds, names)
    return _Codec(where=_where(spec), content_type=content_type, accept_type=accept_type, pick=pick,
                  pick_field=pick_field, feature_names=names, line_template=line, content_template=content,
                  record_template=record, single_record=single)


def _joined(parts: list[list], where: str) -> np.ndarray:
    outputs = [o for part in parts for o in part]
    if not outputs:
        return np.empty((0,), dtype=float)
    widths = {len(o) if isinstance(o, list) else None for o in outputs}
    if len(widths) > 1:
        first = outputs[0]
        odd = next(i for i, o in enumerate(outputs) if (len(o) if isinstance(o, list) else None) !=
                   (len(first) if isinstance(first, list) else None))
        raise EndpointError(f"{where}: the records of the answers do not have the same number of scores — record 0 "
                            f"has {_count(first)}, record {odd} has {_count(outputs[odd])}")
    return np.asarray(outputs, dtype=float)


def _count(output: float | list) -> str:
    return f"{len(output)} (a list)" if isinstance(output, list) else "1 (a number)"


_excerpt = http.excerpt


# -- rate limit ------------------------------------------------------------------------------------------------

class _RateLimiter:
    """Spaces the calls of :meth:`wait` at least ``interval`` seconds apart, across threads."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            time.sleep(at - now)


_lock = threading.Lock()
_limiters: dict[tuple, _RateLimiter] = {}


def _rate_limiter(spec: PredictorSpec) -> _RateLimiter | None:
    if spec.requests_per_second is None:
        return None
    key = (os.getpid(), spec.endpoint_url or spec.endpoint_name, spec.requests_per_second)
    with _lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = _RateLimiter(spec.requests_per_second)
    return limiter


# -- HTTP ------------------------------------------------------------------------------------------------------


def _http_sender(spec: PredictorSpec) -> Callable[[bytes], bytes]:
    url = spec.endpoint_url
    where = _where(spec)
    check_url(url, "predictor.endpoint_url", show=True)
    headers = {"Content-Type": spec.content_type, "Accept": spec.accept_type or spec.content_type}

    def send(body: bytes) -> bytes:
        try:
            answer = http.post(url, body, headers, where=where, timeout_seconds=spec.timeout_seconds,
                               max_retries=spec.max_retries, backoff_seconds=spec.backoff_seconds)
        except http.HttpError as e:
            raise EndpointError(str(e)) from None
        if answer.ok:
            return answer.data
        raise EndpointError(f"{where} answered HTTP {answer.status} after {answer.attempts} "
                            f"attempt{'s' if answer.attempts > 1 else ''}: {_excerpt(answer.text) or '(empty body)'}")

    return send


# -- SageMaker -------------------------------------------------------------------------------------------------

_clients: dict[tuple, Any] = {}


def _region() -> str:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        import boto3

        region = boto3.session.Session().region_name
    return region or "us-east-1"


def _sagemaker_client(spec: PredictorSpec):
    """This process's ``sagemaker-runtime`` client for ``spec``'s retry and timeout settings (tests replace this
    function with one returning a stubbed client)."""
    import boto3
    from botocore.config import Config

    region = _region()
    key = (os.getpid(), region, os.environ.get("AWS_ENDPOINT_URL"), spec.max_retries, spec.timeout_seconds)
    with _lock:
        client = _clients.get(key)
        if client is None:
            config = Config(retries={"total_max_attempts": spec.max_retries + 1, "mode": "standard"},
                            read_timeout=spec.timeout_seconds, connect_timeout=min(spec.timeout_seconds, 60.0),
                            max_pool_connections=16)
            client = _clients[key] = boto3.session.Session().client("sagemaker-runtime", region_name=region,
                                                                    config=config)
    return client


def _sagemaker_sender(spec: PredictorSpec) -> Callable[[bytes], bytes]:
    from botocore.exceptions import BotoCoreError, ClientError

    where = _where(spec)
    params: dict[str, str] = {"EndpointName": spec.endpoint_name, "ContentType": spec.content_type,
                              "Accept": spec.accept_type or spec.content_type}
    if spec.custom_attributes:
        params["CustomAttributes"] = spec.custom_attributes
    if spec.target_model:
        params["TargetModel"] = spec.target_model

    def send(body: bytes) -> bytes:
        try:
            response = _sagemaker_client(spec).invoke_endpoint(Body=body, **params)
            return response["Body"].read()
        except ClientError as e:
            raise EndpointError(_sagemaker_failure(where, e.response)) from None
        except BotoCoreError as e:
            raise EndpointError(f"{where} cannot be called: {_excerpt(str(e))}") from None

    return send


def _sagemaker_failure(where: str, response: dict) -> str:
    error = response.get("Error", {})
    meta = response.get("ResponseMetadata", {})
    attempts = int(meta.get("RetryAttempts", 0) or 0) + 1
    status = meta.get("HTTPStatusCode")
    code = error.get("Code", "error")
    text = error.get("Message") or ""
    model = response.get("OriginalStatusCode")
    if model is not None:  # ModelError: the container's own answer
        text = f"the model answered HTTP {model}: {response.get('OriginalMessage') or text}"
        if response.get("LogStreamArn"):
            text += f" (logs: {response['LogStreamArn']})"
    status_text = f"HTTP {status} " if status else ""
    return (f"{where} answered {status_text}{code} after {attempts} attempt{'s' if attempts > 1 else ''}: "
            f"{_excerpt(text) or '(no message)'}")
