"""The analyzer image without a Docker engine: the Dockerfile COPYs files that exist and reach the build
context, installs exactly the runtime pins (a closed set), runs the entrypoint wrapper that ends in
`model-monitor analyze`; the wrapper sizes the Spark driver from the cgroup; resourceconfig.json hosts."""

from __future__ import annotations

import json
import os
import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from dockerfile import REPO, copies, dockerignored, entrypoint, env, instructions, repo_file_for
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from monitor_lib.container import Hosts, idle_host_message, resource_hosts, sharded_inputs
from monitor_lib.errors import ConfigError

WRAPPER = REPO / "scripts" / "container-entrypoint.sh"
TEST_ONLY = ("pytest", "ruff", "moto", "pillow", "flask", "docker", "smclarify")


def pins(path: Path) -> dict[str, str]:
    """name -> version of the ``name==version`` lines of a lock file (``-r`` includes not followed)."""
    out = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{path.name}: {line} is not pinned with =="
        out[canonicalize_name(req.name)] = spec.version
    return out


RUNTIME = pins(REPO / "requirements-runtime.lock")


def test_every_copied_file_exists_and_is_in_the_build_context():
    found = copies()
    assert found, "the Dockerfile copies nothing"
    for sources, _ in found:
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
            files = [REPO / source] if (REPO / source).is_file() else [
                p for p in (REPO / source).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
            assert files, f"COPY {source}: an empty folder"
            for f in files:
                rel = f.relative_to(REPO).as_posix()
                assert not dockerignored(rel), f"COPY {source}: {rel} is excluded by .dockerignore"
    # and the context stays small: the tests, the venv, demo output and .git never reach the daemon
    for rel in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "demo-output/x", "README.md",
                "monitor_lib/__pycache__/cli.cpython-311.pyc"):
        assert dockerignored(rel), f"{rel} would be sent to the Docker daemon"


def test_the_image_installs_the_runtime_pins_and_nothing_else():
    runs = [ins.args for ins in instructions() if ins.keyword == "RUN"]
    installs = [re.findall(r"pip install ([^&]*)", r) for r in runs]
    installs = [cmd.split() for group in installs for cmd in group]
    assert len(installs) == 2, installs
    lock_in_image = dict((dest, src) for srcs, dest in copies() for src in srcs)
    deps, package = installs
    assert "-r" in deps and lock_in_image[deps[deps.index("-r") + 1]] == "requirements-runtime.lock"
    assert "--no-deps" in package and lock_in_image.get(package[-1] + "/setup.py") == "setup.py"
    assert lock_in_image[package[-1] + "/monitor_lib"] == "monitor_lib"
    # the full lock (make venv) is the runtime lock plus test tools, no name pinned twice
    full_text = (REPO / "requirements.lock").read_text(encoding="utf-8")
    assert "-r requirements-runtime.lock" in full_text.splitlines()
    test_pins = pins(REPO / "requirements.lock")
    assert not set(test_pins) & set(RUNTIME), set(test_pins) & set(RUNTIME)
    assert not {canonicalize_name(n) for n in TEST_ONLY} & set(RUNTIME)
    for name in ("pyspark", "py4j", "datasketches", "boto3", "pyyaml", "numpy", "pandas", "pyarrow", "scikit-learn"):
        assert name in RUNTIME


def test_the_runtime_pins_are_closed_under_dependencies_and_satisfy_setup_py():
    """Every dependency of a runtime pin is pinned too (read from the installed packages' metadata), so
    `pip install -r requirements-runtime.lock` installs no unpinned version."""
    for name, version in RUNTIME.items():
        dist = metadata.distribution(name)
        assert dist.version == version, f"{name}: {dist.version} installed, {version} pinned"
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            dep = canonicalize_name(req.name)
            assert dep in RUNTIME, f"{name} needs {req}, which requirements-runtime.lock does not pin"
            assert req.specifier.contains(RUNTIME[dep], prereleases=True), f"{name} needs {req}, pinned {RUNTIME[dep]}"
    setup = (REPO / "setup.py").read_text(encoding="utf-8")
    block = re.search(r"install_requires=\[(.*?)\]", setup, re.S).group(1)
    for text in re.findall(r'"([^"]+)"', block):
        req = Requirement(text)
        assert req.specifier.contains(RUNTIME[canonicalize_name(req.name)]), f"setup.py {req} vs the lock"


