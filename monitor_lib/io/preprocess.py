"""SageMaker's pre- and post-processing script hooks (spec §3.4).

``record_preprocessor_script`` defines ``preprocess_handler(inference_record)`` or
``preprocess_handler(inference_record, logger)``; it runs in the Spark executors (a vectorised
Python UDF) on every in-window capture record and returns a flat dict ``{column: value}`` — the
record's named values — or ``[]`` (or None) to drop the record. ``inference_record`` is a
:class:`CapturedData` with the attributes the real image gives it. An exception in the handler fails
the run with the real image's message, naming the script and the error.

``post_analytics_processor_script`` defines ``postprocess_handler()``; it runs on the driver once the
analysis has succeeded.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from dataclasses import dataclass
from typing import Any

PREPROCESS_ERROR = ("There is an exception raised in preprocessor script. Please double check the "
                    "preprocessor script.")
NOT_IMPLEMENTED = "Preprocess Handler not implemented correctly in customer script."


@dataclass
class CapturedPart:
    data: str | None
    encoding: str | None
    mode: str | None
    observed_content_type: str | None


@dataclass
class EventMetadata:
    event_id: str | None
    inference_id: str | None
    inference_time: str | None
    custom_attribute: Any

    @property
    def event_time(self) -> str | None:  # the name the real image's record class uses
        return self.inference_time


@dataclass
class CapturedData:
    endpoint_input: CapturedPart | None
    endpoint_output: CapturedPart | None
    event_metadata: EventMetadata
    event_version: str | None
    ground_truth: Any = None


def captured_data(record: dict) -> CapturedData:
    def part(d: Any) -> CapturedPart | None:
        if not isinstance(d, dict):
            return None
        return CapturedPart(d.get("data"), d.get("encoding"), d.get("mode"), d.get("observedContentType"))

    capture = record.get("captureData") or {}
    meta = record.get("eventMetadata") or {}
    return CapturedData(
        endpoint_input=part(capture.get("endpointInput")),
        endpoint_output=part(capture.get("endpointOutput")),
        event_metadata=EventMetadata(meta.get("eventId"), meta.get("inferenceId"), meta.get("inferenceTime"),
                                     meta.get("customAttributes")),
        event_version=record.get("eventVersion"),
        ground_truth=record.get("groundTruthData"),
    )


_LOADED: dict[str, Any] = {}


def load_function(source: str, path: str, name: str):
    """``name`` from the script's source (compiled once per Python worker)."""
    key = hashlib.sha256(source.encode()).hexdigest() + name
    if key not in _LOADED:
        namespace: dict[str, Any] = {"__name__": "customer_script", "__file__": path}
        exec(compile(source, path, "exec"), namespace)  # noqa: S102 — running the user's script is the feature
        fn = namespace.get(name)
        if not callable(fn):
            raise RuntimeError(f"{NOT_IMPLEMENTED} {path} defines no function {name}().")
        _LOADED[key] = fn
    return _LOADED[key]


def run_preprocessor(handler, line: str, path: str, logger: logging.Logger) -> str:
    """One capture line through ``preprocess_handler``: the JSON text of its dict, or ``[]`` (dropped)."""
    record = captured_data(json.loads(line))
    try:
        takes_logger = len(inspect.signature(handler).parameters) >= 2
        result = handler(record, logger) if takes_logger else handler(record)
    except Exception as e:
        raise RuntimeError(f"{PREPROCESS_ERROR} {path}: {type(e).__name__}: {e}") from None
    if result is None or (isinstance(result, (list, tuple)) and len(result) == 0):
        return "[]"
    if not isinstance(result, dict):
        raise RuntimeError(f"{NOT_IMPLEMENTED} {path}: preprocess_handler must return a flat dict "
                           f"{{column: value}} or [] to drop the record, got {type(result).__name__}")
    return json.dumps({str(k): v for k, v in result.items()}, default=str)


def preprocessor_udf(source: str, path: str, environment: tuple[tuple[str, str], ...] = ()):
    """A pandas UDF (line, verdict) → handler output; lines with a verdict (rejected/skipped) pass as null.
    ``environment`` (the job's custom variables) is set in the worker before the handler runs."""
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")
    def preprocess(lines, verdicts):
        import os

        import pandas as pd

        os.environ.update(dict(environment))
        handler = load_function(source, path, "preprocess_handler")
        logger = logging.getLogger("record_preprocessor_script")
        return pd.Series([run_preprocessor(handler, ln, path, logger) if v is None or v != v else None
                          for ln, v in zip(lines, verdicts, strict=True)], dtype=object)

    return preprocess


def run_postprocessor(path: str) -> None:
    from monitor_lib.io.storage import read_text

    source = read_text(path, "post_analytics_processor_script")
    fn = load_function(source, path, "postprocess_handler")
    try:
        fn()
    except Exception as e:
        raise RuntimeError(f"post_analytics_processor_script {path} failed: {type(e).__name__}: {e}") from None
