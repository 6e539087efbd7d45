"""merge-profiles as a library function: profiles stored in S3 (the emulator) merged into an s3:// output give
the same files as the same merge on local files, and the union's numbers are pandas' over both datasets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitor_lib.errors import DatasetNotFoundError, FormatError
from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.io.readers import read_dataset
from monitor_lib.profile.options import ProfileOptions
from monitor_lib.profile.profiler import profile_dataset
from monitor_lib.profile.state import read_profile, write_profile
from monitor_lib.rollup import merge_profile_files

BUCKET = "rollup-tests"


def _frame(n: int, seed: int, shift: float, extra: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1, n).round(6), "k": rng.integers(0, 50, n),
                         "city": rng.choice(["berlin", "lisbon", "oslo"], n), extra: rng.random(n)})


@pytest.fixture(scope="module")
def stored(spark, aws_server, tmp_path_factory):
    """Two profiles (two datasets with one column each of their own) as local files and as S3 objects.
    Together they hold fewer values than a KLL sketch keeps (2048), so merging compacts nothing: KLL
    compaction flips a random coin, and two merges of larger profiles would differ within the sketch error,
    not to the bit."""
    root = tmp_path_factory.mktemp("rollup")
    client = aws_server.client("s3")
    client.create_bucket(Bucket=BUCKET)
    frames = {"a": _frame(1200, 5, 0.0, "only_a"), "b": _frame(800, 6, 2.0, "only_b")}
    local, remote = [], []
    for name, frame in frames.items():
        frame.to_parquet(root / f"{name}.parquet")
        dataset = read_dataset(spark, str(root / f"{name}.parquet"), DatasetFormat("parquet"))
        profile = profile_dataset(dataset).profile
        path = root / name / "profile.json"
        path.parent.mkdir()
        write_profile(profile, str(path))
        client.put_object(Bucket=BUCKET, Key=f"runs/{name}/profile.json", Body=path.read_bytes())
        local.append(str(path))
        remote.append(f"s3://{BUCKET}/runs/{name}/profile.json")
    return {"root": root, "client": client, "local": local, "remote": remote, "frames": frames}


def _s3_text(client, key: str) -> str:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def test_profiles_in_s3_merge_into_an_s3_output_like_the_local_merge(stored):
    client, root = stored["client"], stored["root"]
    local = merge_profile_files(stored["local"], str(root / "merged"), "JensenShannonDivergence")
    remote = merge_profile_files(stored["remote"], f"s3://{BUCKET}/rollup/ab/", "JensenShannonDivergence")

    assert remote.files == {"statistics": f"s3://{BUCKET}/rollup/ab/statistics.json",
                            "constraints": f"s3://{BUCKET}/rollup/ab/constraints.json",
                            "profile": f"s3://{BUCKET}/rollup/ab/profile.json"}
    assert local.files == {k: str(root / "merged" / f"{k}.json")
                           for k in ("statistics", "constraints", "profile")}
    for name in ("statistics.json", "constraints.json", "profile.json"):
        assert _s3_text(client, f"rollup/ab/{name}") == (root / "merged" / name).read_text(), name
    assert sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="rollup/")["Contents"]) == [
        "rollup/ab/constraints.json", "rollup/ab/profile.json", "rollup/ab/statistics.json"]

    # the union's numbers: pandas over both datasets
    both = pd.concat(stored["frames"].values(), ignore_index=True)
    assert (remote.profiles, remote.item_count, remote.features) == (2, len(both), 5)
    assert remote.output_path == f"s3://{BUCKET}/rollup/ab/"
    stats = json.loads(_s3_text(client, "rollup/ab/statistics.json"))
    assert stats["dataset"]["item_count"] == len(both)
    features = {f["name"]: f for f in stats["features"]}
    assert sorted(features) == ["city", "k", "only_a", "only_b", "x"]
    x = features["x"]["numerical_statistics"]
    assert (x["min"], x["max"]) == (both["x"].min(), both["x"].max())
    assert math.isclose(x["sum"], both["x"].sum(), rel_tol=1e-12)
    assert math.isclose(x["mean"], both["x"].mean(), rel_tol=1e-12)
    assert math.isclose(x["std_dev"], both["x"].std(ddof=0), rel_tol=1e-9)
    assert features["only_a"]["numerical_statistics"]["common"]["num_missing"] == 800
    city = {b["value"]: b["count"]
            for b in features["city"]["string_statistics"]["distribution"]["categorical"]["buckets"]}
    assert city == both["city"].value_counts().to_dict()
    constraints = json.loads(_s3_text(client, "rollup/ab/constraints.json"))
    assert constraints["monitoring_config"]["distribution_constraints"]["categorical_drift_method"] == \
        "JensenShannonDivergence"
    assert read_profile(f"s3://{BUCKET}/rollup/ab/profile.json").item_count == len(both)  # rolls up further


def test_nothing_is_written_when_a_profile_is_missing_or_does_not_merge(stored, spark):
    client, root = stored["client"], stored["root"]
    with pytest.raises(DatasetNotFoundError, match=f"s3://{BUCKET}/runs/c/profile.json does not exist"):
        merge_profile_files([stored["remote"][0], f"s3://{BUCKET}/runs/c/profile.json"], f"s3://{BUCKET}/bad/1",
                            None)
    small = root / "small" / "profile.json"
    small.parent.mkdir()
    frame = read_dataset(spark, str(root / "a.parquet"), DatasetFormat("parquet"))
    write_profile(profile_dataset(frame, ProfileOptions(kll_k=200)).profile, str(small))
    client.put_object(Bucket=BUCKET, Key="runs/small/profile.json", Body=small.read_bytes())
    with pytest.raises(FormatError,
                       match=f"s3://{BUCKET}/runs/small/profile.json: parameters: sketch sizes kll_k 200"):
        merge_profile_files([stored["remote"][0], f"s3://{BUCKET}/runs/small/profile.json"], f"s3://{BUCKET}/bad/2",
                            None)
    not_a_profile = Path(root / "stats.json")
    not_a_profile.write_text('{"version": 0.0, "dataset": {"item_count": 1}}')
    with pytest.raises(FormatError, match="stats.json: format: not a profile state file"):
        merge_profile_files([str(not_a_profile)], f"s3://{BUCKET}/bad/3", None)
    assert "Contents" not in client.list_objects_v2(Bucket=BUCKET, Prefix="bad/")
