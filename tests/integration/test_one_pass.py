"""One Spark job reads the input per profile, for 10 and for 1,000 columns.

Jobs are counted with the status tracker (job group), and the stages that read input are found in
Spark's own monitoring REST API: exactly one stage reads the file, and it reads every record once.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import numpy as np
import pandas as pd
import pytest

from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.io.readers import read_dataset
from monitor_lib.profile.options import ProfileOptions
from monitor_lib.profile.profiler import profile_dataset


def _api(spark, path: str):
    sc = spark.sparkContext
    with urllib.request.urlopen(f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/{path}", timeout=30) as r:
        return json.load(r)


def _profile_counting_reads(spark, ds, opts):
    sc = spark.sparkContext
    group = f"profile-{uuid.uuid4()}"
    sc.setJobGroup(group, "profile under test")
    try:
        run = profile_dataset(ds, opts)
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    job_ids = sorted(sc.statusTracker().getJobIdsForGroup(group))
    time.sleep(1.5)  # the REST API is fed by the listener bus
    stage_ids = [s for j in job_ids for s in _api(spark, f"jobs/{j}")["stageIds"]]
    reads = []
    for sid in stage_ids:
        for attempt in _api(spark, f"stages/{sid}"):
            if attempt["status"] == "COMPLETE" and attempt["inputRecords"] > 0:
                reads.append(attempt["inputRecords"])
    return run, job_ids, reads


@pytest.mark.parametrize(("n_rows", "n_cols", "wide_max"), [
    (20_000, 10, None),  # default: unpivot
    (20_000, 10, 100),  # one global aggregation
    (2_000, 1_000, None),
])
def test_profile_reads_the_input_once(spark, tmp_path, n_rows, n_cols, wide_max):
    rng = np.random.default_rng(n_cols)
    frame = pd.DataFrame({f"f{i}": rng.integers(0, 50, n_rows) if i % 2 else rng.random(n_rows).round(4)
                          for i in range(n_cols)})
    frame["f1"] = np.where(rng.random(n_rows) < 0.5, "a", "b")
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    ds = read_dataset(spark, str(path), DatasetFormat("csv", header=True))
    run, jobs, reads = _profile_counting_reads(spark, ds, ProfileOptions(wide_max_columns=wide_max))
    assert run.profile.item_count == n_rows
    assert len(run.profile.columns) == n_cols
    assert reads == [n_rows], f"stages reading input: {reads} (jobs {jobs})"
    # AQE submits the shuffle-map stage as its own job; only one job touches the input
    assert 1 <= len(jobs) <= 2
    assert run.strategy == ("one global aggregation" if wide_max else "unpivoted aggregation by column")
    f0 = run.profile.column("f0")
    assert f0.num_sum == pytest.approx(frame["f0"].sum(), rel=1e-9)
    assert run.profile.column("f1").deequ_type == "String"


def test_both_strategies_give_the_same_states(spark, fixtures):
    path = fixtures / "sdk-pipeline-dq-baseline" / "baseline_dataset.csv"
    ds = read_dataset(spark, str(path), DatasetFormat("csv"))
    unpivot = profile_dataset(ds, ProfileOptions()).profile
    wide = profile_dataset(ds, ProfileOptions(wide_max_columns=100)).profile
    assert unpivot.item_count == wide.item_count == 100
    for a, b in zip(unpivot.columns, wide.columns, strict=True):
        assert (a.name, a.present, a.n_integral, a.n_fractional, a.num_count, a.num_min, a.num_max) == \
            (b.name, b.present, b.n_integral, b.n_fractional, b.num_count, b.num_min, b.num_max)
        assert a.num_sum == pytest.approx(b.num_sum, rel=1e-12) and a.num_m2 == pytest.approx(b.num_m2, rel=1e-9)
