"""The demo: baseline a credit-default-style training set, then monitor five hours of endpoint traffic.

Run with `make demo`. Everything runs in Spark local mode and writes under ./demo-output:

1. a generated training set (30,000 rows) is profiled by `model-monitor baseline`;
2. five hours of SageMaker data-capture files are written for the endpoint `credit-default-endpoint`
   (2026-11-20, 10:00-15:00 UTC, ~4,000 requests an hour): the first hour is healthy, then each hour
   one thing goes wrong;
3. `model-monitor monitor` runs once per hour, like an hourly monitoring schedule, and finds it; with
   AWS_ENDPOINT_URL_CLOUDWATCH set (a moto server, say) each hour's metrics are also published with
   PutMetricData (`publishes_to_cloudwatch`), ready for `model-monitor alarms create`;
4. model quality: a labelled validation set is baselined (`--type model-quality`), the
   ground-truth labels of the five hours arrive a day later (2026-11-21, their own hour folders), and one
   model-quality run per hour merges the captured predictions with their labels and finds the accuracy
   decaying hour after hour;
5. fairness: at 14:00 the model's missed defaults move onto women (SEX = 2) — the hour's confusion matrix
   is unchanged, so model quality cannot see it; a model-bias baseline of the validation set with its
   applicants' features (`--type model-bias`, Clarify's analysis.json) and two model-bias runs (10:00 and
   14:00) on the same requests and labels find recall, accuracy and default rates of women diverging at
   14:00 only (bias_drift_check on DPL, AD and RD). The bias runs read the same capture as the other
   chapters: a JSON request's features are taken by name, the analysis config's headers without the label;
6. feature attribution: the demo trains a scikit-learn model on the training set's numeric features
   (labels drawn from a known risk rule led by PAY_0) and baselines its KernelSHAP attributions
   (`--type model-explainability`, the model loaded from a joblib file in the Spark executors); a sixth hour
   of traffic (15:00) arrives while the payment-history service is down — every request carries PAY_0 = 0 —
   and the 15:00 run finds the model's feature ranking turned over (feature_attribution_drift_check, NDCG
   far below 0.9) while 10:00 keeps the baseline's ranking;
7. `model-monitor report` draws the history of the four schedules (history.html); every run left a
   report.html next to its SageMaker files.

The capture writer (`write_capture_hour`), the traffic of each hour (`hour_traffic`) and the label
writers (`write_ground_truth_hour`, `write_story_labels`) are plain pandas / file code, reused by
tests/integration/test_demo_story.py.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "demo-output"

LABEL = "default payment next month"  # the last baseline column; the model's output in the capture
ENDPOINT = "credit-default-endpoint"
VARIANT = "AllTraffic"
SCHEDULE = "credit-default-hourly"
DAY = datetime(2026, 11, 20, tzinfo=UTC)
CAPTURE_FORMAT = json.dumps({"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}})
RECORDS_PER_HOUR = 4_000
BASELINE_ROWS = 30_000
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def credit_default(n: int = BASELINE_ROWS, seed: int = 42) -> pd.DataFrame:
    """A synthetic take on the UCI 'default of credit card clients' table (no download needed)."""
    rng = np.random.default_rng(seed)
    limit = rng.choice(np.arange(10_000, 800_001, 10_000), n)
    bill = np.round(limit * rng.beta(2, 5, n), 2)
    frame = pd.DataFrame({
        "LIMIT_BAL": limit,
        "SEX": rng.choice([1, 2], n, p=[0.4, 0.6]),
        "EDUCATION": rng.choice(["graduate school", "university", "high school", "others"], n,
                                p=[0.35, 0.47, 0.16, 0.02]),
        "MARRIAGE": rng.choice(["married", "single", "others"], n, p=[0.45, 0.53, 0.02]),
        "AGE": rng.integers(21, 80, n),
        "PAY_0": rng.choice([-2, -1, 0, 1, 2, 3], n, p=[0.1, 0.2, 0.5, 0.12, 0.06, 0.02]),
        "BILL_AMT1": bill,
        "PAY_AMT1": np.round(bill * rng.beta(1, 8, n), 2),
        LABEL: (rng.random(n) < 0.22).astype(int),
    })
    frame.loc[rng.random(n) < 0.01, "BILL_AMT1"] = np.nan  # a few unknown bills
    return frame


# --- the story: what goes wrong in each hour (pure pandas) ----------------------------------------


def _healthy(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    return frame


def _marriage_drifts(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A marketing campaign for students: far more single applicants (0.15 / 0.83 / 0.02)."""
    frame["MARRIAGE"] = rng.choice(["married", "single", "others"], len(frame), p=[0.15, 0.83, 0.02])
    return frame


