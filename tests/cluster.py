"""A real Spark standalone cluster for the tests: one master and N workers started with ``spark-class`` on
127.0.0.1, each in its own process group (so the executors and Python workers they spawn die with them),
with its own work, log and conf folders under a temporary directory.

The workers share the test machine's disk with the driver, unlike the nodes of a real cluster. A folder given
in ``private_dirs`` is hidden from them: each worker runs in its own mount namespace (``unshare``) with an
empty tmpfs mounted over the folder, so its executors neither see the driver's files there nor write
anything the driver can read. Give the drivers that folder as ``TMPDIR`` and whatever they stage locally is
out of the executors' reach, as on EMR or any standalone cluster of several machines.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StandaloneCluster:
    master_url: str  # spark://127.0.0.1:<port>
    webui_url: str  # http://127.0.0.1:<port>
    workdir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def state(self) -> dict:
        """The master's JSON status: workers, aliveworkers, activeapps, completedapps, …"""
        with urllib.request.urlopen(f"{self.webui_url}/json", timeout=5) as r:
            return json.loads(r.read())

    def log_tail(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-chars:]}" for p in self.logs if p.exists())

    def stop(self) -> None:
        """SIGTERM every process group, SIGKILL what is left after 15 s. Safe to call twice."""
        for p in self.processes:
            _signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in self.processes:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(p, signal.SIGKILL)  # the group may hold executors even when the leader is gone
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - nothing more we can do
                pass


def _signal_group(p: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(p.pid, sig)  # the process was started as the leader of its own session/group
    except (ProcessLookupError, PermissionError):
        pass


def cluster_environment(workdir: Path, env_extra: dict[str, str] | None = None) -> dict[str, str]:
    """The daemons' environment. Executors (and their Python workers) inherit the worker's, so what a job's
    executors need — e.g. AWS_ENDPOINT_URL and credentials for an S3 emulator — goes in ``env_extra``."""
    conf = workdir / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env.update({"SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_CONF_DIR": str(conf),
                "SPARK_LOG_DIR": str(workdir / "logs"), "SPARK_WORKER_DIR": str(workdir / "work"),
                "SPARK_DAEMON_MEMORY": "256m", "SPARK_NO_DAEMONIZE": "1"})
    env.update(env_extra or {})
    return env


def _unshare_prefix() -> list[str] | None:
    """The command prefix that runs a process in a private mount namespace, or None when this machine
    cannot (no ``unshare``, or neither root nor unprivileged user namespaces)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    for prefix in ([unshare, "--mount", "--propagation", "private"],
                   [unshare, "--user", "--map-root-user", "--mount", "--propagation", "private"]):
        probe = subprocess.run([*prefix, "mount", "-t", "tmpfs", "probe", "/mnt"], capture_output=True,
                               timeout=30)
        if probe.returncode == 0:
            return prefix
    return None


def can_hide_folders() -> bool:
    """True when :func:`start_cluster` can honour ``private_dirs`` here."""
    return _unshare_prefix() is not None


def start_cluster(workdir: Path, workers: int = 1, cores: int = 1, memory: str = "1g",
                  env_extra: dict[str, str] | None = None, timeout: float = 120.0,
                  private_dirs: list[Path] = ()) -> StandaloneCluster:
    """Start a master and ``workers`` workers; return once every worker is ALIVE in the master's /json.
    Each of ``private_dirs`` (existing folders) is replaced by an empty tmpfs for the workers and their
    executors (see the module docstring)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = cluster_environment(workdir, env_extra)
    spark_class = str(spark_home() / "bin" / "spark-class")
    port, ui = free_port(), free_port()
    cluster = StandaloneCluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}", workdir)
    hide: list[str] = []
    if private_dirs:
        prefix = _unshare_prefix()
        if prefix is None:
            raise RuntimeError("private_dirs needs `unshare` with mount namespaces (root or user namespaces)")
        # sh mounts a tmpfs over each folder, then execs spark-class: same pid, same process group
        mounts = " && ".join(f'mount -t tmpfs model-monitor-worker "${i + 1}"'
                             for i in range(len(private_dirs)))
        hide = [*prefix, "sh", "-c", f'{mounts} && shift {len(private_dirs)} && exec "$@"', "sh",
                *[str(d) for d in private_dirs]]

    def launch(name: str, args: list[str], private: bool = False) -> None:
        log = workdir / f"{name}.log"
        cluster.logs.append(log)
        command = [*(hide if private else []), spark_class, *args]
        with open(log, "wb") as fh:
            cluster.processes.append(subprocess.Popen(command, env=env, stdout=fh,
                                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                      start_new_session=True, cwd=workdir))

    try:
        launch("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                          "--webui-port", str(ui)])
        _wait(lambda: cluster.state() is not None, cluster, timeout, "the master's web UI")
        for i in range(workers):
            launch(f"worker-{i + 1}", ["org.apache.spark.deploy.worker.Worker", cluster.master_url, "--host",
                                       "127.0.0.1", "--webui-port", str(free_port()), "--cores", str(cores),
                                       "--memory", memory, "--work-dir", str(workdir / "work")], private=True)
        _wait(lambda: cluster.state().get("aliveworkers", 0) >= workers, cluster, timeout,
              f"{workers} alive worker(s)")
        return cluster
    except BaseException:
        cluster.stop()
        raise


def _wait(ready, cluster: StandaloneCluster, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p for p in cluster.processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"a cluster process exited ({dead[0].args[1]}: {dead[0].returncode})\n"
                               + cluster.log_tail())
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}\n" + cluster.log_tail())
