"""SageMaker's ground-truth merger (image ``sagemaker-model-monitor-groundtruth-merger``), in Spark.

Model quality runs as two jobs (spec §2.2): a merge job labels the captured predictions of a window
with the ground truth uploaded later, then the analysis job reads the merged records
(``sagemakerMergeJson``). :func:`merge_window` is the first job; :func:`write_merged_records` writes its
output in the layout the second one reads (``merge/{endpoint}/{variant}/yyyy/mm/dd/hh``).

Predictions (spec §1.1)
    The capture files of the window are listed with :func:`~monitor_lib.io.capture.list_capture_files`
    (hour-folder pruning) and every line gets the monitoring run's verdict
    (:func:`~monitor_lib.io.capture_stages.line_verdict`): ``invalid_utf8``, ``malformed_json``,
    ``not_a_capture_record``, ``missing_inference_time`` are rejected; shadow traffic
    (``shadow_experiment``) and records whose ``inferenceTime`` is outside ``[start, end)``
    (``outside_window``) are skipped. One extra rule, because the merged text is built by splicing the
    capture line: a line that is not exactly one JSON value (e.g. ``{...} trailing``, which Spark's
    JSON reader tolerates) is ``malformed_json`` too. Every other line is a *prediction*.

Ground truth (spec §2.1)
    Labels arrive later than the predictions, in folders named by their upload hour, so EVERY file
    under ``ground_truth_source`` is read. A record is ``{"groundTruthData": {"data": "1", "encoding":
    "CSV"}, "eventMetadata": {"eventId": "..."}, "eventVersion": "0"}``. Rejected, in this order:
    ``invalid_utf8``; ``malformed_json`` (not a JSON object); ``missing_event_id``
    (``eventMetadata.eventId`` absent, null or blank); ``missing_ground_truth_data``
    (``groundTruthData`` absent, not a JSON object, or without a non-null ``data``). The rest are
    *labels*.

Join key
    A prediction's key is its ``eventMetadata.inferenceId`` when that is present and not blank, else
    its ``eventMetadata.eventId``; it is matched (exactly, as a string) against the label's
    ``eventMetadata.eventId``. A label carrying the eventId of a capture that has an inferenceId does
    not match it. A prediction with neither id can never match (an unmatched prediction).

Duplicate labels
    When several labels carry the same id ONE is kept: the one from the file whose path sorts last
    (ground truth is laid out ``yyyy/mm/dd/hh/…``, so the latest upload), and within that file the
    last line. "Last line" is exact whatever the file size: lines are ordered by the byte offset of
    the Spark split they were read in (``_metadata.file_block_start``) and then by their position in
    that split (``monotonically_increasing_id`` increases in read order within a task), so the order
    does not depend on how Spark packs splits into tasks and a recomputation picks the same winner.
    The others are counted in ``duplicate_labels``.

Several predictions with the same key
    Each of them gets the label (no prediction is dropped); they count as several matched records.

Merged record (``sagemakerMergeJson``)
    The capture line's JSON object with one more top-level member, ``"groundTruthData"``, holding the
    label's ``groundTruthData`` object (as re-serialised by Spark's JSON parser: same values, compact
    spacing). Built by inserting text before the capture line's final ``}`` — no Python UDF.

Counts (:class:`MergeCounts`)
    ``predictions`` = ``matched`` + ``unmatched_predictions`` (in-window capture records);
    ``matched`` = ``matched_by_inference_id`` + ``matched_by_event_id`` = merged records; ``labels`` =
    well-formed ground-truth records of all files = distinct label ids + ``duplicate_labels``;
    ``unmatched_labels`` = distinct label ids no prediction of this window carries (labels of
    predictions outside the window, of shadow traffic or of rejected captures included). Rejected and
    skipped kinds are keyed by name without prefix.

The counts are computed by two small Spark aggregations (one over the labels, one
over the join); only they and a sample of at most 20 problem records reach the driver. The labels
and the joined frame are persisted so each input is scanned once; :meth:`MergeOutcome.release`
frees them once ``merged`` has been consumed (written).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from monitor_lib.errors import StorageError
from monitor_lib.io import capture as cap
from monitor_lib.io import capture_stages as stage
from monitor_lib.io import s3, storage
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.io.storage import list_data_files, local_path, spark_reads_s3
from monitor_lib.spark import is_valid_utf8, try_url_decode

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

MAX_SAMPLE = 20
_PER_KIND = 2  # examples kept per kind (the smallest and the largest (file, id, line))
MERGED_PREFIX = "merged-"
MERGED_SUFFIX = ".jsonl"

_GT_TEXT_SCHEMA = "groundTruthData string, eventMetadata struct<eventId: string>, __bad string"
_GT_SHAPE_SCHEMA = "groundTruthData struct<data: string>, __bad string"
_JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "__bad"}

_MATCHED = "matched:"
_UNMATCHED_PREDICTION = "unmatched_prediction"
_UNMATCHED_LABEL = "unmatched_label"
_DUPLICATE_LABEL = "duplicate_label"
_LABEL = "\x00label"


@dataclass
class MergeCounts:
    capture_files: int = 0
    ground_truth_files: int = 0
    predictions: int = 0  # capture records in the window (the ones we try to label)
    captures_rejected: dict[str, int] = field(default_factory=dict)  # invalid_utf8, malformed_json, ...
    captures_skipped: dict[str, int] = field(default_factory=dict)  # outside_window, shadow_experiment
    labels: int = 0  # well-formed ground-truth records read (all files)
    labels_rejected: dict[str, int] = field(default_factory=dict)  # invalid_utf8, malformed_json, ...
    matched: int = 0  # predictions that got a label (= merged records written)
    matched_by_inference_id: int = 0
    matched_by_event_id: int = 0
    unmatched_predictions: int = 0  # predictions in the window without a label
    unmatched_labels: int = 0  # distinct label ids that match no prediction of this window
    duplicate_labels: int = 0  # label records dropped because another record has the same id

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class MergeOutcome:
    merged: DataFrame  # rel (capture folder relative to the capture root, '' = top), line (merged JSON)
    counts: MergeCounts
    sample: list[dict]  # {"kind", "file", "id", "record"}, at most MAX_SAMPLE
    folders: list[str] = field(default_factory=list)  # capture folders read, relative to the capture root
    _cached: list = field(default_factory=list, repr=False)

    def release(self) -> None:
        """Drop the cached merge (call once ``merged`` has been written / consumed)."""
        for df in self._cached:
            df.unpersist()
        self._cached.clear()


# ------------------------------------------------------------------ reading


def _capture_predictions(spark, files: list[str], root_dir: str, start: datetime | None, end: datetime | None):
    """Capture lines with verdict (null for a prediction), key source, join key and relative folder."""
    if files:
        lines = cap.read_capture_lines(spark, files)
    else:
        lines = spark.createDataFrame([], "line string, file string")
    return _predictions(lines, stage.CaptureSpec((), DatasetFormat("capture"), start, end), root_dir)


def _predictions(lines, spec: stage.CaptureSpec, root_dir: str, carry: tuple[str, ...] = ()):
    """:func:`_capture_predictions` of a frame of lines; ``carry``: more columns kept (a backfill's window ``w``;
    its bounds, named by ``spec.bounds``, are read by the verdict)."""
    from pyspark.sql import functions as F

    parsed = stage.parse_lines(lines, (*carry, *(spec.bounds or ())))
    j = F.col("j")
    staged = parsed.select(
        "line", "file", *carry,
        stage.line_verdict(spec, j).alias("verdict"),
        j["eventMetadata"]["inferenceId"].alias("iid"),
        j["eventMetadata"]["eventId"].alias("eid"),
    )
    # the merged text splices the line: it must be exactly one JSON value (Spark's reader ignores trailing text)
    one_value = F.json_array_length(F.concat(F.lit("["), F.col("line"), F.lit("]"))) == 1
    verdict = F.coalesce(F.col("verdict"), F.when(~F.coalesce(one_value, F.lit(False)),
                                                  F.lit(stage.REJECT + "malformed_json")))
    df = staged.select("line", "file", *carry, "iid", "eid", verdict.alias("verdict"),
                       _relative_folder(F.col("file"), root_dir).alias("rel"))
    iid, eid = F.col("iid"), F.col("eid")
    src = (F.when(F.col("verdict").isNotNull(), F.lit(None).cast("string"))
           .when(F.length(F.trim(iid)) > 0, F.lit("inferenceId"))
           .when(F.length(F.trim(eid)) > 0, F.lit("eventId")))
    df = df.select("line", "file", *carry, "rel", "verdict", "iid", "eid", src.alias("src"))
    key = F.when(F.col("src") == "inferenceId", iid).when(F.col("src") == "eventId", eid)
    return df.select("line", "file", *carry, "rel", "verdict", "src", key.alias("key"))


def _relative_folder(file_col, root_dir: str):
    """The folder of a file (as Spark reports it: a URL-encoded URI) relative to ``root_dir``, decoded."""
    from pyspark.sql import functions as F

    if s3.is_s3(root_dir):  # the file column holds the URI itself (not URL-encoded)
        depth = len([p for p in s3.split(root_dir)[1].split("/") if p])
    else:
        depth = len([p for p in os.path.abspath(root_dir).split(os.sep) if p])
    path = F.regexp_replace(file_col, r"^[A-Za-z][A-Za-z0-9+.-]*:(//[^/]*)?", "")
    parts = F.filter(F.split(path, "/"), lambda p: F.length(p) > 0)
    below = F.slice(parts, depth + 1, F.greatest(F.size(parts) - depth - 1, F.lit(0)))

    def decode(p):  # Hadoop encodes % and spaces but not '+', which url_decode would turn into a space
        raw = F.regexp_replace(p, r"\+", "%2B")
        return F.coalesce(try_url_decode(raw), p)

    if s3.is_s3(root_dir) and not spark_reads_s3():  # boto3 readers give the key as it is
        return F.array_join(below, "/")
    return F.array_join(F.transform(below, decode), "/")


def _ground_truth_lines(spark, files: list[str]):
    """Every non-empty ground-truth line with its file, split start and position in read order."""
    from pyspark.sql import functions as F

    if not files:
        return spark.createDataFrame([], "line string, file string, block long, pos long")
    if s3.is_s3(files[0]) and not spark_reads_s3():
        # boto3 in the executors: one object is one split, and ``pos`` is the line's number in it
        return s3.lines_frame(spark, files).select("line", "file", F.lit(0).cast("long").alias("block"), "pos")
    df = spark.read.text(files).select(
        F.col("value").alias("line"), F.input_file_name().alias("file"),
        F.col("_metadata.file_block_start").alias("block"), F.monotonically_increasing_id().alias("pos"),
    )
    return df.where(F.length(F.trim("line")) > 0)


def _labels_by_key(gt_lines):
    """One row per label id (kind null): the kept label, the number of records, one dropped record;
    one row per rejected kind: its count and two examples."""
    from pyspark.sql import functions as F

    parsed = gt_lines.select(
        "line", "file", "block", "pos",
        F.from_json("line", _GT_TEXT_SCHEMA, _JSON_OPTIONS).alias("a"),
        F.from_json("line", _GT_SHAPE_SCHEMA, _JSON_OPTIONS).alias("b"),
    )
    a, b, line = F.col("a"), F.col("b"), F.col("line")
    eid = a["eventMetadata"]["eventId"]
    kind = (
        F.when(~is_valid_utf8(line), F.lit("invalid_utf8"))
        # a JSON object whose members have other types than expected (eventMetadata a string, ...) is not
        # malformed: __bad is set, the members that did not fit are null and the kinds below name them
        .when(a.isNull() | ~F.ltrim(line).startswith("{")
              | (a["__bad"].isNotNull() & F.json_object_keys(line).isNull()), F.lit("malformed_json"))
        .when(eid.isNull() | (F.length(F.trim(eid)) == 0), F.lit("missing_event_id"))
        .when(b["groundTruthData"].isNull() | b["groundTruthData"]["data"].isNull(),
              F.lit("missing_ground_truth_data"))
    )
    staged = parsed.select("line", "file", "block", "pos", kind.alias("kind"), eid.alias("eid"),
                           a["groundTruthData"].alias("gt"))
    record = F.struct("file", "block", "pos", F.col("gt"), F.col("line"))
    return staged.groupBy(
        "kind", F.when(F.col("kind").isNull(), F.col("eid")).alias("key")
    ).agg(F.count(F.lit(1)).alias("n"), F.max(record).alias("last"), F.min(record).alias("first"))


# ------------------------------------------------------------------ merging


def _merged_line(capture_line, gt_text):
    """``{capture…}`` + ``,"groundTruthData":{…}}`` — the capture object with one more member."""
    from pyspark.sql import functions as F

    body = F.regexp_replace(capture_line, r"\s+$", "")
    return F.concat(body.substr(F.lit(1), F.length(body) - 1), F.lit(',"groundTruthData":'), gt_text, F.lit("}"))


def _kept_labels(labels_keyed):
    """The kept label of each key (duplicates resolved, rejected ones left out), named for the join."""
    from pyspark.sql import functions as F

    return labels_keyed.where(F.col("kind").isNull()).select(
        F.lit(True).alias("l_side"), F.lit(True).alias("l_real"), F.col("key").alias("lkey"),
        F.col("last.gt").alias("gt"), F.col("last.file").alias("lfile"), F.col("last.line").alias("lline"))


def _join_labels(captures, labels, how: str):
    """Capture predictions (a ``key`` column: their eventId / inferenceId, null when they cannot match) joined
    with the kept labels. Rows that cannot match (rejected, skipped, no id) get a spread-out dummy key instead of
    null: null keys would all land in one task of the join."""
    from pyspark.sql import functions as F

    keyed = F.col("key").isNotNull()
    captures = captures.select(
        "*", keyed.alias("jk_real"),
        F.when(keyed, F.col("key")).otherwise(F.xxhash64("file", "line").cast("string")).alias("jk"))
    return captures.join(labels, (captures["jk_real"] == labels["l_real"]) & (captures["jk"] == labels["lkey"]), how)


def merge_window(spark, capture_source: str, ground_truth_source: str,
                 start: datetime | None, end: datetime | None) -> MergeOutcome:
    """Label the capture records of ``[start, end)`` with the ground truth (see the module docstring)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    capture_files = [_absolute(f) for f in cap.list_capture_files(capture_source, start, end)]
    gt_files = [_absolute(f)
                for f in list_data_files(ground_truth_source, "ground_truth_source", allow_empty=True)]
    root_dir, folders = _capture_folders(capture_source, capture_files)
    log.info("ground-truth merge: %d capture file(s) in %d folder(s), %d ground-truth file(s)",
             len(capture_files), len(folders), len(gt_files))

    labels_keyed = _labels_by_key(_ground_truth_lines(spark, gt_files)).persist(StorageLevel.MEMORY_AND_DISK)
    counts = MergeCounts(capture_files=len(capture_files), ground_truth_files=len(gt_files))
    samples: dict[str, list[dict]] = {}

    # 1. labels: how many, how many dropped as duplicates, rejected kinds
    _count_labels(labels_keyed, counts, samples)

    # 2. the join: every capture line against the kept label of each id
    captures = _capture_predictions(spark, capture_files, root_dir, start, end)
    joined = _join_labels(captures.select("*", F.lit(True).alias("c_side")), _kept_labels(labels_keyed), "full_outer")
    cat = (
        F.when(F.col("c_side").isNull(), F.lit(_UNMATCHED_LABEL))
        .when(F.col("verdict").isNotNull(), F.col("verdict"))
        .when(F.col("l_side").isNotNull(), F.concat(F.lit(_MATCHED), F.col("src")))
        .otherwise(F.lit(_UNMATCHED_PREDICTION))
    )
    joined = joined.select("*", cat.alias("cat"))
    is_matched = F.col("cat").startswith(_MATCHED)
    example = (F.when(F.col("cat") == _UNMATCHED_LABEL,
                      F.struct(F.col("lfile").alias("file"), F.col("lkey").alias("id"), F.col("lline").alias("line")))
               .when(F.col("cat").startswith(stage.REJECT) | (F.col("cat") == _UNMATCHED_PREDICTION),
                     F.struct("file", F.col("key").alias("id"), "line")))
    slim = joined.select(
        "cat", "rel", F.when(is_matched, _merged_line(F.col("line"), F.col("gt"))).alias("merged"),
        example.alias("example"),
    ).persist(StorageLevel.MEMORY_AND_DISK)
    rows = slim.groupBy("cat").agg(F.count(F.lit(1)).alias("n"), F.min("example").alias("ex_min"),
                                   F.max("example").alias("ex_max")).collect()
    labels_keyed.unpersist()

    sample = _count_categories(rows, counts, samples)
    log.info("ground-truth merge: %d of %d prediction(s) labelled, %d label(s) unused, %d duplicate label(s)",
             counts.matched, counts.predictions, counts.unmatched_labels, counts.duplicate_labels)

    merged = slim.where(F.col("merged").isNotNull()).select("rel", F.col("merged").alias("line"))
    return MergeOutcome(merged, counts, sample, folders, [slim])


