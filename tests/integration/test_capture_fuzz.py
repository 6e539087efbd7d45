"""Issue 17, "What it must show": a property-based fuzz of the capture reader and the data-quality monitoring
run. Hypothesis (derandomized, bounded) generates capture files mixing good records with the issue's mutations
and random bytes; every file goes through a real monitoring run on the shared SparkSession, and:

* the run ends with a documented status (Completed, CompletedWithViolations, NoData, Failed — which one
  follows from the good and rejected records generated);
* profiled + sum(rejected) + sum(skipped) == the lines read, counted here in Python (each generated line
  holds at most one record);
* every deterministic mutation lands in its own kind (lines of random / gzip bytes may land in any kind);
* completeness of every feature is within [0, 1], and the statistics of the good records (count, missing,
  mean, sum, min, max of the numeric features; present / missing of the string feature) equal pandas on the
  records generated.

Lines over MAX_LINE_BYTES (16 MiB, a module constant, not a parameter) are left to test_capture_accounting.py.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from helpers import capture_line, simple_constraints
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor_lib.formats.statistics import read_statistics
from monitor_lib.runner import run_job

NAMES = ["label", "x", "y", "c"]  # label: the endpoint output (CSV, START); x, y, c: the JSON request's keys
WINDOW = {"start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z"}
FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'
JS = {"in_encoding": "JSON", "in_type": "application/json"}
STATUSES = {"Completed", "CompletedWithViolations", "NoData", "Failed"}
EXAMPLES = 30
TALLY: Counter = Counter()  # over the whole fuzz run: files, lines, mutations and outcomes (printed at the end)

# each deterministic mutation and the kind its line must land in
MUTATION_KIND = {
    "duplicate_key": ("rejected", "duplicate_key"),
    "name_collision": ("rejected", "duplicate_key"),
    "blank": ("skipped", "blank_line"),
    "invalid_utf8": ("rejected", "invalid_utf8"),
    "truncated": ("rejected", "malformed_json"),
    "missing_time": ("rejected", "missing_inference_time"),
    "outside_window": ("skipped", "outside_window"),
    "shadow": ("skipped", "shadow_experiment"),
    "wrong_field_count": ("rejected", "wrong_field_count"),
    "deep": ("rejected", "too_deeply_nested"),
    "non_object": ("rejected", "malformed_json"),
    "not_capture": ("rejected", "not_a_capture_record"),
    "malformed_payload": ("rejected", "malformed_payload"),
}
RANDOM = ("gzip_bytes", "random_bytes")  # any number of lines of any kind

numbers = st.integers(-10**9, 10**9).map(lambda v: v / 1000)
record = st.fixed_dictionaries(
    {"label": numbers},
    optional={"x": st.one_of(st.none(), numbers), "y": st.one_of(st.none(), st.integers(-10**6, 10**6)),
              "c": st.one_of(st.none(), st.text("abcdeé漢", min_size=1, max_size=5)),
              "extra": st.integers(0, 9)})
item = st.one_of(
    st.tuples(st.just("good"), record),
    st.tuples(st.sampled_from(sorted(MUTATION_KIND) + list(RANDOM)), record, st.binary(max_size=40),
              st.integers(1, 1 << 30)),
)
SKIPPED_ONLY = ("blank", "outside_window", "shadow")


def _flavour(args: tuple[list[list[tuple]], str]) -> list[list[tuple]]:
    """Most files mix everything; some hold no good record (a Failed window when something was rejected), some
    only skipped lines (NoData)."""
    files, flavour = args
    if flavour == "no_good":
        return [[it for it in items if it[0] != "good"] for items in files]
    if flavour == "skipped_only":
        return [[it for it in items if it[0] in SKIPPED_ONLY] for items in files]
    return files


capture_files = st.tuples(st.lists(st.lists(item, min_size=12, max_size=80), min_size=1, max_size=3),
                          st.sampled_from(["mixed", "no_good", "skipped_only", "mixed"])).map(_flavour)


def when(i: int) -> str:
    return f"2026-11-20T10:{i % 60:02d}:{i % 7:02d}Z"


def good_line(rec: dict, i: int, **meta) -> str:
    request = {k: v for k, v in rec.items() if k != "label"}
    return capture_line(json.dumps(request, ensure_ascii=False), repr(rec["label"]), when(i), **JS, **meta)


def mutated(kind: str, rec: dict, raw: bytes, n: int, i: int) -> bytes:
    """The bytes of one mutated line (several lines for gzip / random bytes; no line terminator at the end)."""
    line = good_line(rec, i)
    if kind == "duplicate_key":
        request = json.dumps({k: v for k, v in rec.items() if k != "label"} | {"x": 1.0})
        payload = request[:-1] + ', "x": "dup"}'
        return capture_line(payload, repr(rec["label"]), when(i), **JS).encode()
    if kind == "name_collision":  # the output's second value is named x, like the request's key
        return capture_line(json.dumps({"x": 1.5}), f"{rec['label']!r},7", when(i), **JS).encode()
    if kind == "blank":
        return [b"", b" ", b"\t", b"  \t "][n % 4]
    if kind == "invalid_utf8":
        cut = n % len(line)
        return line[:cut].encode() + b"\xff\xfe" + line[cut:].encode()
    if kind == "truncated":
        return line[:1 + n % (len(line) - 1)].rstrip().encode() or b"{"
    if kind == "missing_time":
        doc = json.loads(line)
        del doc["eventMetadata"]["inferenceTime"]
        return json.dumps(doc).encode()
    if kind == "outside_window":
        return good_line(rec, i).replace("2026-11-20T10:", "2026-11-20T1" + "12345"[n % 5] + ":").encode() \
            if n % 2 else capture_line("1", "2", "2026-11-19T10:00:00Z").encode()
    if kind == "shadow":
        return good_line(rec, i, invocationSource="ShadowExperiment").encode()
    if kind == "wrong_field_count":  # one positional part with more values than there are names
        return capture_line(json.dumps({"x": 1}), ",".join(["1"] * (len(NAMES) + 1 + n % 3)), when(i),
                            **JS).encode()
    if kind == "deep":
        depth = 1001 + n % 600
        return (line[:-1] + ', "d": ' + "[" * depth + "]" * depth + "}").encode()
    if kind == "non_object":
        return ["[1, 2]", "42", '"text"', "null", "true", "[" + line + "]"][n % 6].encode()
    if kind == "not_capture":
        return json.dumps({"eventMetadata": {"inferenceTime": when(i)}, "n": n}).encode()
    if kind == "malformed_payload":
        return capture_line('{"x": [1, 2}', repr(rec["label"]), when(i), **JS).encode()
    if kind == "gzip_bytes":
        return gzip.compress((line + "\n" + good_line(rec, i + 1) + "\n").encode(), mtime=0)
    assert kind == "random_bytes"
    return raw


def build(files: list[list[tuple]], root: Path) -> tuple[list[dict], Counter, int, int]:
    """Write the capture files; (good records, expected lines by (outcome, kind), random lines, lines read)."""
    good: list[dict] = []
    expected: Counter = Counter()
    random_lines = total = 0
    folder = root / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    folder.mkdir(parents=True)
    i = 0
    for f, items in enumerate(files):
        chunks = []
        for it in items:
            i += 1
            TALLY[f"mutation {it[0]}"] += 1
            if it[0] == "good":
                good.append(it[1])
                chunks.append(good_line(it[1], i).encode())
                continue
            kind, rec, raw, n = it
            data = mutated(kind, rec, raw, n, i)
            chunks.append(data)
            if kind in RANDOM:
                random_lines += len((data + b"\n").splitlines())
            else:
                assert len((data + b"\n").splitlines()) == 1
                expected[MUTATION_KIND[kind]] += 1
        content = b"".join(c + b"\n" for c in chunks)
        total += len(content.splitlines())  # as Hadoop's reader splits: \n, \r\n, \r
        name = f"part-{f}.jsonl"
        if f == 1:  # one real gzip file: Spark gunzips .gz captures
            (folder / (name + ".gz")).write_bytes(gzip.compress(content, mtime=0))
        else:
            (folder / name).write_bytes(content)
    TALLY["files"] += len(files)
    TALLY["lines"] += total
    return good, expected, random_lines, total


def check_statistics(statistics_path: Path, good: list[dict]) -> None:
    stats = read_statistics(statistics_path)
    assert stats.item_count == len(good)
    truth = pd.DataFrame(good, columns=["label", "x", "y", "c", "extra"])
    for f in stats.features:
        part = f.numerical or f.string
        assert part.num_present + part.num_missing == len(good)
        assert 0.0 <= part.num_present / len(good) <= 1.0  # completeness
    for name in ("label", "x", "y"):
        values = truth[name].dropna().astype(float)
        f = stats.feature(name)
        if values.empty:
            assert f is None or (f.numerical or f.string).num_present == 0
            continue
        num = f.numerical
        assert num is not None, (name, f)
        assert (num.num_present, num.num_missing) == (len(values), len(good) - len(values))
        assert math.isclose(num.sum, values.sum(), rel_tol=1e-9, abs_tol=1e-6)
        assert math.isclose(num.mean, values.mean(), rel_tol=1e-9, abs_tol=1e-6)
        assert (num.min, num.max) == (values.min(), values.max())
    strings = truth["c"].dropna()
    f = stats.feature("c")
    if strings.empty:
        assert f is None or (f.numerical or f.string).num_present == 0
    else:
        assert (f.string.num_present, f.string.num_missing) == (len(strings), len(good) - len(strings))
        if f.string.buckets:
            assert {b.value: b.count for b in f.string.buckets} == strings.value_counts().to_dict()


@pytest.fixture(scope="module", autouse=True)
def tally():
    """The fuzz run's size and outcomes, printed once after it (``pytest -s`` shows them)."""
    yield TALLY
    print("\ncapture fuzz: " + ", ".join(f"{k}: {v}" for k, v in sorted(TALLY.items())))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-baseline") / "constraints.json"
    path.write_text(json.dumps(simple_constraints(NAMES)))
    return path


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files=capture_files)
def test_fuzzed_capture_files_are_accounted_exactly(spark, tmp_path_factory, baseline, files):
    root = tmp_path_factory.mktemp("fuzz")
    good, expected, random_lines, total = build(files, root / "capture")
    outcome = run_job("data-quality", {"dataset_source": str(root / "capture"), "dataset_format": FORMAT,
                                       "output_path": str(root / "out"), "baseline_constraints": str(baseline),
                                       **WINDOW}, spark=spark)
    TALLY[f"status {outcome.status}"] += 1
    for kind, n in outcome.rejected.items():
        TALLY[f"rejected {kind}"] += n
    for kind, n in outcome.skipped.items():
        TALLY[f"skipped {kind}"] += n
    TALLY["profiled"] += outcome.records
    summary = json.loads((root / "out" / "run_summary.json").read_text())
    assert summary["status"] == outcome.status in STATUSES
    # every line read ends in exactly one of profiled / rejected / skipped
    assert outcome.records == len(good)
    assert outcome.records + sum(outcome.rejected.values()) + sum(outcome.skipped.values()) == total
    got = Counter({("rejected", k): v for k, v in outcome.rejected.items()}
                  | {("skipped", k): v for k, v in outcome.skipped.items()})
    assert all(got[k] >= n for k, n in expected.items()), (got, expected)
    assert sum(got.values()) - sum(expected.values()) == random_lines
    # the status follows from what was generated
    if outcome.rejected and not good:
        assert outcome.status == "Failed" and (root / "out" / "statistics.json").exists() is False
    elif not good:
        assert outcome.status == "NoData"
    else:
        assert outcome.status in ("Completed", "CompletedWithViolations")
        check_statistics(root / "out" / "statistics.json", good)

