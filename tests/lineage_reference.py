"""OpenLineage's own event classes (openlineage-python) as the reference for our RunEvent JSON.

openlineage-python ships no JSON schema file; its generated attrs classes are the spec in code: their validators
check UUIDs, ISO times, URLs, the event type enum, and each facet class fixes its ``_schemaURL``.
:func:`structure` builds the classes from our JSON field by field (a missing required field or an unknown one
raises a TypeError); :func:`round_trip` is what the client would send for the same event (``Serde.to_dict``).
"""

from __future__ import annotations

from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent
from openlineage.client.generated import (
    data_quality_assertions_dataset as dqa,
)
from openlineage.client.generated import (
    data_quality_metrics_input_dataset as dqm,
)
from openlineage.client.generated import (
    error_message_run,
    nominal_time_run,
    parent_run,
    processing_engine_run,
)
from openlineage.client.generated.base import EventType
from openlineage.client.serde import Serde

REQUIRED_EVENT_FIELDS = ("eventTime", "producer", "schemaURL", "run", "job")


def _base(doc: dict) -> dict:
    """The facet's own fields (``_producer`` passed as the class's keyword; ``_schemaURL`` is fixed by it)."""
    return {k: v for k, v in doc.items() if k not in ("_producer", "_schemaURL")}


def _run_facet(name: str, doc: dict) -> Any:
    fields = _base(doc)
    if name == "nominalTime":
        f = nominal_time_run.NominalTimeRunFacet(**fields, producer=doc["_producer"])
    elif name == "errorMessage":
        f = error_message_run.ErrorMessageRunFacet(**fields, producer=doc["_producer"])
    elif name == "processing_engine":
        f = processing_engine_run.ProcessingEngineRunFacet(**fields, producer=doc["_producer"])
    elif name == "parent":
        root = fields.get("root")
        f = parent_run.ParentRunFacet(
            run=parent_run.Run(**fields["run"]), job=parent_run.Job(**fields["job"]),
            root=None if root is None else parent_run.Root(run=parent_run.RootRun(**root["run"]),
                                                           job=parent_run.RootJob(**root["job"])),
            producer=doc["_producer"])
    else:
        raise AssertionError(f"unexpected run facet {name}")
    assert f._schemaURL == doc["_schemaURL"], (name, f._schemaURL, doc["_schemaURL"])
    return f


def _input_facet(name: str, doc: dict) -> Any:
    fields = _base(doc)
    if name == "dataQualityMetrics":
        columns = {c: dqm.ColumnMetrics(**m) for c, m in fields.pop("columnMetrics").items()}
        f = dqm.DataQualityMetricsInputDatasetFacet(columnMetrics=columns, **fields, producer=doc["_producer"])
    elif name == "dataQualityAssertions":
        f = dqa.DataQualityAssertionsDatasetFacet(assertions=[dqa.Assertion(**a) for a in fields["assertions"]],
                                                  producer=doc["_producer"])
    else:
        raise AssertionError(f"unexpected input facet {name}")
    assert f._schemaURL == doc["_schemaURL"], (name, f._schemaURL, doc["_schemaURL"])
    return f


def structure(doc: dict) -> RunEvent:
    for key in REQUIRED_EVENT_FIELDS:
        assert key in doc, f"required field {key} missing"
    run = Run(runId=doc["run"]["runId"], facets={k: _run_facet(k, v) for k, v in doc["run"]["facets"].items()})
    job = Job(namespace=doc["job"]["namespace"], name=doc["job"]["name"], facets=doc["job"]["facets"])
    inputs = [InputDataset(namespace=d["namespace"], name=d["name"], facets=d["facets"],
                           inputFacets={k: _input_facet(k, v) for k, v in d["inputFacets"].items()})
              for d in doc["inputs"]]
    outputs = [OutputDataset(namespace=d["namespace"], name=d["name"], facets=d["facets"],
                             outputFacets=d["outputFacets"]) for d in doc["outputs"]]
    event = RunEvent(eventTime=doc["eventTime"], producer=doc["producer"], run=run, job=job,
                     eventType=EventType(doc["eventType"]), inputs=inputs, outputs=outputs)
    assert event.schemaURL == doc["schemaURL"], (event.schemaURL, doc["schemaURL"])
    return event


def round_trip(doc: dict) -> dict:
    return Serde.to_dict(structure(doc))
