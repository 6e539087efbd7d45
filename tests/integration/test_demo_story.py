"""The demo's story as a test: a baseline of credit-default data, five hours of SageMaker data capture in
which one thing goes wrong per hour, and one `model-monitor monitor` run per hour that must report exactly
that — no more, no less — with the right numbers, and count the broken capture lines by kind. Then the
labels a day later (model quality, accuracy decaying) and fairness: at 14:00 the model's misses move onto
women, which only the model-bias runs see."""

from __future__ import annotations

import html
import importlib.util
import json
import math
import os
import re
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from helpers import ink, page_dom, page_screenshot

from monitor_lib.cli import main
from monitor_lib.html.svg import num as svg_num
from monitor_lib.sinks import cloudwatch_api

REPO = Path(__file__).resolve().parents[2]
BASELINE_ROWS = 8_000
RECORDS = 2_000  # per hour

EXPECTED = {  # hour -> {(constraint_check_type, feature_name)}
    10: set(),
    11: {("baseline_drift_check", "MARRIAGE")},
    12: {("data_type_check", "AGE")},
    13: {("completeness_check", "BILL_AMT1")},
    14: {("categorical_values_check", "EDUCATION"), ("extra_column_check", "CHANNEL")},
}
BROKEN_HOUR = 13
BIAS_EXPECTED = {10: set(), 14: {"AD", "DPL", "RD"}}  # hour -> metrics with a bias_drift_check on SEX = 2
DRIFT = re.compile(r"distance: (.+) exceeds threshold: (.+)$")  # what AWS's own parsers match
OBSERVED = re.compile(r"Observed: Only (.+)% of data")
CLOUDWATCH_NOW = timedelta(days=1)  # "now" for CloudWatch's timestamp rule, after demo.DAY


