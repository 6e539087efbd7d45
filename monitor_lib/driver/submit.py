"""``model-monitor submit --target local|standalone|emr|sagemaker JOB -- JOB FLAGS``.

The job flags are those of ``model-monitor baseline|monitor|merge`` and are checked here, before
anything is packaged, uploaded or submitted. Exit codes: 0 the run completed; 1 it ended in any other
state (or spark-submit's own non-zero code for local/standalone); 2 invalid flags; 3 still running when
``--timeout-seconds`` ran out.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from monitor_lib.driver.jobspec import JobSpec, parse_job
from monitor_lib.errors import ConfigError

TARGETS = ("local", "standalone", "emr", "sagemaker")
EXIT_OK, EXIT_JOB_FAILED, EXIT_TIMEOUT = 0, 1, 3

SUBMIT_EPILOG = f"""examples:
  model-monitor submit --target local baseline -- --dataset train.csv --format csv --header --output out/
  model-monitor submit --target standalone --master spark://host:7077 monitor -- \\
      --dataset s3://bucket/capture/ep --baseline-constraints s3://bucket/baseline/constraints.json \\
      --output s3://bucket/runs/ep/2026/11/20/10
  model-monitor submit --target emr --cluster-id j-XXXX --code-uri s3://bucket/code monitor -- ...
  model-monitor submit --target sagemaker --image-uri ACCOUNT.dkr.ecr.REGION.amazonaws.com/model-monitor \\
      --role-arn arn:aws:iam::ACCOUNT:role/R monitor -- ...

The job's flags are checked before anything is packaged or submitted.

