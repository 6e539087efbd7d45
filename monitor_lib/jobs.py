"""The one entry point for every edge: a typed job config in, a result (and files) out."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field

from monitor_lib.checks.suggest import suggest_constraints
from monitor_lib.config import BaselineConfig
from monitor_lib.errors import EmptyDatasetError
from monitor_lib.formats.constraints import Constraints, write_constraints
from monitor_lib.formats.jsonfmt import write_json_atomic
from monitor_lib.formats.statistics import DatasetStatistics, write_statistics
from monitor_lib.io.readers import read_dataset
from monitor_lib.io.storage import ensure_dir
from monitor_lib.profile.profiler import ProfileRun, profile_dataset
from monitor_lib.profile.state import PROFILE_FILE_NAME, write_profile
from monitor_lib.profile.summarize import statistics_from_profile
from monitor_lib.sinks.message import completed_message

log = logging.getLogger(__name__)

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
REJECTED_SAMPLE_FILE = "rejected_records_sample.jsonl"
RUN_SUMMARY_FILE = "run_summary.json"


@dataclass
class BaselineResult:
    statistics: DatasetStatistics
    constraints: Constraints
    run: ProfileRun
    output_path: str
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    spark_master: str = ""

    @property
    def message(self) -> str:
        return completed_message(0)

    def summary(self) -> dict:
        p = self.run.profile
        types: dict[str, int] = {}
        for f in self.statistics.features:
            types[f.inferred_type] = types.get(f.inferred_type, 0) + 1
        return {
            "job": "baseline",
            "status": "Completed",
            "records_read": p.item_count + sum(p.rejected.values()),
            "records_profiled": p.item_count,
            "records_rejected": dict(p.rejected),
            "features": len(self.statistics.features),
            "inferred_types": types,
            "profile_strategy": self.run.strategy,
            "spark_master": self.spark_master,
            "seconds": round(self.seconds, 3),
            "files": self.files,
            "message": self.message,
        }


def run_baseline(config: BaselineConfig, spark=None) -> BaselineResult:
    """Profile the baseline dataset in one pass; write statistics.json, constraints.json and the profile state."""
    from monitor_lib.spark import get_spark

    started = time.monotonic()
    spark = spark or get_spark("model-monitor-baseline")
    dataset = read_dataset(spark, config.dataset_source, config.dataset_format)
    run = profile_dataset(dataset, config.profile)
    profile = run.profile
    if profile.item_count == 0:
        rejected = sum(profile.rejected.values())
        raise EmptyDatasetError(
            f"dataset_source {config.dataset_source} has no records to profile"
            + (f": all {rejected} record(s) are malformed (see the sample below)" if rejected else "")
            + (f"; first malformed record in {run.rejected_sample[0]['file']}: {run.rejected_sample[0]['record']!r}"
               if run.rejected_sample else "")
        )
    statistics = statistics_from_profile(profile)
    constraints = suggest_constraints(statistics, config.categorical_drift_method)

    out = ensure_dir(config.output_path)
    files = {
        "statistics": os.path.join(out, STATISTICS_FILE),
        "constraints": os.path.join(out, CONSTRAINTS_FILE),
        "profile": os.path.join(out, PROFILE_FILE_NAME),
    }
    write_statistics(statistics, files["statistics"])
    write_constraints(constraints, files["constraints"])
    write_profile(profile, files["profile"])
    sample_path = os.path.join(out, REJECTED_SAMPLE_FILE)
    if run.rejected_sample:
        files["rejected_sample"] = sample_path
        write_json_atomic(sample_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in run.rejected_sample))
    elif os.path.exists(sample_path):
        os.remove(sample_path)  # re-running into the same output leaves no stale sample behind
    result = BaselineResult(statistics, constraints, run, out, files, time.monotonic() - started,
                            spark.sparkContext.master)
    files["summary"] = os.path.join(out, RUN_SUMMARY_FILE)
    write_json_atomic(files["summary"], json.dumps(result.summary(), indent=2, ensure_ascii=False) + "\n")
    log.info("baseline written to %s", out)
    return result
