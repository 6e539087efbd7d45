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

Class-data sharing (a cold start in about half the JVM's CPU): when this process starts the driver JVM and nobody
set ``spark.driver.extraJavaOptions`` or ``spark.driver.extraClassPath``, the classes a Spark driver loads are
archived once (``-XX:ArchiveClassesAtExit``, written by the first run's JVM as it exits) under
``~/.cache/spark-model-monitor`` (``$XDG_CACHE_HOME``, or the folder ``MODEL_MONITOR_CLASS_CACHE`` names) and mapped
by every later JVM (``-XX:SharedArchiveFile``). Not when the class path holds a folder of files (a
``spark-defaults.conf`` in ``SPARK_CONF_DIR``, ``HADOOP_CONF_DIR``): the JVM cannot archive it. An archive is used
only after a JVM of its own class path opened it with ``-Xshare:on`` (a half-written archive crashes the JVM that
maps it), and it is named by what it depends on (java, Spark's jars and conf folder, the driver heap): an upgrade
makes a new one. ``MODEL_MONITOR_CLASS_CACHE=off`` turns it off. Only class loading changes: the JIT, the heap and
the plans are the same, so large runs lose nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

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


def _java_path() -> str | None:
    """The java executable Spark's launcher runs (``$JAVA_HOME/bin/java``, else ``java`` on PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    return os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")


def check_java() -> str:
    """Return the first line of ``java -version`` of the java Spark will use, or raise with what to install."""
    java_home = os.environ.get("JAVA_HOME")
    java = _java_path()
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


# The JVM's own notes on the archive (a class it cannot archive, a path mismatch) would go to the driver's stdout.
_CDS_QUIET = ("-Xlog:cds=off", "-Xlog:cds+dynamic=off")
_CDS_OFF = ("off", "0", "false", "no", "disabled")


def _java_major(version_line: str) -> int | None:
    """17 for ``openjdk version "17.0.15" 2025-04-15``, 8 for ``java version "1.8.0_392"``."""
    m = re.search(r'version "(\d+)(?:\.(\d+))?', version_line)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _class_cache_folder() -> str | None:
    """Where the class archives live, or None when turned off (``MODEL_MONITOR_CLASS_CACHE=off``)."""
    setting = os.environ.get("MODEL_MONITOR_CLASS_CACHE", "").strip()
    if setting.lower() in _CDS_OFF:
        return None
    if setting:
        return os.path.abspath(os.path.expanduser(setting))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "spark-model-monitor")


def _archive_key(java: str, version_line: str, driver_memory: str) -> str:
    """A name for everything a driver's class archive depends on: the JVM, Spark's jars, the heap size."""
    from pyspark.find_spark_home import _find_spark_home

    spark_home = os.path.realpath(_find_spark_home())
    jars = []
    for path in sorted(glob.glob(os.path.join(spark_home, "jars", "*.jar"))):
        st = os.stat(path)
        jars.append(f"{os.path.basename(path)}:{st.st_size}:{st.st_mtime_ns}")
    conf_dir = os.environ.get("SPARK_CONF_DIR", "")  # on the class path too
    text = "\n".join([os.path.realpath(java), version_line, spark_home, conf_dir, driver_memory, *jars])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie — exited, not yet reaped — does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _archive_opens(java: str, archive: str, classpath: str) -> bool:
    """Whether a JVM with ``classpath`` maps ``archive`` (``-Xshare:on`` makes any failure an exit code)."""
    try:
        # a broken archive may crash this JVM: no hs_err_pid*.log in the working directory, no core dump
        proc = subprocess.run([java, "-Xshare:on", f"-XX:SharedArchiveFile={archive}", *_CDS_QUIET,
                               "-XX:ErrorFile=/dev/null", "-XX:-CreateCoredumpOnCrash", "-cp", classpath, "-version"],
                              capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def _settle_archives(folder: str, key: str, java: str) -> bool:
    """Promote the archives earlier runs' JVMs finished writing (checked first) to ``spark-KEY.jsa``; drop the
    broken and abandoned ones. True while another JVM is still writing one."""
    final = os.path.join(folder, f"spark-{key}.jsa")
    writing = False
    for note in glob.glob(os.path.join(folder, f"spark-{key}.*.jsa.tmp.json")):
        tmp = note[:-len(".json")]
        try:
            with open(note, encoding="utf-8") as fh:
                info = json.load(fh)
            pid, classpath = int(info["pid"]), str(info["classpath"])
        except (OSError, ValueError, KeyError, TypeError):
            pid, classpath = None, None
        if pid is not None and _pid_alive(pid):
            writing = True
            continue
        try:
            if (classpath and not os.path.exists(final) and os.path.exists(tmp)
                    and _archive_opens(java, tmp, classpath)):
                os.replace(tmp, final)
                log.info("class-data sharing: archive %s", final)
        except OSError as e:
            log.debug("class-data sharing: %s", e)
        for path in (tmp, note):
            with contextlib.suppress(OSError):
                os.remove(path)
    for tmp in glob.glob(os.path.join(folder, f"spark-{key}.*.jsa.tmp")):  # a JVM that never said its pid
        with contextlib.suppress(OSError):
            if not os.path.exists(tmp + ".json") and time.time() - os.path.getmtime(tmp) > 3600:
                os.remove(tmp)
    return writing


def _driver_jvm_unconfigured() -> bool:
    """Nobody set the driver JVM's options or class path (spark-submit flags or ``--conf`` in
    ``PYSPARK_SUBMIT_ARGS``, ``spark-defaults.conf``): class-data sharing may add its options without replacing
    anyone's."""
    return (_configured("spark.driver.extraJavaOptions", "--driver-java-options") is None
            and _configured("spark.driver.extraJavaOptions", "spark.driver.extraJavaOptions") is None
            and _configured("spark.driver.extraClassPath", "--driver-class-path") is None
            and _configured("spark.driver.extraClassPath", "spark.driver.extraClassPath") is None)


def _class_path_archivable() -> bool:
    """Whether the driver's class path can be archived: a JVM refuses to (and says so on stdout as it exits) when
    a folder on it holds files — Spark's conf folder (``SPARK_CONF_DIR``, else ``$SPARK_HOME/conf``), or what
    ``HADOOP_CONF_DIR``, ``YARN_CONF_DIR``, ``SPARK_DIST_CLASSPATH`` add."""
    if any(os.environ.get(name) for name in ("HADOOP_CONF_DIR", "YARN_CONF_DIR", "SPARK_DIST_CLASSPATH",
                                             "SPARK_CLASSPATH", "SPARK_PREPEND_CLASSES")):
        return False
    from pyspark.find_spark_home import _find_spark_home

    conf_dir = os.environ.get("SPARK_CONF_DIR") or os.path.join(_find_spark_home(), "conf")
    try:
        return not os.listdir(conf_dir)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _class_data_sharing(java: str, version_line: str, driver_memory: str) -> tuple[str, str | None] | None:
    """``(driver JVM options, archive being written or None)`` for class-data sharing, or None where it does not
    apply (turned off, Java older than 17, no writable cache folder, a path Spark would split, a class path with a
    folder of files)."""
    folder = _class_cache_folder()
    major = _java_major(version_line)
    if folder is None or major is None or major < 17 or os.name != "posix" or re.search(r"[\s'\"\\]", folder):
        return None
    try:
        if not _class_path_archivable():
            return None
        os.makedirs(folder, exist_ok=True)
        if not os.access(folder, os.W_OK):
            return None
        key = _archive_key(java, version_line, driver_memory)
        writing = _settle_archives(folder, key, java)
    except (OSError, ImportError) as e:
        log.debug("class-data sharing off: %s", e)
        return None
    final = os.path.join(folder, f"spark-{key}.jsa")
    if os.path.exists(final):
        return " ".join([f"-XX:SharedArchiveFile={final}", "-Xshare:auto", *_CDS_QUIET]), None
    if writing:
        return None
    tmp = os.path.join(folder, f"spark-{key}.{uuid.uuid4().hex[:12]}.jsa.tmp")
    return " ".join([f"-XX:ArchiveClassesAtExit={tmp}", *_CDS_QUIET]), tmp


def _note_archive_writer(spark, tmp: str) -> None:
    """Beside the archive this JVM will write as it exits: its pid (a later run waits for it to end) and its class
    path (what the archive is checked with)."""
    from pyspark import SparkContext

    try:
        pid = SparkContext._gateway.proc.pid
        classpath = spark.sparkContext._jvm.java.lang.System.getProperty("java.class.path")
        with open(tmp + ".json", "w", encoding="utf-8") as fh:
            json.dump({"pid": pid, "classpath": classpath}, fh)
    except Exception as e:  # noqa: BLE001 - without the note the archive is dropped later, nothing else
        log.debug("class-data sharing: %s", e)


def get_spark(app_name: str = "spark-model-monitor"):
    """Get (or create) the SparkSession, honouring every usual Spark configuration source."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    launching = SparkContext._gateway is None and not os.environ.get("PYSPARK_GATEWAY_PORT")
    java_version = ""
    if SparkContext._active_spark_context is None and not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Launching a JVM from plain Python: fail early and clearly when Java is missing.
        java_version = check_java()
    builder = SparkSession.builder.appName(app_name)
    archive_tmp = None
    if SparkContext._active_spark_context is None and not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # We start the JVM ourselves: local mode and a driver heap that fits wide profiles, unless
        # spark-defaults.conf / PYSPARK_SUBMIT_ARGS say otherwise.
        if _configured("spark.master", "--master") is None:
            builder = builder.master("local[*]")
        driver_memory = _configured("spark.driver.memory", "--driver-memory")
        if driver_memory is None:
            driver_memory = os.environ.get("MODEL_MONITOR_DRIVER_MEMORY", "4g")
            builder = builder.config("spark.driver.memory", driver_memory)
        if launching and _driver_jvm_unconfigured():
            cds = _class_data_sharing(_java_path(), java_version, driver_memory)
            if cds is not None:
                options, archive_tmp = cds
                builder = builder.config("spark.driver.extraJavaOptions", options)
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
    if archive_tmp is not None:
        _note_archive_writer(spark, archive_tmp)
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