def test_base_image_java_and_environment():
    ins = instructions()
    assert ins[0].keyword == "FROM" and ins[0].args.startswith("python:3.11-slim-bookworm")
    run = " ".join(i.args for i in ins if i.keyword == "RUN")
    assert "openjdk-17-jre-headless" in run and "/opt/java" in run
    image_env = env()
    assert image_env["JAVA_HOME"] == "/opt/java"
    venv = image_env["VIRTUAL_ENV"]
    assert image_env["PYSPARK_PYTHON"] == f"{venv}/bin/python"
    assert image_env["PATH"].split(":")[0] == f"{venv}/bin"
    assert image_env["HOME"] == "/tmp"  # writable for any --user
    assert [i.args for i in ins if i.keyword == "WORKDIR"][-1] == "/tmp"
    assert not [i for i in ins if i.keyword == "USER"]  # SageMaker runs it as root; any user works


def test_the_entrypoint_is_the_wrapper_that_ends_in_model_monitor_analyze():
    command = entrypoint()
    assert len(command) == 1
    assert repo_file_for(command[0]) == WRAPPER
    assert os.access(WRAPPER, os.X_OK)
    lines = [ln.strip() for ln in WRAPPER.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines[-1] == 'exec model-monitor analyze "$@"'
    assert 'model-monitor=monitor_lib.cli:main' in (REPO / "setup.py").read_text(encoding="utf-8")


# --- the wrapper's driver memory ---------------------------------------------------------------------

def _wrapper(tmp_path: Path, *, memory_max: str | None = None, v1_limit: str | None = None,
             mem_total_kib: int | None = 8 * 1024 * 1024, **extra: str) -> tuple[str, list[str], str]:
    """Run the wrapper with a fake cgroup tree, a fake /proc/meminfo and a fake `model-monitor` that
    prints its arguments and the memory it was given."""
    cgroup = tmp_path / "cgroup"
    (cgroup / "memory").mkdir(parents=True, exist_ok=True)
    if memory_max is not None:
        (cgroup / "memory.max").write_text(memory_max + "\n")
    if v1_limit is not None:
        (cgroup / "memory" / "memory.limit_in_bytes").write_text(v1_limit + "\n")
    meminfo = tmp_path / "meminfo"
    if mem_total_kib is not None:
        meminfo.write_text(f"MemTotal:       {mem_total_kib} kB\nMemFree:         1234 kB\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "model-monitor"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\necho "memory=${MODEL_MONITOR_DRIVER_MEMORY:-unset}"\n')
    fake.chmod(0o755)
    environ = {"PATH": f"{bin_dir}:/usr/bin:/bin", "MODEL_MONITOR_CGROUP_ROOT": str(cgroup),
               "MODEL_MONITOR_MEMINFO": str(meminfo), **extra}
    r = subprocess.run([str(WRAPPER), "--flag"], capture_output=True, text=True, env=environ, timeout=30)
    assert r.returncode == 0, r.stderr
    *args, memory = r.stdout.splitlines()
    return memory.removeprefix("memory="), args, r.stderr


@pytest.mark.parametrize("kwargs, expected", [
    ({"memory_max": str(4 * 1024**3)}, f"{4096 * 70 // 100}m"),  # cgroup v2 limit
    ({"memory_max": "max"}, f"{8192 * 70 // 100}m"),  # v2 without a limit: MemTotal
    ({"v1_limit": str(16 * 1024**3)}, f"{8192 * 70 // 100}m"),  # a v1 limit above MemTotal: MemTotal
    ({"v1_limit": str(2 * 1024**3)}, f"{2048 * 70 // 100}m"),  # cgroup v1 limit
    ({"v1_limit": "9223372036854771712"}, f"{8192 * 70 // 100}m"),  # v1's "no limit"
    ({"memory_max": str(300 * 1024**2)}, "512m"),  # a floor for tiny containers
    ({"memory_max": str(10 * 1024**3), "mem_total_kib": 32 * 1024**2, "MODEL_MONITOR_DRIVER_MEMORY_PERCENT": "50"},
     "5120m"),
    ({"memory_max": str(10 * 1024**3), "MODEL_MONITOR_DRIVER_MEMORY": "3g"}, "3g"),  # set by the user: kept
    ({"mem_total_kib": None}, "unset"),  # nothing known: monitor_lib/spark.py's default
])
def test_the_wrapper_sizes_the_driver_from_the_container_memory(tmp_path, kwargs, expected):
    memory, args, stderr = _wrapper(tmp_path, **kwargs)
    assert memory == expected
    assert args == ["analyze", "--flag"]  # exec model-monitor analyze "$@"
    if "MODEL_MONITOR_DRIVER_MEMORY" not in kwargs:
        assert "model-monitor-entrypoint:" in stderr


# --- resourceconfig.json ------------------------------------------------------------------------------

def _resourceconfig(root: Path, doc) -> str:
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "resourceconfig.json").write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(root)


def test_resource_hosts(tmp_path):
    assert resource_hosts(str(tmp_path)) is None  # a local run
    root = _resourceconfig(tmp_path, {"current_host": "algo-2", "hosts": ["algo-1", "algo-2", "algo-10"],
                                      "network_interface_name": "eth0"})
    hosts = resource_hosts(root)
    assert hosts == Hosts("algo-2", ("algo-1", "algo-2", "algo-10"))
    assert (hosts.primary, hosts.is_primary) == ("algo-1", False)
    assert idle_host_message(hosts) == (
        "Idle: host algo-2 (2 of 3) has nothing to do: the analysis runs on algo-1, the first host of "
        "resourceconfig.json, in Spark local mode. Use InstanceCount=1: the other instances stay idle.")
    assert resource_hosts(_resourceconfig(tmp_path, {"current_host": "algo-1", "hosts": ["algo-1"]})).is_primary
    for bad, match in [("{", "is not readable JSON"), ({"current_host": "algo-3", "hosts": ["algo-1"]},
                                                       "current_host.*'algo-3' is not one of the hosts"),
                       ({"current_host": "a", "hosts": []}, "must be a non-empty list"),
                       ({"current_host": "a", "hosts": ["a", "a"]}, "distinct host names")]:
        with pytest.raises(ConfigError, match=match):
            resource_hosts(_resourceconfig(tmp_path, bad))


def test_sharded_inputs(tmp_path):
    (tmp_path / "config").mkdir()
    assert sharded_inputs(str(tmp_path)) == []  # no file
    (tmp_path / "config" / "processingjobconfig.json").write_text(json.dumps({"ProcessingInputs": [
        {"InputName": "endpoint_input", "S3Input": {"S3DataDistributionType": "ShardedByS3Key"}},
        {"InputName": "baseline", "S3Input": {"S3DataDistributionType": "FullyReplicated"}},
        {"S3Input": {"S3DataDistributionType": "ShardedByS3Key"}}], "Environment": {}}))
    assert sharded_inputs(str(tmp_path)) == ["endpoint_input", "ProcessingInputs[2]"]


# --- the README's requests ----------------------------------------------------------------------------

def test_the_guides_boto3_monitoring_schedule_request_is_valid():
    """The README's `create_monitoring_schedule` call, run against a botocore Stubber: its parameters are
    validated against botocore's model of the SageMaker API, and the image is ours."""
    import types

    import boto3
    from botocore.stub import Stubber

    readme = (REPO / "docs" / "sagemaker.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    (code,) = [b for b in blocks if 'boto3.client("sagemaker").create_monitoring_schedule(' in b]
    client = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    seen = {}

    class Any:  # accept whatever passes botocore's validation, and keep it
        def __eq__(self, other):
            seen["request"] = other
            return True

    stub.add_response("create_monitoring_schedule", {"MonitoringScheduleArn": "arn:aws:sagemaker:x"},
                      {"MonitoringScheduleName": "churn-hourly", "MonitoringScheduleConfig": Any()})
    fake_boto3 = types.SimpleNamespace(client=lambda *a, **k: client)
    with stub:
        exec(code, {"boto3": fake_boto3, "bucket": "my-bucket", "role": "arn:aws:iam::123456789012:role/sm",
                    "image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/spark-model-monitor:0.1.0"})
        stub.assert_no_pending_responses()
    job = seen["request"]["MonitoringJobDefinition"]
    assert job["MonitoringAppSpecification"] == {
        "ImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/spark-model-monitor:0.1.0"}
    assert job["MonitoringResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert job["MonitoringOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["LocalPath"] == "/opt/ml/processing/output"
