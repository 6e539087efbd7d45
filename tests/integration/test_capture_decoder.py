"""Issue 18, item 3: the capture decoder's fast path gives exactly the entries of the stages.

One capture file mixes lines the fast path decodes (plain CSV payloads, JSON objects by key, JSON scalars) with
lines next to its edges (quotes, empty fields, line breaks, wrappers, duplicate keys, name collisions, wrong
field counts, other encodings) and a line of every reject and skip kind. Each line goes through
``capture_entries`` twice — the fast path on, and off (the whole ``CAPTURE_SCHEMA`` and every stage: the
decoder as it was before the fast path) — and the entries of every line must be equal, in order; so must the
counts by kind. Which lines the fast path takes is asserted too (it must take the common shapes, and no line
whose outcome is not a profiled record). The same for a spec with the outputs at the END, one with the input
part only, and one with per-row window bounds (a backfill).

Reference: the stages (``fast=False``), themselves pinned by test_capture_accounting.py, test_capture_fuzz.py and
the monitoring tests; and the expected kind of each line, written here.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import capture_line

from monitor_lib.io import capture as cap
from monitor_lib.io import capture_stages as stage
from monitor_lib.io.dataset_format import DatasetFormat

NAMES = ("label", "x", "y", "c")
START, END = datetime(2026, 11, 20, 10, tzinfo=UTC), datetime(2026, 11, 20, 11, tzinfo=UTC)
JS = {"in_encoding": "JSON", "in_type": "application/json", "out_encoding": "JSON", "out_type": "application/json"}
RECORD = "record"


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# (line, expected outcome with NAMES and output START: "record" or the kind, fast: whether the fast path takes it)
CASES: list[tuple[str | bytes, str | None, bool]] = [
    # CSV payloads: plain one-line records take the fast path
    (capture_line("1,2,a", "0.5"), RECORD, True),
    (capture_line("1.5,-2e3,漢字é", "1"), RECORD, True),
    (capture_line(" 1, 2 ,a b ", " 0.5 "), RECORD, True),  # spaces around the payload trimmed, inside kept
    (capture_line("nan,inf,null", "NaN"), RECORD, True),
    (capture_line("1,,a", "0.5"), RECORD, False),  # an empty field: from_csv's null
    (capture_line(",2,a", "0.5"), RECORD, False),
    (capture_line("1,2,", "0.5"), RECORD, False),
    (capture_line('1,"2,5",a', "0.5"), RECORD, False),  # quoted field
    (capture_line('1,2,"a"', "0.5"), RECORD, False),
    (capture_line("1,2\\,a", "0.5"), None, False),  # a backslash
    (capture_line("1,2\ta,b", "0.5"), RECORD, False),  # a tab
    (capture_line("1,2,a\n", "0.5"), RECORD, False),  # a trailing newline
    (capture_line("1,2,a\r\n", "0.5"), RECORD, False),
    (capture_line("1,2,a\n3,4,b", "0.5\n0.6"), RECORD, False),  # two records
    (capture_line("1,2,a\n3,4,b", "0.5"), "record_count_mismatch", False),
    (capture_line("1,2", "0.5"), "wrong_field_count", False),
    (capture_line("1,2,a,b", "0.5"), "wrong_field_count", False),
    (capture_line("1,2,a,b,c,d,e", "0.5"), "wrong_field_count", False),
    (capture_line("1,2,a", "0.5,0.7"), "wrong_field_count", False),
    (capture_line("1,2,a", ""), "record_count_mismatch", False),  # empty output: no record there
    (capture_line("", ""), "empty_payload", False),
    (capture_line("   ", "0.5"), "record_count_mismatch", False),
    (capture_line("1,2,a", None), RECORD, False),  # output absent (mode Input): the inputs take the last names
    (capture_line("1,2,a", "0.5", out_type="text/csv; charset=utf-8"), RECORD, True),
    (capture_line("1,2,a", "0.5", in_type="application/json"), RECORD, True),  # CSV encoding: CSV whatever the type
    (capture_line("1,2,a", "0.5", in_encoding="csv "), RECORD, True),  # encoding trimmed, upper-cased
    # JSON payloads: an object by key and a scalar take the fast path
    (capture_line('{"x": 1, "y": 2.50, "c": "a"}', "0.5", **JS), RECORD, True),
    (capture_line('{"x": 1e5, "y": -0, "c": true, "z": null}', " 7 ", **JS), RECORD, True),
    (capture_line('{"x": {"n": [1, 2]}, "y": [3], "c": "é"}', '"yes"', **JS), RECORD, True),
    (capture_line('{"x": 12345678901234567890123, "y": 1.0E-7}', "0.25", **JS), RECORD, True),
    (capture_line('  {"x": 1}  ', "0.5", **JS), RECORD, True),
    (capture_line('{"x": 1}', "1, 2", **JS), "duplicate_key", False),  # two output values: label, x; x twice
    (capture_line('{"y": 1}', "1, 2", **JS), RECORD, True),
    (capture_line('{"x": 1}', "", **JS), RECORD, True),  # an empty scalar: a record without values
    (capture_line("{}", "0.5", **JS), RECORD, True),
    (capture_line('{"x": 1, "x": 2}', "0.5", **JS), "duplicate_key", False),
    (capture_line('{"label": 1, "x": 2}', "0.5", **JS), "duplicate_key", False),  # label named twice
    (capture_line('{"features": [1, 2, "a"]}', "0.5", **JS), RECORD, False),  # the algorithms' positional object
    (capture_line('{"features": 3}', "0.5", **JS), RECORD, True),  # ... only when it holds an array
    (capture_line('{"features": [1, 2, "a"], "x": 1}', "0.5", **JS), RECORD, True),
    (capture_line('{"instances": [{"x": 1}, {"x": 2}]}', '{"predictions": [0.5, 0.6]}', **JS), RECORD, False),
    (capture_line('{"instances": [{"x": 1}, {"x": 2}]}', "[0.5, 0.6]", **JS), "record_count_mismatch", False),
    (capture_line('{"inputs": {"x": 1}}', "0.5", **JS), RECORD, False),
    (capture_line('{"\\u0069nstances": [{"x": 1}]}', "0.5", **JS), RECORD, False),  # an escaped wrapper key
    (capture_line('{"x": 1, "outputs": null}', "0.5", **JS), RECORD, False),
    (capture_line("[1, 2, 3]", "0.5", **JS), RECORD, False),  # a bare array
    (capture_line('[{"x": 1}, {"x": 2}]', '{"predictions": [0.5, 0.6]}', **JS), RECORD, False),
    (capture_line('{"x": 1,}', "0.5", **JS), "malformed_payload", False),
    (capture_line('{"x": 1} {"y": 2}', "0.5", **JS), RECORD, True),  # trailing text: from_json reads the object
    (capture_line('{"x": 1}', "0.5 0.6", **JS), "malformed_payload", False),
    (capture_line('{"x": 1}', "abc", **JS), "malformed_payload", False),
    (capture_line('{"x": ' + _deep(1200) + "}", "0.5", **JS), "too_deeply_nested", False),
    (capture_line('{"x": 1}', "0.5", in_encoding="JSON", in_type="application/jsonlines", out_encoding="JSON",
                  out_type="application/json"), RECORD, False),  # JSON Lines
    (capture_line('{"x": 1}\n{"x": 2}', "0.5\n0.6", in_encoding="JSON", in_type="application/jsonlines",
                  out_encoding="JSON", out_type="application/jsonlines"), RECORD, False),
    (capture_line('{"x": 1}', "0.5", in_encoding="JSON", in_type="text/csv"), RECORD, True),  # JSON by encoding
    (capture_line('{"x": 1}', "0.5", in_encoding="JSON", in_type="text/csv", out_encoding="JSON"), RECORD, True),
    # other encodings
    (capture_line(base64.b64encode(b"1,2,a").decode(), "0.5", in_encoding="BASE64"), RECORD, False),
    (capture_line(base64.b64encode(b"1,2,a").decode(), "0.5", in_encoding="BASE64", in_type="image/png"),
     "unsupported_content_type", False),
    (capture_line("!!!", "0.5", in_encoding="BASE64"), "invalid_base64", False),
    (capture_line(base64.b64encode(b"\xff\xfe").decode(), "0.5", in_encoding="BASE64"), "invalid_utf8", False),
    (capture_line("1,2,a", "0.5", in_encoding="GZIP"), "unsupported_encoding", False),
    # line verdicts: never the fast path
    ("", "blank_line", False),
    ("  \t ", "blank_line", False),
    ("not json", "malformed_json", False),
    ('{"captureData": ', "malformed_json", False),
    (" " + capture_line("1,2,a", "0.5"), RECORD, True),  # leading spaces: still an object line
    ("\t" + capture_line("1,2,a", "0.5"), "malformed_json", False),  # ... a leading tab is not
    ("[" + capture_line("1,2,a", "0.5") + "]", "malformed_json", False),
    (_deep(1500), "too_deeply_nested", False),
    ('{"eventMetadata": {"inferenceTime": "2026-11-20T10:15:00Z"}}', "not_a_capture_record", False),
    (capture_line("1,2,a", "0.5", invocationSource="ShadowExperiment"), "shadow_experiment", False),
    (capture_line("1,2,a", "0.5", time=None), "missing_inference_time", False),
    (capture_line("1,2,a", "0.5", time="yesterday"), "missing_inference_time", False),
    (capture_line("1,2,a", "0.5", time="2026-11-20T09:59:59Z"), "outside_window", False),
    (capture_line("1,2,a", "0.5", time="2026-11-20T11:00:00Z"), "outside_window", False),
    (capture_line("1,2,a", "0.5", time="2026-11-20T10:59:59.999999Z"), RECORD, True),
    (capture_line("1,2,a", "0.5", time="2026-11-20T12:15:00+02:00"), RECORD, True),
    # the envelope: fields the narrow schema leaves out, in any shape, change nothing
    (capture_line("1,2,a", "0.5", event_id={"nested": [1, 2]}), RECORD, True),  # type: ignore[arg-type]
    (capture_line("1,2,a", "0.5").replace('"mode": "INPUT"', '"mode": 5'), RECORD, True),
    (capture_line("1,2,a", "0.5").replace('"eventVersion": "0"', '"eventVersion": {"v": ' + _deep(990) + "}"),
     RECORD, True),
    (capture_line("1,2,a", "0.5").replace('"eventVersion": "0"', '"eventVersion": ' + _deep(1200)),
     "too_deeply_nested", False),
    (capture_line("1,2,a", "0.5").replace('"data": "1,2,a"', '"data": "9,9,z", "data": "1,2,a"'), RECORD, True),
    (capture_line("1,2,a", "0.5").replace('"eventVersion": "0"', '"eventMetadata": 5'), "malformed_json", False),
    (capture_line("1,2,a", "0.5").replace('"data": "0.5"', '"data": 0.5'), RECORD, True),  # a number as data
    (capture_line("1,2,a", "0.5").replace('"encoding": "CSV"}, "endpointOutput"', '"encoding": null}, '
                                          '"endpointOutput"'), "unsupported_encoding", False),
    (capture_line("1,2,a", "0.5").replace('"data": "1,2,a", ', ""), "malformed_payload", False),
    (capture_line("1,2,a", "0.5").encode().replace(b"1,2,a", b"1,2,\xff"), "invalid_utf8", False),  # bytes
]


def _write(tmp: Path) -> Path:
    """The cases as one capture file, a line a line (a bytes case as its bytes)."""
    path = tmp / "capture.jsonl"
    with open(path, "wb") as fh:
        for line, *_ in CASES:
            fh.write((line if isinstance(line, bytes) else line.encode("utf-8")) + b"\n")
    return path


def _spec(position: str = "START", parts: tuple[str, ...] = ("endpointInput", "endpointOutput"), bounds=None):
    fmt = DatasetFormat.parse({"sagemakerCaptureJson": {"captureIndexNames": list(parts)}})
    fmt = fmt.__class__(**{**fmt.__dict__, "output_columns_position": position})
    return cap.CaptureSpec(NAMES, fmt, START, END, bounds)


def _entries(spark, path: Path, spec, fast: bool, carry=()):
    from pyspark.sql import functions as F

    lines = _lines(spark, path)
    out = cap.capture_entries(lines, spec, carry, fast=fast)
    rows = out.select("i", F.to_json("entries").alias("e")).collect()
    return {r["i"]: r["e"] for r in rows}


def _lines(spark, path: Path):
    from pyspark.sql import functions as F

    lines = cap.read_capture_lines(spark, [str(path)])
    # the line's index as a carried column (one file, one partition: the file order)
    lines = lines.coalesce(1).select("line", "file", F.monotonically_increasing_id().alias("i"),
                                     F.lit(stage._micros(START)).alias("lo"), F.lit(stage._micros(END)).alias("hi"))
    return lines


def _fast_lines(spark, path: Path, spec) -> set[int]:
    """The lines whose entries come from the fast path (the stages capture_entries chains, up to fast_entries)."""
    from pyspark.sql import functions as F

    parts = {"in": "endpointInput", "out": "endpointOutput"}
    chosen = [p for p, name in parts.items() if name in spec.parts]
    carry = ("i", "lo", "hi")
    df = stage.parse_lines(_lines(spark, path), carry, stage.ENTRY_SCHEMA)
    j = F.col("j")
    df = df.select("i", stage.line_verdict(spec, j).alias("verdict"),
                   *[c for p in chosen for c in stage.part_fields(p, j["captureData"][parts[p]])])
    df = df.select("i", "verdict", *[c for p in chosen for c in stage.fast_kind(p)])
    df = df.select("i", "verdict", *[c for p in chosen for c in stage.fast_parse(p)])
    df = df.select("i", "verdict", *[c for p in chosen for c in stage.fast_part(p)])
    df = df.select("i", *stage.fast_pairs(spec, chosen))
    df = df.select("i", stage.fast_entries().alias("fast"))
    return {r["i"] for r in df.where(F.col("fast").isNotNull()).collect()}


def _outcome(entries_json: str) -> list[str]:
    return [e["c"].lstrip("\x00").split(":")[-1] for e in json.loads(entries_json) if e["c"].startswith("\x00")]


@pytest.fixture(scope="module")
def capture_file(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("decoder"))


def test_fast_path_entries_equal_the_stages_line_by_line(spark, capture_file):
    spec = _spec()
    fast = _entries(spark, capture_file, spec, True, ("i",))
    ref = _entries(spark, capture_file, spec, False, ("i",))
    assert len(fast) == len(ref) == len(CASES)
    for i, (line, kind, _) in enumerate(CASES):
        assert fast[i] == ref[i], f"line {i}: {line[:120]!r}"
        if kind is not None:
            assert _outcome(ref[i]) and set(_outcome(ref[i])) == {kind}, f"line {i}: {_outcome(ref[i])} != {kind}"
    # the named values of a fast CSV line and a fast JSON line, written out
    assert json.loads(fast[0]) == [{"c": stage.RECORD}, {"c": "label", "s": "0.5"}, {"c": "x", "s": "1"},
                                   {"c": "y", "s": "2"}, {"c": "c", "s": "a"}]
    json_line = next(i for i, (line, *_) in enumerate(CASES) if isinstance(line, str) and "2.50" in line)
    assert json.loads(fast[json_line]) == [{"c": stage.RECORD}, {"c": "label", "s": "0.5"}, {"c": "x", "s": "1"},
                                           {"c": "y", "s": "2.5"}, {"c": "c", "s": "a"}]


def test_fast_path_takes_the_common_lines_and_no_other(spark, capture_file):
    taken = _fast_lines(spark, capture_file, _spec())
    expected = {i for i, (_, _, fast) in enumerate(CASES) if fast}
    assert taken == expected, {"unexpected": sorted(taken - expected), "missed": sorted(expected - taken)}


# Two of the other shapes (each case decodes the file twice): one part alone, and the backfill's per-row window
# bounds; the output at the END and the output part alone run through the same naming code as these.
@pytest.mark.parametrize("spec", [
    _spec(parts=("endpointInput",)),
    _spec(bounds=("lo", "hi")),
], ids=["input-only", "per-row-bounds"])
def test_fast_path_equals_the_stages_for_other_specs(spark, capture_file, spec):
    fast = _entries(spark, capture_file, spec, True, ("i", "lo", "hi"))
    ref = _entries(spark, capture_file, spec, False, ("i", "lo", "hi"))
    assert fast == ref
    assert _fast_lines(spark, capture_file, spec)  # the fast path is used here too