def _load_demo():
    spec = importlib.util.spec_from_file_location("demo_story", REPO / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


demo = _load_demo()


@dataclass
class HourRun:
    traffic: pd.DataFrame
    exit_code: int
    output: Path

    def violations(self) -> list[dict]:
        return json.loads((self.output / "constraint_violations.json").read_text())["violations"]

    def found(self) -> set[tuple[str, str]]:
        return {(v["constraint_check_type"], v["feature_name"]) for v in self.violations()}

    def description(self, check: str, feature: str) -> str:
        (text,) = [v["description"] for v in self.violations()
                   if (v["constraint_check_type"], v["feature_name"]) == (check, feature)]
        return text

    def summary(self) -> dict:
        return json.loads((self.output / "run_summary.json").read_text())


@dataclass
class Story:
    baseline: pd.DataFrame
    capture_files: dict[int, list[Path]]
    runs: dict[int, HourRun]


@pytest.fixture(scope="module")
def story(spark, aws_server, tmp_path_factory) -> Story:
    root = tmp_path_factory.mktemp("demo_story")
    train = demo.credit_default(n=BASELINE_ROWS)
    data = root / "data" / "train.csv"
    data.parent.mkdir(parents=True)
    train.to_csv(data, index=False)
    baseline = root / "baseline"
    assert main(["baseline", "--dataset", str(data), "--format", "csv", "--header", "--output", str(baseline)]) == 0

    capture = root / "capture"
    traffic = {h.hour: demo.hour_traffic(h, RECORDS) for h in demo.STORY}
    files = {h.hour: demo.write_capture_hour(traffic[h.hour], capture, h.start, broken_lines=h.broken_lines,
                                             seed=h.hour) for h in demo.STORY}
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        # the hours publish to the moto server, as the demo does with a CloudWatch endpoint set; CloudWatch's
        # 14-day rule is judged from a day after the demo's (a fixed date), so the test does not age
        mp.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", aws_server.endpoint)
        mp.setattr(cloudwatch_api, "_now", lambda: demo.DAY + CLOUDWATCH_NOW)
        for h in demo.STORY:
            output = demo.hourly_output(root / "monitoring", h.start)
            code = main(demo.monitor_args(capture, baseline, h.start, output))
            runs[h.hour] = HourRun(traffic[h.hour], code, output)
    return Story(train, files, runs)


def test_the_story_covers_the_expected_hours():
    assert [h.hour for h in demo.STORY] == sorted(EXPECTED)
    assert {h.hour: set(h.expected) for h in demo.STORY} == EXPECTED  # the demo prints "as expected" against these


def test_capture_files_follow_the_sagemaker_layout(story):
    for hour, files in story.capture_files.items():
        assert len(files) == 2
        for f in files:
            rel = f.relative_to(f.parents[6])
            assert rel.parts[:6] == ("credit-default-endpoint", "AllTraffic", "2026", "11", "20", f"{hour:02d}")
            assert re.fullmatch(r"\d\d-\d\d-\d{3}-[0-9a-f-]{36}\.jsonl", f.name)
        lines = [line for f in files for line in f.read_text().splitlines()]
        assert len(lines) == RECORDS + (3 if hour == BROKEN_HOUR else 0)
        record = json.loads(lines[-1])
        assert record["eventMetadata"]["inferenceTime"].startswith(f"2026-11-20T{hour:02d}:")
        assert record["captureData"]["endpointOutput"]["data"] in ("0", "1")
        features = json.loads(record["captureData"]["endpointInput"]["data"])
        assert list(features)[:8] == list(story.baseline.columns[:8])
        assert demo.LABEL not in features


@pytest.mark.parametrize("hour", sorted(EXPECTED))
def test_each_hour_reports_exactly_what_went_wrong(story, hour):
    run = story.runs[hour]
    assert run.exit_code == 0  # violations are a result, not an error
    assert run.found() == EXPECTED[hour]
    summary = run.summary()
    assert summary["records_profiled"] == RECORDS
    # the demo passes --scheduled-time (the hour's end); the window is the hour before it and the folder is named
    # by the scheduled hour, as SageMaker's
    assert summary["scheduled_time"] == f"2026-11-20T{hour + 1:02d}:00:00Z"
    assert summary["window"] == {"start_time": f"2026-11-20T{hour:02d}:00:00Z",
                                 "end_time": f"2026-11-20T{hour + 1:02d}:00:00Z"}
    assert run.output.relative_to(run.output.parents[5]).as_posix() == \
        f"{demo.ENDPOINT}/{demo.SCHEDULE}/2026/11/20/{hour + 1:02d}"
    if hour != BROKEN_HOUR:
        assert {k: v for k, v in summary["records_rejected"].items() if v} == {}
    for name in ("statistics.json", "constraints.json"):
        assert (run.output / name).is_file()


def test_broken_lines_are_counted_by_kind(story):
    summary = story.runs[BROKEN_HOUR].summary()
    assert {k: v for k, v in summary["records_rejected"].items() if v} == {
        "malformed_json": 1, "invalid_base64": 1, "missing_inference_time": 1}
    assert summary["records_profiled"] == RECORDS


def _robust_linf(baseline: pd.Series, current: pd.Series) -> float:
    n, m = len(baseline), len(current)
    p, q = baseline.value_counts(normalize=True), current.value_counts(normalize=True)
    d = max(abs(p.get(c, 0.0) - q.get(c, 0.0)) for c in set(p.index) | set(q.index))
    return max(0.0, d - 1.8 * math.sqrt((n + m) / (n * m)))


def test_marriage_drift_distance(story):
    text = story.runs[11].description("baseline_drift_check", "MARRIAGE")
    distance, threshold = (float(x) for x in DRIFT.search(text).groups())
    assert threshold == 0.1
    assert distance == pytest.approx(_robust_linf(story.baseline["MARRIAGE"], story.runs[11].traffic["MARRIAGE"]),
                                     abs=1e-9)
    assert distance > 0.2


def _observed_percent(run: HourRun, check: str, feature: str) -> float:
    return float(OBSERVED.search(run.description(check, feature)).group(1))


def test_age_type_share(story):
    run = story.runs[12]
    age = run.traffic["AGE"]
    integral = sum(1 for a in age if not isinstance(a, float)) / len(age)
    assert 0.45 < integral < 0.55
    assert _observed_percent(run, "data_type_check", "AGE") == pytest.approx(100 * integral, abs=1e-9)


def test_bill_completeness(story):
    run = story.runs[13]
    present = run.traffic["BILL_AMT1"].notna().mean()
    assert 0.65 < present < 0.75
    assert _observed_percent(run, "completeness_check", "BILL_AMT1") == pytest.approx(100 * present, abs=1e-9)
    (metrics_file,) = (run.output / "cloudwatch").glob("*.jsonl")  # --cloudwatch-metrics-directory
    metrics = {m["MetricName"]: m for m in map(json.loads, metrics_file.read_text().splitlines())}
    non_null = metrics["feature_non_null_BILL_AMT1"]
    assert non_null["Value"] == pytest.approx(present, abs=1e-12)
    assert non_null["Timestamp"] == "2026-11-20T13:00:00Z"
    assert {d["Name"]: d["Value"] for d in non_null["Dimensions"]} == {
        "Endpoint": "credit-default-endpoint", "MonitoringSchedule": "credit-default-hourly"}


def test_the_hours_are_published_to_cloudwatch(story, aws_server):
    """Every metric of every hour's file is in the emulator, at the hour, with the demo's endpoint and schedule;
    the 13:00 completeness of BILL_AMT1 there is pandas' share of the hour's non-null bills."""
    cw = aws_server.client("cloudwatch")
    dims = [{"Name": "Endpoint", "Value": demo.ENDPOINT}, {"Name": "MonitoringSchedule", "Value": demo.SCHEDULE}]

    def stored(name: str, hour: int) -> dict:
        start = demo.DAY + timedelta(hours=hour)
        (point,) = cw.get_metric_statistics(
            Namespace="aws/sagemaker/Endpoints/data-metrics", MetricName=name, Dimensions=dims, Period=3600,
            StartTime=start, EndTime=start + timedelta(hours=1),
            Statistics=["SampleCount", "Sum", "Minimum", "Maximum"])["Datapoints"]
        assert point["Timestamp"] == start
        return point

    for hour, run in story.runs.items():
        (metrics_file,) = (run.output / "cloudwatch").glob("*.jsonl")
        records = [json.loads(line) for line in metrics_file.read_text().splitlines()]
        assert run.summary()["deliveries"]["cloudwatch"] == {
            "status": "sent", "namespace": "aws/sagemaker/Endpoints/data-metrics", "metrics": len(records),
            "requests": 1, "skipped_too_old": 0, "skipped_too_new": 0}
        for r in records:
            point = stored(r["MetricName"], hour)
            if "Value" in r:
                assert (point["SampleCount"], point["Maximum"]) == (1, r["Value"])
            else:
                assert {k: point[k] for k in r["StatisticValues"]} == r["StatisticValues"]
    present = story.runs[13].traffic["BILL_AMT1"].notna().mean()
    assert stored("feature_non_null_BILL_AMT1", 13)["Maximum"] == pytest.approx(present, abs=1e-12)
    assert stored("feature_non_null_BILL_AMT1", 12)["Maximum"] > 0.98


def test_education_domain_share(story):
    run = story.runs[14]
    inside = (run.traffic["EDUCATION"] != "doctorate").mean()
    assert 0.9 < inside < 0.94
    assert _observed_percent(run, "categorical_values_check", "EDUCATION") == pytest.approx(100 * inside, abs=1e-9)
    assert "CHANNEL" in run.description("extra_column_check", "CHANNEL")


# --- model quality: labels a day later, accuracy decaying ------------------------------------------


@dataclass
class QualityStory:
    baseline: Path
    ground_truth: Path
    labels: dict[int, dict[str, int]]  # hour -> {eventId: label}
    predictions: dict[int, dict[str, str]]  # hour -> {eventId: predicted class}
    capture_files: dict[int, list[Path]]
    outputs: dict[int, Path]
    codes: dict[int, int]


@pytest.fixture(scope="module")
def quality_story(story, tmp_path_factory) -> QualityStory:
    root = tmp_path_factory.mktemp("quality_story")
    validation = root / "validation.csv"
    demo.validation_set(n=4_000).to_csv(validation, index=False)
    baseline = root / "baseline"
    assert main(["baseline", "--analysis-type", "model-quality", "--problem-type", "BinaryClassification",
                 "--dataset", str(validation), "--format", "csv", "--header", "--inference-attribute", "prediction",
                 "--ground-truth-attribute", "label", "--output", str(baseline)]) == 0
    capture = story.capture_files[10][0].parents[5]  # the capture root of the data-quality story
    labels, predictions, outputs, codes = {}, {}, {}, {}
    for h in demo.STORY:
        predictions[h.hour] = dict(demo.captured_predictions(story.capture_files[h.hour]))
        labels[h.hour] = demo.write_story_labels(h, story.capture_files[h.hour], root / "ground-truth")
    for h in demo.STORY:
        outputs[h.hour] = demo.hourly_output(root / "monitoring", h.start, schedule=demo.MQ_SCHEDULE)
        codes[h.hour] = main(demo.model_quality_args(capture, root / "ground-truth", baseline, h.start,
                                                     outputs[h.hour]))
    return QualityStory(baseline, root / "ground-truth", labels, predictions, story.capture_files, outputs, codes)


def test_labels_arrive_a_day_later_in_their_own_hour_folders(quality_story):
    folders = sorted({p.parent.relative_to(p.parents[4]).as_posix()
                      for p in (quality_story.outputs[10].parents[6]).rglob("ground-truth/*/*/*/*/*.jsonl")})
    assert folders == [f"2026/11/21/{h:02d}" for h in sorted(EXPECTED)]


@pytest.mark.parametrize("hour", sorted(EXPECTED))
def test_each_hour_merges_its_labels_and_measures_accuracy(quality_story, hour):
    from sklearn.metrics import accuracy_score, f1_score

    assert quality_story.codes[hour] == 0
    summary = json.loads((quality_story.outputs[hour] / "run_summary.json").read_text())
    predictions = quality_story.predictions[hour]
    # a capture without inferenceTime (the broken hour) cannot be in the window: its label stays unmatched
    timed = {json.loads(line)["eventMetadata"]["eventId"] for f in quality_story.capture_files[hour]
             for line in f.read_text().splitlines()
             if line.endswith("}") and "inferenceTime" in json.loads(line)["eventMetadata"]}
    labels = {k: v for k, v in quality_story.labels[hour].items() if k in timed}
    merge = summary["merge"]
    # --scheduled-time (the hour's end) gave the run, and the merge inside it, the hour before it
    assert summary["scheduled_time"] == f"2026-11-20T{hour + 1:02d}:00:00Z"
    assert summary["window"] == merge["window"] == {"start_time": f"2026-11-20T{hour:02d}:00:00Z",
                                                    "end_time": f"2026-11-20T{hour + 1:02d}:00:00Z"}
    assert merge["matched"] == len(labels) == summary["records_evaluated"]
    assert merge["unmatched_predictions"] == len(timed) - len(labels)
    assert merge["duplicate_labels"] == 3 * len(EXPECTED)  # every hour's retry file re-sends 3 labels
    ids = sorted(labels)
    y = [labels[i] for i in ids]
    pred = [int(predictions[i]) for i in ids]
    assert summary["metrics"]["accuracy"] == pytest.approx(accuracy_score(y, pred), rel=1e-12)
    assert summary["metrics"]["f1"] == pytest.approx(f1_score(y, pred), rel=1e-9)
    violated = set(summary["violations_by_metric"])
    if hour == 10:
        assert violated == set() and summary["status"] == "Completed"
    else:
        assert {"accuracy", "f1", "auc"} <= violated and summary["status"] == "CompletedWithViolations"


def test_accuracy_decays_hour_after_hour(quality_story):
    accuracy = [json.loads((quality_story.outputs[h] / "statistics.json").read_text())
                ["binary_classification_metrics"]["accuracy"]["value"] for h in sorted(EXPECTED)]
    assert accuracy == sorted(accuracy, reverse=True) and len(set(accuracy)) == len(accuracy)
    violation = json.loads((quality_story.outputs[14] / "constraint_violations.json").read_text())["violations"][0]
    threshold = json.loads((quality_story.baseline / "constraints.json").read_text())[
        "binary_classification_constraints"][violation["metric_name"]]["threshold"]
    assert violation["description"].endswith(f"was {violation['constraint_check_type']} {threshold!r}")


# --- model bias: at 14:00 the model's misses fall on women ---------------------------------------------


@dataclass
class BiasStory:
    validation: pd.DataFrame  # the baseline's dataset
    baseline: Path
    capture_files: dict[int, list[Path]]  # hour -> the hour's JSON capture (the data-quality story's)
    outputs: dict[int, Path]
    codes: dict[int, int]

    def analysis(self, hour: int | None = None) -> dict:
        folder = self.baseline if hour is None else self.outputs[hour]
        return demo.bias_values(json.loads((folder / "analysis.json").read_text()))

    def violations(self, hour: int) -> list[dict]:
        return json.loads((self.outputs[hour] / "constraint_violations.json").read_text())["violations"]


@pytest.fixture(scope="module")
def bias_story(story, quality_story, tmp_path_factory) -> BiasStory:
    root = tmp_path_factory.mktemp("bias_story")
    validation = demo.bias_validation_set()
    data, config = root / "validation-features.csv", root / "analysis_config.json"
    validation.to_csv(data, index=False)
    config.write_text(json.dumps(demo.bias_analysis_config()))
    baseline = root / "baseline"
    assert main(demo.model_bias_baseline_args(data, config, baseline)) == 0
    capture = story.capture_files[10][0].parents[5]  # the capture root of the data-quality story
    files, outputs, codes = {}, {}, {}
    for h in demo.STORY:
        if h.hour not in demo.BIAS_HOURS:
            continue
        files[h.hour] = story.capture_files[h.hour]
        outputs[h.hour] = demo.hourly_output(root / "monitoring", h.start, schedule=demo.BIAS_SCHEDULE)
        codes[h.hour] = main(demo.model_bias_args(capture, quality_story.ground_truth, config, baseline, h.start,
                                                  outputs[h.hour]))
    return BiasStory(validation, baseline, files, outputs, codes)


def _records(files: list[Path]) -> list[dict]:
    """The capture records of ``files`` whose line and request body are JSON (not the broken lines of 13:00)."""
    out = []
    for line in (line for f in files for line in f.read_text().splitlines()):
        try:
            record = json.loads(line)
            if isinstance(json.loads(record["captureData"]["endpointInput"]["data"]), dict):
                out.append(record)
        except ValueError:
            continue
    return out


def _bias_metrics(frame: pd.DataFrame) -> dict[str, float]:
    """Clarify's DPL, AD and RD of facet d (``women``) against the rest, from columns women, y, yhat."""
    d, a = frame[frame["women"]], frame[~frame["women"]]

    def recall(g):
        return ((g["y"] == 1) & (g["yhat"] == 1)).sum() / (g["y"] == 1).sum()

    def accuracy(g):
        return (g["y"] == g["yhat"]).mean()

    return {"DPL": a["y"].mean() - d["y"].mean(), "AD": accuracy(a) - accuracy(d), "RD": recall(a) - recall(d)}


def _window(story: Story, quality_story: QualityStory, hour: int) -> pd.DataFrame:
    """The hour's labelled requests from the generated data: SEX from the JSON capture, the prediction, the label."""
    labels = quality_story.labels[hour]
    rows = [(r["eventMetadata"]["eventId"], json.loads(r["captureData"]["endpointInput"]["data"])["SEX"],
             int(r["captureData"]["endpointOutput"]["data"])) for r in _records(story.capture_files[hour])]
    frame = pd.DataFrame(rows, columns=["event", "sex", "yhat"])
    frame = frame[frame["event"].isin(labels)].assign(y=lambda f: f["event"].map(labels))
    return frame.assign(women=frame["sex"] == 2)


def test_the_bias_story_covers_the_expected_hours():
    assert {h: set(m) for h, m in demo.BIAS_EXPECTED.items()} == BIAS_EXPECTED
    assert tuple(sorted(BIAS_EXPECTED)) == demo.BIAS_HOURS


def test_bias_baseline_is_the_validation_set_with_its_features(bias_story):
    v, scored = bias_story.validation, demo.validation_set()
    assert list(v.columns) == [*demo.FEATURES, "prediction", demo.LABEL]
    assert v["prediction"].equals(scored["prediction"]) and v[demo.LABEL].equals(scored["label"])
    assert (v["SEX"] == 2).sum() == (demo.credit_default(len(v), seed=7)["SEX"] == 2).sum()  # SEX swapped, not drawn
    expected = _bias_metrics(pd.DataFrame({"women": v["SEX"] == 2, "y": v[demo.LABEL], "yhat": v["prediction"]}))
    assert bias_story.analysis() == pytest.approx(expected, rel=1e-12)
    assert 0.05 < expected["RD"] < 0.1  # the validation set already misses women's defaults a little more often


@pytest.mark.parametrize("hour", sorted(BIAS_EXPECTED))
def test_bias_runs_read_the_json_capture_by_name(story, quality_story, bias_story, hour):
    """The bias runs read the data-quality story's capture — JSON objects, the features taken by name (the
    config's headers without the label; 14:00's CHANNEL, which the headers lack, is left out): every labelled
    request of the hour is analysed, none rejected, and its SEX is the one the capture holds."""
    files = bias_story.capture_files[hour]
    assert files == story.capture_files[hour] == quality_story.capture_files[hour]
    captured = {r["eventMetadata"]["eventId"]: r for r in _records(files)}
    assert len(captured) == RECORDS
    assert {r["captureData"]["endpointInput"]["observedContentType"] for r in captured.values()} == {
        "application/json"}
    extra = {k for r in captured.values() for k in json.loads(r["captureData"]["endpointInput"]["data"])} - set(
        demo.FEATURES)
    assert extra == ({"CHANNEL"} if hour == 14 else set())
    summary = json.loads((bias_story.outputs[hour] / "run_summary.json").read_text())
    assert summary["merge"]["capture_files"] == len(files) and summary["merge"]["predictions"] == RECORDS
    assert summary["merge"]["captures_rejected"] == {} and summary["merge"]["captures_skipped"] == {}
    window = _window(story, quality_story, hour)
    assert summary["records"] == len(window) == len(set(captured) & set(quality_story.labels[hour]))
    assert summary["records_rejected"] == {} and summary["records_skipped"] == {}
    merged = [json.loads(line) for f in sorted((bias_story.outputs[hour] / "merge").rglob("merged-*.jsonl"))
              for line in f.read_text().splitlines()]
    assert sorted(r["eventMetadata"]["eventId"] for r in merged) == sorted(window["event"])
    for r in merged:  # the merged records carry the captured requests as they were: JSON objects by name
        assert r["captureData"] == captured[r["eventMetadata"]["eventId"]]["captureData"]
    assert bias_story.analysis(hour) == pytest.approx(_bias_metrics(window), rel=1e-12)


@pytest.mark.parametrize("hour", sorted(EXPECTED))
def test_misses_move_onto_women_at_14_only(story, quality_story, hour, tmp_path):
    """The labels the demo uploads are the model-quality story's, except at 14:00, where half the men's missed
    defaults are women's: the hour's confusion matrix — all model quality sees — is unchanged."""
    h = next(h for h in demo.STORY if h.hour == hour)
    drawn = demo.write_ground_truth_hour(demo.captured_predictions(story.capture_files[hour]), tmp_path, h.start,
                                         demo.AGREEMENT[hour], seed=hour)
    assert list(quality_story.labels[hour]) == list(drawn)  # the same requests labelled, in the same order
    uploaded = _window(story, quality_story, hour)
    before = uploaded.assign(y=uploaded["event"].map(drawn))
    assert uploaded.groupby(["yhat", "y"]).size().equals(before.groupby(["yhat", "y"]).size())
    changed = (uploaded["y"] != before["y"]).sum()
    if hour not in demo.MISSES_MOVED:
        assert changed == 0
        return
    men_missed = ((~before["women"]) & (before["yhat"] == 0) & (before["y"] == 1)).sum()
    k = round(demo.MISSES_MOVED[hour] * men_missed)
    assert changed == 2 * k > 0
    cells = ["women", "yhat", "y"]
    shift = uploaded.groupby(cells).size().sub(before.groupby(cells).size(), fill_value=0)
    assert shift.to_dict() == {(False, 0, 0): k, (False, 0, 1): -k, (False, 1, 0): 0, (False, 1, 1): 0,
                               (True, 0, 0): -k, (True, 0, 1): k, (True, 1, 0): 0, (True, 1, 1): 0}


@pytest.mark.parametrize("hour", sorted(BIAS_EXPECTED))
def test_each_bias_run_measures_the_window_and_checks_it_against_the_baseline(story, quality_story, bias_story,
                                                                              hour):
    assert bias_story.codes[hour] == 0
    output = bias_story.outputs[hour]
    summary = json.loads((output / "run_summary.json").read_text())
    window = _window(story, quality_story, hour)
    assert summary["merge"]["matched"] == len(window) == summary["records"]
    values, base = bias_story.analysis(hour), bias_story.analysis()
    assert values == pytest.approx(_bias_metrics(window), rel=1e-12)
    violations = bias_story.violations(hour)
    assert {v["metric_name"] for v in violations} == BIAS_EXPECTED[hour]
    assert {m for m in values if abs(values[m]) > abs(base[m])} == BIAS_EXPECTED[hour]  # |current| > |baseline|
    for v in violations:
        assert (v["constraint_check_type"], v["facet"], v["facet_value"]) == ("bias_drift_check", "SEX", "2")
        assert v["description"] == (f"Metric value {values[v['metric_name']]!r} doesn't meet the baseline "
                                    f"constraint requirement {base[v['metric_name']]!r}")
    assert summary["status"] == ("CompletedWithViolations" if BIAS_EXPECTED[hour] else "Completed")
    (metrics_file,) = (output / "cloudwatch").glob("*.jsonl")
    published = {m["MetricName"]: m for m in map(json.loads, metrics_file.read_text().splitlines())}
    assert published["bias_metric_RD"]["Value"] == pytest.approx(values["RD"], rel=1e-12)
    assert {d["Name"]: d["Value"] for d in published["bias_metric_RD"]["Dimensions"]} == {
        "Endpoint": "credit-default-endpoint", "MonitoringSchedule": "credit-default-model-bias",
        "BiasStage": "Post-Training", "Label": demo.LABEL, "LabelValue": "1", "Facet": "SEX", "FacetValue": "2"}


def test_recall_of_women_falls_at_14_while_accuracy_is_what_model_quality_measured(story, quality_story,
                                                                                  bias_story):
    early, late = _window(story, quality_story, 10), _window(story, quality_story, 14)
    assert abs(_bias_metrics(early)["RD"]) < 0.5 * bias_story.analysis()["RD"]
    assert _bias_metrics(late)["RD"] > 0.15
    accuracy = json.loads((quality_story.outputs[14] / "run_summary.json").read_text())["metrics"]["accuracy"]
    assert accuracy == pytest.approx((late["y"] == late["yhat"]).mean(), rel=1e-12)


# ---------------------------------------------------------------- the reports a person opens


def _cards(dom: str) -> list[tuple[bool, str]]:
    return [(bool(v), html.unescape(name)) for v, name in
            re.findall(r'<section id="f\d+" class="feature( violated)?"><h3>([^<]+)</h3>', dom)]


@pytest.mark.parametrize("hour", [10, 14])
def test_run_report_shows_the_hour_in_chromium(story, hour, tmp_path):
    run = story.runs[hour]
    dom, requests = page_dom(run.output / "report.html", tmp_path)
    assert requests == []
    cards = _cards(dom)
    statistics = json.loads((run.output / "statistics.json").read_text())
    expected_names = {f["name"] for f in statistics["features"]} | {f for _, f in EXPECTED[hour]}
    assert {name for _, name in cards} == expected_names
    violated = [name for bad, name in cards if bad]
    assert set(violated) == {f for _, f in EXPECTED[hour]}
    assert all(bad for bad, _ in cards[:len(violated)])  # features with violations come first
    for v in run.violations():
        assert html.escape(v["description"], quote=False) in dom
    assert f'class="status {run.summary()["status"]}"' in dom
    shares = ink(page_screenshot(run.output / "report.html", tmp_path))
    assert shares["drawn"] > 0.05 and shares["blue"] > 0.002 and shares["grey"] > 0.002
    assert (shares["red"] > 0.0005) == bool(EXPECTED[hour])


def test_history_page_draws_every_hour_in_chromium(story, tmp_path, capsys):
    root = story.runs[10].output.parents[5]  # the monitoring output root: {endpoint}/{schedule}/yyyy/mm/dd/hh
    assert main(["report", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"history of 5 run(s) in 1 schedule(s): {root / 'history.html'}" in out
    # runs are labelled by their scheduled time: the window [14:00, 15:00) ran at 15:00
    assert "4 with violations; last 2026-11-20 15:00 CompletedWithViolations" in out
    dom, requests = page_dom(root / "history.html", tmp_path)
    assert requests == []
    strip = re.findall(r'<a class="(\w+)" title="([^"]+)" href="([^"]+)"', dom)
    assert [(status, href) for status, _, href in strip] == [
        (story.runs[h].summary()["status"], f"{demo.ENDPOINT}/{demo.SCHEDULE}/2026/11/20/{h + 1:02d}/report.html")
        for h in sorted(EXPECTED)]
    # drift and completeness are drawn per feature; a red dot for each drift / completeness violation
    drawn = {("baseline_drift_check", f) for f in ["MARRIAGE"]} | {("completeness_check", "BILL_AMT1")}
    all_found = {pair for h in EXPECTED for pair in story.runs[h].found()}
    assert {p for p in all_found if p[0] in ("baseline_drift_check", "completeness_check")} == drawn
    assert dom.count('class="viol"') == len(drawn)
    marriage = story.runs[11].summary()["features_measured"]
    (distance,) = [m["drift_distance"] for m in marriage if m["name"] == "MARRIAGE"]
    assert f"2026-11-20 12:00: {svg_num(distance)} (threshold 0.1) — violation" in dom  # [11:00, 12:00) ran at 12:00
    for name in {f["name"] for f in marriage}:
        assert f"<h3>{name}</h3>" in dom
    assert ink(page_screenshot(root / "history.html", tmp_path))["red"] > 0.0002


def test_model_quality_report_and_history_in_chromium(quality_story, tmp_path):
    output = quality_story.outputs[14]
    dom, requests = page_dom(output / "report.html", tmp_path)
    assert requests == []
    stats = json.loads((output / "statistics.json").read_text())["binary_classification_metrics"]
    violations = json.loads((output / "constraint_violations.json").read_text())["violations"]
    assert dom.count(">violation</span>") == len(violations) > 0
    for v in violations:
        assert html.escape(v["description"], quote=False) in dom
    cells = [int(c) for c in re.findall(r"<td style=\"background:[^\"]*\">(\d+)</td>", dom)]
    matrix = stats["confusion_matrix"]
    assert cells == [matrix[a].get(p, 0) for a in matrix for p in matrix]
    assert "ROC curve (AUC " + svg_num(stats["auc"]["value"]) + ")" in dom and "Precision–recall curve" in dom
    assert ink(page_screenshot(output / "report.html", tmp_path))["red"] > 0.0005

    root = output.parents[5]
    assert main(["report", str(root), "--output", str(tmp_path / "mq-history.html")]) == 0
    dom, requests = page_dom(tmp_path / "mq-history.html", tmp_path)
    assert requests == []
    per_run = [len(json.loads((quality_story.outputs[h] / "constraint_violations.json").read_text())["violations"])
               for h in sorted(EXPECTED)]
    assert dom.count('class="viol"') == sum(per_run) and per_run[0] == 0
    assert os.path.relpath(output / "report.html", tmp_path) in dom  # links work from where the page is written


# ---------------------------------------------------------------- the explanation chapter


@dataclass
class ExplainStory:
    model: object
    baseline: Path
    outputs: dict[int, Path]
    codes: dict[int, int]

    def values(self, hour: int | None = None) -> dict[str, float]:
        folder = self.baseline if hour is None else self.outputs[hour]
        doc = json.loads((folder / "analysis.json").read_text())
        return doc["explanations"]["kernel_shap"][demo.EXPLAIN_LABEL]["global_shap_values"]

    def summary(self, hour: int) -> dict:
        return json.loads((self.outputs[hour] / "run_summary.json").read_text())


@pytest.fixture(scope="module")
def explain_story(story, tmp_path_factory) -> ExplainStory:
    """The chapter on a smaller scale: the model trained on the story's training set, its attributions, the
    healthy hour (the story's own capture) and the outage hour."""
    import shutil

    import joblib

    root = tmp_path_factory.mktemp("explain_story")
    data = root / "train.csv"
    story.baseline.to_csv(data, index=False)
    model = demo.train_explained_model(story.baseline)
    joblib.dump(model, root / "model.joblib")
    config = root / "explainability_config.json"
    config.write_text(json.dumps(demo.explain_analysis_config(root / "model.joblib")))
    baseline = root / "baseline"
    assert main(demo.model_explainability_baseline_args(data, config, baseline)) == 0
    capture = root / "capture"
    for f in story.capture_files[10]:
        target = capture / f.relative_to(story.capture_files[10][0].parents[5])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, target)
    demo.write_capture_hour(demo.hour_traffic(demo.OUTAGE, RECORDS), capture, demo.OUTAGE.start,
                            seed=demo.OUTAGE.hour)
    outputs, codes = {}, {}
    for h in (demo.STORY[0], demo.OUTAGE):
        outputs[h.hour] = demo.hourly_output(root / "monitoring", h.start, schedule=demo.EXPLAIN_SCHEDULE)
        codes[h.hour] = main(demo.model_explainability_args(capture, config, baseline, h.start, outputs[h.hour]))
    return ExplainStory(model, baseline, outputs, codes)


def test_the_model_leans_on_pay_0_and_the_baseline_explains_it(story, explain_story):
    """The trained model ranks PAY_0 first (the risk rule's strongest term); the baseline's expected value is the
    model's mean probability over the background rows it wrote."""
    import numpy as np

    values = explain_story.values()
    assert list(values) == list(demo.EXPLAIN_FEATURES)
    assert max(values, key=values.get) == "PAY_0"
    background = np.loadtxt(explain_story.baseline / "explanations_shap" / "baseline.csv", delimiter=",", ndmin=2)
    assert background.shape == (5, len(demo.EXPLAIN_FEATURES))  # num_clusters 5
    doc = json.loads((explain_story.baseline / "analysis.json").read_text())
    expected = explain_story.model.predict_proba(background)[:, 1].mean()
    assert doc["explanations"]["kernel_shap"][demo.EXPLAIN_LABEL]["expected_value"] == pytest.approx(expected,
                                                                                                       rel=1e-12)
    summary = json.loads((explain_story.baseline / "run_summary.json").read_text())
    known = story.baseline.dropna(subset=list(demo.EXPLAIN_FEATURES))
    assert summary["records_to_explain"] == len(known) and summary["records_explained"] == demo.EXPLAINED_RECORDS
    assert summary["records_rejected"] == {"feature_not_numeric": len(story.baseline) - len(known)}
    assert summary["additivity_error"] < 1e-9


@pytest.mark.parametrize("hour", sorted(demo.EXPLAIN_EXPECTED))
def test_the_outage_turns_the_ranking_over(explain_story, hour):
    from sklearn.metrics import ndcg_score

    assert explain_story.codes[hour] == 0
    base, now = explain_story.values(), explain_story.values(hour)
    summary = explain_story.summary(hour)
    score = ndcg_score([[base[f] for f in base]], [[now[f] for f in base]])
    assert summary["ndcg"][demo.EXPLAIN_LABEL] == pytest.approx(score, rel=1e-12)
    path = explain_story.outputs[hour] / "constraint_violations.json"
    if not demo.EXPLAIN_EXPECTED[hour]:
        assert score > 0.99 and max(now, key=now.get) == "PAY_0" and not path.exists()
        assert summary["status"] == "Completed"
        return
    assert score < 0.9 and max(now, key=now.get) != "PAY_0"
    assert json.loads(path.read_text())["violations"] == [{
        "label": demo.EXPLAIN_LABEL, "metric_name": "shap", "constraint_check_type": "feature_attribution_drift_check",
        "description": f"Feature attribution drift {summary['ndcg'][demo.EXPLAIN_LABEL]!r} exceeds threshold 0.9"}]
    assert summary["status"] == "CompletedWithViolations"
    # every request counted: explained, sampled out, or rejected (a null BILL_AMT1)
    assert (summary["records"] + sum(summary["records_skipped"].values())
            + sum(summary["records_rejected"].values())) == RECORDS
    (metrics_file,) = (explain_story.outputs[hour] / "cloudwatch").glob("*.jsonl")
    published = {m["MetricName"]: m for m in map(json.loads, metrics_file.read_text().splitlines())}
    assert published["feature_PAY_0"]["Value"] == pytest.approx(now["PAY_0"], rel=1e-12)
    assert {d["Name"]: d["Value"] for d in published["feature_PAY_0"]["Dimensions"]} == {
        "Endpoint": "credit-default-endpoint", "MonitoringSchedule": demo.EXPLAIN_SCHEDULE,
        "ExplainabilityMethod": "KernelShap", "Label": demo.EXPLAIN_LABEL, "ValueType": "GlobalShapValues"}
