"""What the two Clarify monitors share — model bias (:mod:`monitor_lib.monitors.model_bias`) and feature
attribution (:mod:`monitor_lib.monitors.model_explainability`): Clarify's container layout, which of them an
``analysis_config.json`` belongs to, their artifacts (this run's ``analysis.json`` and the baseline's), and how a
run folder is read back for ``model-monitor report``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from monitor_lib import filenames
from monitor_lib.monitors.base import Monitor, RunOutcome
from monitor_lib.monitors.common import read_optional

CLARIFY_CONFIG = os.path.join("processing", "input", "config", "analysis_config.json")  # under the /opt/ml root
CLARIFY_DATA = os.path.join("processing", "input", "data")
CLARIFY_OUTPUT = os.path.join("processing", "output")


@dataclass
class ClarifyArtifacts:
    analysis: dict | None = None  # this run's analysis.json
    baseline: dict | None = None  # the baseline's (monitoring)
    drift: Any = None  # the monitor's drift check result
    notes: list[str] = field(default_factory=list)


class ClarifyMonitor(Monitor):
    """A monitor that plays SageMaker's Clarify container. Subclasses say which configs are theirs
    (:meth:`claims_config`) and how their metrics read in CloudWatch (:meth:`analysis_metrics`)."""

    violations_optional = False  # True: a run without violations writes no constraint_violations.json

    def claims_config(self, path: str) -> bool:
        raise NotImplementedError

    def analysis_metrics(self, analysis: dict, params: Any) -> list[dict]:
        raise NotImplementedError

    def environment_phase(self, params: dict[str, str], explicit: bool) -> str | None:
        config = params.get("analysis_config")
        if not explicit and (not config or not self.claims_config(config)):
            return None
        return "monitoring" if params.get("baseline_constraints") else "baseline"

    def container_params(self, root: str) -> dict[str, str]:
        """Playing the Clarify container: its config, data and output folders under the /opt/ml root, when the
        config is this monitor's."""
        config = os.path.join(root, CLARIFY_CONFIG)
        if not os.path.exists(config) or not self.claims_config(config):
            return {}
        return {"analysis_config": config, "dataset_source": os.path.join(root, CLARIFY_DATA),
                "output_path": os.path.join(root, CLARIFY_OUTPUT)}

    def load_artifacts(self, outcome: RunOutcome, folder: str) -> list[str]:
        from monitor_lib.formats.violations import parse_violations

        notes: list[str] = []
        art = ClarifyArtifacts()
        art.analysis = read_optional(os.path.join(folder, filenames.ANALYSIS), lambda d, p: d, notes)
        base = outcome.details.get("baseline_constraints")
        if base:
            art.baseline = read_optional(base, lambda d, p: d, notes)
        path = os.path.join(folder, filenames.VIOLATIONS)
        if not self.violations_optional or os.path.exists(path):
            found = read_optional(path, parse_violations, notes)
            if found is not None:
                outcome.violations = found.violations
        art.notes = list(outcome.details.get("notes") or [])
        outcome.artifacts = art
        return notes

    def cloudwatch_metrics(self, outcome: RunOutcome, params: Any) -> list[dict] | None:
        art = outcome.artifacts
        if outcome.phase != "monitoring" or art is None or art.analysis is None:
            return None
        return self.analysis_metrics(art.analysis, params)
