"""Pure parts of the monitoring run: window folders, configuration, CloudWatch metric records,
the preprocessor call and the exit message — no Spark."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from monitor_lib.checks.data_quality import FeatureOutcome
from monitor_lib.checks.drift import DriftResult
from monitor_lib.errors import ConfigError
from monitor_lib.formats.cloudwatch import data_quality_metrics
from monitor_lib.formats.statistics import DatasetStatistics, FeatureStatistics, NumericalStatistics
from monitor_lib.io.capture import folder_range, list_capture_files
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.io.preprocess import PREPROCESS_ERROR, load_function, run_preprocessor
from monitor_lib.monitors.base import completed_message
from monitor_lib.monitors.data_quality import MonitoringRunParams
from monitor_lib.params import from_params
from monitor_lib.timefmt import parse_time


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


@pytest.mark.parametrize("parts, expected", [
    (["ep", "AllTraffic", "2026"], (utc(2026, 1, 1), utc(2027, 1, 1))),
    (["ep", "AllTraffic", "2026", "02"], (utc(2026, 2, 1), utc(2026, 3, 1))),
    (["ep", "AllTraffic", "2026", "12"], (utc(2026, 12, 1), utc(2027, 1, 1))),
    (["ep", "AllTraffic", "2026", "02", "28"], (utc(2026, 2, 28), utc(2026, 3, 1))),
    (["ep", "AllTraffic", "2026", "11", "20", "23"], (utc(2026, 11, 20, 23), utc(2026, 11, 21))),
    (["ep", "AllTraffic"], None),
    (["ep", "2026", "11", "20", "23", "extra"], None),
    (["ep", "2026", "13"], None),
])
def test_folder_range(parts, expected):
    assert folder_range(parts) == expected


def test_listing_prunes_folders_outside_the_window(tmp_path):
    for hour in range(8, 14):
        d = tmp_path / "ep" / "v" / "2026" / "11" / "20" / f"{hour:02d}"
        d.mkdir(parents=True)
        (d / "f.jsonl").write_text("{}\n")
    (tmp_path / "ep" / "v" / "2025").mkdir()
    (tmp_path / "ep" / "v" / "2025" / "old.jsonl").write_text("{}\n")
    files = list_capture_files(str(tmp_path), utc(2026, 11, 20, 9, 30), utc(2026, 11, 20, 11))
    assert [f.split("/")[-2] for f in files] == ["09", "10"]
    assert len(list_capture_files(str(tmp_path), None, None)) == 7
    assert list_capture_files(str(tmp_path), utc(2030, 1, 1), None) == []


def monitoring_config_from_params(params: dict) -> MonitoringRunParams:
    return from_params(MonitoringRunParams, params, "parameters", strict=False)

def test_parse_time_and_window_validation():
    assert parse_time("2026-11-20T10:00:00Z", "start_time") == utc(2026, 11, 20, 10)
    assert parse_time("2026-11-20T12:00:00+02:00", "start_time") == utc(2026, 11, 20, 10)
    assert parse_time("2026-11-20T10:00:00", "start_time") == utc(2026, 11, 20, 10)
    with pytest.raises(ConfigError, match="start_time must be an ISO-8601 UTC time .* got 'noon'"):
        parse_time("noon", "start_time")
    base = {"dataset_source": "d", "dataset_format": '{"sagemakerCaptureJson": {}}', "output_path": "o",
            "baseline_constraints": "c.json"}
    with pytest.raises(ConfigError, match="start_time 2026-11-20T11:00:00Z must be before end_time"):
        monitoring_config_from_params({**base, "start_time": "2026-11-20T11:00:00Z",
                                       "end_time": "2026-11-20T10:00:00Z"})
    with pytest.raises(ConfigError, match="baseline_constraints is required"):
        monitoring_config_from_params({**base, "baseline_constraints": ""})
    with pytest.raises(ConfigError, match="publish_cloudwatch_metrics must be Enabled or Disabled"):
        monitoring_config_from_params({**base, "publish_cloudwatch_metrics": "yes please"})
    c = monitoring_config_from_params({**base, "start_time": "2026-11-20T10:00:00Z",
                                       "publish_cloudwatch_metrics": "Enabled"})
    assert c.metric_time == c.start_time and c.publish_cloudwatch_metrics


def test_capture_dataset_format():
    f = DatasetFormat.parse('{"sagemakerCaptureJson": {"captureIndexNames": ["endpointOutput"]}}')
    assert (f.kind, f.capture_index_names, f.output_columns_position) == ("capture", ("endpointOutput",), "START")
    assert DatasetFormat.parse({"sagemakerCaptureJson": {}}).capture_index_names == ("endpointInput", "endpointOutput")
    with pytest.raises(ConfigError, match=r"captureIndexNames must be a non-empty list .* got \['endpointInputs'\]"):
        DatasetFormat.parse({"sagemakerCaptureJson": {"captureIndexNames": ["endpointInputs"]}})
    merge = DatasetFormat.parse({"sagemakerMergeJson": {}})
    assert (merge.kind, merge.capture_index_names) == ("merge", ("endpointOutput",))
    with pytest.raises(ConfigError, match="sagemakerMergeJson is the model-quality input"):
        monitoring_config_from_params({"dataset_source": "d", "dataset_format": '{"sagemakerMergeJson": {}}',
                                       "output_path": "o", "baseline_constraints": "c.json"})


def _outcome(name, completeness, drift, emit=True):
    d = None if drift is None else DriftResult("linf_robust", drift, 0.1, 100.0, 10.0)
    return FeatureOutcome(name, "Fractional", completeness, 1.0, None, d, emit)


def test_cloudwatch_metric_records():
    stats = DatasetStatistics(10, [
        FeatureStatistics("x", "Fractional", numerical=NumericalStatistics(8, 2, 1.5, 12.0, 0.5, 0.5, 3.0)),
        FeatureStatistics("s", "String"),
        FeatureStatistics("quiet", "Fractional", numerical=NumericalStatistics(10, 0, 1.0, 10.0, 0.0, 1.0, 1.0)),
    ])
    metrics = data_quality_metrics([_outcome("x", 0.8, 0.25), _outcome("s", 1.0, None),
                                    _outcome("quiet", 1.0, 0.0, emit=False)],
                                   stats, utc(2026, 11, 20, 10), "ep", "sched")
    dims = [{"Name": "Endpoint", "Value": "ep"}, {"Name": "MonitoringSchedule", "Value": "sched"}]
    assert metrics == [
        {"MetricName": "feature_data_x", "Timestamp": "2026-11-20T10:00:00Z", "Dimensions": dims,
         "StatisticValues": {"SampleCount": 8.0, "Sum": 12.0, "Minimum": 0.5, "Maximum": 3.0}, "Unit": "None"},
        {"MetricName": "feature_non_null_x", "Timestamp": "2026-11-20T10:00:00Z", "Dimensions": dims,
         "Value": 0.8, "Unit": "None"},
        {"MetricName": "feature_baseline_drift_x", "Timestamp": "2026-11-20T10:00:00Z", "Dimensions": dims,
         "Value": 0.25, "Unit": "None"},
        {"MetricName": "feature_non_null_s", "Timestamp": "2026-11-20T10:00:00Z", "Dimensions": dims,
         "Value": 1.0, "Unit": "None"},
    ]
    batch = data_quality_metrics([_outcome("s", 1.0, None)], stats, utc(2026, 11, 20, 10), None, "sched")
    assert batch[0]["Dimensions"] == [{"Name": "MonitoringSchedule", "Value": "sched"}]


LINE = json.dumps({"captureData": {"endpointInput": {"data": "1,2", "encoding": "CSV", "mode": "INPUT",
                                                     "observedContentType": "text/csv"},
                                   "endpointOutput": {"data": "0.5\n", "encoding": "CSV"}},
                   "eventMetadata": {"eventId": "e1", "inferenceTime": "2026-11-20T10:00:00Z"}, "eventVersion": "0"})


def test_preprocessor_signature_result_and_errors():
    log = logging.getLogger("t")
    one = load_function("def preprocess_handler(r):\n"
                        "    out = r.endpoint_output.data.rstrip('\\n')\n"
                        "    return {str(i).zfill(20): d "
                        "for i, d in enumerate((out + ',' + r.endpoint_input.data).split(','))}\n",
                        "one.py", "preprocess_handler")
    assert json.loads(run_preprocessor(one, LINE, "one.py", log)) == {
        "00000000000000000000": "0.5", "00000000000000000001": "1", "00000000000000000002": "2"}
    two = load_function("def preprocess_handler(r, logger):\n"
                        "    logger.info('seen %s', r.event_metadata.event_id)\n"
                        "    return [] if r.event_metadata.event_time.startswith('2026') else {'a': 1}\n",
                        "two.py", "preprocess_handler")
    assert run_preprocessor(two, LINE, "two.py", log) == "[]"
    boom = load_function("def preprocess_handler(r):\n    raise KeyError('feature_x')\n", "boom.py",
                         "preprocess_handler")
    with pytest.raises(RuntimeError) as e:
        run_preprocessor(boom, LINE, "boom.py", log)
    assert str(e.value) == f"{PREPROCESS_ERROR} boom.py: KeyError: 'feature_x'"
    wrong = load_function("def preprocess_handler(r):\n    return 'a,b'\n", "wrong.py", "preprocess_handler")
    with pytest.raises(RuntimeError, match="must return a flat dict .* got str"):
        run_preprocessor(wrong, LINE, "wrong.py", log)
    with pytest.raises(RuntimeError, match="Preprocess Handler not implemented correctly in customer script. "
                                           "none.py defines no function preprocess_handler"):
        load_function("x = 1\n", "none.py", "preprocess_handler")


def test_exit_messages():
    assert completed_message(0) == "Completed: Job completed successfully with no violations."
    assert completed_message(7) == "CompletedWithViolations: Job completed successfully with 7 violations."
