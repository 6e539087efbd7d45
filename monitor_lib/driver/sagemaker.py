"""``--target sagemaker``: a SageMaker Processing job of our container (entrypoint ``model-monitor analyze``)
with the BYOC environment of the contract (spec §3.2) and every ``s3://`` input mapped to the
``/opt/ml/processing/...`` path the real service uses (§3.3)."""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor_lib.driver.follow import poll_until_final
from monitor_lib.driver.jobspec import JobSpec
from monitor_lib.errors import ConfigError

PROCESSING = "/opt/ml/processing"
OUTPUT_LOCAL_PATH = f"{PROCESSING}/output"
OUTPUT_NAME = "monitoring_output"  # the SageMaker SDK's name for the analyzer's output
JOB_TERMINAL = ("Completed", "Failed", "Stopped")
ENTRYPOINT = ["model-monitor", "analyze"]

# parameter -> (ProcessingInput name, container folder, is a single file)
_FILE_INPUTS = {
    "baseline_constraints": ("baseline_constraints", f"{PROCESSING}/baseline/constraints"),
    "baseline_statistics": ("baseline_statistics", f"{PROCESSING}/baseline/stats"),
    "record_preprocessor_script": ("record_preprocessor_script_input",
                                   f"{PROCESSING}/input/record_preprocessor_script_input"),
    "post_analytics_processor_script": ("post_analytics_processor_script_input",
                                        f"{PROCESSING}/input/post_analytics_processor_script_input"),
    "analysis_config": ("analysis_config", f"{PROCESSING}/input/config"),  # where the Clarify container reads it
}
_DROPPED = ("CLOUDWATCH_METRICS_DIRECTORY",)  # the container's default (/opt/ml/output/metrics/cloudwatch)


def dataset_input(spec: JobSpec) -> tuple[str, str]:
    """``(ProcessingInput name, container folder)`` of the dataset, where the real service puts it."""
    return spec.phase.processing_input


def _flag(spec: JobSpec, key: str) -> str:
    from monitor_lib.params import declared

    return next((p.flag for _, p in declared(spec.phase.params) if p.env == key), key)


def _s3(params: dict, key: str, spec: JobSpec) -> str:
    value = str(params[key])
    if not value.startswith("s3://") or len(value) <= 5 or value[5] == "/":
        raise ConfigError(f"{_flag(spec, key)} must be an s3:// URI for --target sagemaker "
                          f"(the Processing job downloads it into the container), got {value!r}")
    return value


def _input(name: str, uri: str, local_path: str) -> dict:
    return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": local_path, "S3DataType": "S3Prefix",
                                           "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}


def processing_environment_and_io(spec: JobSpec) -> tuple[dict[str, str], list[dict], dict]:
    """The BYOC ``Environment``, the ``ProcessingInputs`` and the one ``ProcessingOutputs`` entry."""
    params = {k: v for k, v in spec.environment.items() if v not in (None, "") and k not in _DROPPED}
    env: dict[str, str] = {}
    inputs: list[dict] = []
    name, folder = dataset_input(spec)
    inputs.append(_input(name, _s3(params, "dataset_source", spec), folder))
    env["dataset_source"] = folder
    if "ground_truth_source" in params:
        inputs.append(_input("ground_truth_input", _s3(params, "ground_truth_source", spec),
                             f"{PROCESSING}/groundtruth"))
        env["ground_truth_source"] = f"{PROCESSING}/groundtruth"
    for key, (input_name, local) in _FILE_INPUTS.items():
        if key in params:
            uri = _s3(params, key, spec)
            file_name = posixpath.basename(uri.rstrip("/"))
            if not file_name or "/" not in uri[5:]:
                raise ConfigError(f"{_flag(spec, key)} must name a file (s3://bucket/…/name), got {uri!r}")
            inputs.append(_input(input_name, uri, local))
            env[key] = f"{local}/{file_name}"
    output = {"OutputName": OUTPUT_NAME, "S3Output": {"S3Uri": _s3(params, "output_path", spec),
                                                      "LocalPath": OUTPUT_LOCAL_PATH, "S3UploadMode": "EndOfJob"}}
    env["output_path"] = OUTPUT_LOCAL_PATH
    for key, value in params.items():
        if key in env or key in _FILE_INPUTS:
            continue
        if key == "publish_cloudwatch_metrics":
            value = "Enabled" if value is True or str(value).lower() in ("true", "enabled") else "Disabled"
        env[key] = str(value)
    return dict(sorted(env.items())), inputs, output


@dataclass(frozen=True)
class ProcessingOptions:
    image_uri: str
    role_arn: str
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_seconds: int = 3600
    job_name: str | None = None
    kms_key_id: str | None = None  # encrypts the uploaded outputs
    volume_kms_key_id: str | None = None


def default_job_name(spec: JobSpec, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"model-monitor-{spec.kind}-{now:%Y%m%d-%H%M%S}"[:63]


def processing_job_request(spec: JobSpec, options: ProcessingOptions, now: datetime | None = None) -> dict:
    """The ``CreateProcessingJob`` request."""
    env, inputs, output = processing_environment_and_io(spec)
    output_config: dict = {"Outputs": [output]}
    if options.kms_key_id:
        output_config["KmsKeyId"] = options.kms_key_id
    cluster: dict = {"InstanceCount": options.instance_count, "InstanceType": options.instance_type,
                     "VolumeSizeInGB": options.volume_size_gb}
    if options.volume_kms_key_id:
        cluster["VolumeKmsKeyId"] = options.volume_kms_key_id
    return {
        "ProcessingJobName": options.job_name or default_job_name(spec, now),
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": output_config,
        "ProcessingResources": {"ClusterConfig": cluster},
        "StoppingCondition": {"MaxRuntimeInSeconds": options.max_runtime_seconds},
        "AppSpecification": {"ImageUri": options.image_uri, "ContainerEntrypoint": list(ENTRYPOINT)},
        "Environment": env,
        "RoleArn": options.role_arn,
    }


def follow_processing_job(sm, job_name: str, *, poll_seconds: float, timeout_seconds: float | None,
                          sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                          log: Callable[[str], None] | None = None) -> dict:
    """Poll DescribeProcessingJob until Completed / Failed / Stopped (or the timeout); log status changes."""
    return poll_until_final(lambda: sm.describe_processing_job(ProcessingJobName=job_name),
                            lambda job: job["ProcessingJobStatus"], JOB_TERMINAL, f"processing job {job_name}",
                            poll_seconds=poll_seconds, timeout_seconds=timeout_seconds, sleep=sleep, clock=clock,
                            log=log)


def processing_job_report(job: dict, output_uri: str) -> list[str]:
    name = job["ProcessingJobName"]
    lines = [f"SageMaker Processing job {name}: {job['ProcessingJobStatus']}"]
    if job.get("ExitMessage"):
        lines.append(f"  message  {job['ExitMessage'].strip()}")
    if job.get("FailureReason"):
        lines.append(f"  failure  {job['FailureReason']}")
    lines.append(f"  outputs  {output_uri}")
    lines.append(f"  logs     CloudWatch log group /aws/sagemaker/ProcessingJobs, streams {name}/algo-*")
    return lines
