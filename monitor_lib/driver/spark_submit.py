"""``--target local`` and ``--target standalone``: spark-submit of the packaged job, following its exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from monitor_lib.driver.jobspec import JobSpec
from monitor_lib.driver.package import Package
from monitor_lib.errors import ConfigError, EnvironmentSetupError


def default_spark_submit() -> str:
    """``$SPARK_HOME/bin/spark-submit``, else the one in the pyspark package this process imports."""
    home = os.environ.get("SPARK_HOME")
    if not home:
        try:
            import pyspark
        except ImportError:  # pragma: no cover - pyspark is a dependency
            raise EnvironmentSetupError("no SPARK_HOME and no pyspark: give --spark-submit") from None
        home = str(Path(pyspark.__file__).parent)
    return str(Path(home) / "bin" / "spark-submit")


def parse_conf(pairs: list[str] | None) -> list[tuple[str, str]]:
    out = []
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--conf takes KEY=VALUE (a Spark setting), got {pair!r}")
        out.append((key, value))
    return out


def spark_submit_command(spec: JobSpec, package: Package, *, master: str, python: str | None = None,
                         spark_submit: str | None = None, conf: list[tuple[str, str]] = (),
                         deploy_mode: str | None = None, archives: list[str] = ()) -> list[str]:
    """``spark-submit --master M --py-files monitor_lib.zip [--conf …] jobs/<script>.py <job flags>``."""
    cmd = [spark_submit or default_spark_submit(), "--master", master]
    if deploy_mode:
        cmd += ["--deploy-mode", deploy_mode]
    cmd += ["--py-files", str(package.zip_path)]  # the app name is the job's own (model-monitor-baseline, …)
    for archive in archives:
        cmd += ["--archives", archive]
    if python:
        cmd += ["--conf", f"spark.pyspark.python={python}", "--conf", f"spark.pyspark.driver.python={python}"]
    for key, value in conf:
        cmd += ["--conf", f"{key}={value}"]
    return [*cmd, str(package.script(spec.script)), *spec.script_args]


def run_spark_submit(cmd: list[str], env: dict[str, str] | None = None) -> int:
    """Run spark-submit with this terminal (the job's progress and summary stream through); its exit code."""
    env = dict(os.environ if env is None else env)
    env.pop("PYSPARK_GATEWAY_PORT", None)  # never attach to a JVM of this process
    env.pop("PYSPARK_GATEWAY_SECRET", None)
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    try:
        return subprocess.run(cmd, env=env).returncode
    except FileNotFoundError:
        raise EnvironmentSetupError(f"spark-submit not found at {cmd[0]}: give --spark-submit or set SPARK_HOME") \
            from None
