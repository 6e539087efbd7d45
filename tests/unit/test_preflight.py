"""monitor_lib.preflight without Spark: which declared parameters are checked, and how (real files, real
folders; a read-only folder that root cannot write either is /sys)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from monitor_lib.errors import DatasetNotFoundError, StorageError, UnreadableInputError
from monitor_lib.params import existing_file, param
from monitor_lib.preflight import PROBE_PREFIX, check_input, check_output, check_paths


@dataclass(frozen=True)
class Params:
    source: str | None = param("source", "an input", path="input")
    config: str | None = param("config", "an input file", path="input_file")
    script: str | None = param("script", "a script", parse=existing_file)  # an input file by its parser
    name: str | None = param("name", "not a path")
    out: str | None = param("out", "an output", path="output")


def test_only_declared_paths_are_checked(tmp_path):
    (tmp_path / "in.csv").write_text("a\n1\n")
    check_paths(Params(source=str(tmp_path / "in.csv"), name=str(tmp_path / "nope"), out=str(tmp_path / "o/p")))
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]  # nothing created: the output is created by the run
    with pytest.raises(DatasetNotFoundError, match=f"^source {tmp_path}/nope does not exist$"):
        check_paths(Params(source=str(tmp_path / "nope")))
    with pytest.raises(UnreadableInputError, match=f"^config {tmp_path} is a folder, not a file$"):
        check_paths(Params(config=str(tmp_path)))
    with pytest.raises(UnreadableInputError, match=f"^script {tmp_path} is a folder, not a file$"):
        check_paths(Params(script=str(tmp_path)))
    with pytest.raises(StorageError, match=f"^out {tmp_path}/in.csv is a file, not a folder"):
        check_paths(Params(out=str(tmp_path / "in.csv")))
    check_paths(Params(source="s3://bucket/none", config="s3://bucket/c.json", out="s3://bucket/out"))  # later


def test_inputs(tmp_path):
    (tmp_path / "d").mkdir()
    check_input(str(tmp_path / "d"), "dataset_source")  # a folder is an input
    check_input(f"file://{tmp_path}/d", "dataset_source")
    os.symlink(tmp_path / "gone", tmp_path / "link")
    with pytest.raises(DatasetNotFoundError, match=r"link does not exist \(a broken link\)$"):
        check_input(str(tmp_path / "link"), "dataset_source")


def test_outputs(tmp_path):
    (tmp_path / "f").write_text("x")
    check_output(str(tmp_path / "a" / "b" / "c"))  # created later, below a writable folder
    check_output(str(tmp_path))
    with pytest.raises(StorageError, match=f"^output_path {tmp_path}/f/a/b cannot be created: {tmp_path}/f is a "
                                           "file, not a folder$"):
        check_output(str(tmp_path / "f" / "a" / "b"))
    with pytest.raises(StorageError, match=r"^--output /sys/x/y is not writable \(/sys is not\): "):
        check_output("/sys/x/y", "--output")
    assert sorted(os.listdir(tmp_path)) == ["f"]  # the probe files are gone
    assert not any(n.startswith(PROBE_PREFIX) for n in os.listdir(tmp_path))


def test_unknown_path_kind_is_refused():
    with pytest.raises(ValueError, match="path must be one of"):
        param("x", "y", path="folder")