def _capture_folders(capture_source: str, capture_files: list[str]) -> tuple[str, list[str]]:
    """The capture root folder and the folders of ``capture_files`` relative to it (sorted)."""
    if s3.is_s3(capture_source):
        root_dir = capture_source.rstrip("/")
        if capture_files == [capture_source]:  # a single object
            root_dir = root_dir.rsplit("/", 1)[0]
        return root_dir, sorted({_rel_key(f.rsplit("/", 1)[0], root_dir) for f in capture_files})
    root = os.path.abspath(local_path(capture_source))
    root_dir = root if os.path.isdir(root) else os.path.dirname(root)
    return root_dir, sorted({_rel(os.path.dirname(f), root_dir) for f in capture_files})


# ------------------------------------------------------------------ many windows in one job (a backfill)

_LABEL_CHUNK = 64  # windows per aggregation of the unmatched labels (3 aggregates each)


@dataclass
class WindowedMerge:
    """The merges of many windows done by one job (:func:`merge_windows`): per window the counts, the sample and
    the folders :func:`merge_window` gives, and its merged records, taken from one persisted frame."""

    counts: list[MergeCounts]
    samples: list[list[dict]]
    folders: list[list[str]]
    _slim: DataFrame | None = field(default=None, repr=False)  # w, cat, rel, merged, ... (persisted)

    def merged(self, i: int) -> DataFrame:
        """Window ``i``'s merged records (``rel``, ``line``), as :attr:`MergeOutcome.merged`."""
        from pyspark.sql import functions as F

        return (self._slim.where((F.col("w") == i) & F.col("merged").isNotNull())
                .select("rel", F.col("merged").alias("line")))

    def merged_lines(self) -> DataFrame:
        """Every window's merged records: ``w``, ``rel``, ``line`` (the text a single run writes, then reads)."""
        from pyspark.sql import functions as F

        return self._slim.where(F.col("merged").isNotNull()).select("w", "rel", F.col("merged").alias("line"))

    def outcome(self, i: int) -> MergeOutcome:
        """Window ``i``'s merge, as :func:`merge_window` returns it (releasing it frees nothing: the frame is
        shared, :meth:`release` frees it)."""
        return MergeOutcome(self.merged(i), self.counts[i], self.samples[i], self.folders[i])

    def release(self) -> None:
        if self._slim is not None:
            self._slim.unpersist()
            self._slim = None


