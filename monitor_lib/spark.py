"""The SparkSession every job uses.

Spark settings come from the usual places — spark-submit flags, ``spark-defaults.conf`` under
``SPARK_CONF_DIR``, ``PYSPARK_SUBMIT_ARGS`` — and this module only adds defaults for what nobody set.
Local mode (``local[*]``) is used only when no master is configured anywhere.

When this process creates the SparkContext (plain Python, or under spark-submit), the SQL warehouse
(``spark.sql.warehouse.dir``, which Spark would create as an empty ``spark-warehouse/`` in the working directory)
goes to a temporary folder removed at exit, unless it is configured. The task-failure loggers of the driver
(``Executor``, ``TaskSetManager``) are silenced: a failed read or job reaches the caller as an exception, which
the edges print as one line naming the file; their Java stack traces (a hundred lines for a CSV read as Parquet)
come back with ``MODEL_MONITOR_DEBUG=1`` or ``MODEL_MONITOR_SPARK_LOG_LEVEL=INFO`` (or more verbose).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import subprocess
import sys
import tempfile

from monitor_lib.errors import EnvironmentSetupError

log = logging.getLogger(__name__)

# Runtime SQL defaults applied only when the key is not configured by spark-submit / spark-defaults.conf.
_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
}

# Driver loggers that print a Java stack trace for every failed task: the failure reaches Python as an
# exception and is reported as one line, so their output is noise unless asked for.
_TASK_FAILURE_LOGGERS = ("org.apache.spark.executor.Executor", "org.apache.spark.scheduler.TaskSetManager")


def check_java() -> str:
    """Return the java executable Spark will use, or raise with what to install."""
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        where = f"JAVA_HOME={java_home} has no bin/java" if java_home else "no 'java' on PATH and JAVA_HOME unset"
        raise EnvironmentSetupError(
            f"Java not found ({where}). Spark needs Java 17 or newer: install it "
            "(e.g. 'apt-get install openjdk-17-jre-headless') or set JAVA_HOME."
        )
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except OSError as e:  # pragma: no cover - exotic
        raise EnvironmentSetupError(f"cannot run {java}: {e}") from e
    return out.splitlines()[0] if out else java


def _configured(key: str, flag: str) -> str | None:
    """The value of ``key`` set by spark-submit / PYSPARK_SUBMIT_ARGS / spark-defaults.conf, if any."""
    if flag in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        return "from PYSPARK_SUBMIT_ARGS"
    conf_dir = os.environ.get("SPARK_CONF_DIR") or (
        os.path.join(os.environ["SPARK_HOME"], "conf") if os.environ.get("SPARK_HOME") else None
    )
    if conf_dir:
        path = os.path.join(conf_dir, "spark-defaults.conf")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    parts = line.strip().split(None, 1)
                    if len(parts) == 2 and parts[0] == key:
                        return parts[1]
    return None


def get_spark(app_name: str = "spark-model-monitor"):
    """Get (or create) the SparkSession, honouring every usual Spark configuration source."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if SparkContext._active_spark_context is None and not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Launching a JVM from plain Python: fail early and clearly when Java is missing.
        check_java()
    builder = SparkSession.builder.appName(app_name)
    if SparkContext._active_spark_context is None and not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # We start the JVM ourselves: local mode and a driver heap that fits wide profiles, unless
        # spark-defaults.conf / PYSPARK_SUBMIT_ARGS say otherwise.
        if _configured("spark.master", "--master") is None:
            builder = builder.master("local[*]")
        if _configured("spark.driver.memory", "--driver-memory") is None:
            builder = builder.config("spark.driver.memory", os.environ.get("MODEL_MONITOR_DRIVER_MEMORY", "4g"))
        if not os.environ.get("PYSPARK_PYTHON") and _configured("spark.pyspark.python", "spark.pyspark.python") is None:
            # Python workers (record_preprocessor_script) run this interpreter, with this package and
            # pyarrow, not whatever `python3` is first on PATH
            os.environ["PYSPARK_PYTHON"] = sys.executable
        if _configured("spark.ui.showConsoleProgress", "spark.ui.showConsoleProgress") is None:
            # the stage progress bar ends without a newline when a stage fails, and the one-line error
            # would be glued to it; progress is logged by the stages themselves
            builder = builder.config("spark.ui.showConsoleProgress", "false")
    if SparkContext._active_spark_context is None and not _warehouse_configured():
        builder = builder.config("spark.sql.warehouse.dir", _temporary_warehouse())
    spark = builder.getOrCreate()
    conf = spark.sparkContext.getConf()
    for key, value in _DEFAULTS.items():
        if not conf.contains(key):
            spark.conf.set(key, value)
    level = os.environ.get("MODEL_MONITOR_SPARK_LOG_LEVEL", "WARN")
    spark.sparkContext.setLogLevel(level)
    if not os.environ.get("MODEL_MONITOR_DEBUG") and level.strip().upper() in ("WARN", "ERROR", "FATAL", "OFF"):
        _silence(spark, _TASK_FAILURE_LOGGERS)
    log.info("spark %s, master %s", spark.version, spark.sparkContext.master)
    return spark


