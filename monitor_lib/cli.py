"""``model-monitor``: the command line. Thin: flags / YAML / SageMaker environment → config → jobs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback

from monitor_lib import __version__
from monitor_lib.config import (
    CATEGORICAL_DRIFT_METHODS,
    MERGE_KEYS,
    MODEL_QUALITY_KEYS,
    MONITORING_KEYS,
    PROBLEM_TYPES,
    BaselineConfig,
    MergeConfig,
    ModelQualityConfig,
    MonitoringConfig,
    baseline_config_from_params,
    idle_host_message,
    merge_config_from_params,
    model_quality_config_from_params,
    monitoring_config_from_params,
    opt_ml_root,
    resource_hosts,
    sagemaker_environment,
    sharded_inputs,
)
from monitor_lib.errors import ConfigError, MonitorError
from monitor_lib.sinks.message import EXIT_FAILED, EXIT_OK, write_message

log = logging.getLogger("monitor_lib")

BASELINE_KEYS = ("dataset_source", "dataset_format", "output_path", "categorical_drift_method",
                 "max_categories", "kll_k", "hll_lg_k", "wide_max_columns", "output_kms_key", "sketches")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("monitor_lib").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("py4j").setLevel(logging.WARNING)


DEFAULT_CAPTURE_FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'
MONITOR_FLAGS = {  # flag dest -> SageMaker parameter name (monitor, both analysis types)
    "endpoint": "sagemaker_endpoint_name",
    "schedule": "sagemaker_monitoring_schedule_name",
    "cloudwatch_metrics_directory": "CLOUDWATCH_METRICS_DIRECTORY",
}


def _load_yaml(path: str, known: tuple[str, ...] = BASELINE_KEYS) -> dict:
    import yaml

    from monitor_lib.errors import InputError
    from monitor_lib.io.storage import read_text

    try:
        doc = yaml.safe_load(read_text(path, "--config")) or {}
    except OSError as e:
        raise ConfigError(f"--config {path} cannot be read: {e.strerror}") from None
    except InputError as e:  # s3://
        raise ConfigError(str(e)) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"--config {path} is not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"--config {path} must be a mapping of settings, got {type(doc).__name__}")
    unknown = sorted(set(doc) - set(known))
    if unknown:
        raise ConfigError(f"--config {path}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(known)}")
    if isinstance(doc.get("dataset_format"), dict):
        doc["dataset_format"] = json.dumps(doc["dataset_format"])
    return doc


def baseline_params_from_args(args: argparse.Namespace) -> dict:
    """The flat parameters (SageMaker environment names) of ``model-monitor baseline`` flags / --config."""
    params: dict = _load_yaml(args.config) if args.config else {}
    if args.format:
        params["dataset_format"] = _format_flag(args)
    elif args.header is not None:
        params["dataset_format"] = json.dumps({"csv": {"header": args.header}})
    return _copy_flags(args, params, BASELINE_KEYS)


def _format_flag(args: argparse.Namespace) -> str:
    """``--format csv|json|parquet`` (with ``--header``) as SageMaker's ``dataset_format`` JSON."""
    fmt: dict = {args.format: {}}
    if args.format == "csv":
        fmt["csv"]["header"] = bool(args.header)
    return json.dumps(fmt)


def _copy_flags(args: argparse.Namespace, params: dict, keys: tuple[str, ...],
                renamed: dict[str, str] | None = None) -> dict:
    """The flags given on the command line over ``params`` (from --config): ``keys`` by their own name,
    ``renamed`` flag dest -> parameter name."""
    for key in keys:
        if getattr(args, key, None) is not None:
            params[key] = getattr(args, key)
    for dest, key in (renamed or {}).items():
        if getattr(args, dest, None) is not None:
            params[key] = getattr(args, dest)
    return params


def baseline_config_from_args(args: argparse.Namespace) -> BaselineConfig:
    return baseline_config_from_params(baseline_params_from_args(args), source="flags / --config")