def _age_as_floats(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A new app release (half of the traffic) sends AGE in fractional years computed from the birth date."""
    n = len(frame)
    age = frame["AGE"].astype(object)
    new_client = rng.random(n) < 0.5
    fraction = np.round(rng.uniform(0.01, 0.99, n), 2)
    age[new_client] = [float(a + f) for a, f in zip(frame["AGE"][new_client], fraction[new_client], strict=True)]
    frame["AGE"] = age
    return frame


def _bill_missing(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The billing service times out: BILL_AMT1 is null in ~30 % of the requests."""
    frame.loc[rng.random(len(frame)) < 0.30, "BILL_AMT1"] = np.nan
    return frame


def _new_category_and_column(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A new application form: EDUCATION gains "doctorate" (~8 %), and the client sends a CHANNEL field."""
    n = len(frame)
    frame.loc[rng.random(n) < 0.08, "EDUCATION"] = "doctorate"
    frame.insert(frame.columns.get_loc(LABEL), "CHANNEL", rng.choice(["web", "mobile", "branch"], n, p=[0.5, 0.4, 0.1]))
    return frame


@dataclass(frozen=True)
class StoryHour:
    hour: int  # UTC hour of DAY
    headline: str
    change: Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]
    expected: frozenset[tuple[str, str]]  # (constraint_check_type, feature_name) the run should report
    broken_lines: bool = False  # add a non-JSON line, an undecodable payload and a record without inferenceTime

    @property
    def start(self) -> datetime:
        return DAY + timedelta(hours=self.hour)


STORY = (
    StoryHour(10, "healthy traffic", _healthy, frozenset()),
    StoryHour(11, "MARRIAGE shifts to single (83 %)", _marriage_drifts,
              frozenset({("baseline_drift_check", "MARRIAGE")})),
    StoryHour(12, "AGE sent as fractional years", _age_as_floats, frozenset({("data_type_check", "AGE")})),
    StoryHour(13, "BILL_AMT1 null in 30 % + 3 broken lines", _bill_missing,
              frozenset({("completeness_check", "BILL_AMT1")}), broken_lines=True),
    StoryHour(14, "EDUCATION 'doctorate' + new CHANNEL key", _new_category_and_column,
              frozenset({("categorical_values_check", "EDUCATION"), ("extra_column_check", "CHANNEL")})),
)


def hour_traffic(story_hour: StoryHour, n: int = RECORDS_PER_HOUR) -> pd.DataFrame:
    """The requests of one hour: drawn from the baseline distribution (own seed), then changed as the story says.
    The label column holds the model's predicted class."""
    frame = credit_default(n, seed=1_000 + story_hour.hour)
    return story_hour.change(frame, np.random.default_rng(2_000 + story_hour.hour))


# --- SageMaker data capture (pure: records -> lines; then one function writes the files) ---------


def _json_value(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _event_id(ids: random.Random) -> str:
    return str(uuid.UUID(int=ids.getrandbits(128), version=4))


def _capture_record(features: dict, prediction: str | None, event_id: str, inference_time: datetime | None,
                    input_encoding: str = "JSON") -> dict:
    data = "@@@" if input_encoding == "BASE64" else json.dumps(features)
    record: dict = {
        "captureData": {
            "endpointInput": {"observedContentType": "application/json", "mode": "INPUT", "data": data,
                              "encoding": input_encoding},
            "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": prediction,
                               "encoding": "CSV"},
        },
        "eventMetadata": {"eventId": event_id},
        "eventVersion": "0",
    }
    if inference_time is not None:
        record["eventMetadata"]["inferenceTime"] = inference_time.strftime(TIME_FORMAT)
    return record


def capture_lines(frame: pd.DataFrame, hour_start: datetime, *, label: str = LABEL, broken_lines: bool = False,
                  seed: int = 0) -> list[tuple[datetime, str]]:
    """One capture line per row of ``frame`` (inputs: every column but ``label``, by name in a JSON object;
    output: the label as a CSV payload), at inference times spread uniformly over the hour, in time order; the
    event ids and times depend on ``seed`` and the number of rows only. With ``broken_lines`` three bad lines
    are mixed in: a truncated (non-JSON) line, a BASE64 payload that does not decode, and a record without
    ``eventMetadata.inferenceTime``."""
    rng = np.random.default_rng(seed)
    ids = random.Random(f"event-ids-{seed}")
    offsets = np.sort(rng.integers(0, 3_600_000, len(frame)))  # milliseconds into the hour
    times = [hour_start + timedelta(milliseconds=int(ms)) for ms in offsets]
    inputs = [c for c in frame.columns if c != label]
    requests = []
    for row in frame.itertuples(index=False, name=None):
        values = dict(zip(frame.columns, row, strict=True))
        requests.append(({c: _json_value(values[c]) for c in inputs}, str(int(values[label]))))
    lines = [(t, json.dumps(_capture_record(features, prediction, _event_id(ids), t)))
             for t, (features, prediction) in zip(times, requests, strict=True)]
    if broken_lines and lines:
        n = len(lines)
        for position, kind in ((n // 4, "truncated"), (n // 2, "base64"), (3 * n // 4, "no_time")):
            t, (features, prediction) = lines[position][0], requests[position]  # a real request, broken one way
            if kind == "truncated":  # a partial write: not JSON
                text = json.dumps(_capture_record(features, prediction, _event_id(ids), t))[:57]
            elif kind == "base64":
                text = json.dumps(_capture_record(features, prediction, _event_id(ids), t, input_encoding="BASE64"))
            else:
                text = json.dumps(_capture_record(features, prediction, _event_id(ids), None))
            lines.insert(position, (t, text))
    return lines


def write_capture_hour(frame: pd.DataFrame, directory: Path, hour_start: datetime, *, endpoint: str = ENDPOINT,
                       variant: str = VARIANT, files: int = 2, label: str = LABEL, broken_lines: bool = False,
                       seed: int = 0) -> list[Path]:
    """Write one hour of data capture for ``frame`` under the capture root ``directory`` in SageMaker's layout
    ``<endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<mmm>-<uuid>.jsonl``, split into ``files`` files by time.
    Returns the files written."""
    lines = capture_lines(frame, hour_start, label=label, broken_lines=broken_lines, seed=seed)
    folder = Path(directory) / endpoint / variant / hour_start.strftime("%Y/%m/%d/%H")
    folder.mkdir(parents=True, exist_ok=True)
    names = random.Random(f"file-names-{seed}")
    written = []
    for chunk in np.array_split(np.arange(len(lines)), files):
        if not len(chunk):
            continue
        first = lines[chunk[0]][0]
        name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{_event_id(names)}.jsonl"
        path = folder / name
        path.write_text("".join(lines[i][1] + "\n" for i in chunk), encoding="utf-8")
        written.append(path)
    return written


# --- model quality: labels that arrive a day later ---------------------------------------------------

LABEL_DELAY = timedelta(days=1)
VALIDATION_ROWS = 10_000
VALIDATION_AGREEMENT = 0.88  # share of the validation set where the model's prediction is right
AGREEMENT = {10: 0.92, 11: 0.86, 12: 0.80, 13: 0.74, 14: 0.66}  # the model decays hour after hour
UNLABELLED = 0.05  # requests whose label never arrives
MQ_SCHEDULE = "credit-default-model-quality"


def validation_set(n: int = VALIDATION_ROWS, agreement: float = VALIDATION_AGREEMENT, seed: int = 7) -> pd.DataFrame:
    """The model's predictions on a labelled validation set: `prediction` (the predicted class) and `label`."""
    rng = np.random.default_rng(seed)
    prediction = (rng.random(n) < 0.22).astype(int)
    right = rng.random(n) < agreement
    return pd.DataFrame({"prediction": prediction, "label": np.where(right, prediction, 1 - prediction)})


def captured_predictions(files: list[Path]) -> list[tuple[str, str]]:
    """(eventId, predicted class) of every well-formed capture record in ``files``."""
    out = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                out.append((record["eventMetadata"]["eventId"], record["captureData"]["endpointOutput"]["data"]))
            except (ValueError, KeyError, TypeError):
                continue
    return out


def move_misses(in_group: np.ndarray, prediction: np.ndarray, label: np.ndarray, share: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j): ``share`` of the missed defaults outside the group (predicted 0, label 1), each
    with a correct rejection inside it (predicted 0, label 0). Swapping the labels of each pair — or the
    group — moves those misses onto the group and leaves the confusion matrix of the whole set unchanged."""
    outside = np.flatnonzero(~in_group & (prediction == 0) & (label == 1))
    inside = np.flatnonzero(in_group & (prediction == 0) & (label == 0))
    k = min(round(share * len(outside)), len(inside))
    return rng.choice(outside, k, replace=False), rng.choice(inside, k, replace=False)


def write_ground_truth_hour(predictions: list[tuple[str, str]], directory: Path, hour_start: datetime,
                            agreement: float, *, seed: int = 0, unlabelled: float = UNLABELLED,
                            duplicates: int = 3, group: dict[str, bool] | None = None,
                            moved: float = 0.0) -> dict[str, int]:
    """Upload the labels of one hour's requests a day later, as SageMaker ground-truth records under
    ``<directory>/yyyy/mm/dd/hh/MMSS.jsonl`` (the label-collection time). The label equals the prediction
    with probability ``agreement``; ``unlabelled`` of the requests get no label; the first ``duplicates``
    labels are uploaded twice (a retry). With ``moved``, that share of the missed defaults outside ``group``
    ({eventId: in the group}) land inside it instead (:func:`move_misses`; the other labels are the ones drawn
    without it). Returns {eventId: label} of the labels written."""
    rng = np.random.default_rng(10_000 + seed)
    uploaded = hour_start + LABEL_DELAY
    labels: dict[str, int] = {}
    for event_id, prediction in predictions:
        if rng.random() < unlabelled:
            continue
        p = int(prediction)
        labels[event_id] = p if rng.random() < agreement else 1 - p
    if moved and group:
        predicted = dict(predictions)
        ids = [e for e in labels if e in group]
        y = np.array([labels[e] for e in ids])
        i, j = move_misses(np.array([group[e] for e in ids], dtype=bool), np.array([int(predicted[e]) for e in ids]),
                           y, moved, np.random.default_rng(20_000 + seed))
        y[i], y[j] = y[j], y[i]
        labels.update(zip(ids, (int(v) for v in y), strict=True))
    records = [json.dumps({"groundTruthData": {"data": str(label), "encoding": "CSV"},
                           "eventMetadata": {"eventId": event_id}, "eventVersion": "0"})
               for event_id, label in labels.items()]
    folder = Path(directory) / uploaded.strftime("%Y/%m/%d/%H")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{uploaded:%M%S}.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    (folder / "retry.jsonl").write_text("\n".join(records[:duplicates]) + "\n", encoding="utf-8")
    return labels


def captured_inputs(files: list[Path], column: str) -> dict[str, object]:
    """{eventId: the request's ``column``} of every capture record with a JSON request body."""
    out = {}
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                out[record["eventMetadata"]["eventId"]] = json.loads(
                    record["captureData"]["endpointInput"]["data"])[column]
            except (ValueError, KeyError, TypeError):
                continue
    return out


def write_story_labels(story_hour: StoryHour, files: list[Path], directory: Path) -> dict[str, int]:
    """The labels of one story hour, uploaded a day later: the hour's AGREEMENT and, from 14:00
    (MISSES_MOVED), the men's missed defaults partly women's instead — same confusion matrix, other people."""
    women = {e: v == FACET_VALUE for e, v in captured_inputs(files, FACET).items()}
    return write_ground_truth_hour(captured_predictions(files), directory, story_hour.start,
                                   AGREEMENT[story_hour.hour], seed=story_hour.hour, group=women,
                                   moved=MISSES_MOVED.get(story_hour.hour, 0.0))


def model_quality_args(capture_root: Path, ground_truth: Path, baseline: Path, hour_start: datetime,
                       output: Path) -> list[str]:
    """`model-monitor monitor --type model-quality` flags for one hourly run: merge the hour's
    predictions with the labels uploaded so far, then compare the metrics with the baseline."""
    return ["monitor", "--type", "model-quality", "--problem-type", "BinaryClassification",
            "--dataset", str(capture_root), "--ground-truth", str(ground_truth), "--inference-attribute", "0",
            "--baseline-constraints", str(baseline / "constraints.json"),
            *hourly_run_flags(hour_start, output, ENDPOINT, MQ_SCHEDULE)]


def publishes_to_cloudwatch() -> bool:
    """The data-quality hours also go to CloudWatch (``--put-metric-data``) when a CloudWatch endpoint is set for the
    demo — ``AWS_ENDPOINT_URL_CLOUDWATCH``, e.g. a moto server: ``python -m moto.server -p 5000`` — or when
    ``MODEL_MONITOR_DEMO_PUT_METRIC_DATA=1`` asks for the account's own CloudWatch (credentials and region from the
    environment). Real CloudWatch refuses points older than 14 days: once 2026-11-20 is that old, the runs leave
    the metrics out and say so in their run_summary.json (deliveries.cloudwatch)."""
    return bool(os.environ.get("AWS_ENDPOINT_URL_CLOUDWATCH")) or os.environ.get(
        "MODEL_MONITOR_DEMO_PUT_METRIC_DATA") == "1"


def scheduled_time(hour_start: datetime) -> datetime:
    """The scheduled time of the hourly execution that analyses the hour starting at ``hour_start``: the hour's
    end (SageMaker's rule: an execution checks the hour before its scheduled time)."""
    return hour_start + timedelta(hours=1)


def hourly_run_flags(hour_start: datetime, output: Path, endpoint: str, schedule: str,
                     put_metric_data: bool = False) -> list[str]:
    """The flags every hourly run shares: its scheduled time (the hour's end; the window [hour_start,
    hour_start + 1 h) follows from it), its schedule, CloudWatch metric files under <output>/cloudwatch (instead
    of the container's /opt/ml/output/metrics/cloudwatch), PutMetricData when asked, and its output."""
    return ["--scheduled-time", scheduled_time(hour_start).strftime(TIME_FORMAT),
            "--endpoint", endpoint, "--schedule", schedule,
            "--publish-cloudwatch-metrics", "--cloudwatch-metrics-directory", str(output / "cloudwatch"),
            *(["--put-metric-data"] if put_metric_data else []),
            "--output", str(output)]


# --- model bias: who the model's mistakes fall on ----------------------------------------------------

FEATURES = ("LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0", "BILL_AMT1", "PAY_AMT1")  # the model input
FACET, FACET_VALUE = "SEX", 2  # 1 = male, 2 = female, as in the UCI table
VALIDATION_MISSES_MOVED = 0.2  # the validation set already misses women's defaults a little more often
MISSES_MOVED = {14: 0.5}  # hour -> share of the men's missed defaults that are women's instead
BIAS_SCHEDULE = "credit-default-model-bias"
BIAS_HOURS = (10, 14)  # two runs keep the demo short: the healthy hour and the hour the misses move
# The metrics the misses move. Clarify's check fires whenever |value| > |baseline's|, so a metric whose true value
# does not change (CI, DPPL, DI here: the SEX shares and the predicted default rates stay as they were) would
# fire in about every other window by chance.
BIAS_METHODS = {"pre_training_bias": {"methods": ["DPL"]}, "post_training_bias": {"methods": ["AD", "RD"]}}
BIAS_EXPECTED = {10: frozenset(), 14: frozenset({"AD", "DPL", "RD"})}  # hour -> metrics with bias_drift_check


def bias_validation_set(n: int = VALIDATION_ROWS, seed: int = 7,
                        moved: float = VALIDATION_MISSES_MOVED) -> pd.DataFrame:
    """The validation set — the same `prediction` and label as :func:`validation_set` (label column LABEL) —
    with its applicants' features: the dataset of the model-bias baseline. Its misses already lean towards
    women: ``moved`` of the men's missed defaults swap SEX with as many women's correct rejections (the
    SEX shares stay as drawn)."""
    scored = validation_set(n, seed=seed)
    frame = credit_default(n, seed=seed).drop(columns=[LABEL])
    sex = frame[FACET].to_numpy().copy()
    i, j = move_misses(sex == FACET_VALUE, scored["prediction"].to_numpy(), scored["label"].to_numpy(), moved,
                       np.random.default_rng(3_000 + seed))
    sex[i], sex[j] = sex[j], sex[i]
    frame[FACET] = sex
    frame["prediction"] = scored["prediction"]
    frame[LABEL] = scored["label"]
    return frame


def bias_analysis_config() -> dict:
    """Clarify's analysis_config.json of the schedule: SageMaker's BiasAnalysisConfig (label, positive label
    value, facet, headers = the model input and the label) plus the metrics to compute."""
    return {"label": LABEL, "label_values_or_threshold": [1],
            "facet": [{"name_or_index": FACET, "value_or_threshold": [FACET_VALUE]}],
            "headers": [*FEATURES, LABEL], "methods": BIAS_METHODS}


def model_bias_baseline_args(dataset: Path, config: Path, output: Path) -> list[str]:
    """`model-monitor baseline --type model-bias` flags: Clarify's metrics of the labelled, predicted dataset."""
    return ["baseline", "--type", "model-bias", "--dataset", str(dataset), "--format", "csv", "--header",
            "--inference-attribute", "prediction", "--analysis-config", str(config), "--output", str(output)]


def model_bias_args(capture_root: Path, ground_truth: Path, config: Path, baseline: Path, hour_start: datetime,
                    output: Path) -> list[str]:
    """`model-monitor monitor --type model-bias` flags for one hourly run: merge the hour's predictions with
    their labels, compute the metrics, check them against the baseline's analysis.json. The captured requests
    are JSON objects: their features are read by name, the config's headers without the label (CHANNEL, which
    the headers do not name, is left out)."""
    return ["monitor", "--type", "model-bias", "--dataset", str(capture_root), "--ground-truth", str(ground_truth),
            "--analysis-config", str(config), "--inference-attribute", "0",
            "--baseline-constraints", str(baseline / "analysis.json"),
            *hourly_run_flags(hour_start, output, ENDPOINT, BIAS_SCHEDULE)]


def bias_values(analysis: dict) -> dict[str, float | None]:
    """{metric: value} of the facet entry FACET = FACET_VALUE of an analysis.json, both stages."""
    out = {}
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for entry in analysis.get(stage, {}).get("facets", {}).get(FACET, []):
            if entry["value_or_threshold"] == str(FACET_VALUE):
                out.update({m["name"]: m["value"] for m in entry["metrics"]})
    return out


# --- feature attribution: what the model leans on ---------------------------------------------------

EXPLAIN_FEATURES = ("LIMIT_BAL", "SEX", "AGE", "PAY_0", "BILL_AMT1", "PAY_AMT1")  # the numeric model input
EXPLAIN_SCHEDULE = "credit-default-explainability"
OUTAGE_HOUR = 15  # the payment-history service is down: every request carries PAY_0 = 0
EXPLAIN_HOURS = (10, OUTAGE_HOUR)
EXPLAIN_EXPECTED = {10: False, OUTAGE_HOUR: True}  # hour -> feature_attribution_drift_check expected
EXPLAINED_RECORDS = 1_000  # --max-explained-records: a seeded sample of each run's records
EXPLAIN_LABEL = "default"


def default_risk(frame: pd.DataFrame) -> np.ndarray:
    """The probability of default the demo's model learns: late payments (PAY_0) above all, then how much of
    the credit line is used and how large it is."""
    usage = frame["BILL_AMT1"].to_numpy(dtype=float) / frame["LIMIT_BAL"].to_numpy(dtype=float)
    z = (-1.6 + 1.3 * frame["PAY_0"].to_numpy(dtype=float) + 1.2 * usage
         - 0.35 * np.log(frame["LIMIT_BAL"].to_numpy(dtype=float) / 100_000))
    return 1 / (1 + np.exp(-z))


def train_explained_model(frame: pd.DataFrame, seed: int = 11):
    """A scikit-learn model trained by the demo on its training set's numeric features, with default labels
    drawn from :func:`default_risk`: the model behind the endpoint whose attributions are monitored."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    known = frame.dropna(subset=list(EXPLAIN_FEATURES))
    y = (np.random.default_rng(seed).random(len(known)) < default_risk(known)).astype(int)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000)).fit(
        known[list(EXPLAIN_FEATURES)].to_numpy(dtype=float), y)


def payment_service_down(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The payment-history service times out and the client sends its default: PAY_0 = 0 in every request."""
    frame["PAY_0"] = 0
    return frame


OUTAGE = StoryHour(OUTAGE_HOUR, "PAY_0 = 0 in every request", payment_service_down, frozenset())


def explain_analysis_config(model: Path) -> dict:
    """Clarify's analysis_config.json of the explainability schedule: the model (a joblib file loaded in the
    Spark executors), its numeric features by name (the requests are JSON objects), SHAP settings. num_samples
    62 = 2^6 − 2 enumerates every coalition of the 6 features: the values are exact, no sampling noise."""
    return {"headers": list(EXPLAIN_FEATURES), "label": LABEL, "excluded_columns": ["EDUCATION", "MARRIAGE"],
            "methods": {"shap": {"num_clusters": 5, "num_samples": 62, "agg_method": "mean_abs", "seed": 7}},
            "predictor": {"model_uri": str(model), "probability": 1, "label_headers": [EXPLAIN_LABEL]}}


def model_explainability_baseline_args(dataset: Path, config: Path, output: Path) -> list[str]:
    """`model-monitor baseline --type model-explainability` flags: the attributions of the training set."""
    return ["baseline", "--type", "model-explainability", "--dataset", str(dataset), "--format", "csv", "--header",
            "--analysis-config", str(config), "--max-explained-records", str(EXPLAINED_RECORDS),
            "--output", str(output)]


def model_explainability_args(capture_root: Path, config: Path, baseline: Path, hour_start: datetime,
                              output: Path) -> list[str]:
    """`model-monitor monitor --type model-explainability` flags for one hourly run: explain a seeded sample
    of the hour's requests, rank the features, compare the ranking with the baseline's (NDCG)."""
    return ["monitor", "--type", "model-explainability", "--dataset", str(capture_root),
            "--analysis-config", str(config), "--baseline-constraints", str(baseline / "analysis.json"),
            "--max-explained-records", str(EXPLAINED_RECORDS),
            *hourly_run_flags(hour_start, output, ENDPOINT, EXPLAIN_SCHEDULE)]


# --- the monitoring runs ----------------------------------------------------------------------------


def monitor_args(capture_root: Path, baseline: Path, hour_start: datetime, output: Path, *,
                 endpoint: str = ENDPOINT, schedule: str = SCHEDULE, put_metric_data: bool | None = None) -> list[str]:
    """`model-monitor monitor` flags for one hourly run of the schedule (``put_metric_data`` None: as
    :func:`publishes_to_cloudwatch` says)."""
    if put_metric_data is None:
        put_metric_data = publishes_to_cloudwatch()
    return ["monitor", "--dataset", str(capture_root),
            "--dataset-format", CAPTURE_FORMAT,
            "--output-columns-position", "END",
            "--baseline-statistics", str(baseline / "statistics.json"),
            "--baseline-constraints", str(baseline / "constraints.json"),
            *hourly_run_flags(hour_start, output, endpoint, schedule, put_metric_data)]


def hourly_output(root: Path, hour_start: datetime, endpoint: str = ENDPOINT, schedule: str = SCHEDULE) -> Path:
    """Where a schedule's run for the hour starting at ``hour_start`` writes: <root>/<endpoint>/<schedule>/
    yyyy/mm/dd/hh named by the execution's scheduled hour (the hour's end), as SageMaker names it: the run of
    [10:00, 11:00) writes .../11."""
    from monitor_lib.schedule.windows import execution_folder

    return Path(execution_folder(str(root), endpoint, schedule, scheduled_time(hour_start)))


@dataclass
class HourResult:
    story: StoryHour
    output: Path
    records: int
    rejected: dict[str, int]
    violations: list[dict]

    @property
    def found(self) -> frozenset[tuple[str, str]]:
        return frozenset((v["constraint_check_type"], v["feature_name"]) for v in self.violations)


def read_hour_result(story_hour: StoryHour, output: Path) -> HourResult:
    summary = json.loads((output / "run_summary.json").read_text())
    violations = json.loads((output / "constraint_violations.json").read_text()).get("violations", [])
    return HourResult(story_hour, output, int(summary["records_profiled"]), dict(summary["records_rejected"]),
                      violations)


# --- printing ---------------------------------------------------------------------------------------


def print_baseline(out: Path) -> None:
    stats = json.loads((out / "statistics.json").read_text())
    constraints = {f["name"]: f for f in json.loads((out / "constraints.json").read_text())["features"]}
    print("\nfeature                     type        missing  summary / suggested constraint")
    for f in stats["features"]:
        c = constraints[f["name"]]
        if "numerical_statistics" in f:
            s = f["numerical_statistics"]
            summary = (f"mean {s['mean']:.2f}, std {s['std_dev']:.2f}, [{s['min']:g}, {s['max']:g}]"
                       f"; non-negative: {c['num_constraints']['is_non_negative']}")
        else:
            s = f["string_statistics"]
            domain = c.get("string_constraints", {}).get("domains")
            summary = f"{int(s['distinct_count'])} distinct" + (f"; domain {domain}" if domain else "")
        print(f"{f['name']:<28}{f['inferred_type']:<12}{s['common']['num_missing']:>7}  {summary}")
    print(f"\nopen {out / 'statistics.json'} and {out / 'constraints.json'}")


def print_story(results: list[HourResult], capture_root: Path, monitoring_root: Path) -> None:
    print(f"\n=== {ENDPOINT}: schedule {SCHEDULE}, {DAY:%Y-%m-%d} ===\n")
    print(f"{'hour (UTC)':<12}{'what happened':<44}{'records':>8}{'rejected':>10}  violations (check on feature)")
    for r in results:
        found = ", ".join(f"{check} on {feature}" for check, feature in sorted(r.found)) or "none"
        verdict = "as expected" if r.found == r.story.expected else "UNEXPECTED"
        print(f"{r.story.start:%H:%M}-{r.story.start + timedelta(hours=1):%H:%M} {r.story.headline:<44}"
              f"{r.records:>8,}{sum(r.rejected.values()):>10}  {found}  [{verdict}]")
    print("\nviolations:")
    for r in results:
        for v in r.violations:
            print(f"  {r.story.start:%H:%M}  {v['feature_name']:<10} "
                  f"{v['constraint_check_type']:<25} {v['description']}")
    rejected = [r for r in results if r.rejected]
    if rejected:
        print("\nrejected records (counted, not dropped; a sample is kept next to each run's outputs):")
        for r in rejected:
            kinds = ", ".join(f"{kind}: {count}" for kind, count in sorted(r.rejected.items()))
            print(f"  {r.story.start:%H:%M}  {kinds}")
    print(f"\ncapture files:   {capture_root}/{ENDPOINT}/{VARIANT}/{DAY:%Y/%m/%d}/<hh>/*.jsonl")
    print(f"monitoring runs: {monitoring_root}/{ENDPOINT}/{SCHEDULE}/{DAY:%Y/%m/%d}/<hh>/"
          "{report.html, constraint_violations.json, statistics.json, run_summary.json, cloudwatch/, ...}\n"
          "                 (<hh> is the scheduled hour, as SageMaker names it: the run of 10:00-11:00 is in 11/)")
    misses = [r for r in results if r.found != r.story.expected]
    if misses:
        print(f"\n{len(misses)} hour(s) did not show what the story expected: "
              + "; ".join(f"{r.story.start:%H:%M} expected {sorted(r.story.expected)}" for r in misses))


def print_cloudwatch(results: list[HourResult]) -> None:
    """What each hour's PutMetricData did (run_summary.json deliveries.cloudwatch)."""
    where = os.environ.get("AWS_ENDPOINT_URL_CLOUDWATCH") or "the account's CloudWatch"
    print(f"\nCloudWatch ({where}):")
    for r in results:
        summary = json.loads((r.output / "run_summary.json").read_text())
        d = summary.get("deliveries", {}).get("cloudwatch", {})
        print(f"  {r.story.start:%H:%M}  {d.get('status', 'not asked')}: {d.get('metrics', 0)} metric(s) to "
              f"{d.get('namespace', '-')}" + (f", {d['skipped_too_old']} older than 14 days left out"
                                              if d.get("skipped_too_old") else "")
              + (f" ({d['error']})" if d.get("error") else ""))
    print("  alarms on them: model-monitor alarms create --baseline-constraints "
          f"{OUT / 'baseline' / 'constraints.json'} --endpoint {ENDPOINT} --schedule {SCHEDULE} "
          "--sns-topic-arn <topic ARN> --dry-run")


def print_model_quality(baseline: Path, outputs: dict[int, Path]) -> bool:
    """The model-quality story; True when it shows what it should (no violation in the first hour, then
    an accuracy violation every hour, accuracy decaying)."""
    base = json.loads((baseline / "statistics.json").read_text())["binary_classification_metrics"]
    print(f"\n=== {ENDPOINT}: schedule {MQ_SCHEDULE} (labels uploaded a day later) ===\n")
    print(f"baseline (validation set): accuracy {base['accuracy']['value']:.4f}, f1 {base['f1']['value']:.4f}; "
          "suggested thresholds = the baseline values (SageMaker's rule)\n")
    print(f"{'hour (UTC)':<12}{'merged':>8}{'no label':>10}{'accuracy':>10}{'f1':>8}  violations")
    accuracies, ok = [], True
    for hour, output in outputs.items():
        summary = json.loads((output / "run_summary.json").read_text())
        merge = summary["merge"]
        violations = json.loads((output / "constraint_violations.json").read_text())["violations"]
        metrics = summary["metrics"]
        accuracies.append(metrics["accuracy"])
        names = [v["metric_name"] for v in violations]
        print(f"{hour:02d}:00-{hour + 1:02d}:00 {merge['matched']:>8,}{merge['unmatched_predictions']:>10,}"
              f"{metrics['accuracy']:>10.4f}{metrics['f1']:>8.4f}  "
              + (f"{len(names)}: {', '.join(names[:4])}{', …' if len(names) > 4 else ''}" if names else "none"))
        ok &= (not names) if hour == STORY[0].hour else ("accuracy" in names)
    ok &= all(a > b for a, b in zip(accuracies, accuracies[1:], strict=False))
    first = next(iter(outputs.values()))
    print(f"\nmerged records: {first / 'merge'}/{ENDPOINT}/{VARIANT}/<yyyy/mm/dd/hh>/merged-*.jsonl")
    print(f"reports:        {first.parent}/<hh>/{{report.html, statistics.json, constraint_violations.json, "
          "run_summary.json}")
    if not ok:
        print("\nthe model-quality runs did not show what the story expected", file=sys.stderr)
    return ok


def print_model_bias(baseline: Path, outputs: dict[int, Path], quality: dict[int, Path], capture: Path) -> bool:
    """The fairness story; True when the runs show what they should (BIAS_EXPECTED, every violation a
    bias_drift_check on FACET = FACET_VALUE)."""
    names = [m for stage in BIAS_METHODS.values() for m in stage["methods"]]
    base = bias_values(json.loads((baseline / "analysis.json").read_text()))
    print(f"\n=== {ENDPOINT}: schedule {BIAS_SCHEDULE} (facet {FACET} = {FACET_VALUE}, women) ===\n")
    print("baseline (the validation set with its applicants' features): "
          + ", ".join(f"{m} {base[m]:.4f}" for m in names)
          + f"\n  — recall of women {base['RD']:.3f} below men's already; a run violates a metric that is farther "
            "from 0 than this (bias_drift_check)\n")
    print(f"{'hour (UTC)':<12}{'merged':>8}{'accuracy':>10}" + "".join(f"{m:>9}" for m in names) + "  violations")
    ok, found = True, {}
    for hour, output in outputs.items():
        summary = json.loads((output / "run_summary.json").read_text())
        values = bias_values(json.loads((output / "analysis.json").read_text()))
        violations = json.loads((output / "constraint_violations.json").read_text())["violations"]
        accuracy = json.loads((quality[hour] / "run_summary.json").read_text())["metrics"]["accuracy"]
        found[hour] = violations
        metrics = sorted(v["metric_name"] for v in violations)
        print(f"{hour:02d}:00-{hour + 1:02d}:00 {summary['merge']['matched']:>8,}{accuracy:>10.4f}"
              + "".join(f"{values[m]:>9.4f}" for m in names) + f"  {', '.join(metrics) or 'none'}")
        ok &= set(metrics) == BIAS_EXPECTED[hour] and all(
            (v["constraint_check_type"], v["facet"], v["facet_value"]) == ("bias_drift_check", FACET,
                                                                            str(FACET_VALUE)) for v in violations)
    print("\nviolations:")
    for hour, violations in found.items():
        for v in violations:
            print(f"  {hour:02d}:00  {v['facet']}={v['facet_value']}  {v['metric_name']:<4} "
                  f"{v['constraint_check_type']}  {v['description']}")
    late = max(outputs)
    print(f"\n{late}:00: as many defaults missed as the model-quality run counted (the same confusion matrix, "
          f"accuracy {json.loads((quality[late] / 'run_summary.json').read_text())['metrics']['accuracy']:.4f}),"
          f"\n       but {MISSES_MOVED[late]:.0%} of the men's are women's now: their recall and accuracy fall, "
          "their default rate rises")
    first = outputs[min(outputs)]
    print(f"\nrequests:         {capture}/{ENDPOINT}/{VARIANT}/{DAY:%Y/%m/%d}/<hh>/*.jsonl (the JSON capture of the "
          "other chapters;\n                  the features taken by name: the analysis config's headers without "
          "the label)")
    print(f"runs:             {first.parent}/<hh>/{{analysis.json, constraint_violations.json, report.html, "
          "run_summary.json, merge/, cloudwatch/}")
    if not ok:
        print("\nthe model-bias runs did not show what the story expected", file=sys.stderr)
    return ok


def print_model_explainability(baseline: Path, outputs: dict[int, Path], capture: Path) -> bool:
    """The explanation story; True when the runs show what they should (EXPLAIN_EXPECTED)."""
    def ranking(doc: dict) -> list[tuple[str, float]]:
        values = doc["explanations"]["kernel_shap"][EXPLAIN_LABEL]["global_shap_values"]
        return sorted(values.items(), key=lambda kv: -abs(kv[1]))

    base = ranking(json.loads((baseline / "analysis.json").read_text()))
    print(f"\n=== {ENDPOINT}: schedule {EXPLAIN_SCHEDULE} (KernelSHAP, mean |SHAP value| per feature) ===\n")
    print("baseline (the training set): " + ", ".join(f"{f} {v:.4f}" for f, v in base))
    ok = True
    for hour, output in outputs.items():
        summary = json.loads((output / "run_summary.json").read_text())
        ranked = ranking(json.loads((output / "analysis.json").read_text()))
        violations = (json.loads((output / "constraint_violations.json").read_text())["violations"]
                      if (output / "constraint_violations.json").exists() else [])
        score = summary["ndcg"][EXPLAIN_LABEL]
        what = "healthy traffic" if hour != OUTAGE_HOUR else OUTAGE.headline
        print(f"\n{hour:02d}:00-{hour + 1:02d}:00 {what}: {summary['records_explained']:,} of "
              f"{summary['records_to_explain']:,} requests explained, NDCG {score:.4f} (threshold "
              f"{summary['threshold']}) — " + (violations[0]["description"] if violations else "no violation"))
        print("  ranking: " + ", ".join(f"{f} {v:.4f}" for f, v in ranked))
        ok &= bool(violations) == EXPLAIN_EXPECTED[hour] and all(
            v["constraint_check_type"] == "feature_attribution_drift_check" for v in violations)
    print(f"\n{OUTAGE_HOUR}:00: the model still answers, its data-quality checks would see one feature drift — the "
          "attributions\n       show what it means for the model: its strongest signal is gone, the ranking "
          "turned over")
    first = outputs[min(outputs)]
    print(f"\nrequests:         {capture}/{ENDPOINT}/{VARIANT}/{DAY:%Y/%m/%d}/<hh>/*.jsonl (the features taken by "
          "name: the\n                  analysis config's headers)")
    print(f"runs:             {first.parent}/<hh>/{{analysis.json, constraint_violations.json, report.html, "
          "run_summary.json, explanations_shap/, cloudwatch/}")
    if not ok:
        print("\nthe model-explainability runs did not show what the story expected", file=sys.stderr)
    return ok


def main() -> int:
    from monitor_lib.cli import main as cli

    data = OUT / "data" / "train.csv"
    data.parent.mkdir(parents=True, exist_ok=True)
    credit_default().to_csv(data, index=False)
    print(f"generated {data} ({BASELINE_ROWS:,} rows, 9 columns)\n")
    baseline = OUT / "baseline"
    code = cli(["baseline", "--dataset", str(data), "--format", "csv", "--header", "--output", str(baseline)])
    if code:
        return code
    print_baseline(baseline)

    capture_root, monitoring_root = OUT / "capture", OUT / "monitoring"
    ground_truth, quality_root = OUT / "ground-truth", OUT / "monitoring-model-quality"
    bias_root, explain_root = OUT / "monitoring-model-bias", OUT / "monitoring-model-explainability"
    for stale in (capture_root, monitoring_root, ground_truth, quality_root, bias_root, explain_root):
        shutil.rmtree(stale, ignore_errors=True)  # the demo owns these folders
    capture_files = {}
    for h in STORY:
        capture_files[h.hour] = write_capture_hour(hour_traffic(h), capture_root, h.start,
                                                   broken_lines=h.broken_lines, seed=h.hour)
    print(f"\nwrote {len(STORY)} hours of data capture ({RECORDS_PER_HOUR:,} requests an hour) under {capture_root}\n")

    results = []
    for h in STORY:
        output = hourly_output(monitoring_root, h.start)
        print(f"\n--- monitoring run {h.start:%Y-%m-%d %H:%M}-{h.start + timedelta(hours=1):%H:%M} UTC "
              f"(schedule {SCHEDULE}) ---")
        code = cli(monitor_args(capture_root, baseline, h.start, output))
        if code:
            print(f"monitoring run for {h.start:%Y-%m-%d %H:00} failed (exit {code})", file=sys.stderr)
            return code
        results.append(read_hour_result(h, output))
    print_story(results, capture_root, monitoring_root)
    if publishes_to_cloudwatch():
        print_cloudwatch(results)
    story_ok = all(r.found == r.story.expected for r in results)

    # model quality: baseline from a labelled validation set, labels a day later, one run per hour
    validation = OUT / "data" / "validation.csv"
    validation_set().to_csv(validation, index=False)
    mq_baseline = OUT / "model-quality-baseline"
    print(f"\n--- model-quality baseline of {validation} ({VALIDATION_ROWS:,} labelled predictions) ---")
    code = cli(["baseline", "--type", "model-quality", "--problem-type", "BinaryClassification",
                "--dataset", str(validation), "--format", "csv", "--header", "--inference-attribute", "prediction",
                "--ground-truth-attribute", "label", "--output", str(mq_baseline)])
    if code:
        return code
    for h in STORY:
        write_story_labels(h, capture_files[h.hour], ground_truth)
    print(f"\nuploaded the ground-truth labels of the {len(STORY)} hours under {ground_truth} "
          f"({(DAY + LABEL_DELAY):%Y-%m-%d}, a day after the predictions)")
    outputs = {}
    for h in STORY:
        output = hourly_output(quality_root, h.start, schedule=MQ_SCHEDULE)
        print(f"\n--- model-quality run {h.start:%Y-%m-%d %H:%M}-{h.start + timedelta(hours=1):%H:%M} UTC "
              f"(schedule {MQ_SCHEDULE}) ---")
        code = cli(model_quality_args(capture_root, ground_truth, mq_baseline, h.start, output))
        if code:
            print(f"model-quality run for {h.start:%Y-%m-%d %H:00} failed (exit {code})", file=sys.stderr)
            return code
        outputs[h.hour] = output
    quality_ok = print_model_quality(mq_baseline, outputs)

    # model bias: the validation set with its applicants' features, then the same capture and labels
    bias_data, bias_config = OUT / "data" / "validation-features.csv", OUT / "data" / "analysis_config.json"
    bias_validation_set().to_csv(bias_data, index=False)
    bias_config.write_text(json.dumps(bias_analysis_config(), indent=2) + "\n", encoding="utf-8")
    bias_baseline = OUT / "model-bias-baseline"
    print(f"\n--- model-bias baseline of {bias_data} (facet {FACET} = {FACET_VALUE}, config {bias_config}) ---")
    code = cli(model_bias_baseline_args(bias_data, bias_config, bias_baseline))
    if code:
        return code
    bias_outputs = {}
    for h in (h for h in STORY if h.hour in BIAS_HOURS):
        output = hourly_output(bias_root, h.start, schedule=BIAS_SCHEDULE)
        print(f"\n--- model-bias run {h.start:%Y-%m-%d %H:%M}-{h.start + timedelta(hours=1):%H:%M} UTC "
              f"(schedule {BIAS_SCHEDULE}) ---")
        code = cli(model_bias_args(capture_root, ground_truth, bias_config, bias_baseline, h.start, output))
        if code:
            print(f"model-bias run for {h.start:%Y-%m-%d %H:00} failed (exit {code})", file=sys.stderr)
            return code
        bias_outputs[h.hour] = output
    bias_ok = print_model_bias(bias_baseline, bias_outputs, outputs, capture_root)

    # feature attribution: a model trained on the training set, explained at 10:00 and during an outage
    frame = credit_default()
    model_path, explain_config = OUT / "model" / "model.joblib", OUT / "data" / "explainability_config.json"
    model_path.parent.mkdir(parents=True, exist_ok=True)
    import joblib

    joblib.dump(train_explained_model(frame), model_path)
    explain_config.write_text(json.dumps(explain_analysis_config(model_path), indent=2) + "\n", encoding="utf-8")
    write_capture_hour(hour_traffic(OUTAGE), capture_root, OUTAGE.start, seed=OUTAGE.hour)
    explain_baseline = OUT / "model-explainability-baseline"
    print(f"\n--- model-explainability baseline of {data} (model {model_path}, config {explain_config}) ---")
    code = cli(model_explainability_baseline_args(data, explain_config, explain_baseline))
    if code:
        return code
    explain_outputs = {}
    for h in (h for h in (*STORY, OUTAGE) if h.hour in EXPLAIN_HOURS):
        output = hourly_output(explain_root, h.start, schedule=EXPLAIN_SCHEDULE)
        print(f"\n--- model-explainability run {h.start:%Y-%m-%d %H:%M}-{h.start + timedelta(hours=1):%H:%M} UTC "
              f"(schedule {EXPLAIN_SCHEDULE}) ---")
        code = cli(model_explainability_args(capture_root, explain_config, explain_baseline, h.start, output))
        if code:
            print(f"model-explainability run for {h.start:%Y-%m-%d %H:00} failed (exit {code})", file=sys.stderr)
            return code
        explain_outputs[h.hour] = output
    explain_ok = print_model_explainability(explain_baseline, explain_outputs, capture_root)

    print("\n--- the history of the four schedules (model-monitor report) ---")
    for root in (monitoring_root, quality_root, bias_root, explain_root):
        code = cli(["report", str(root)])
        if code:
            return code
    worst = hourly_output(monitoring_root, STORY[-1].start)
    print(f"\nopen in a browser: {monitoring_root / 'history.html'}\n"
          f"                   {quality_root / 'history.html'}\n"
          f"                   {bias_root / 'history.html'}\n"
          f"                   {explain_root / 'history.html'}\n"
          f"                   {worst / 'report.html'} (one run; every run has its own)")
    return 0 if story_ok and quality_ok and bias_ok and explain_ok else 1


if __name__ == "__main__":
    sys.exit(main())
