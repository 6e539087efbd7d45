"""``constraint_violations.json`` for data quality (per feature), model quality (per metric), model bias (per facet
and metric) and feature attribution (per label)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from monitor_lib.formats.jsonfmt import JsonNode, dumps_jackson, load_json_file, write_json_atomic


@dataclass
class Violation:
    feature_name: str | None  # data quality
    constraint_check_type: str  # e.g. data_type_check; model quality: the comparison operator
    description: str
    metric_name: str | None = None  # model quality, model bias
    facet: str | None = None  # model bias
    facet_value: str | None = None  # model bias
    label: str | None = None  # feature attribution: the explained output
    # What was measured and the threshold it was held to (notifications): in memory only, never written to
    # constraint_violations.json (its bytes stay the real container's), not read back, not compared.
    value: float | None = field(default=None, compare=False, repr=False)
    threshold: float | None = field(default=None, compare=False, repr=False)


@dataclass
class ConstraintViolations:
    violations: list[Violation]


def _opt_str(node: JsonNode, key: str) -> str | None:
    child = node.get(key)
    return None if child is None else child.as_str()


def parse_violations(d: Any, source: str = "constraint_violations.json") -> ConstraintViolations:
    root = JsonNode(d, "", source)
    return ConstraintViolations(
        [
            Violation(
                feature_name=_opt_str(v, "feature_name"),
                constraint_check_type=v.req("constraint_check_type").as_str(),
                description=v.req("description").as_str(),
                metric_name=_opt_str(v, "metric_name"),
                facet=_opt_str(v, "facet"),
                facet_value=_opt_str(v, "facet_value"),
                label=_opt_str(v, "label"),
            )
            for v in root.req("violations").items()
        ]
    )


def read_violations(path: str | os.PathLike[str]) -> ConstraintViolations:
    return parse_violations(load_json_file(path), str(path))


def violations_to_dict(cv: ConstraintViolations) -> dict[str, Any]:
    """Data quality: feature_name, constraint_check_type, description; model quality: metric_name first; model
    bias: facet, facet_value, metric_name first; feature attribution: label, metric_name first."""
    entries = []
    for v in cv.violations:
        e: dict[str, Any] = {}
        if v.label is not None:
            e["label"] = v.label
        if v.facet is not None:
            e["facet"] = v.facet
            e["facet_value"] = v.facet_value
        if v.feature_name is not None:
            e["feature_name"] = v.feature_name
        if v.metric_name is not None:
            e["metric_name"] = v.metric_name
        e["constraint_check_type"] = v.constraint_check_type
        e["description"] = v.description
        entries.append(e)
    return {"violations": entries}


def write_violations(cv: ConstraintViolations, path: str | os.PathLike[str]) -> None:
    write_json_atomic(path, dumps_jackson(violations_to_dict(cv)))