def monitoring_params_from_args(args: argparse.Namespace) -> dict:
    """The flat parameters (SageMaker environment names) of ``model-monitor monitor`` flags / --config."""
    params: dict = _load_yaml(args.config, MONITORING_KEYS) if args.config else {}
    if args.format and args.format != "capture":
        params["dataset_format"] = _format_flag(args)
    _copy_flags(args, params, MONITORING_KEYS, MONITOR_FLAGS)
    params.setdefault("dataset_format", DEFAULT_CAPTURE_FORMAT)
    return params


def monitoring_config_from_args(args: argparse.Namespace) -> MonitoringConfig:
    return monitoring_config_from_params(monitoring_params_from_args(args), source="flags / --config")


DEFAULT_MERGE_FORMAT = '{"sagemakerMergeJson": {"captureIndexNames": ["endpointOutput"]}}'


def model_quality_params_from_args(args: argparse.Namespace, monitoring: bool) -> dict:
    """The flat parameters (SageMaker environment names) of model-quality baseline / monitor flags."""
    params: dict = _load_yaml(args.config, MODEL_QUALITY_KEYS) if args.config else {}
    if args.format and args.format not in ("capture", "merged"):
        params["dataset_format"] = _format_flag(args)
    elif args.format == "capture":
        params["dataset_format"] = DEFAULT_CAPTURE_FORMAT
    elif args.format == "merged":
        params["dataset_format"] = DEFAULT_MERGE_FORMAT
    elif args.header is not None:
        params["dataset_format"] = json.dumps({"csv": {"header": args.header}})
    _copy_flags(args, params, MODEL_QUALITY_KEYS, MONITOR_FLAGS)
    if monitoring:
        if not params.get("baseline_constraints"):
            raise ConfigError("--baseline-constraints is required: the constraints.json of the model-quality baseline")
        params.setdefault("dataset_format", DEFAULT_CAPTURE_FORMAT if params.get("ground_truth_source")
                          else DEFAULT_MERGE_FORMAT)
    elif params.get("baseline_constraints"):
        raise ConfigError("baseline_constraints makes a monitoring run: use model-monitor monitor")
    return params


def model_quality_config_from_args(args: argparse.Namespace, monitoring: bool) -> ModelQualityConfig:
    return model_quality_config_from_params(model_quality_params_from_args(args, monitoring),
                                            source="flags / --config")


def merge_params_from_args(args: argparse.Namespace) -> dict:
    params: dict = _load_yaml(args.config, MERGE_KEYS) if args.config else {}
    return _copy_flags(args, params, MERGE_KEYS)


def merge_config_from_args(args: argparse.Namespace) -> MergeConfig:
    return merge_config_from_params(merge_params_from_args(args), source="flags / --config")


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items())


def _print_window_and_records(s: dict, what: str) -> None:
    """The window and the ``records:`` line of a run summary (rejected / skipped counts by kind)."""
    window = s["window"]
    if window["start_time"] or window["end_time"]:
        print(f"  window: {window['start_time'] or '-'} to {window['end_time'] or '-'}")
    rejected, skipped = s["records_rejected"], s["records_skipped"]
    print(f"  records: {what} from {s['files_read']} file(s)"
          + (f", {sum(rejected.values())} rejected ({_counts_text(rejected)})" if rejected else "")
          + (f", {sum(skipped.values())} skipped ({_counts_text(skipped)})" if skipped else ""))


def _print_files(files: dict[str, str], width: int = 19) -> None:
    for name, path in files.items():
        print(f"  {name:<{width}}{path}")