exit codes:
  {EXIT_OK}    the job succeeded (or was submitted, with --no-wait)
  {EXIT_JOB_FAILED}    the job failed (its state and where its logs are on stderr)
  2    bad flags: submit's own or the job's (one line naming it)
  {EXIT_TIMEOUT}    --timeout-seconds passed while following the job (it keeps running)"""


def add_submit_parser(sub) -> argparse.ArgumentParser:
    s = sub.add_parser(
        "submit", help="run baseline / monitor / merge on Spark local mode, a standalone cluster, an EMR step "
                       "or a SageMaker Processing job",
        description="Package monitor_lib and the job's entry script, submit the job to the target, follow it and "
                    "report where the outputs are. Usage: model-monitor submit --target T [options] JOB -- "
                    "[the flags of `model-monitor JOB`].", epilog=SUBMIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--target", required=True, choices=TARGETS)
    s.add_argument("--poll-seconds", type=float, default=15.0, help="emr / sagemaker: status polling interval (15)")
    s.add_argument("--timeout-seconds", type=float,
                   help="emr / sagemaker: stop following after this long (exit 3; the job keeps running)")
    s.add_argument("--no-wait", action="store_true", help="emr / sagemaker: submit and return at once")
    s.add_argument("--region", help="emr / sagemaker: AWS region (default: the boto3 chain)")

    sp = s.add_argument_group("local / standalone / emr (spark-submit)")
    sp.add_argument("--master", help="standalone: the master URL, spark://host:7077")
    sp.add_argument("--python", help="the Python of the driver and executors, with this package's dependencies "
                                     "(local/standalone: default this interpreter; emr: default the cluster's, "
                                     "or ./ALIAS/bin/python of --archives …#ALIAS)")
    sp.add_argument("--spark-submit", dest="spark_submit",
                    help="local / standalone: the spark-submit to run (default $SPARK_HOME/bin/spark-submit, else "
                         "pyspark's)")
    sp.add_argument("--conf", action="append", metavar="KEY=VALUE", help="a Spark setting (repeatable)")
    sp.add_argument("--archives", action="append", metavar="URI#ALIAS",
                    help="emr: e.g. a packed venv s3://bucket/env.tar.gz#env, passed to spark-submit (repeatable)")

    e = s.add_argument_group("emr")
    e.add_argument("--cluster-id", help="the running cluster, j-…")
    e.add_argument("--code-uri", help="s3://bucket/prefix that receives monitor_lib.zip and the job script")
    e.add_argument("--step-name", help="default: spark-model-monitor <job kind>")

    g = s.add_argument_group("sagemaker")
    g.add_argument("--image-uri", help="our container image (entrypoint model-monitor analyze) in ECR")
    g.add_argument("--role-arn", help="the IAM role the Processing job runs as")
    g.add_argument("--instance-type", default="ml.m5.xlarge")
    g.add_argument("--instance-count", type=int, default=1)
    g.add_argument("--volume-size-gb", type=int, default=30)
    g.add_argument("--max-runtime-seconds", type=int, default=3600)
    g.add_argument("--job-name", help="default: model-monitor-<job kind>-<UTC time>")
    g.add_argument("--kms-key-id", help="KMS key that encrypts the outputs uploaded to S3")
    g.add_argument("--volume-kms-key-id", help="KMS key of the instance's storage volume")

    from monitor_lib.monitors.registry import commands

    s.add_argument("job", choices=commands(), help="the command to run; its flags (with --type) follow `--`")
    s.add_argument("job_args", nargs=argparse.REMAINDER, metavar="-- JOB FLAGS",
                   help="the flags of `model-monitor JOB`, e.g. -- --dataset s3://b/train.csv --format csv --header "
                        "--output s3://b/baseline/")
    s.set_defaults(func=cmd_submit)
    return s


def _require(args: argparse.Namespace, *names: str) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in names if not getattr(args, n)]
    if missing:
        raise ConfigError(f"--target {args.target} needs {', '.join(missing)}")


def _refuse(args: argparse.Namespace, *names: str) -> None:
    given = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n)]
    if given:
        raise ConfigError(f"{', '.join(given)} do(es) not apply to --target {args.target}")


def _client(service: str, region: str | None):
    import boto3
    from botocore.exceptions import NoRegionError

    try:
        return boto3.client(service, region_name=region)
    except NoRegionError:
        raise ConfigError("no AWS region: give --region or set AWS_REGION / AWS_DEFAULT_REGION") from None


def _out(lines: list[str]) -> None:
    for line in lines:
        print(line)


def cmd_submit(args: argparse.Namespace, clients=None) -> int:
    """``clients(service)`` makes the boto3 clients (tests pass botocore-Stubbed ones)."""
    spec = parse_job(args.job, args.job_args)
    make = clients or (lambda service: _client(service, args.region))
    if args.target in ("local", "standalone"):
        _refuse(args, "cluster_id", "code_uri", "image_uri", "role_arn", "archives")
        return _submit_spark(args, spec)
    if args.target == "emr":
        _require(args, "cluster_id", "code_uri")
        _refuse(args, "master", "spark_submit", "image_uri", "role_arn")
        return _submit_emr(args, spec, make("s3"), make("emr"))
    _require(args, "image_uri", "role_arn")
    _refuse(args, "master", "spark_submit", "cluster_id", "code_uri", "archives", "python", "conf")
    return _submit_sagemaker(args, spec, make("sagemaker"))


def _submit_spark(args: argparse.Namespace, spec: JobSpec) -> int:
    from monitor_lib.driver.package import build_package
    from monitor_lib.driver.spark_submit import parse_conf, run_spark_submit, spark_submit_command

    if args.target == "standalone":
        _require(args, "master")
        if not args.master.startswith("spark://"):
            raise ConfigError(f"--master of a standalone cluster is spark://host:port, got {args.master!r}")
        master = args.master
    else:
        master = args.master or "local[*]"
        if not master.startswith("local"):
            raise ConfigError(f"--target local runs local[*] (or local[N]); got --master {master!r}")
    conf = parse_conf(args.conf)
    with tempfile.TemporaryDirectory(prefix="model-monitor-submit-") as tmp:
        package = build_package(tmp)
        cmd = spark_submit_command(spec, package, master=master, python=args.python or sys.executable,
                                   spark_submit=args.spark_submit, conf=conf)
        code = run_spark_submit(cmd)
    if code != 0:
        _out([f"{spec.kind} on {master}: failed (spark-submit exit code {code}); the job's error is above"])
        return code
    output = spec.output_path if "://" in spec.output_path else os.path.abspath(spec.output_path)
    _out([f"{spec.kind} on {master}: completed", f"  outputs  {output}"])
    return code


def _submit_emr(args: argparse.Namespace, spec: JobSpec, s3, emr) -> int:
    from monitor_lib.driver.emr import (
        STEP_TERMINAL,
        EmrOptions,
        add_step,
        follow_step,
        step_definition,
        step_report,
        upload_package,
    )
    from monitor_lib.driver.package import build_package
    from monitor_lib.driver.spark_submit import parse_conf

    if spec.uses_config_file:
        raise ConfigError("--config is read on the cluster's driver, which cannot see this machine's files: "
                          "give the settings as job flags for --target emr")
    options = EmrOptions(cluster_id=args.cluster_id, code_uri=args.code_uri, archives=tuple(args.archives or ()),
                         python=args.python, conf=tuple(parse_conf(args.conf)), step_name=args.step_name)
    with tempfile.TemporaryDirectory(prefix="model-monitor-submit-") as tmp:
        package = build_package(tmp)
        uris = upload_package(s3, package, args.code_uri, spec.script)
    print(f"uploaded {', '.join(uris.values())}", file=sys.stderr)
    step_id = add_step(emr, args.cluster_id, step_definition(spec, uris, options))
    print(f"added step {step_id} to cluster {args.cluster_id}", file=sys.stderr)
    if args.no_wait:
        return _submitted(f"EMR step {step_id} on cluster {args.cluster_id}",
                          f"aws emr describe-step --cluster-id {args.cluster_id} --step-id {step_id}", spec)
    step = follow_step(emr, args.cluster_id, step_id, poll_seconds=args.poll_seconds,
                       timeout_seconds=args.timeout_seconds)
    log_uri = emr.describe_cluster(ClusterId=args.cluster_id)["Cluster"].get("LogUri")
    _out(step_report(step, args.cluster_id, spec.output_path, log_uri))
    return _exit_code(step["Status"]["State"], STEP_TERMINAL, "COMPLETED", "step", args.timeout_seconds)


def _submitted(what: str, follow: str, spec: JobSpec) -> int:
    """``--no-wait``: what was submitted, how to follow it, where its outputs will be."""
    _out([f"{what}: submitted", f"  follow   {follow}", f"  outputs  {spec.output_path}"])
    return EXIT_OK


def _exit_code(state: str, final: tuple[str, ...], success: str, what: str, timeout_seconds: float | None) -> int:
    if state not in final:
        print(f"still {state} after {timeout_seconds:g} s; the {what} keeps running", file=sys.stderr)
        return EXIT_TIMEOUT
    return EXIT_OK if state == success else EXIT_JOB_FAILED


def _submit_sagemaker(args: argparse.Namespace, spec: JobSpec, sm) -> int:
    from monitor_lib.driver.sagemaker import (
        JOB_TERMINAL,
        ProcessingOptions,
        follow_processing_job,
        processing_job_report,
        processing_job_request,
    )

    options = ProcessingOptions(image_uri=args.image_uri, role_arn=args.role_arn, instance_type=args.instance_type,
                                instance_count=args.instance_count, volume_size_gb=args.volume_size_gb,
                                max_runtime_seconds=args.max_runtime_seconds, job_name=args.job_name,
                                kms_key_id=args.kms_key_id, volume_kms_key_id=args.volume_kms_key_id)
    request = processing_job_request(spec, options)
    name = request["ProcessingJobName"]
    sm.create_processing_job(**request)
    print(f"created processing job {name}", file=sys.stderr)
    if args.no_wait:
        return _submitted(f"SageMaker Processing job {name}",
                          f"aws sagemaker describe-processing-job --processing-job-name {name}", spec)
    job = follow_processing_job(sm, name, poll_seconds=args.poll_seconds, timeout_seconds=args.timeout_seconds)
    _out(processing_job_report(job, spec.output_path))
    return _exit_code(job["ProcessingJobStatus"], JOB_TERMINAL, "Completed", "job", args.timeout_seconds)