def _warehouse_configured() -> bool:
    """Whether ``spark.sql.warehouse.dir`` is set anywhere: spark-defaults.conf or PYSPARK_SUBMIT_ARGS, or — when
    spark-submit started the JVM — its ``--conf``, which are the JVM's system properties."""
    if _configured("spark.sql.warehouse.dir", "spark.sql.warehouse.dir") is not None:
        return True
    if not os.environ.get("PYSPARK_GATEWAY_PORT"):
        return False
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # connects to spark-submit's JVM (it starts none)
    return SparkConf().contains("spark.sql.warehouse.dir")


def _temporary_warehouse() -> str:
    """A temporary ``spark.sql.warehouse.dir`` (nothing is saved as a table), removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="model-monitor-warehouse-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return os.path.join(folder, "spark-warehouse")


def _silence(spark, loggers) -> None:
    """Turn the driver's log4j ``loggers`` off (best effort: a JVM without log4j 2 keeps them)."""
    try:
        jvm = spark.sparkContext._jvm
        off = jvm.org.apache.logging.log4j.Level.OFF
        for name in loggers:
            jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, off)
    except Exception as e:  # pragma: no cover - another logging backend
        log.debug("cannot silence %s: %s", ", ".join(loggers), e)


def try_cast_double(col):
    """``col`` cast to double, null where it does not parse, on every supported Spark.

    ``Column.try_cast`` is Spark 4.0+. PySpark 3.5 has no column form of SQL's ``try_cast``, so there a
    plain ``cast`` is used: it gives the same nulls under Spark 3.5's default non-ANSI mode (with
    ``spark.sql.ansi.enabled=true`` on 3.5 an unparsable value would fail the job instead).
    """
    if hasattr(type(col), "try_cast"):  # not hasattr(col, …): a Column answers any attribute as a field
        return col.try_cast("double")
    return col.cast("double")


def is_valid_utf8(col):
    """``F.is_valid_utf8`` (Spark 4.0+); on Spark 3.5 the same test natively: a string holding invalid
    UTF-8 does not survive a decode/encode round trip (the bad bytes become U+FFFD)."""
    from pyspark.sql import functions as F

    if hasattr(F, "is_valid_utf8"):
        return F.is_valid_utf8(col)
    return F.encode(col, "UTF-8") == col.cast("binary")


def try_url_decode(col):
    """``F.try_url_decode`` (Spark 4.0+); Spark 3.5's ``url_decode`` fails the job on a malformed escape
    instead of returning null, which only a file name with a stray '%' could cause."""
    from pyspark.sql import functions as F

    if hasattr(F, "try_url_decode"):
        return F.try_url_decode(col)
    return F.url_decode(col)
