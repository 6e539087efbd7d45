"""OpenLineage ``RunEvent`` documents of a run (spec 2-0-2), built as plain JSON-ready dicts: no Spark, no I/O.

An event names the job (``namespace`` from ``OPENLINEAGE_NAMESPACE``, ``name`` from :func:`job_name`), the run
(``runId`` = the run's UUID) and carries:

- run facets: ``nominalTime`` (the window: ``nominalStartTime`` included, ``nominalEndTime`` excluded) for runs
  with a window start, ``parent`` when an orchestrator passed its run (:func:`parent_facet`),
  ``processing_engine`` (Spark's version) and, for ``FAIL``, ``errorMessage``;
- inputs: the analysed data (``dataset_source``) with the input facets ``dataQualityMetrics`` (rows, bytes, files,
  per-column metrics where the run has statistics) and ``dataQualityAssertions`` (the checks evaluated), then the
  other inputs (baseline files, ground truth, analysis configuration);
- outputs: the run folder.

Datasets are named the OpenLineage way (``spec/Naming.md``): a local path is namespace ``file``, name the absolute
path; an S3 object or prefix is namespace ``s3://<bucket>``, name the key. Every facet carries ``_producer`` and
``_schemaURL`` (the facet versions of openlineage-python 1.54, the reference the tests structure events with).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor_lib import __version__

SPEC = "https://openlineage.io/spec"
SCHEMA_URL = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = f"https://github.com/spark-model-monitor/spark-model-monitor/tree/v{__version__}"
DEFAULT_NAMESPACE = "model-monitor"

START, COMPLETE, FAIL = "START", "COMPLETE", "FAIL"

FACET_SCHEMAS = {
    "nominalTime": f"{SPEC}/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
    "parent": f"{SPEC}/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "errorMessage": f"{SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "processing_engine": f"{SPEC}/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet",
    "dataQualityMetrics": (f"{SPEC}/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json"
                           "#/$defs/DataQualityMetricsInputDatasetFacet"),
    "dataQualityAssertions": (f"{SPEC}/facets/1-1-0/DataQualityAssertionsDatasetFacet.json"
                              "#/$defs/DataQualityAssertionsDatasetFacet"),
}

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)  # the quantiles of columnMetrics (from the run's KLL sketches)

# Airflow's OpenLineage provider passes its task's run to Spark jobs as these confs (EmrAddStepsOperator,
# SparkSubmitOperator, Dataproc, … with openlineage_inject_parent_job_info)
PARENT_CONFS = ("spark.openlineage.parentJobNamespace", "spark.openlineage.parentJobName",
                "spark.openlineage.parentRunId")
ROOT_CONFS = ("spark.openlineage.rootParentJobNamespace", "spark.openlineage.rootParentJobName",
              "spark.openlineage.rootParentRunId")
# ... and other integrations (dbt-ol, the Python client's conventions) as ``namespace/job/runId`` variables
PARENT_ENV, ROOT_ENV = "OPENLINEAGE_PARENT_ID", "OPENLINEAGE_ROOT_PARENT_ID"


def facet(kind: str, /, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET_SCHEMAS[kind], **fields}


def iso_millis(t: datetime) -> str:
    """``2026-11-20T10:00:00.000Z`` (OpenLineage's examples' form; any ISO-8601 with a time is valid)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------- names


def dataset_name(uri: str) -> tuple[str, str]:
    """``(namespace, name)`` of a path or URI per the OpenLineage naming conventions."""
    m = re.match(r"^(s3a?|s3n)://([^/]+)/?(.*)$", uri)
    if m:
        return f"s3://{m.group(2)}", m.group(3).rstrip("/") or "/"
    path = uri[len("file://"):] if uri.startswith("file://") else uri
    return "file", os.path.abspath(path)


def _name_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]+", "-", text).strip("-") or "dataset"


def job_name(monitor: str, phase: str, endpoint: str | None, schedule: str | None, dataset_source: str) -> str:
    """``<endpoint | dataset>[.<schedule>].<monitor>.<phase>``: stable across the runs of one schedule, so the
    runs of a schedule are runs of one job (the dataset is the last part of ``dataset_source`` without its
    extension when no endpoint is named)."""
    subject = endpoint or os.path.splitext(os.path.basename(dataset_source.rstrip("/")))[0]
    parts = [_name_part(subject)] + ([_name_part(schedule)] if schedule else []) + [monitor, phase]
    return ".".join(parts)


