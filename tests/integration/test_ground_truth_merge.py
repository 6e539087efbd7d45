"""The ground-truth merge (SageMaker's groundtruth-merger job) in Spark: join keys, late labels, windows,
duplicates, bad input by kind, the merged files' layout and content, and the real SDK samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from helpers import FIXTURES, capture_line

from monitor_lib.quality.merge import merge_window, write_merged_records

SDK = FIXTURES / "sdk-capture-and-groundtruth-samples"
START = datetime(2026, 11, 20, 10, tzinfo=UTC)
END = datetime(2026, 11, 20, 11, tzinfo=UTC)
HOUR10 = ("ep", "AllTraffic", "2026", "11", "20", "10")


def _write(folder: Path, name: str, lines: list[str] | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(lines, bytes):
        path.write_bytes(lines)
    else:
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _label(event_id: str | None, data: str | None = "1", **extra) -> str:
    """One ground-truth record (spec §2.1)."""
    record: dict = {"eventVersion": "0"}
    if data is not None:
        record["groundTruthData"] = {"data": data, "encoding": "CSV"}
    record["eventMetadata"] = {} if event_id is None else {"eventId": event_id}
    record.update(extra)
    return json.dumps(record)


def _cap(event_id: str, out: str = "0.5", time: str = "2026-11-20T10:15:00Z", **meta) -> str:
    return capture_line("1,2", out, time, event_id=event_id, **meta)


def _merged(outcome) -> dict[str, dict]:
    """The merged records by their capture eventId."""
    rows = outcome.merged.collect()
    records = [json.loads(r["line"]) for r in rows]
    return {r["eventMetadata"]["eventId"]: r for r in records}


def _run(spark, cap: Path, gt: Path, start=START, end=END):
    outcome = merge_window(spark, str(cap), str(gt), start, end)
    return outcome


def test_join_on_inference_id_when_present_else_event_id(spark, tmp_path):
    cap, gt = tmp_path / "capture", tmp_path / "gt"
    captures = [
        _cap("e1", "0.1", inferenceId="i1"),   # label uses the inferenceId -> match
        _cap("e2", "0.2", inferenceId="i2"),   # label uses the eventId -> no match
        _cap("e3", "0.3"),                     # no inferenceId, label uses the eventId -> match
        _cap("e4", "0.4", inferenceId=""),     # empty inferenceId counts as absent -> eventId
    ]
    _write(cap.joinpath(*HOUR10), "a.jsonl", captures)
    _write(gt / "2026" / "11" / "20" / "12", "g.jsonl",
           [_label("i1", "1"), _label("e2", "0"), _label("e3", "1"), _label("e4", "0")])

    outcome = _run(spark, cap, gt)
    c = outcome.counts
    assert (c.capture_files, c.ground_truth_files) == (1, 1)
    assert (c.predictions, c.labels, c.matched) == (4, 4, 3)
    assert (c.matched_by_inference_id, c.matched_by_event_id) == (1, 2)
    assert (c.unmatched_predictions, c.unmatched_labels, c.duplicate_labels) == (1, 1, 0)
    assert c.captures_rejected == {} and c.captures_skipped == {} and c.labels_rejected == {}

    merged = _merged(outcome)
    assert sorted(merged) == ["e1", "e3", "e4"]
    assert merged["e1"]["groundTruthData"] == {"data": "1", "encoding": "CSV"}
    assert merged["e4"]["groundTruthData"] == {"data": "0", "encoding": "CSV"}
    # the merged record is the capture record plus groundTruthData, nothing else changed
    for i, line in enumerate(captures):
        original = json.loads(line)
        if original["eventMetadata"]["eventId"] in merged:
            assert merged[original["eventMetadata"]["eventId"]] == {
                **original, "groundTruthData": merged[f"e{i + 1}"]["groundTruthData"]}
    assert outcome.merged.columns == ["rel", "line"]
    assert {r["rel"] for r in outcome.merged.collect()} == {"ep/AllTraffic/2026/11/20/10"}
    kinds = {(s["kind"], s["id"]) for s in outcome.sample}
    assert kinds == {("unmatched_prediction", "i2"), ("unmatched_label", "e2")}
    outcome.release()


def test_late_labels_are_all_read_and_the_window_limits_the_predictions(spark, tmp_path):
    cap, gt = tmp_path / "capture", tmp_path / "gt"
    _write(cap.joinpath(*HOUR10), "a.jsonl", [
        _cap("p1", time="2026-11-20T10:00:00Z"), _cap("p2", time="2026-11-20T10:30:00Z"),
        _cap("p3", time="2026-11-20T10:59:59Z"),
        _cap("late-flushed", time="2026-11-20T11:00:00Z"),  # in the hour folder, outside [start, end)
    ])
    _write(cap / "ep" / "AllTraffic" / "2026" / "11" / "20" / "11", "b.jsonl",
           [_cap("next-hour", time="2026-11-20T11:10:00Z")])  # folder pruned from the listing
    _write(gt / "2026" / "11" / "21" / "09", "day-later.jsonl", [_label("p1", "1"), _label("p3", "0"),
                                                                 _label("next-hour", "1")])
    _write(gt / "2026" / "11" / "20" / "10", "same-hour.jsonl", [_label("p2", "1"), _label("late-flushed", "0")])

    outcome = _run(spark, cap, gt)
    c = outcome.counts
    assert (c.capture_files, c.ground_truth_files) == (1, 2)
    assert c.captures_skipped == {"outside_window": 1}
    assert (c.predictions, c.labels, c.matched, c.matched_by_event_id) == (3, 5, 3, 3)
    assert (c.unmatched_predictions, c.unmatched_labels, c.duplicate_labels) == (0, 2, 0)
    merged = _merged(outcome)
    assert {k: v["groundTruthData"]["data"] for k, v in merged.items()} == {"p1": "1", "p2": "1", "p3": "0"}
    assert sorted(s["id"] for s in outcome.sample if s["kind"] == "unmatched_label") == ["late-flushed", "next-hour"]
    outcome.release()

    # a wider window reads both hour folders and labels everything
    wide = _run(spark, cap, gt, START, datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert (wide.counts.capture_files, wide.counts.predictions, wide.counts.matched) == (2, 5, 5)
    assert wide.counts.unmatched_labels == 0 and wide.counts.captures_skipped == {}
    wide.release()


def test_unmatched_and_duplicate_labels_keep_the_last_upload_and_the_last_line(spark, tmp_path):
    cap, gt = tmp_path / "capture", tmp_path / "gt"
    _write(cap.joinpath(*HOUR10), "a.jsonl", [_cap(i) for i in ("d1", "d2", "p1", "p2", "p3")]
           + [_cap("d1", "0.9")])  # two predictions with the same key: both get the label
    _write(gt / "2026" / "11" / "20" / "10", "a.jsonl",
           [_label("d1", "old"), _label("d2", "a-only"), _label("u1"), _label("u2")])
    _write(gt / "2026" / "11" / "21" / "09", "b.jsonl",
           [_label("d2", "first"), _label("d1", "new"), _label("d2", "second")])

    outcome = _run(spark, cap, gt)
    c = outcome.counts
    assert (c.labels, c.duplicate_labels) == (7, 3)  # d1: 2 records, d2: 3 records
    assert (c.predictions, c.matched, c.unmatched_predictions, c.unmatched_labels) == (6, 3, 3, 2)
    rows = [json.loads(r["line"]) for r in outcome.merged.collect()]
    labels = sorted((r["eventMetadata"]["eventId"], r["captureData"]["endpointOutput"]["data"],
                     r["groundTruthData"]["data"]) for r in rows)
    assert labels == [("d1", "0.5", "new"), ("d1", "0.9", "new"), ("d2", "0.5", "second")]
    dups = [s for s in outcome.sample if s["kind"] == "duplicate_label"]
    assert dups and all(s["id"] in ("d1", "d2") and s["file"].endswith(".jsonl") for s in dups)
    assert {json.loads(s["record"])["groundTruthData"]["data"] for s in dups} <= {"old", "a-only", "first"}
    assert sorted(s["id"] for s in outcome.sample if s["kind"] == "unmatched_prediction") == ["p1", "p3"]
    outcome.release()


def test_last_line_wins_also_when_a_file_is_read_in_many_splits(spark, tmp_path):
    cap, gt = tmp_path / "capture", tmp_path / "gt"
    ids = [f"k{i}" for i in range(20)]
    _write(cap.joinpath(*HOUR10), "a.jsonl", [_cap(i) for i in ids])
    # 300 lines: each id appears 15 times, its value is the line number; the last one must win
    lines = [_label(ids[n % 20], str(n), pad="x" * 40) for n in range(300)]
    path = _write(gt / "2026" / "11" / "20" / "10", "big.jsonl", lines)
    old = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "2048")
    try:
        assert spark.read.text(str(path)).rdd.getNumPartitions() > 5
        outcome = _run(spark, cap, gt)
        merged = _merged(outcome)
        c = outcome.counts
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", old)
    assert (c.labels, c.duplicate_labels, c.matched, c.unmatched_labels) == (300, 280, 20, 0)
    assert {k: int(v["groundTruthData"]["data"]) for k, v in merged.items()} == {
        f"k{i}": 280 + i for i in range(20)}
    outcome.release()


def test_malformed_ground_truth_and_capture_lines_are_counted_by_kind_never_merged(spark, tmp_path):
    cap, gt = tmp_path / "capture", tmp_path / "gt"
    good = _cap("ok")
    trailing = _cap("trailing") + ' {"x": 1}'
    _write(cap.joinpath(*HOUR10), "a.jsonl", [
        good, "not json at all", '{"eventMetadata": {"eventId": "nocap"}}', _cap("notime", time=None),
        trailing, _cap("shadow", invocationSource="ShadowExperiment"), "[1, 2]",
    ])
    _write(cap.joinpath(*HOUR10), "b.jsonl", b'{"captureData": {}, "eventMetadata": {"eventId": "\xff"}}\n')
    _write(gt / "2026" / "11" / "20" / "10", "g.jsonl", [
        _label("ok"), "{broken", _label(None), _label("   "), _label("nocap"), _label("notime"),
        _label("trailing"), _label("shadow"),
        json.dumps({"eventMetadata": {"eventId": "no-gt"}}),
        json.dumps({"groundTruthData": "1", "eventMetadata": {"eventId": "gt-is-a-string"}}),
        json.dumps({"groundTruthData": {"encoding": "CSV"}, "eventMetadata": {"eventId": "gt-without-data"}}),
        json.dumps({"groundTruthData": {"data": "1"}, "eventMetadata": "not-an-object"}),
    ])
    _write(gt / "2026" / "11" / "20" / "11", "h.jsonl", b'{"groundTruthData": {"data": "\xfe"}}\n\n   \n')

    outcome = _run(spark, cap, gt)
    c = outcome.counts
    assert c.captures_rejected == {"malformed_json": 3, "not_a_capture_record": 1, "missing_inference_time": 1,
                                   "invalid_utf8": 1}
    assert c.captures_skipped == {"shadow_experiment": 1}
    assert c.labels_rejected == {"malformed_json": 1, "missing_event_id": 3, "missing_ground_truth_data": 3,
                                 "invalid_utf8": 1}
    assert (c.predictions, c.matched, c.labels) == (1, 1, 5)
    assert c.unmatched_labels == 4  # nocap, notime, trailing, shadow: their captures are not predictions
    assert list(_merged(outcome)) == ["ok"]
    kinds = {s["kind"] for s in outcome.sample}
    assert {"malformed_json", "not_a_capture_record", "missing_inference_time", "invalid_utf8",
            "missing_event_id", "missing_ground_truth_data", "unmatched_label"} <= kinds
    assert len(outcome.sample) <= 20
    sample_records = {s["record"] for s in outcome.sample}
    assert trailing in sample_records and "{broken" in sample_records
    outcome.release()


def test_merged_files_mirror_the_capture_layout_and_reruns_leave_no_stale_files(spark, tmp_path):
    cap, gt, out = tmp_path / "cap ture+1", tmp_path / "gt", tmp_path / "out"
    hour11 = ("ep", "AllTraffic", "2026", "11", "20", "11")
    originals = {}
    for folder, hour in ((HOUR10, "10"), (hour11, "11"), (("ep", "Shadow Variant+%"), "10")):
        lines = [_cap(f"{hour}-{'-'.join(folder[1:2])}-{i}", str(i / 10), f"2026-11-20T{hour}:{i:02d}:00Z")
                 for i in range(4)]
        _write(cap.joinpath(*folder), "x.jsonl", lines)
        originals.update({json.loads(line)["eventMetadata"]["eventId"]: json.loads(line) for line in lines})
    _write(cap, "top.jsonl", [_cap("top", time="2026-11-20T10:40:00Z")])
    originals["top"] = json.loads(_cap("top", time="2026-11-20T10:40:00Z"))
    labels = [_label(k, str(n % 2)) for n, k in enumerate(sorted(originals))]
    _write(gt / "2026" / "11" / "21", "all.jsonl", labels)
    end = datetime(2026, 11, 20, 12, tzinfo=UTC)

    outcome = _run(spark, cap, gt, START, end)
    assert outcome.counts.matched == 13 and outcome.counts.unmatched_labels == 0
    assert outcome.folders == ["", "ep/AllTraffic/2026/11/20/10", "ep/AllTraffic/2026/11/20/11",
                               "ep/Shadow Variant+%"]
    written = write_merged_records(outcome.merged, str(out), outcome.folders)
    outcome.release()
    rel = sorted(str(Path(p).relative_to(out)) for p in written)
    assert rel == ["ep/AllTraffic/2026/11/20/10/merged-00000.jsonl", "ep/AllTraffic/2026/11/20/11/merged-00000.jsonl",
                   "ep/Shadow Variant+%/merged-00000.jsonl", "merged-00000.jsonl"]
    truth = {json.loads(line)["eventMetadata"]["eventId"]: json.loads(line)["groundTruthData"] for line in labels}
    seen = {}
    for p in written:
        for line in Path(p).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            key = record["eventMetadata"]["eventId"]
            seen[key] = Path(p).parent
            assert record == {**originals[key], "groundTruthData": truth[key]}
    assert sorted(seen) == sorted(originals)
    assert seen["10-AllTraffic-3"] == out.joinpath(*HOUR10) and seen["top"] == out
    assert sorted(p.name for p in out.iterdir()) == ["ep", "merged-00000.jsonl"]  # temp folder gone

    # re-run after the hour-11 labels were withdrawn: its merged file disappears, the others are rewritten
    (out / "ep" / "AllTraffic" / "2026" / "11" / "20" / "11" / "keep-me.txt").write_text("not ours")
    _write(gt / "2026" / "11" / "21", "all.jsonl", [line for line in labels if '"11-' not in line])
    again = _run(spark, cap, gt, START, end)
    assert (again.counts.matched, again.counts.unmatched_predictions) == (9, 4)
    written2 = write_merged_records(again.merged, str(out), again.folders)
    again.release()
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["ep/AllTraffic/2026/11/20/10/merged-00000.jsonl", "ep/AllTraffic/2026/11/20/11/keep-me.txt",
                     "ep/Shadow Variant+%/merged-00000.jsonl", "merged-00000.jsonl"]
    assert len(written2) == 3
    assert sum(len(Path(p).read_text().splitlines()) for p in written2) == 9


def test_empty_window_and_no_ground_truth(spark, tmp_path):
    cap, gt, out = tmp_path / "capture", tmp_path / "gt", tmp_path / "out"
    cap.mkdir()
    gt.mkdir()
    outcome = _run(spark, cap, gt)
    assert outcome.counts.to_dict() == {
        "capture_files": 0, "ground_truth_files": 0, "predictions": 0, "captures_rejected": {},
        "captures_skipped": {}, "labels": 0, "labels_rejected": {}, "matched": 0, "matched_by_inference_id": 0,
        "matched_by_event_id": 0, "unmatched_predictions": 0, "unmatched_labels": 0, "duplicate_labels": 0}
    assert outcome.sample == [] and outcome.folders == []
    assert write_merged_records(outcome.merged, str(out)) == []
    assert list(out.iterdir()) == []
    outcome.release()


def _sdk_copy(src: Path, dest: Path, times: list[str]) -> list[str]:
    lines = src.read_text(encoding="utf-8").splitlines()
    out = [line.replace('"{%s}"', json.dumps(times[i % len(times)])) for i, line in enumerate(lines) if line.strip()]
    _write(dest.parent, dest.name, out)
    return out


def test_real_sdk_capture_and_actuals_samples_against_a_pandas_reference(spark, tmp_path):
    cap, gt = tmp_path / "capture", tmp_path / "gt"
    # one capture in four was made at 11:xx (flushed late into the 10 folder): outside the window
    times = ["2026-11-20T10:05:00Z", "2026-11-20T10:20:00Z", "2026-11-20T10:45:00Z", "2026-11-20T11:00:00Z"]
    capture = _sdk_copy(SDK / "capture.jsonl", cap.joinpath(*HOUR10) / "20-48-871-0b7bfd33.jsonl", times)
    actuals = _sdk_copy(SDK / "actuals.jsonl", gt / "2026" / "11" / "21" / "09" / "0000.jsonl",
                        ["2026-11-21T09:00:00Z"])
    # a second, later upload repeats a third of the labels with another value
    later = [json.dumps({**json.loads(line), "groundTruthData": {"data": "0", "encoding": "CSV"}})
             for line in actuals[::3]]
    _write(gt / "2026" / "11" / "22" / "00", "0000.jsonl", later)

    outcome = _run(spark, cap, gt)
    c = outcome.counts

    # the reference: plain pandas over the same lines
    caps = pd.DataFrame([json.loads(line)["eventMetadata"] for line in capture])
    caps["key"] = caps["inferenceId"] if "inferenceId" in caps else caps["eventId"]
    in_window = caps[(pd.to_datetime(caps["inferenceTime"]) >= pd.Timestamp(START))
                     & (pd.to_datetime(caps["inferenceTime"]) < pd.Timestamp(END))]
    gts = pd.DataFrame([{"id": json.loads(line)["eventMetadata"]["eventId"],
                         "data": json.loads(line)["groundTruthData"]["data"]} for line in actuals + later])
    winner = gts.groupby("id")["data"].last()  # later upload sorts last, appended last
    matched = in_window[in_window["key"].isin(winner.index)]
    assert len(matched) == len(in_window)  # every capture eventId with an actual is matched
    assert c.predictions == len(in_window) == 33
    assert c.captures_skipped == {"outside_window": len(caps) - len(in_window)}
    assert (c.matched, c.matched_by_event_id, c.matched_by_inference_id) == (len(matched), len(matched), 0)
    assert c.unmatched_predictions == len(in_window) - len(matched)
    assert c.labels == len(gts) and c.duplicate_labels == len(gts) - gts["id"].nunique()
    assert c.unmatched_labels == len(set(winner.index) - set(in_window["key"]))
    got = {k: v["groundTruthData"]["data"] for k, v in _merged(outcome).items()}
    assert got == {k: winner[k] for k in matched["key"]}
    assert c.captures_rejected == {} and c.labels_rejected == {}
    outcome.release()


def test_a_single_capture_file_as_source_merges_into_the_top_folder(spark, tmp_path):
    path = _write(tmp_path / "c", "one.jsonl", [_cap("a"), _cap("b")])
    _write(tmp_path / "gt", "g.jsonl", [_label("a", "1")])
    outcome = merge_window(spark, str(path), str(tmp_path / "gt"), None, None)
    assert (outcome.counts.predictions, outcome.counts.matched) == (2, 1)
    assert outcome.folders == [""] and [r["rel"] for r in outcome.merged.collect()] == [""]
    outcome.release()
