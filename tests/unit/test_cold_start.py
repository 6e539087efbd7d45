"""Cold start (issue 18, item 5) without a Spark session.

* The commands that fail or answer before any work — ``--help``, ``--version``, an argument error, a configuration
  error — import no Spark, no pandas, no Arrow, no AWS SDK: checked in a real ``model-monitor`` process with
  ``python -X importtime`` (the interpreter's own list of what it imported), beside the exit code and message.
* Class-data sharing (``monitor_lib.spark``): when it applies (Java 17+, a writable cache folder, nobody set the
  driver JVM's options), how an archive is named, and that an archive a JVM cannot map is never used — checked
  with the real ``java``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor_lib import __version__, spark

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pyspark", "py4j", "pandas", "pyarrow", "scipy", "boto3", "botocore", "jinja2", "sklearn")


def _run_cli(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, set[str], str]:
    """``python -X importtime -m monitor_lib.cli ARGS``: the process, the top-level packages it imported, its
    stderr without the import-time lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "monitor_lib.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)
    imported, other = set(), []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:"):
            imported.add(line.rsplit("|", 1)[1].strip().split(".")[0])
        else:
            other.append(line)
    assert "monitor_lib" in imported  # the listing works: the CLI itself is in it
    return proc, imported, "\n".join(other)


@pytest.mark.parametrize("case", ["help", "version", "bad flag value", "unknown yaml key", "bad number"])
def test_answers_and_errors_import_no_spark(case, tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "bad.yaml").write_text("dataset_source: data.csv\ndataset_sauce: y\n")
    args, code, expected = {
        "help": (["--help"], 0, "usage: model-monitor"),
        "version": (["--version"], 0, f"model-monitor {__version__}"),
        "bad flag value": (["baseline", "--dataset", "data.csv", "--format", "nope", "--output", "o"], 2,
                           "error: --format must be one of csv, json, parquet, got 'nope'"),
        "unknown yaml key": (["baseline", "--config", "bad.yaml", "--output", "o"], 2,
                             "error: --config bad.yaml: unknown key(s) dataset_sauce"),
        "bad number": (["baseline", "--dataset", "data.csv", "--format", "csv", "--output", "o", "--kll-k", "-3"],
                       2, "error: kll_k must be between 8 and 65535, got -3"),
    }[case]
    proc, imported, stderr = _run_cli(args, tmp_path)
    assert proc.returncode == code, stderr[-2000:]
    assert expected in (proc.stdout if code == 0 else stderr)
    assert "Traceback" not in stderr
    assert sorted(set(HEAVY) & imported) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "data.csv"]  # nothing written, no JVM files


# ---------------------------------------------------------------- class-data sharing: when it applies


@pytest.mark.parametrize("line, major", [
    ('openjdk version "17.0.15" 2025-04-15', 17),
    ('openjdk version "21" 2023-09-19', 21),
    ('java version "1.8.0_392"', 8),
    ('openjdk version "11.0.21" 2023-10-17', 11),
    ("Picked up JAVA_TOOL_OPTIONS: -Xmx1g", None),
])
def test_java_major(line, major):
    assert spark._java_major(line) == major


@pytest.fixture
def clean_spark_env(monkeypatch, tmp_path):
    """No spark-submit arguments, an empty Spark conf folder, the class cache in ``tmp_path``."""
    for name in ("PYSPARK_SUBMIT_ARGS", "HADOOP_CONF_DIR", "YARN_CONF_DIR", "SPARK_DIST_CLASSPATH", "SPARK_CLASSPATH",
                 "SPARK_PREPEND_CLASSES"):
        monkeypatch.delenv(name, raising=False)
    conf = tmp_path / "conf"
    conf.mkdir()
    monkeypatch.setenv("SPARK_CONF_DIR", str(conf))
    monkeypatch.setenv("MODEL_MONITOR_CLASS_CACHE", str(tmp_path / "cache"))
    return conf


@pytest.mark.parametrize("setting", [
    None,
    "PYSPARK_SUBMIT_ARGS=--driver-java-options -Dx=1 pyspark-shell",
    "PYSPARK_SUBMIT_ARGS=--conf spark.driver.extraJavaOptions=-Dx=1 pyspark-shell",
    "PYSPARK_SUBMIT_ARGS=--driver-class-path /opt/x.jar pyspark-shell",
    "spark-defaults.conf=spark.driver.extraJavaOptions -XX:TieredStopAtLevel=1",
    "spark-defaults.conf=spark.driver.extraClassPath /opt/x.jar",
])
def test_only_when_nobody_set_the_driver_jvm(setting, clean_spark_env, monkeypatch):
    if setting is not None:
        where, value = setting.split("=", 1)
        if where == "PYSPARK_SUBMIT_ARGS":
            monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", value)
        else:
            (clean_spark_env / "spark-defaults.conf").write_text(f"spark.master local[1]\n{value}\n")
    assert spark._driver_jvm_unconfigured() is (setting is None)


