"""The SageMaker container contract (spec §3): the ``/opt/ml`` root, the analyzer's parameters from
``processingjobconfig.json`` and the environment, the hosts of ``resourceconfig.json``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from monitor_lib.errors import ConfigError

# SageMaker environment names the analyzer accepts without using them (spec §3.2)
ACCEPTED_UNUSED = ("sagemaker_endpoint_datacapture_prefix", "exclude_features_attribute")


def opt_ml_root() -> str:
    """The ``/opt/ml`` root; ``MODEL_MONITOR_OPT_ML`` redirects it so the container contract runs anywhere."""
    return os.environ.get("MODEL_MONITOR_OPT_ML", "/opt/ml")


def _config_json(path: str):
    """A file of ``<opt/ml root>/config`` parsed; unreadable or invalid JSON names the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path} is not readable JSON: {e}") from None


def sagemaker_environment(keys: list[str], root: str | None = None,
                          environ: dict[str, str] | None = None) -> dict[str, str]:
    """Parameters as the real analyzer sees them.

    ``keys``: the environment names the analyzer reads (every registered monitor's declared names,
    ``analysis_type`` and :data:`ACCEPTED_UNUSED`); other keys of the job's Environment are the scripts'.

    ``<root>/config/processingjobconfig.json["Environment"]`` is the base (it is authoritative in a real
    Processing job); process environment variables of the same names override it, so a local run can
    tweak one value without editing the file.
    """
    root = root or opt_ml_root()
    environ = dict(os.environ) if environ is None else environ
    params: dict[str, str] = {}
    path = os.path.join(root, "config", "processingjobconfig.json")
    if os.path.exists(path):
        doc = _config_json(path)
        env = doc.get("Environment") if isinstance(doc, dict) else None
        if env is not None and not isinstance(env, dict):
            raise ConfigError(f"{path}: \"Environment\" must be an object of strings")
        params.update({str(k): str(v) for k, v in (env or {}).items()})
        # the job's output KMS key (CreateProcessingJob's ProcessingOutputConfig.KmsKeyId) encrypts what
        # this container itself uploads when output_path is an s3:// URI
        outputs = doc.get("ProcessingOutputConfig") if isinstance(doc, dict) else None
        if isinstance(outputs, dict) and outputs.get("KmsKeyId") and not params.get("output_kms_key"):
            params["output_kms_key"] = str(outputs["KmsKeyId"])
    for key in keys:
        if environ.get(key) not in (None, ""):
            params[key] = environ[key]
    return params


@dataclass(frozen=True)
class Hosts:
    """``<root>/config/resourceconfig.json``: the instances of a Processing job. The analysis runs in
    Spark local mode on the first host listed; the others have nothing to do (see :func:`idle_host_message`)."""

    current: str
    hosts: tuple[str, ...]

    @property
    def primary(self) -> str:
        return self.hosts[0]

    @property
    def is_primary(self) -> bool:
        return self.current == self.primary


def resource_hosts(root: str | None = None) -> Hosts | None:
    """The hosts of the job, or None without a resourceconfig.json (a local run: one host)."""
    path = os.path.join(root or opt_ml_root(), "config", "resourceconfig.json")
    if not os.path.exists(path):
        return None
    doc = _config_json(path)
    hosts = doc.get("hosts") if isinstance(doc, dict) else None
    current = doc.get("current_host") if isinstance(doc, dict) else None
    if (not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) and h for h in hosts)
            or len(set(hosts)) != len(hosts)):
        raise ConfigError(f"{path}: \"hosts\" must be a non-empty list of distinct host names, got {hosts!r}")
    if current not in hosts:
        raise ConfigError(f"{path}: \"current_host\" {current!r} is not one of the hosts {hosts}")
    return Hosts(current=current, hosts=tuple(hosts))


def idle_host_message(hosts: Hosts) -> str:
    """What a host other than the first writes to /opt/ml/output/message before exiting 0."""
    return (f"Idle: host {hosts.current} ({hosts.hosts.index(hosts.current) + 1} of {len(hosts.hosts)}) has nothing "
            f"to do: the analysis runs on {hosts.primary}, the first host of resourceconfig.json, in Spark local "
            "mode. Use InstanceCount=1: the other instances stay idle.")


def sharded_inputs(root: str | None = None) -> list[str]:
    """Names of the ProcessingInputs of processingjobconfig.json downloaded with ``ShardedByS3Key``: with
    several hosts each gets only a part of them, and the first host alone would analyse a part of the data."""
    path = os.path.join(root or opt_ml_root(), "config", "processingjobconfig.json")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, json.JSONDecodeError):
        return []  # a missing or broken file is reported by sagemaker_environment
    inputs = doc.get("ProcessingInputs") if isinstance(doc, dict) else None
    names = []
    for i, item in enumerate(inputs if isinstance(inputs, list) else []):
        s3 = item.get("S3Input") if isinstance(item, dict) else None
        if isinstance(s3, dict) and s3.get("S3DataDistributionType") == "ShardedByS3Key":
            names.append(str(item.get("InputName") or f"ProcessingInputs[{i}]"))
    return names