def print_model_quality_summary(result) -> None:
    s = result.summary()
    print(result.message)
    if result.merge is not None:
        print("  merge: " + result.merge.message.removeprefix("Completed: "))
    _print_window_and_records(s, f"{s['records_evaluated']} evaluated ({s['problem_type']})")
    if result.statistics is not None:
        constraints = result.constraints.constraints if result.constraints else {}
        violated = {v.metric_name for v in result.violations}
        shown = [(k, m) for k, m in result.statistics.metrics.items() if "best_constant" not in k]
        for name, m in shown:
            c = constraints.get(name)
            limit = f"  ({c.comparison_operator} {c.threshold:.6g})" if c else ""
            flag = "  VIOLATION" if name in violated else ""
            std = "" if m.standard_deviation is None else f" ± {m.standard_deviation:.4g}"
            print(f"    {name:<22}{m.value:.6g}{std}{limit}{flag}")
    print(f"  {s['seconds']:.1f} s on Spark master {s['spark_master']}")
    _print_files(s["files"])


def print_merge_summary(result) -> None:
    s = result.summary()
    print(result.message)
    print(f"  captures: {s['capture_files']} file(s), {s['predictions']} predictions in the window; "
          f"ground truth: {s['ground_truth_files']} file(s), {s['labels']} labels")
    for name in ("captures_rejected", "labels_rejected", "captures_skipped"):
        if s[name]:
            print(f"  {name.replace('_', ' ')}: {_counts_text(s[name])}")
    print(f"  {s['merged_files']} merged file(s) under {result.output_path}; {s['seconds']:.1f} s")
    _print_files(s["files"])


def print_monitoring_summary(result) -> None:
    s = result.summary()
    print(result.message)
    _print_window_and_records(s, f"{s['records_profiled']} profiled")
    if s["violations"]:
        print("  violations: " + ", ".join(f"{k}: {v}" for k, v in s["violations_by_check"].items()))
        for v in result.violations[:10]:
            print(f"    {v.constraint_check_type:<26}{v.feature_name:<24}{v.description}")
        if len(result.violations) > 10:
            print(f"    ... {len(result.violations) - 10} more in {s['files'].get('violations')}")
    worst = worst_features(s["features_measured"])
    if worst:
        print("  most drifted: " + "; ".join(worst))
    print(f"  {s['seconds']:.1f} s on Spark master {s['spark_master']}")
    _print_files(s["files"])


def worst_features(measured: list[dict], n: int = 3) -> list[str]:
    """``AGE 0.31 (threshold 0.1), …``: the ``n`` features with the largest drift relative to their threshold."""
    drifted = [m for m in measured if m.get("drift_distance") is not None]
    drifted.sort(key=lambda m: -(m["drift_distance"] / m["drift_threshold"] if m.get("drift_threshold")
                                 else m["drift_distance"]))
    return [f"{m['name']} {m['drift_distance']:.4g} (threshold {m['drift_threshold']:.4g})"
            for m in drifted[:n] if m["drift_distance"] > 0]


def print_baseline_summary(result) -> None:
    s = result.summary()
    types = ", ".join(f"{n} {t}" for t, n in sorted(s["inferred_types"].items()))
    print(f"{s['message']}")
    print(f"  records: {s['records_profiled']} profiled"
          + (f", {sum(s['records_rejected'].values())} rejected ({_counts_text(s['records_rejected'])})"
             if s["records_rejected"] else ""))
    print(f"  features: {s['features']} ({types})")
    print(f"  profile: {s['profile_strategy']}, {s['seconds']:.1f} s on Spark master {s['spark_master']}")
    _print_files(s["files"], 16)


# --- commands -----------------------------------------------------------------------------------

def cmd_baseline(args: argparse.Namespace) -> int:
    from monitor_lib.jobs import run_baseline, run_model_quality

    if args.analysis_type == "model-quality":
        result = run_model_quality(model_quality_config_from_args(args, monitoring=False))
        print_model_quality_summary(result)
        return EXIT_OK
    _reject_model_quality_flags(args)
    config = baseline_config_from_args(args)
    result = run_baseline(config)
    print_baseline_summary(result)
    return EXIT_OK