def parent_facet(conf: Mapping[str, str], env: Mapping[str, str]) -> dict[str, Any] | None:
    """The ``parent`` run facet an orchestrator passed: Spark confs ``spark.openlineage.parent*`` (and
    ``rootParent*``) first, else ``OPENLINEAGE_PARENT_ID`` / ``OPENLINEAGE_ROOT_PARENT_ID``
    (``namespace/job/runId``). None when none is given or the run id is not a UUID."""
    parent = _triple(conf, PARENT_CONFS) or _env_triple(env.get(PARENT_ENV))
    if parent is None:
        return None
    root = _triple(conf, ROOT_CONFS) if _triple(conf, PARENT_CONFS) else _env_triple(env.get(ROOT_ENV))
    doc = facet("parent", run={"runId": parent[2], "facets": {}},
                job={"namespace": parent[0], "name": parent[1], "facets": {}})
    if root is not None:
        doc["root"] = {"run": {"runId": root[2], "facets": {}}, "job": {"namespace": root[0], "name": root[1],
                                                                        "facets": {}}}
    return doc


def _triple(conf: Mapping[str, str], keys: tuple[str, str, str]) -> tuple[str, str, str] | None:
    values = tuple((conf.get(k) or "").strip() for k in keys)
    return values if all(values) and _is_uuid(values[2]) else None  # type: ignore[return-value]


def _env_triple(value: str | None) -> tuple[str, str, str] | None:
    if not value:
        return None
    namespace, _, rest = value.strip().partition("/")
    job, _, run_id = rest.rpartition("/")
    return (namespace, job, run_id) if namespace and job and _is_uuid(run_id) else None


def _is_uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- facets from a run's results


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def quantiles_from_levels(levels: list[list[float]], qs: tuple[float, ...] = QUANTILES) -> dict[str, float]:
    """``{"0.5": x, …}``: for each q the smallest retained item whose weighted rank reaches ``q * n`` (a KLL
    sketch's levels, item weight 2**level)."""
    from monitor_lib.profile.sketches import WeightedItems

    ranks = WeightedItems.from_levels(levels)
    if not ranks.total_weight:
        return {}
    out = {}
    for q in qs:
        j = int(_searchsorted(ranks.cum_weights, q * ranks.total_weight))
        out[str(q)] = float(ranks.items[min(j, len(ranks.items) - 1)])
    return out


def _searchsorted(cum, target: float) -> int:
    import numpy as np

    return int(np.searchsorted(cum, target - 1e-9, side="left"))


def column_metrics(statistics: Any) -> dict[str, dict[str, Any]]:
    """``columnMetrics`` from SageMaker statistics (:class:`~monitor_lib.formats.statistics.DatasetStatistics`):
    nullCount = num_missing, count = num_present, distinctCount = the HLL estimate (approximate, as in
    statistics.json), sum/min/max of numeric columns (exact) and their quantiles (KLL sketch)."""
    out: dict[str, dict[str, Any]] = {}
    for f in getattr(statistics, "features", None) or []:
        if f.numerical is not None:
            n = f.numerical
            m: dict[str, Any] = {"nullCount": int(n.num_missing), "count": int(n.num_present)}
            if n.approximate_num_distinct_values is not None:
                m["distinctCount"] = int(n.approximate_num_distinct_values)
            if n.num_present:
                m.update(sum=_finite(n.sum), min=_finite(n.min), max=_finite(n.max))
            m["quantiles"] = quantiles_from_levels(n.sketch.data) if n.sketch is not None and n.num_present else {}
        elif f.string is not None:
            s = f.string
            m = {"nullCount": int(s.num_missing), "count": int(s.num_present)}
            if s.distinct_count is not None:
                m["distinctCount"] = int(s.distinct_count)
            m["quantiles"] = {}
        else:
            continue
        out[f.name] = {k: v for k, v in m.items() if v is not None}
    return out