def merge_windows(spark, capture_source: str, ground_truth_source: str,
                  windows: list[tuple[datetime, datetime]]) -> WindowedMerge:
    """:func:`merge_window` of many windows ``[start, end)`` in one job: the capture files of every window are
    read once (a file in several windows' listings is judged once per window, as each single run judges it),
    the ground truth once, one join; the counts of all windows come from one aggregation grouped by window (and
    one over the labels for the labels no prediction of a window carries)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    files_by_window = [[_absolute(f) for f in cap.list_capture_files(capture_source, start, end)]
                       for start, end in windows]
    union = sorted({f for files in files_by_window for f in files})
    root_dir, _ = _capture_folders(capture_source, union)
    folders = [_capture_folders(capture_source, files)[1] for files in files_by_window]
    gt_files = [_absolute(f)
                for f in list_data_files(ground_truth_source, "ground_truth_source", allow_empty=True)]
    log.info("ground-truth merge of %d window(s): %d capture file(s), %d ground-truth file(s)",
             len(windows), len(union), len(gt_files))

    labels_keyed = _labels_by_key(_ground_truth_lines(spark, gt_files)).persist(StorageLevel.MEMORY_AND_DISK)
    label_counts = MergeCounts(ground_truth_files=len(gt_files))
    label_samples: dict[str, list[dict]] = {}
    _count_labels(labels_keyed, label_counts, label_samples)

    lines = cap.window_lines(spark, files_by_window, windows)
    if lines is None:
        lines = spark.createDataFrame([], "line string, file string, w int, w_start long, w_end long")
    spec = stage.CaptureSpec((), DatasetFormat("capture"), bounds=("w_start", "w_end"))
    captures = _predictions(lines.select("line", "file", "w", "w_start", "w_end"), spec, root_dir, ("w",))
    labels = _kept_labels(labels_keyed)
    joined = _join_labels(captures, labels, "left")
    cat = (
        F.when(F.col("verdict").isNotNull(), F.col("verdict"))
        .when(F.col("l_side").isNotNull(), F.concat(F.lit(_MATCHED), F.col("src")))
        .otherwise(F.lit(_UNMATCHED_PREDICTION))
    )
    joined = joined.select("*", cat.alias("cat"))
    is_matched = F.col("cat").startswith(_MATCHED)
    example = F.when(F.col("cat").startswith(stage.REJECT) | (F.col("cat") == _UNMATCHED_PREDICTION),
                     F.struct("file", F.col("key").alias("id"), "line"))
    slim = joined.select(
        "w", "cat", "rel", F.when(is_matched, _merged_line(F.col("line"), F.col("gt"))).alias("merged"),
        example.alias("example"), F.when(is_matched, F.col("lkey")).alias("lkey"),
    ).sortWithinPartitions("w").persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows = slim.groupBy("w", "cat").agg(F.count(F.lit(1)).alias("n"), F.min("example").alias("ex_min"),
                                            F.max("example").alias("ex_max")).collect()
        unmatched = _unmatched_labels(slim, labels, len(windows))
    except BaseException:
        slim.unpersist()
        raise
    finally:
        labels_keyed.unpersist()

    counts, samples = [], []
    for i, files in enumerate(files_by_window):
        c = MergeCounts(capture_files=len(files), ground_truth_files=len(gt_files), labels=label_counts.labels,
                        labels_rejected=dict(label_counts.labels_rejected),
                        duplicate_labels=label_counts.duplicate_labels)
        found = {key: list(value) for key, value in label_samples.items()}
        n, ex_min, ex_max = unmatched[i]
        window_rows = [r for r in rows if r["w"] == i]
        if n:
            window_rows.append({"cat": _UNMATCHED_LABEL, "n": n, "ex_min": ex_min, "ex_max": ex_max})
        samples.append(_count_categories(window_rows, c, found))
        counts.append(c)
        log.info("ground-truth merge [%s, %s): %d of %d prediction(s) labelled, %d label(s) unused",
                 windows[i][0].isoformat(), windows[i][1].isoformat(), c.matched, c.predictions,
                 c.unmatched_labels)
    return WindowedMerge(counts, samples, folders, slim)


def _unmatched_labels(slim, labels, n_windows: int) -> list[tuple[int, object, object]]:
    """Per window: how many label ids no prediction of the window carries, and the smallest and largest of them
    as ``(file, id, line)`` examples (as :func:`merge_window`'s full outer join finds them)."""
    from pyspark.sql import functions as F

    carried = slim.where(F.col("lkey").isNotNull()).groupBy("lkey").agg(F.collect_set("w").alias("ws"))
    labelled = labels.join(carried, "lkey", "left").select(
        F.coalesce(F.col("ws"), F.array().cast("array<int>")).alias("ws"),
        F.struct(F.col("lfile").alias("file"), F.col("lkey").alias("id"), F.col("lline").alias("line")).alias("ex"))
    out: list[tuple[int, object, object]] = []
    for first in range(0, n_windows, _LABEL_CHUNK):
        chosen = range(first, min(first + _LABEL_CHUNK, n_windows))
        aggs = []
        for i in chosen:
            free = ~F.array_contains(F.col("ws"), F.lit(i))
            aggs += [F.sum(F.when(free, 1).otherwise(0)).alias(f"n{i}"),
                     F.min(F.when(free, F.col("ex"))).alias(f"lo{i}"), F.max(F.when(free, F.col("ex"))).alias(f"hi{i}")]
        row = labelled.agg(*aggs).collect()[0]
        out += [(int(row[f"n{i}"] or 0), row[f"lo{i}"], row[f"hi{i}"]) for i in chosen]
    return out


def _count_labels(labels_keyed, counts: MergeCounts, samples: dict[str, list[dict]]) -> None:
    """The label counts (records, duplicates, rejected kinds) and their examples, from :func:`_labels_by_key`."""
    from pyspark.sql import functions as F

    label_rows = labels_keyed.groupBy(F.coalesce("kind", F.lit(_LABEL)).alias("kind")).agg(
        F.sum("n").alias("records"),
        F.count(F.lit(1)).alias("ids"),
        F.min(F.when(F.col("n") > 1, F.struct("first.file", "key", "first.line"))).alias("dup_min"),
        F.max(F.when(F.col("n") > 1, F.struct("first.file", "key", "first.line"))).alias("dup_max"),
        F.min(F.struct("first.file", "key", "first.line")).alias("ex_min"),
        F.max(F.struct("last.file", "key", "last.line")).alias("ex_max"),
    ).collect()
    for r in label_rows:
        if r["kind"] == _LABEL:
            counts.labels = int(r["records"])
            counts.duplicate_labels = int(r["records"]) - int(r["ids"])
            samples[_DUPLICATE_LABEL] = _examples(_DUPLICATE_LABEL, r["dup_min"], r["dup_max"])
        else:
            counts.labels_rejected[r["kind"]] = int(r["records"])
            samples["gt:" + r["kind"]] = _examples(r["kind"], r["ex_min"], r["ex_max"])


def _count_categories(rows, counts: MergeCounts, samples: dict[str, list[dict]]) -> list[dict]:
    """The capture-side counts (rows ``cat``, ``n``, ``ex_min``, ``ex_max`` of the join, grouped by category) and
    the merge's sample, in its order."""
    for r in rows:
        kind, n = r["cat"], int(r["n"])
        if kind.startswith(stage.REJECT):
            name = kind[len(stage.REJECT):]
            counts.captures_rejected[name] = n
            samples["capture:" + name] = _examples(name, r["ex_min"], r["ex_max"])
        elif kind.startswith(stage.SKIP):
            counts.captures_skipped[kind[len(stage.SKIP):]] = n
        elif kind.startswith(_MATCHED):
            counts.predictions += n
            counts.matched += n
            if kind == _MATCHED + "inferenceId":
                counts.matched_by_inference_id = n
            else:
                counts.matched_by_event_id = n
        elif kind == _UNMATCHED_PREDICTION:
            counts.predictions += n
            counts.unmatched_predictions = n
            samples[kind] = _examples(kind, r["ex_min"], r["ex_max"])
        elif kind == _UNMATCHED_LABEL:
            counts.unmatched_labels = n
            samples[kind] = _examples(kind, r["ex_min"], r["ex_max"])
    order = sorted(k for k in samples if ":" in k) + [_UNMATCHED_PREDICTION, _UNMATCHED_LABEL,
                                                       _DUPLICATE_LABEL]
    return [e for k in order for e in samples.get(k, [])][:MAX_SAMPLE]


def _absolute(path: str) -> str:
    return path if s3.is_s3(path) else os.path.abspath(path)


def _rel_key(folder: str, root_dir: str) -> str:
    return folder[len(root_dir):].strip("/") if folder.startswith(root_dir) else ""


def _rel(folder: str, root_dir: str) -> str:
    rel = os.path.relpath(folder, root_dir)
    return "" if rel == "." else rel.replace(os.sep, "/")


def _examples(kind: str, *found) -> list[dict]:
    out: list[dict] = []
    for ex in found:
        if ex is None:
            continue
        item = {"kind": kind, "file": ex["file"], "id": ex[1], "record": ex["line"]}
        if item not in out:
            out.append(item)
    return out[:_PER_KIND]


# ------------------------------------------------------------------ writing


def write_merged_records(merged, output: str, folders=(), kms_key: str | None = None) -> list[str]:
    """Write ``merged`` as JSON Lines under ``{output}/{rel}/merged-00000.jsonl``; return the files' paths
    (``s3://`` URIs for an S3 output), sorted.

    ``output`` is an :class:`~monitor_lib.io.storage.OutputFolder`, an ``s3://`` URI (``kms_key``: its
    objects' SSE-KMS key; an ``OutputFolder`` brings its own) or a local folder. A local folder is written
    as it is: give the ``s3://`` URI of a staged output (``out.public(folder)``), not its staging folder. The
    executors write the files themselves, straight to the output through
    :class:`~monitor_lib.io.storage.Destination` (an S3 output: one PUT per file from the executor; a staged
    S3 output is written to S3, not to the driver's staging folder), so nothing depends on the executors
    sharing the driver's disk. Each folder's records are brought into one task (``repartition("rel")``),
    which writes them as one file, sorted by their text (so a file's bytes do not depend on the plan that made
    the records: a backfill's shared job writes what a single run writes); only ``(rel, file, records)`` per
    folder reach the driver.

    Then earlier ``merged-*.jsonl`` files other than the ones just written are removed from every folder
    written and from ``folders`` (pass :attr:`MergeOutcome.folders` so that a folder whose records no longer
    match is emptied too), so re-running a window is idempotent.
    """
    from pyspark.sql import functions as F

    dest = storage.destination(output, kms_key)
    folder_lines = merged.select(F.coalesce("rel", F.lit("")).alias("rel"),
                                 F.col("line").cast("binary").alias("line"))
    rows = (folder_lines
            .repartition(F.col("rel"))
            .sortWithinPartitions("rel", "line")  # a file's lines in one order whatever the plan before (a backfill's)
            .mapInArrow(_folder_writer(dest), _WRITTEN_SCHEMA)
            .collect())
    written: dict[str, str] = {}
    for r in rows:
        if r["rel"] in written:  # cannot happen: repartition("rel") keeps a folder in one task
            raise StorageError(f"merged folder {r['rel']!r} was written by two tasks")
        written[r["rel"]] = r["file"]
    targets = sorted(set(written) | set(folders))
    stale = 0
    for rel in targets:
        keep = _merged_name(0) if rel in written else None
        for name in dest.names(rel):
            if name.startswith(MERGED_PREFIX) and name.endswith(MERGED_SUFFIX) and name != keep:
                dest.remove(f"{rel}/{name}" if rel else name)
                stale += 1
    log.info("ground-truth merge: wrote %d file(s) (%d record(s)) under %s, removed %d earlier file(s)",
             len(written), sum(int(r["records"]) for r in rows), dest.root, stale)
    return sorted(written.values())


_WRITTEN_SCHEMA = "rel string, file string, records long"


def _merged_name(i: int) -> str:
    return f"{MERGED_PREFIX}{i:05d}{MERGED_SUFFIX}"


def _folder_writer(dest: storage.Destination):
    """The executors' side of :func:`write_merged_records`: the lines of each folder in the task into one
    spooled temporary file (memory, then the executor's local disk), then one write to ``dest``."""

    def write(batches):
        import tempfile

        import pyarrow as pa
        import pyarrow.compute as pc

        files: dict[str, list] = {}  # rel -> [spooled file, records]
        try:
            for batch in batches:
                rels, lines = batch.column(0), batch.column(1)
                folders = pc.unique(rels).to_pylist()  # usually one
                for rel in folders:
                    chosen = lines if len(folders) == 1 else pc.filter(lines, pc.equal(rels, rel))
                    entry = files.get(rel)
                    if entry is None:
                        entry = files[rel] = [tempfile.SpooledTemporaryFile(max_size=16 << 20), 0]
                    entry[0].write(b"\n".join(chosen.to_pylist()) + b"\n")
                    entry[1] += len(chosen)
            out = {"rel": [], "file": [], "records": []}
            for rel, (fh, n) in sorted(files.items()):
                fh.seek(0)
                out["file"].append(dest.write(f"{rel}/{_merged_name(0)}" if rel else _merged_name(0), fh))
                out["rel"].append(rel)
                out["records"].append(n)
            if out["rel"]:
                yield pa.RecordBatch.from_pydict(out, schema=pa.schema(
                    [("rel", pa.string()), ("file", pa.string()), ("records", pa.int64())]))
        finally:
            for fh, _ in files.values():
                fh.close()

    return write