def cmd_monitor(args: argparse.Namespace) -> int:
    from monitor_lib.jobs import run_data_quality, run_model_quality

    if args.analysis_type == "model-quality":
        result = run_model_quality(model_quality_config_from_args(args, monitoring=True))
        print_model_quality_summary(result)
        return EXIT_OK
    _reject_model_quality_flags(args)
    if args.format == "merged":
        raise ConfigError("--format merged is the model-quality input: add --analysis-type model-quality")
    result = run_data_quality(monitoring_config_from_args(args))
    print_monitoring_summary(result)
    return EXIT_OK


def _reject_model_quality_flags(args: argparse.Namespace) -> None:
    given = [f"--{k.replace('_', '-')}" for k in MQ_ONLY_FLAGS if getattr(args, k, None) is not None]
    if given:
        raise ConfigError(f"{', '.join(given)} belong(s) to model quality: add --analysis-type model-quality")


def cmd_merge(args: argparse.Namespace) -> int:
    from monitor_lib.jobs import run_merge

    result = run_merge(merge_config_from_args(args))
    print_merge_summary(result)
    return EXIT_OK


def cmd_merge_profiles(args: argparse.Namespace) -> int:
    from monitor_lib.checks.suggest import suggest_constraints
    from monitor_lib.formats.constraints import write_constraints
    from monitor_lib.formats.statistics import write_statistics
    from monitor_lib.profile.state import PROFILE_FILE_NAME, merge_profiles, read_profile, write_profile
    from monitor_lib.profile.summarize import statistics_from_profile

    profiles = [read_profile(p) for p in args.profiles]
    merged = profiles[0]
    for p in profiles[1:]:
        merged = merge_profiles(merged, p)
    os.makedirs(args.output_path, exist_ok=True)
    stats = statistics_from_profile(merged)
    write_statistics(stats, os.path.join(args.output_path, "statistics.json"))
    write_constraints(suggest_constraints(stats, args.categorical_drift_method),
                      os.path.join(args.output_path, "constraints.json"))
    write_profile(merged, os.path.join(args.output_path, PROFILE_FILE_NAME))
    print(f"merged {len(profiles)} profiles: {merged.item_count} records, {len(merged.columns)} features")
    print(f"  output          {args.output_path}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from monitor_lib.sinks.report.history import write_history
    from monitor_lib.sinks.report.run import SUMMARY_FILE, write_run_report

    root = args.root
    if not os.path.isdir(root):
        raise ConfigError(f"OUTPUT_ROOT {root} is not a folder: give a monitoring output root "
                          "({endpoint}/{schedule}/yyyy/mm/dd/hh below it) or one run's output folder")
    if os.path.exists(os.path.join(root, SUMMARY_FILE)):
        path = write_run_report(root) if args.output is None else _run_report_to(root, args.output)
        print(f"report of the run in {root}: {path}")
        return EXIT_OK
    path, points = write_history(root, args.output)
    schedules = sorted({(p.schedule, p.kind) for p in points})
    print(f"history of {len(points)} run(s) in {len(schedules)} schedule(s): {path}")
    for schedule, kind in schedules:
        runs = [p for p in points if (p.schedule, p.kind) == (schedule, kind)]
        counts: dict[str, int] = {}
        for p in runs:
            for name in p.violated:
                counts[name] = counts.get(name, 0) + 1
        often = ", ".join(f"{k} ({v})" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
        print(f"  {schedule} ({kind.replace('_', ' ')}): {len(runs)} runs, "
              f"{sum(1 for p in runs if p.violated)} with violations; last {runs[-1].when:%Y-%m-%d %H:%M} "
              f"{runs[-1].status}" + (f"; most violated: {often}" if often else ""))
    if not points:
        print(f"  no monitoring run found under {root} (folders with run_summary.json or constraint_violations.json)")
    return EXIT_OK


def _run_report_to(folder: str, output: str) -> str:
    from monitor_lib.formats.jsonfmt import write_json_atomic
    from monitor_lib.sinks.report.run import load_run, render_run_report

    write_json_atomic(output, render_run_report(load_run(folder)))
    return output


def cmd_analyze(args: argparse.Namespace) -> int:
    """Run exactly like SageMaker's analyzer container: parameters from processingjobconfig.json and/or
    environment variables, exit message in <root>/output/message, exit 0 or 255."""
    from monitor_lib.jobs import run_baseline, run_data_quality, run_merge, run_model_quality

    root = opt_ml_root()
    try:
        hosts = resource_hosts(root)
        if hosts is not None and not hosts.is_primary:  # one host does the work (Spark local mode)
            message = idle_host_message(hosts)
            log.warning("%s", message)
            print(message)
            write_message(root, message)
            return EXIT_OK
        if hosts is not None and len(hosts.hosts) > 1:
            sharded = sharded_inputs(root)
            if sharded:
                raise ConfigError(
                    f"input(s) {', '.join(sharded)} use S3DataDistributionType ShardedByS3Key with "
                    f"{len(hosts.hosts)} hosts: {hosts.primary} alone runs the analysis and would see only "
                    "its shard. Use FullyReplicated (the default) or InstanceCount=1")
            log.warning("%d hosts in resourceconfig.json: the analysis runs on %s alone (Spark local mode), the "
                        "others exit at once; InstanceCount=1 does the same for less", len(hosts.hosts), hosts.primary)
        params = sagemaker_environment(root)
        _export_custom_environment(params)
        analysis = (params.get("analysis_type") or "DATA_QUALITY").upper()
        if analysis not in ("DATA_QUALITY", "MODEL_QUALITY"):
            raise ConfigError(f"analysis_type must be DATA_QUALITY or MODEL_QUALITY, got {params['analysis_type']!r}")
        source = f"SageMaker environment under {root}"
        if analysis == "MODEL_QUALITY":  # the analyzer: baseline, or monitoring of merged records
            result = run_model_quality(model_quality_config_from_params(params, source=source))
            print_model_quality_summary(result)
        elif params.get("ground_truth_source"):  # the ground-truth merger container
            result = run_merge(merge_config_from_params(params, source=source))
            print_merge_summary(result)
        elif params.get("baseline_constraints"):
            result = run_data_quality(monitoring_config_from_params(params, source=source))
            print_monitoring_summary(result)
        else:
            result = run_baseline(baseline_config_from_params(params, source=source))
            print_baseline_summary(result)
        write_message(root, result.message)
        return EXIT_OK
    except Exception as e:  # the container contract: message file + exit 255, whatever went wrong
        log.error("Exception performing analysis: %s", e)
        if not isinstance(e, MonitorError) or os.environ.get("MODEL_MONITOR_DEBUG"):
            traceback.print_exc()
        write_message(root, str(e), overwrite=False)
        return EXIT_FAILED


def _export_custom_environment(params: dict[str, str]) -> None:
    """Like the real image: non-analyzer keys of processingjobconfig.json become environment variables
    (pre/post-processing scripts read them)."""
    from monitor_lib.config import ANALYZER_KEYS

    for key, value in params.items():
        if key not in ANALYZER_KEYS and key not in os.environ:
            os.environ[key] = value


# --- parser -------------------------------------------------------------------------------------

MQ_ONLY_FLAGS = ("problem_type", "inference_attribute", "probability_attribute",
                 "probability_threshold_attribute", "ground_truth_attribute", "positive_label", "ground_truth_source")


def _add_model_quality_flags(p: argparse.ArgumentParser) -> None:
    q = p.add_argument_group("model quality (--analysis-type model-quality)")
    q.add_argument("--analysis-type", dest="analysis_type", choices=("data-quality", "model-quality"),
                   default="data-quality", help="data-quality (default) or model-quality")
    q.add_argument("--problem-type", dest="problem_type", choices=PROBLEM_TYPES)
    q.add_argument("--inference-attribute", dest="inference_attribute",
                   help="the prediction: column name, 0-based position or JSON path ($.predictions[0].label)")
    q.add_argument("--probability-attribute", dest="probability_attribute",
                   help="binary: the predicted probability of the positive class (name, position or JSON path)")
    q.add_argument("--probability-threshold-attribute", dest="probability_threshold_attribute",
                   help="binary: predicted label = probability >= this threshold (default 0.5 without "
                        "--inference-attribute)")
    q.add_argument("--ground-truth-attribute", dest="ground_truth_attribute",
                   help="the actual label in a labelled dataset (name, position or JSON path)")
    q.add_argument("--positive-label", dest="positive_label", help="binary: the positive class (default 1/true)")
    q.add_argument("--seed", type=int, help="seed of the 5 bootstrap samples behind the standard deviations")

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="model-monitor", description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="run as the SageMaker analyzer container (env / processingjobconfig.json)")
    a.set_defaults(func=cmd_analyze)

    b = sub.add_parser("baseline", help="profile a dataset; write statistics.json and constraints.json")
    b.add_argument("--config", help="YAML file with any of: " + ", ".join(BASELINE_KEYS))
    b.add_argument("--dataset", dest="dataset_source", help="file or directory (read recursively), or s3:// URI")
    b.add_argument("--output", dest="output_path", help="directory (or s3:// URI) that receives the files")
    b.add_argument("--format", choices=("csv", "json", "parquet"), help="shorthand for --dataset-format")
    b.add_argument("--dataset-format", dest="dataset_format",
                   help='SageMaker dataset_format JSON, e.g. \'{"csv": {"header": true}}\'')
    hdr = b.add_mutually_exclusive_group()
    hdr.add_argument("--header", dest="header", action="store_true", default=None, help="CSV has a header line")
    hdr.add_argument("--no-header", dest="header", action="store_false", help="CSV has no header (_c0, _c1, ...)")
    b.add_argument("--categorical-drift-method", choices=CATEGORICAL_DRIFT_METHODS)
    b.add_argument("--kms-key", dest="output_kms_key",
                   help="s3:// outputs: encrypt the uploaded objects with this KMS key (SSE-KMS)")
    b.add_argument("--max-categories", type=int, help="categorical buckets up to this many distinct values (120)")
    b.add_argument("--kll-k", type=int, help="KLL sketch size (2048)")
    b.add_argument("--hll-lg-k", type=int, help="HLL log2 registers (14)")
    b.add_argument("--wide-max-columns", type=int,
                   help="profile tables of up to this many columns with one global aggregation instead of "
                        "the unpivot (default 0: always unpivot, the faster one; see BENCHMARKS.md)")
    _add_model_quality_flags(b)
    b.set_defaults(func=cmd_baseline)

    mo = sub.add_parser("monitor", help="check captured traffic (or a dataset) against a baseline; "
                                        "write constraint_violations.json")
    mo.add_argument("--config", help="YAML file with any of: " + ", ".join(MONITORING_KEYS))
    mo.add_argument("--dataset", dest="dataset_source",
                    help="capture root ({endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl, or a flat directory) or dataset")
    mo.add_argument("--output", dest="output_path", help="directory that receives the reports")
    mo.add_argument("--baseline-constraints", dest="baseline_constraints", help="constraints.json of the baseline")
    mo.add_argument("--baseline-statistics", dest="baseline_statistics", help="statistics.json of the baseline")
    mo.add_argument("--dataset-format", dest="dataset_format",
                    help="SageMaker dataset_format JSON (default: sagemakerCaptureJson with input and output)")
    mo.add_argument("--format", choices=("capture", "merged", "csv", "json", "parquet"),
                    help="shorthand for --dataset-format (merged: sagemakerMergeJson records, model quality)")
    mhdr = mo.add_mutually_exclusive_group()
    mhdr.add_argument("--header", dest="header", action="store_true", default=None, help="CSV has a header line")
    mhdr.add_argument("--no-header", dest="header", action="store_false", help="CSV has no header (_c0, _c1, ...)")
    mo.add_argument("--output-columns-position", dest="output_columns_position", choices=("START", "END"),
                    help="capture: model outputs take the first (START, default) or last baseline columns")
    mo.add_argument("--start-time", dest="start_time", help="window start, ISO-8601 UTC (inclusive)")
    mo.add_argument("--end-time", dest="end_time", help="window end, ISO-8601 UTC (exclusive)")
    mo.add_argument("--metric-time", dest="metric_time", help="CloudWatch timestamp (default: --start-time)")
    mo.add_argument("--endpoint", help="endpoint name (CloudWatch dimension Endpoint)")
    mo.add_argument("--schedule", help="monitoring schedule name (CloudWatch dimension MonitoringSchedule)")
    mo.add_argument("--publish-cloudwatch-metrics", action="store_true", default=None,
                    help="write CloudWatch metric files (publish_cloudwatch_metrics=Enabled)")
    mo.add_argument("--cloudwatch-metrics-directory", help="where (default <opt/ml root>/output/metrics/cloudwatch)")
    mo.add_argument("--record-preprocessor-script", dest="record_preprocessor_script",
                    help="a .py defining preprocess_handler(inference_record[, logger])")
    mo.add_argument("--post-analytics-processor-script", dest="post_analytics_processor_script",
                    help="a .py defining postprocess_handler(), run after the analysis")
    mo.add_argument("--max-categories", dest="max_categories", type=int)
    mo.add_argument("--kms-key", dest="output_kms_key",
                    help="s3:// outputs: encrypt the uploaded objects with this KMS key (SSE-KMS)")
    _add_model_quality_flags(mo)
    mo.add_argument("--ground-truth", dest="ground_truth_source",
                    help="model quality: ground-truth root; the window's captures are merged with it first")
    mo.set_defaults(func=cmd_monitor)

    g = sub.add_parser("merge", help="join the window's captured predictions with their ground-truth labels "
                                     "(SageMaker's ground-truth merger)")
    g.add_argument("--config", help="YAML file with any of: " + ", ".join(MERGE_KEYS))
    g.add_argument("--dataset", dest="dataset_source", help="capture root ({endpoint}/{variant}/yyyy/mm/dd/hh)")
    g.add_argument("--ground-truth", dest="ground_truth_source",
                   help="ground-truth root (every file is read: labels arrive after the predictions)")
    g.add_argument("--output", dest="output_path", help="directory that receives the merged records")
    g.add_argument("--start-time", dest="start_time", help="window start, ISO-8601 UTC (inclusive)")
    g.add_argument("--end-time", dest="end_time", help="window end, ISO-8601 UTC (exclusive)")
    g.add_argument("--kms-key", dest="output_kms_key",
                   help="s3:// outputs: encrypt the uploaded objects with this KMS key (SSE-KMS)")
    g.set_defaults(func=cmd_merge)

    r = sub.add_parser("report", help="draw the history of every run under a monitoring output root into one "
                                      "HTML page (or draw one run's report.html again)")
    r.add_argument("root", metavar="OUTPUT_ROOT",
                   help="monitoring output root ({endpoint}/{schedule}/yyyy/mm/dd/hh/ below it), or one run's folder")
    r.add_argument("--output", help="the page to write (default OUTPUT_ROOT/history.html, or the run's report.html)")
    r.set_defaults(func=cmd_report)

    m = sub.add_parser("merge-profiles", help="merge profile.json states into the statistics of their union")
    m.add_argument("profiles", nargs="+", help="profile.json files (from earlier runs)")
    m.add_argument("--output", dest="output_path", required=True)
    m.add_argument("--categorical-drift-method", choices=CATEGORICAL_DRIFT_METHODS)
    m.set_defaults(func=cmd_merge_profiles)

    from monitor_lib.driver.submit import add_submit_parser

    add_submit_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(not args.quiet)
    if args.command == "analyze":
        return args.func(args)
    try:
        return args.func(args)
    except MonitorError as e:
        print(f"error: {e}", file=sys.stderr)
        if os.environ.get("MODEL_MONITOR_DEBUG"):
            traceback.print_exc()
        return 2


if __name__ == "__main__":
    sys.exit(main())