# the per-feature measurements of a data-quality run (run_summary.json ``features_measured``): which check each
# value was held to, so passing checks appear as assertions too
_MEASURED = (("completeness_check", "completeness", "completeness_threshold"),
             ("data_type_check", "type_match", "type_match_threshold"),
             ("categorical_values_check", "in_domain", "in_domain_threshold"),
             ("baseline_drift_check", "drift_distance", "drift_threshold"))


def assertions(violations: list[Any], measured: list[dict] | None) -> list[dict[str, Any]]:
    """``dataQualityAssertions`` assertions: every check the run evaluated on a feature (from its measurements)
    with ``success`` false where it was violated, then every other violation (missing / extra columns, model
    metrics, bias facets…), each with ``success`` false. ``assertion`` is SageMaker's check name, ``column`` the
    feature (or metric)."""
    failed: dict[tuple[str, str | None], Any] = {}
    for v in violations:
        failed.setdefault((v.constraint_check_type, v.feature_name or v.metric_name), v)
    out: list[dict[str, Any]] = []
    covered: set[tuple[str, str | None]] = set()
    for m in measured or []:
        for check, value, threshold in _MEASURED:
            if m.get(value) is None:
                continue
            key = (check, m.get("name"))
            covered.add(key)
            a: dict[str, Any] = {"assertion": check, "success": key not in failed, "column": m.get("name"),
                                 "actual": _text(m.get(value))}
            if m.get(threshold) is not None:
                a["expected"] = _text(m.get(threshold))
            if key in failed:
                a["description"] = failed[key].description
            a["params"] = {}
            out.append(a)
    for key, v in failed.items():
        if key in covered:
            continue
        a = {"assertion": key[0], "success": False}
        if key[1] is not None:
            a["column"] = key[1]
        a.update(description=v.description, params={})
        out.append(a)
    return out


def _text(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, float) else str(x)


# ---------------------------------------------------------------- the event


@dataclass
class DatasetRef:
    """An input or output dataset of the event."""

    uri: str
    input_facets: dict[str, Any] = field(default_factory=dict)
    facets: dict[str, Any] = field(default_factory=dict)

    def doc(self, output: bool = False) -> dict[str, Any]:
        namespace, name = dataset_name(self.uri)
        d: dict[str, Any] = {"namespace": namespace, "name": name, "facets": dict(self.facets)}
        if output:
            d["outputFacets"] = {}
        else:
            d["inputFacets"] = dict(self.input_facets)
        return d


def data_quality_metrics(rows: int, byte_count: int | None, files: int | None,
                         columns: dict[str, dict[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {"columnMetrics": columns, "rowCount": int(rows)}
    if byte_count is not None:
        doc["bytes"] = int(byte_count)
    if files is not None:
        doc["fileCount"] = int(files)
    return facet("dataQualityMetrics", **doc)


def run_event(event_type: str, event_time: datetime, run_id: str, namespace: str, job: str, *,
              window: tuple[datetime | None, datetime | None] = (None, None), parent: dict | None = None,
              inputs: list[DatasetRef] = (), outputs: list[DatasetRef] = (), error: str | None = None,
              spark_version: str | None = None) -> dict[str, Any]:
    """One OpenLineage RunEvent (a JSON-ready dict)."""
    run_facets: dict[str, Any] = {}
    start, end = window
    if start is not None:
        run_facets["nominalTime"] = facet("nominalTime", nominalStartTime=iso_millis(start),
                                          **({"nominalEndTime": iso_millis(end)} if end is not None else {}))
    if parent is not None:
        run_facets["parent"] = parent
    if spark_version:
        run_facets["processing_engine"] = facet("processing_engine", version=spark_version, name="spark",
                                                openlineageAdapterVersion=__version__)
    if error is not None:
        run_facets["errorMessage"] = facet("errorMessage", message=error, programmingLanguage="python")
    return {"eventTime": iso_millis(event_time), "producer": PRODUCER, "schemaURL": SCHEMA_URL,
            "eventType": event_type, "run": {"runId": run_id, "facets": run_facets},
            "job": {"namespace": namespace, "name": job, "facets": {}},
            "inputs": [d.doc() for d in inputs], "outputs": [d.doc(output=True) for d in outputs]}
