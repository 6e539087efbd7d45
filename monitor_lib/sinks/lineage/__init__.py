"""The lineage sink (parameter ``lineage``, default Enabled, every phase): OpenLineage RunEvents and
``lineage.json`` per run.

- ``start`` (before the phase runs): the ``START`` event, written as the first line of
  ``openlineage_events.jsonl`` in the run folder (staged like the other files) and POSTed when ``OPENLINEAGE_URL``
  is set.
- ``write`` (the phase has an outcome): ``COMPLETE`` (Completed, CompletedWithViolations, NoData — a window without
  data is a complete run of 0 rows) or ``FAIL`` (status Failed, with the ``errorMessage`` facet) appended to the
  file and POSTed; then ``lineage.json`` (:mod:`.record`).
- ``fail`` (the phase raised): a ``FAIL`` event. The run folder is discarded, so it only goes over HTTP and to
  the log (DEBUG, logger ``monitor_lib.sinks.lineage``).

Transport: ``POST <OPENLINEAGE_URL> + <OPENLINEAGE_ENDPOINT, default api/v1/lineage>`` (joined like
openlineage-python's HTTP transport does), ``Authorization: Bearer $OPENLINEAGE_API_KEY`` when set, through
:func:`monitor_lib.io.http.post` with the run's ``notify_timeout_seconds`` / ``notify_max_retries`` (10 s, 3 when
the phase has no such parameters). ``OPENLINEAGE_DISABLED=true`` turns the HTTP transport off (files stay).
What was sent is recorded in ``run_summary.json`` ``deliveries.openlineage``; a failure never fails the run.
Job namespace: ``OPENLINEAGE_NAMESPACE`` (default ``model-monitor``); job name: :func:`.events.job_name`.

The two files are not listed in ``run_summary.json`` ``files``: the report, drawn before this sink runs, lists
those files, and a report redrawn from the folder must equal it. Their names are fixed (:mod:`monitor_lib.filenames`).

A phase that another runs into a subfolder (model quality's merge) shares its run id: it is part of that run and
emits nothing itself. A phase whose folder is data (its summary file starts with ``_``: the merge) writes
``_lineage.json`` and ``_openlineage_events.jsonl`` so that reading the folder skips them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from monitor_lib import filenames
from monitor_lib.formats.jsonfmt import write_json_atomic
from monitor_lib.io import http
from monitor_lib.sinks.base import FAILED, SENT, Sink, SinkContext, record_delivery
from monitor_lib.sinks.lineage import events as ev
from monitor_lib.sinks.lineage import record as rec

log = logging.getLogger(__name__)

CHANNEL = "openlineage"
DEFAULT_ENDPOINT = "api/v1/lineage"
DEFAULT_TIMEOUT, DEFAULT_RETRIES, BACKOFF_SECONDS = 10.0, 3, 1.0


# ---------------------------------------------------------------- configuration from the environment


@dataclass(frozen=True)
class Transport:
    """Where events go over HTTP (None: files only)."""

    url: str
    api_key: str | None = None

    @property
    def where(self) -> str:
        """The destination without path, query or credentials (for messages and the run summary)."""
        return f"OpenLineage endpoint {http.destination(self.url)}"

    @property
    def headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h


def transport_from(env: dict[str, str] | os._Environ) -> Transport | None:
    url = (env.get("OPENLINEAGE_URL") or "").strip()
    if not url or (env.get("OPENLINEAGE_DISABLED") or "").strip().lower() == "true":
        return None
    endpoint = (env.get("OPENLINEAGE_ENDPOINT") or DEFAULT_ENDPOINT).strip()
    return Transport(urljoin(url, endpoint), (env.get("OPENLINEAGE_API_KEY") or "").strip() or None)


def namespace_from(env) -> str:
    return (env.get("OPENLINEAGE_NAMESPACE") or "").strip() or ev.DEFAULT_NAMESPACE


_CONTEXT_CONF: dict = {}  # the active SparkContext (by identity), its conf and version


def spark_conf_and_version() -> tuple[dict[str, str], str | None]:
    """The confs and version of the SparkContext this process has (or spark-submit's JVM holds); never starts
    one: ``({}, None)`` when there is none yet."""
    try:
        from pyspark import SparkConf, SparkContext
    except ImportError:  # pragma: no cover
        return {}, None
    sc = SparkContext._active_spark_context
    if sc is not None:  # a context's conf is fixed when it starts: read it once (a backfill has many runs)
        if _CONTEXT_CONF.get("sc") is not sc:
            _CONTEXT_CONF.update(sc=sc, conf=dict(sc.getConf().getAll()), version=sc.version)
        return dict(_CONTEXT_CONF["conf"]), _CONTEXT_CONF["version"]
    if os.environ.get("PYSPARK_GATEWAY_PORT"):  # spark-submit started this driver: its --conf are JVM properties
        try:
            SparkContext._ensure_initialized()
            return dict(SparkConf().getAll()), None
        except Exception:  # noqa: BLE001 - the parent facet is optional
            return {}, None
    return {}, None


# ---------------------------------------------------------------- one run


@dataclass
class _Run:
    out: str
    namespace: str
    job: str
    transport: Transport | None
    sent: list[dict[str, Any]] = field(default_factory=list)  # what each POST did


_runs: dict[str, _Run] = {}
_lock = threading.Lock()


def _names(ctx: SinkContext) -> tuple[str, str]:
    prefix = "_" if str(ctx.phase.summary_file).startswith("_") else ""
    return prefix + filenames.OPENLINEAGE_EVENTS, prefix + filenames.LINEAGE


def _window(ctx: SinkContext) -> tuple[datetime | None, datetime | None]:
    o = ctx.outcome
    if o is not None and o.has_window:
        return o.start_time, o.end_time
    return getattr(ctx.params, "start_time", None), getattr(ctx.params, "end_time", None)


def _inputs(params: Any) -> list[tuple[str, str, str]]:
    """``(field, SageMaker name, uri)`` of every input the parameters name (declared ``path="input"|"input_file"``),
    the analysed data first."""
    from monitor_lib.params import declared

    found = [(name, spec.env, getattr(params, name, None)) for name, spec in declared(type(params))
             if spec.path in ("input", "input_file")]
    found = [(n, env, v) for n, env, v in found if isinstance(v, str) and v]
    found.sort(key=lambda x: x[0] != "dataset_source")
    return found


def _input_kinds(params: Any) -> dict[str, str]:
    from monitor_lib.params import declared

    return {name: spec.path for name, spec in declared(type(params))}


def _enabled(ctx: SinkContext) -> bool:
    return bool(getattr(ctx.params, "lineage", False))


def _remove_stale(ctx: SinkContext) -> None:
    from monitor_lib.sinks.files import remove_stale

    remove_stale(ctx.out, _names(ctx))


def _begin(ctx: SinkContext) -> _Run:
    env = os.environ
    run = _Run(ctx.out, namespace_from(env), _job(ctx), transport_from(env))
    with _lock:
        _runs[ctx.run_id] = run
    conf, _ = spark_conf_and_version()
    event = ev.run_event(ev.START, datetime.now(UTC), ctx.run_id, run.namespace, run.job, window=_window(ctx),
                         parent=ev.parent_facet(conf, env),
                         inputs=[ev.DatasetRef(uri) for _, _, uri in _inputs(ctx.params)],
                         outputs=[ev.DatasetRef(ctx.public(ctx.out))])
    write_json_atomic(os.path.join(ctx.out, _names(ctx)[0]), json.dumps(event, ensure_ascii=False) + "\n")
    _send(run, event, ctx.params)
    return run


def _job(ctx: SinkContext) -> str:
    p = ctx.params
    return ev.job_name(ctx.monitor.name, ctx.phase.name, getattr(p, "endpoint_name", None),
                       getattr(p, "schedule_name", None), str(getattr(p, "dataset_source", "") or ""))


def _start(ctx: SinkContext) -> None:
    if not _enabled(ctx):
        _remove_stale(ctx)
        return
    _begin(ctx)


def _write(ctx: SinkContext) -> None:
    if not _enabled(ctx):
        _remove_stale(ctx)
        return
    with _lock:
        run = _runs.get(ctx.run_id)
    if run is not None and os.path.abspath(run.out) != os.path.abspath(ctx.out):
        return  # a phase run inside another one (model quality's merge): part of that run
    if run is None:
        run = _begin(ctx)
    try:
        _finish(ctx, run)
    finally:
        with _lock:
            _runs.pop(ctx.run_id, None)


def _finish(ctx: SinkContext, run: _Run) -> None:
    from monitor_lib.monitors.base import FAILED as RUN_FAILED

    o = ctx.outcome
    events_name, lineage_name = _names(ctx)
    conf, spark_version = spark_conf_and_version()
    inputs = _inputs(ctx.params)
    kinds = _input_kinds(ctx.params)
    # the data files read (none at all: an empty manifest); not listed by the monitor (None): named only
    entries = rec.file_entries(o.data_files) if o.data_files is not None else None
    refs, documented = [], []
    for name, env_name, uri in inputs:
        ref = ev.DatasetRef(uri)
        if name == "dataset_source":
            ref.input_facets["dataQualityMetrics"] = _metrics(o, entries)
            checks = ev.assertions(o.violations, o.details.get("features_measured"))
            if checks:
                ref.input_facets["dataQualityAssertions"] = ev.facet("dataQualityAssertions", assertions=checks)
            documented.append(rec.data_input(env_name, uri, entries))
        elif kinds.get(name) == "input_file":
            try:
                documented.append({"param": env_name, "uri": uri, "kind": "file", **rec.file_digest(uri)})
            except Exception as e:  # noqa: BLE001 - a file gone since: named, without digest
                documented.append({"param": env_name, "uri": uri, "kind": "file", "error": type(e).__name__})
        else:
            documented.append({"param": env_name, "uri": uri, "kind": "data"})
        refs.append(ref)
    failed = o.status == RUN_FAILED
    event = ev.run_event(ev.FAIL if failed else ev.COMPLETE, datetime.now(UTC), ctx.run_id, run.namespace, run.job,
                         window=_window(ctx), parent=ev.parent_facet(conf, os.environ), inputs=refs,
                         outputs=[ev.DatasetRef(ctx.public(ctx.out))], spark_version=spark_version,
                         error=(o.failure_reason or o.message) if failed else None)
    path = os.path.join(ctx.out, events_name)
    previous = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            previous = fh.read()
    write_json_atomic(path, previous + json.dumps(event, ensure_ascii=False) + "\n")
    _send(run, event, ctx.params)
    if run.transport is not None:
        ok = all(s["status"] == SENT for s in run.sent)
        record_delivery(ctx, CHANNEL, SENT if ok else FAILED, destination=run.transport.where, events=run.sent)
    lineage_path = os.path.join(ctx.out, lineage_name)
    write_json_atomic(lineage_path, json.dumps(_lineage_doc(ctx, run, documented, spark_version), indent=2,
                                               ensure_ascii=False) + "\n")


def _metrics(o: Any, entries: list[rec.FileEntry] | None) -> dict[str, Any]:
    from monitor_lib.formats.statistics import DatasetStatistics

    statistics = getattr(o.artifacts, "statistics", None)
    columns = ev.column_metrics(statistics) if isinstance(statistics, DatasetStatistics) and o.records else {}
    if entries is not None:
        return ev.data_quality_metrics(o.records, sum(e.size for e in entries), len(entries), columns)
    return ev.data_quality_metrics(o.records, None, o.files_read, columns)


def _lineage_doc(ctx: SinkContext, run: _Run, inputs: list[dict], spark_version: str | None) -> dict[str, Any]:
    from monitor_lib.params import to_params
    from monitor_lib.timefmt import iso_utc

    o = ctx.outcome
    start, end = _window(ctx)
    return {"run_id": ctx.run_id, "monitor": ctx.monitor.name, "phase": ctx.phase.name, "status": o.status,
            "window": {"start_time": iso_utc(start), "end_time": iso_utc(end)} if (start or end) else None,
            "openlineage": {"namespace": run.namespace, "job": run.job, "events": _names(ctx)[0]},
            "inputs": inputs, "output": ctx.public(ctx.out), "code": rec.code_version(spark_version),
            "parameters": rec.safe_parameters(to_params(ctx.params))}


def _fail(ctx: SinkContext, error: BaseException) -> None:
    if not _enabled(ctx):
        return
    with _lock:
        run = _runs.pop(ctx.run_id, None)
    if run is None:
        run = _Run(ctx.out, namespace_from(os.environ), _job(ctx), transport_from(os.environ))
    conf, spark_version = spark_conf_and_version()
    message = f"{type(error).__name__}: {' '.join(str(error).split())}"[:2000]
    event = ev.run_event(ev.FAIL, datetime.now(UTC), ctx.run_id, run.namespace, run.job, window=_window(ctx),
                         parent=ev.parent_facet(conf, os.environ),
                         inputs=[ev.DatasetRef(uri) for _, _, uri in _inputs(ctx.params)],
                         outputs=[ev.DatasetRef(ctx.public(ctx.out))], spark_version=spark_version, error=message)
    # DEBUG: the command line's failure stays its one error line; the event is there for whoever logs DEBUG
    log.debug("OpenLineage FAIL event (the run folder is discarded): %s", json.dumps(event, ensure_ascii=False))
    _send(run, event, ctx.params)


# ---------------------------------------------------------------- HTTP


def _send(run: _Run, event: dict[str, Any], params: Any) -> None:
    if run.transport is None:
        return
    from monitor_lib.io.http import HttpError, excerpt, post

    t = run.transport
    timeout = getattr(params, "notify_timeout_seconds", None) or DEFAULT_TIMEOUT
    retries = getattr(params, "notify_max_retries", None)
    result: dict[str, Any] = {"eventType": event["eventType"]}
    try:
        answer = post(t.url, json.dumps(event, ensure_ascii=False).encode("utf-8"), t.headers, where=t.where,
                      timeout_seconds=float(timeout), max_retries=DEFAULT_RETRIES if retries is None else int(retries),
                      backoff_seconds=BACKOFF_SECONDS)
    except HttpError as e:
        result.update(status=FAILED, error=str(e))
    else:
        result.update(status=SENT if answer.ok else FAILED, http_status=answer.status, attempts=answer.attempts)
        if not answer.ok:
            result["error"] = f"{t.where} answered HTTP {answer.status}: {excerpt(answer.text)}"
    if result["status"] == FAILED:
        log.warning("OpenLineage %s event not delivered, the run goes on: %s", event["eventType"], result["error"])
    run.sent.append(result)


SINKS: list[Sink] = [Sink("lineage", _write, start=_start, fail=_fail, best_effort=True)]
