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
    BaselineConfig,
    baseline_config_from_params,
    opt_ml_root,
    sagemaker_environment,
)
from monitor_lib.errors import ConfigError, MonitorError, NotSupportedError
from monitor_lib.sinks.message import EXIT_FAILED, EXIT_OK, write_message

log = logging.getLogger("monitor_lib")

BASELINE_KEYS = ("dataset_source", "dataset_format", "output_path", "categorical_drift_method",
                 "max_categories", "kll_k", "hll_lg_k", "wide_max_columns")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("monitor_lib").setLevel(logging.INFO)
    logging.getLogger("py4j").setLevel(logging.WARNING)


def _load_yaml(path: str) -> dict:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
    except OSError as e:
        raise ConfigError(f"--config {path} cannot be read: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"--config {path} is not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"--config {path} must be a mapping of settings, got {type(doc).__name__}")
    unknown = sorted(set(doc) - set(BASELINE_KEYS))
    if unknown:
        raise ConfigError(f"--config {path}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(BASELINE_KEYS)}")
    if isinstance(doc.get("dataset_format"), dict):
        doc["dataset_format"] = json.dumps(doc["dataset_format"])
    return doc


def baseline_config_from_args(args: argparse.Namespace) -> BaselineConfig:
    params: dict = _load_yaml(args.config) if args.config else {}
    if args.format:
        fmt: dict = {args.format: {}}
        if args.format == "csv":
            fmt["csv"]["header"] = bool(args.header)
        params["dataset_format"] = json.dumps(fmt)
    elif args.header is not None:
        params["dataset_format"] = json.dumps({"csv": {"header": args.header}})
    for key in BASELINE_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            params[key] = value
    return baseline_config_from_params(params, source="flags / --config")


def print_baseline_summary(result) -> None:
    s = result.summary()
    types = ", ".join(f"{n} {t}" for t, n in sorted(s["inferred_types"].items()))
    print(f"{s['message']}")
    print(f"  records: {s['records_profiled']} profiled"
          + (f", {sum(s['records_rejected'].values())} rejected ({', '.join(f'{k}: {v}' for k, v in s['records_rejected'].items())})"
             if s["records_rejected"] else ""))
    print(f"  features: {s['features']} ({types})")
    print(f"  profile: {s['profile_strategy']}, {s['seconds']:.1f} s on Spark master {s['spark_master']}")
    for name, path in s["files"].items():
        print(f"  {name:<16}{path}")


# --- commands -----------------------------------------------------------------------------------

def cmd_baseline(args: argparse.Namespace) -> int:
    from monitor_lib.jobs import run_baseline

    config = baseline_config_from_args(args)
    result = run_baseline(config)
    print_baseline_summary(result)
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


def cmd_analyze(args: argparse.Namespace) -> int:
    """Run exactly like SageMaker's analyzer container: parameters from processingjobconfig.json and/or
    environment variables, exit message in <root>/output/message, exit 0 or 255."""
    from monitor_lib.jobs import run_baseline

    root = opt_ml_root()
    try:
        params = sagemaker_environment(root)
        _export_custom_environment(params)
        analysis = (params.get("analysis_type") or "DATA_QUALITY").upper()
        if analysis not in ("DATA_QUALITY", "MODEL_QUALITY"):
            raise ConfigError(f"analysis_type must be DATA_QUALITY or MODEL_QUALITY, got {params['analysis_type']!r}")
        if analysis == "MODEL_QUALITY" or params.get("ground_truth_source"):
            raise NotSupportedError("model-quality analysis and the ground-truth merge are not implemented yet")
        if params.get("baseline_constraints"):
            raise NotSupportedError(
                "data-quality monitoring (baseline_constraints is set) is not implemented yet; "
                "unset baseline_constraints to suggest a baseline"
            )
        result = run_baseline(baseline_config_from_params(params, source=f"SageMaker environment under {root}"))
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

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="model-monitor", description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="run as the SageMaker analyzer container (env / processingjobconfig.json)")
    a.set_defaults(func=cmd_analyze)

    b = sub.add_parser("baseline", help="profile a dataset; write statistics.json and constraints.json")
    b.add_argument("--config", help="YAML file with any of: " + ", ".join(BASELINE_KEYS))
    b.add_argument("--dataset", dest="dataset_source", help="file or directory (read recursively)")
    b.add_argument("--output", dest="output_path", help="directory that receives the files")
    b.add_argument("--format", choices=("csv", "json", "parquet"), help="shorthand for --dataset-format")
    b.add_argument("--dataset-format", dest="dataset_format",
                   help='SageMaker dataset_format JSON, e.g. \'{"csv": {"header": true}}\'')
    hdr = b.add_mutually_exclusive_group()
    hdr.add_argument("--header", dest="header", action="store_true", default=None, help="CSV has a header line")
    hdr.add_argument("--no-header", dest="header", action="store_false", help="CSV has no header (_c0, _c1, ...)")
    b.add_argument("--categorical-drift-method", choices=CATEGORICAL_DRIFT_METHODS)
    b.add_argument("--max-categories", type=int, help="categorical buckets up to this many distinct values (120)")
    b.add_argument("--kll-k", type=int, help="KLL sketch size (2048)")
    b.add_argument("--hll-lg-k", type=int, help="HLL log2 registers (14)")
    b.add_argument("--wide-max-columns", type=int,
                   help="profile tables of up to this many columns with one global aggregation instead of "
                        "the unpivot (default 0: always unpivot, the faster one; see BENCHMARKS.md)")
    b.set_defaults(func=cmd_baseline)

    m = sub.add_parser("merge-profiles", help="merge profile.json states into the statistics of their union")
    m.add_argument("profiles", nargs="+", help="profile.json files (from earlier runs)")
    m.add_argument("--output", dest="output_path", required=True)
    m.add_argument("--categorical-drift-method", choices=CATEGORICAL_DRIFT_METHODS)
    m.set_defaults(func=cmd_merge_profiles)
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
