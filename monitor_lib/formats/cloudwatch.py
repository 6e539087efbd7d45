"""CloudWatch metric files (spec §7): PutMetricData-shaped objects, one JSON object per line, in
``<opt/ml root>/output/metrics/cloudwatch/cloudwatch_metrics.jsonl`` (the file name AWS's own BYOC
example uses; the real analyzer's is unknown). The platform publishes them to the namespace of the
schedule; AWS's pages spell it three ways (``/aws/sagemaker/Endpoints/data-metric``,
``/aws/sagemaker/Endpoint/data-metrics``, contract §7.2). When we publish them ourselves (``put_metric_data``,
:mod:`monitor_lib.sinks.cloudwatch_api`) we use the spelling AWS's own notebooks query:
``aws/sagemaker/Endpoints/data-metrics`` for endpoints, ``aws/sagemaker/ModelMonitoring/data-metrics`` for batch
transform (the same for ``model-metrics``, ``bias-metrics``, ``explainability-metrics`` below).

Data quality, per feature whose effective ``emit_metrics`` is Enabled:

* ``feature_data_<f>`` — numeric features with values: ``StatisticValues`` {SampleCount, Sum, Minimum,
  Maximum} of the current window (CloudWatch derives Average);
* ``feature_non_null_<f>`` — ``Value``: completeness (non-null share of the window's records);
* ``feature_baseline_drift_<f>`` — ``Value``: the drift distance, when it was computed.

Dimensions ``Endpoint`` (endpoint schedules) and ``MonitoringSchedule`` — each only when its name is
known; ``Timestamp`` is ``metric_time``. ``Unit`` is ``None``: shares, distances and feature values
have no CloudWatch unit.

Model quality (spec §7.2): one ``Value`` datum per scalar metric of the statistics with a finite value,
named by its statistics key (``mae``, ``r2``, ``f2``, ``weighted_f1``, …; the confusion matrix and curves
are not published), with the same dimensions, timestamp and unit. The platform publishes them to
``aws/sagemaker/Endpoints/model-metrics`` (endpoints) or ``aws/sagemaker/ModelMonitoring/model-metrics``
(batch transform).

Model bias (clarify-contract §4): ``bias_metric_<NAME>`` per metric of every facet entry of the window's
analysis.json, with the dimensions above plus ``BiasStage`` (``Pre-training`` | ``Post-Training``), ``Label``,
``LabelValue``, ``Facet`` and ``FacetValue``; ±infinity is published as ±2.348543e108 (CloudWatch's range),
a metric without a value (an error) is not published. Namespace ``aws/sagemaker/Endpoints/bias-metrics``
(endpoints) or ``aws/sagemaker/ModelMonitoring/bias-metrics``.

Feature attribution (clarify-contract §5): per label of the window's ``explanations.kernel_shap``,
``feature_<name>`` = the feature's global SHAP value with ``ValueType`` ``GlobalShapValues``, and the expected
value as ``expected_value`` (its name is unknown; ours) with ``ValueType`` ``ExpectedValue``; dimensions the
above plus ``ExplainabilityMethod`` = ``KernelShap`` and ``Label``. Namespace
``aws/sagemaker/Endpoints/explainability-metrics`` (endpoints) or
``aws/sagemaker/ModelMonitoring/explainability-metrics``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

from monitor_lib.formats.clarify import number_value
from monitor_lib.formats.model_quality import ModelQualityStatistics
from monitor_lib.formats.statistics import DatasetStatistics
from monitor_lib.timefmt import iso_utc

if TYPE_CHECKING:
    from monitor_lib.checks.data_quality import FeatureOutcome



def dimensions(endpoint: str | None, schedule: str | None) -> list[dict[str, str]]:
    dims = []
    if endpoint:
        dims.append({"Name": "Endpoint", "Value": endpoint})
    if schedule:
        dims.append({"Name": "MonitoringSchedule", "Value": schedule})
    return dims


def metric(name: str, timestamp: str, dims: list[dict[str, str]], **value) -> dict:
    return {"MetricName": name, "Timestamp": timestamp, "Dimensions": dims, **value, "Unit": "None"}


def data_quality_metrics(features: list[FeatureOutcome], current: DatasetStatistics, timestamp: datetime,
                         endpoint: str | None = None, schedule: str | None = None) -> list[dict]:
    ts = iso_utc(timestamp)
    dims = dimensions(endpoint, schedule)
    metrics = []
    for f in features:
        if not f.emit_metrics:
            continue
        stats = current.feature(f.name)
        num = stats.numerical if stats else None
        if num is not None and num.num_present:
            metrics.append(metric(f"feature_data_{f.name}", ts, dims, StatisticValues={
                "SampleCount": float(num.num_present), "Sum": float(num.sum),
                "Minimum": float(num.min), "Maximum": float(num.max)}))
        if f.completeness is not None:
            metrics.append(metric(f"feature_non_null_{f.name}", ts, dims, Value=float(f.completeness)))
        if f.drift_distance is not None:
            metrics.append(metric(f"feature_baseline_drift_{f.name}", ts, dims, Value=float(f.drift_distance)))
    return metrics


def model_quality_metrics(stats: ModelQualityStatistics, timestamp: datetime,
                          endpoint: str | None = None, schedule: str | None = None) -> list[dict]:
    ts = iso_utc(timestamp)
    dims = dimensions(endpoint, schedule)
    return [metric(name, ts, dims, Value=float(m.value))
            for name, m in stats.metrics.items() if math.isfinite(m.value)]


CLOUDWATCH_INFINITY = 2.348543e108
BIAS_STAGES = (("pre_training_bias_metrics", "Pre-training"), ("post_training_bias_metrics", "Post-Training"))


def bias_metrics(analysis: dict, timestamp: datetime, endpoint: str | None = None,
                 schedule: str | None = None) -> list[dict]:
    ts = iso_utc(timestamp)
    common = dimensions(endpoint, schedule)
    out = []
    for key, stage in BIAS_STAGES:
        section = analysis.get(key)
        if not section:
            continue
        label = [{"Name": "BiasStage", "Value": stage}, {"Name": "Label", "Value": str(section.get("label"))},
                 {"Name": "LabelValue", "Value": str(section.get("label_value_or_threshold"))}]
        for facet, entries in section.get("facets", {}).items():
            for entry in entries:
                dims = common + label + [{"Name": "Facet", "Value": facet},
                                         {"Name": "FacetValue", "Value": str(entry.get("value_or_threshold"))}]
                for m in entry.get("metrics", []):
                    value = number_value(m.get("value"))
                    if value is None or math.isnan(value):
                        continue
                    if math.isinf(value):
                        value = math.copysign(CLOUDWATCH_INFINITY, value)
                    out.append(metric(f"bias_metric_{m['name']}", ts, dims, Value=float(value)))
    return out


def explainability_metrics(analysis: dict, timestamp: datetime, endpoint: str | None = None,
                           schedule: str | None = None) -> list[dict]:
    ts = iso_utc(timestamp)
    out = []
    for label, entry in ((analysis.get("explanations") or {}).get("kernel_shap") or {}).items():
        dims = dimensions(endpoint, schedule) + [{"Name": "ExplainabilityMethod", "Value": "KernelShap"},
                                                 {"Name": "Label", "Value": str(label)}]
        for feature, value in (entry.get("global_shap_values") or {}).items():
            if value is not None and math.isfinite(float(value)):
                out.append(metric(f"feature_{feature}", ts, dims + [{"Name": "ValueType",
                                                                     "Value": "GlobalShapValues"}],
                                  Value=float(value)))
        expected = entry.get("expected_value")
        if expected is not None and math.isfinite(float(expected)):
            out.append(metric("expected_value", ts, dims + [{"Name": "ValueType", "Value": "ExpectedValue"}],
                              Value=float(expected)))
    return out
