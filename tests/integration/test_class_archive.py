"""Class-data sharing through ``monitor_lib.spark.get_spark`` in fresh processes (issue 18, item 5): the first
driver JVM writes the archive as it exits, the next one checks it, promotes it and maps it; both compute the same
answer. The JVM's own list of its options (``RuntimeMXBean.getInputArguments``) is the reference for what was
applied; a truncated archive — what a JVM killed while writing leaves — is refused by the check (it would crash the
JVM that maps it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor_lib import spark as spark_module

CHILD = """
import json
from monitor_lib.spark import get_spark
spark = get_spark("cold-start-test")
jvm = spark.sparkContext._jvm
args = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
total = spark.range(1000).selectExpr("sum(id) AS s").collect()[0]["s"]
print("RESULT " + json.dumps({"args": args, "sum": total,
                              "classpath": jvm.java.lang.System.getProperty("java.class.path")}))
"""


def _child(cache: Path, cwd: Path) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    env.update(MODEL_MONITOR_CLASS_CACHE=str(cache), MODEL_MONITOR_SPARK_LOG_LEVEL="ERROR")
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=600)  # returns when the JVM has exited too: it holds the pipes
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("RESULT "), proc.stdout[-2000:]  # no JVM notes on stdout
    return json.loads(lines[0][len("RESULT "):]), proc.stderr


@pytest.mark.slow  # two JVMs of their own, the first writing the archive as it exits
def test_archive_written_checked_then_mapped(tmp_path):
    cache = tmp_path / "cache"
    first, _ = _child(cache, tmp_path)
    assert first["sum"] == sum(range(1000))
    written = [a.split("=", 1)[1] for a in first["args"] if a.startswith("-XX:ArchiveClassesAtExit=")]
    assert len(written) == 1 and not any(a.startswith("-XX:SharedArchiveFile") for a in first["args"])
    tmp = Path(written[0])
    assert tmp.parent == cache and tmp.stat().st_size > 10_000_000  # Spark's driver classes
    note = json.loads(Path(f"{tmp}.json").read_text())
    assert note["classpath"] == first["classpath"] and isinstance(note["pid"], int)

    java = spark_module._java_path()
    truncated = tmp_path / "truncated.jsa"
    with open(tmp, "rb") as src:
        truncated.write_bytes(src.read(1_000_000))
    assert not spark_module._archive_opens(java, str(truncated), note["classpath"])

    second, _ = _child(cache, tmp_path)
    assert second["sum"] == sum(range(1000))
    final = tmp.name.split(".")[0] + ".jsa"  # spark-<key>.jsa
    assert f"-XX:SharedArchiveFile={cache / final}" in second["args"]
    assert not any(a.startswith("-XX:ArchiveClassesAtExit") for a in second["args"])
    assert sorted(p.name for p in cache.iterdir()) == [final]
