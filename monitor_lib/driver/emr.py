"""``--target emr``: upload the package to S3, add a ``command-runner.jar`` spark-submit step to a running
cluster, follow it until it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from monitor_lib.driver.follow import poll_until_final
from monitor_lib.driver.jobspec import JobSpec
from monitor_lib.driver.package import Package
from monitor_lib.errors import ConfigError

STEP_TERMINAL = ("COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED")


def split_s3_uri(uri: str, what: str = "--code-uri") -> tuple[str, str]:
    if not uri.startswith("s3://") or len(uri) <= 5 or uri[5] == "/":
        raise ConfigError(f"{what} must be an s3://bucket/prefix URI, got {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key.strip("/")


def upload_package(s3, package: Package, code_uri: str, script: str) -> dict[str, str]:
    """Put the zip and the job's entry script under ``{code_uri}/{digest}/``; their ``s3://`` URIs by file name."""
    bucket, prefix = split_s3_uri(code_uri)
    base = "/".join(p for p in (prefix, package.short_digest) if p)
    uris = {}
    for path in (package.zip_path, package.script(script)):
        key = f"{base}/{path.name}"
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        uris[path.name] = f"s3://{bucket}/{key}"
    return uris


@dataclass(frozen=True)
class EmrOptions:
    cluster_id: str
    code_uri: str
    archives: tuple[str, ...] = ()
    python: str | None = None  # the executors' / driver's interpreter on the cluster
    conf: tuple[tuple[str, str], ...] = ()
    step_name: str | None = None
    action_on_failure: str = "CONTINUE"


def cluster_python(options: EmrOptions) -> str | None:
    """``--python``, else ``./<alias>/bin/python`` of a packed environment ``--archives …#<alias>``."""
    if options.python:
        return options.python
    for archive in options.archives:
        if "#" in archive:
            return f"./{archive.rsplit('#', 1)[1]}/bin/python"
    return None


def step_definition(spec: JobSpec, uris: dict[str, str], options: EmrOptions) -> dict:
    """The ``AddJobFlowSteps`` step: ``command-runner.jar spark-submit --deploy-mode cluster …``."""
    args = ["spark-submit", "--deploy-mode", "cluster", "--py-files", uris["monitor_lib.zip"]]
    for archive in options.archives:
        args += ["--archives", archive]
    python = cluster_python(options)
    if python:
        args += ["--conf", f"spark.pyspark.python={python}",
                 "--conf", f"spark.yarn.appMasterEnv.PYSPARK_PYTHON={python}",
                 "--conf", f"spark.executorEnv.PYSPARK_PYTHON={python}"]
    for key, value in options.conf:
        args += ["--conf", f"{key}={value}"]
    args += [uris[spec.script], *spec.script_args]
    return {"Name": options.step_name or f"spark-model-monitor {spec.kind}",
            "ActionOnFailure": options.action_on_failure,
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args}}


def add_step(emr, cluster_id: str, step: dict) -> str:
    return emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[step])["StepIds"][0]


def follow_step(emr, cluster_id: str, step_id: str, *, poll_seconds: float, timeout_seconds: float | None,
                sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                log: Callable[[str], None] | None = None) -> dict:
    """Poll DescribeStep until a final state (or the timeout); log each state change. The last ``Step``."""
    return poll_until_final(lambda: emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"],
                            lambda step: step["Status"]["State"], STEP_TERMINAL, f"step {step_id}",
                            poll_seconds=poll_seconds, timeout_seconds=timeout_seconds, sleep=sleep, clock=clock,
                            log=log)


def step_report(step: dict, cluster_id: str, output_path: str, log_uri: str | None) -> list[str]:
    """What the user reads at the end: final state, failure details, where the outputs and logs are."""
    status = step["Status"]
    lines = [f"EMR step {step['Id']} on cluster {cluster_id}: {status['State']}"]
    failure = status.get("FailureDetails") or {}
    for key in ("Reason", "Message", "LogFile"):
        if failure.get(key):
            lines.append(f"  {key.lower():<9}{failure[key]}")
    if status.get("StateChangeReason", {}).get("Message"):
        lines.append(f"  reason   {status['StateChangeReason']['Message']}")
    lines.append(f"  outputs  {output_path}")
    if log_uri:
        lines.append(f"  logs     {log_uri.rstrip('/')}/{cluster_id}/steps/{step['Id']}/")
    return lines
