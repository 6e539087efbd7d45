"""The pure parts of a model-quality backfill: which windows share a job, how a merged file is named as Spark
names it, a merged file's folder (no Spark)."""

from __future__ import annotations

from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.monitors.model_quality import (
    ModelQualityParams,
    _folder_of,
    _group_key,
    precompute_quality,
    spark_uri,
)


def _params(tmp_path, **extra) -> ModelQualityParams:
    base = dict(dataset_source=str(tmp_path / "capture"), dataset_format=DatasetFormat("capture"),
                problem_type="BinaryClassification", probability_attribute="0", output_path=str(tmp_path / "out"),
                baseline_constraints=str(tmp_path / "c.json"), ground_truth_source=str(tmp_path / "gt"))
    base.update(extra)
    return ModelQualityParams(**base)


def test_runs_that_read_for_themselves_get_none_without_spark(tmp_path):
    baseline = _params(tmp_path, baseline_constraints=None, ground_truth_source=None,
                       dataset_format=DatasetFormat("csv"), ground_truth_attribute="label")
    labelled = _params(tmp_path, ground_truth_source=None, dataset_format=DatasetFormat("csv"),
                       ground_truth_attribute="label")
    no_window = _params(tmp_path)  # a capture run without a window: the single run reads every file
    assert precompute_quality(None, [baseline, labelled, no_window]) == [None, None, None]


def test_windows_share_a_job_when_they_read_the_same_data_the_same_way(tmp_path):
    a, b = _params(tmp_path), _params(tmp_path)
    assert _group_key(a) == _group_key(b)
    assert _group_key(a) != _group_key(_params(tmp_path, seed=1))  # other replicas
    assert _group_key(a) != _group_key(_params(tmp_path, probability_threshold_attribute=0.3))
    assert _group_key(a) != _group_key(_params(tmp_path, ground_truth_source=str(tmp_path / "other")))


def test_spark_names_a_local_file_as_a_file_uri_quoting_what_a_uri_path_cannot_hold():
    assert spark_uri("/tmp/out/.7.staging-4ce6/merge/ep/AllTraffic/2026/11/20/07/merged-00000.jsonl") == \
        "file:///tmp/out/.7.staging-4ce6/merge/ep/AllTraffic/2026/11/20/07/merged-00000.jsonl"
    assert spark_uri("/tmp/a b/50%/x=1,y+z/größe/m.jsonl") == "file:///tmp/a%20b/50%25/x=1,y+z/größe/m.jsonl"
    assert spark_uri("s3://bucket/out/merge/m.jsonl") == "s3://bucket/out/merge/m.jsonl"


def test_a_merged_files_folder_relative_to_the_merge_root():
    roots = ("/o/.h.staging-1/merge", "/o/h/merge")  # a local run lists its staging folder
    assert _folder_of("/o/.h.staging-1/merge/ep/AllTraffic/2026/11/20/07/merged-00000.jsonl", roots) == \
        "ep/AllTraffic/2026/11/20/07"
    assert _folder_of("/o/h/merge/ep/v/merged-00000.jsonl", roots) == "ep/v"
    assert _folder_of("/o/h/merge/merged-00000.jsonl", roots) == ""
    assert _folder_of("/o/h/merged/x/merged-00000.jsonl", roots) == "/o/h/merged/x/merged-00000.jsonl"
    assert _folder_of("s3://b/o/merge/ep/v/merged-00000.jsonl", ("s3://b/o/merge/",)) == "ep/v"