def _java() -> tuple[str, str]:
    java = spark._java_path()
    return java, spark.check_java()


def test_off_old_java_or_unusable_folder(clean_spark_env, monkeypatch, tmp_path):
    java, version = _java()
    options, writing = spark._class_data_sharing(java, version, "4g")
    assert writing is not None and writing.startswith(str(tmp_path / "cache" / "spark-"))
    assert options.split() == [f"-XX:ArchiveClassesAtExit={writing}", "-Xlog:cds=off", "-Xlog:cds+dynamic=off"]
    for off in ("off", "0", "false"):
        monkeypatch.setenv("MODEL_MONITOR_CLASS_CACHE", off)
        assert spark._class_data_sharing(java, version, "4g") is None
    monkeypatch.setenv("MODEL_MONITOR_CLASS_CACHE", str(tmp_path / "with space"))  # Spark splits options there
    assert spark._class_data_sharing(java, version, "4g") is None
    monkeypatch.setenv("MODEL_MONITOR_CLASS_CACHE", str(tmp_path / "cache"))
    assert spark._class_data_sharing(java, 'openjdk version "11.0.21" 2023-10-17', "4g") is None
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("MODEL_MONITOR_CLASS_CACHE", str(tmp_path / "a-file"))  # not a folder
    assert spark._class_data_sharing(java, version, "4g") is None


def test_not_with_a_folder_of_files_on_the_class_path(clean_spark_env, monkeypatch):
    """The JVM cannot archive a class path holding a non-empty folder (it says so on stdout as it exits)."""
    java, version = _java()
    assert spark._class_path_archivable()
    (clean_spark_env / "spark-defaults.conf").write_text("spark.sql.shuffle.partitions 4\n")
    assert not spark._class_path_archivable()
    assert spark._class_data_sharing(java, version, "4g") is None
    (clean_spark_env / "spark-defaults.conf").unlink()
    monkeypatch.setenv("HADOOP_CONF_DIR", str(clean_spark_env))  # on the class path too
    assert not spark._class_path_archivable()
    monkeypatch.delenv("HADOOP_CONF_DIR")
    monkeypatch.setenv("SPARK_CONF_DIR", str(clean_spark_env / "missing"))
    assert spark._class_path_archivable()


def test_archive_named_by_java_jars_conf_and_heap(clean_spark_env, monkeypatch, tmp_path):
    home = tmp_path / "spark-home"
    (home / "jars").mkdir(parents=True)
    jar = home / "jars" / "spark-core.jar"
    jar.write_bytes(b"x" * 10)
    monkeypatch.setenv("SPARK_HOME", str(home))
    java, version = _java()
    key = spark._archive_key(java, version, "4g")
    assert len(key) == 16 and key == spark._archive_key(java, version, "4g")
    assert spark._archive_key(java, version, "8g") != key
    assert spark._archive_key(java, version.replace("17", "21"), "4g") != key
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert spark._archive_key(java, version, "4g") != key
    monkeypatch.setenv("SPARK_CONF_DIR", str(clean_spark_env))
    jar.write_bytes(b"x" * 11)  # an upgraded jar
    assert spark._archive_key(java, version, "4g") != key


# ---------------------------------------------------------------- class-data sharing: what is used


def _note(tmp: Path, pid: int, classpath: str = "/nowhere") -> None:
    Path(f"{tmp}.json").write_text(json.dumps({"pid": pid, "classpath": classpath}))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_broken_archive_is_never_used(clean_spark_env, tmp_path):
    """A half-written archive (its JVM killed as it wrote) crashes the JVM that maps it: it is checked with
    ``-Xshare:on`` and dropped; an archive whose JVM still runs is left to it, and no second one is started."""
    java, version = _java()
    cache = tmp_path / "cache"
    cache.mkdir()
    key = spark._archive_key(java, version, "4g")
    broken = cache / f"spark-{key}.aaaaaaaaaaaa.jsa.tmp"
    broken.write_bytes(b"\x00" * 4096)
    _note(broken, _dead_pid())
    busy = cache / f"spark-{key}.bbbbbbbbbbbb.jsa.tmp"
    busy.write_bytes(b"\x00" * 4096)
    _note(busy, os.getpid())  # alive: still writing
    assert not spark._archive_opens(java, str(broken), str(REPO))
    assert spark._class_data_sharing(java, version, "4g") is None  # one JVM writing is enough
    assert sorted(p.name for p in cache.iterdir()) == sorted([busy.name, busy.name + ".json"])
    assert not (cache / f"spark-{key}.jsa").exists()

    _note(busy, _dead_pid())  # it ended without a usable archive: dropped, a new one is started
    options, writing = spark._class_data_sharing(java, version, "4g")
    assert list(cache.iterdir()) == [] and writing is not None
    assert f"-XX:ArchiveClassesAtExit={writing}" in options.split()
