"""Clarify's ``analysis.json`` as a file: its metric values (±infinity written as ``"Infinity"`` strings) and
the names of its stages (clarify-contract §2.1)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

INFINITY = float("inf")
STAGE_KEYS = {"pre_training_bias": "pre_training_bias_metrics", "post_training_bias": "post_training_bias_metrics"}
STAGE_NAMES = {"pre_training_bias_metrics": "Pre-training", "post_training_bias_metrics": "Post-Training"}


def json_value(value):
    """±infinity as the strings Clarify writes (smclarify ``inf_as_str``)."""
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def number_value(value) -> float | None:
    """A metric value of an analysis.json as a float (``"Infinity"`` strings included); None when absent."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text in ("Infinity", "+Infinity", "inf"):
            return INFINITY
        if text in ("-Infinity", "-inf"):
            return -INFINITY
        try:
            return float(text)
        except ValueError:
            return None
    return float(value)


@dataclass(frozen=True)
class MetricValue:
    stage: str  # pre_training_bias_metrics | post_training_bias_metrics
    facet: str
    facet_value: str
    position: int  # the entry's position within its facet
    name: str
    value: float | None  # None: null (an error)
    error: str | None = None
    raw: Any = None  # the value as written (a float, an int, "Infinity")


def metric_values(doc: dict, source: str = "analysis.json") -> list[MetricValue]:
    """Every metric of an analysis.json, in file order."""
    from monitor_lib.errors import ConfigError

    if not isinstance(doc, dict):
        raise ConfigError(f"{source} is not an analysis.json: expected a JSON object")
    values = []
    for stage in STAGE_KEYS.values():
        section = doc.get(stage)
        if section is None:
            continue
        facets = section.get("facets") if isinstance(section, dict) else None
        if not isinstance(facets, dict):
            raise ConfigError(f"{source}: {stage}.facets must be an object of facet name -> entries")
        for facet, entries in facets.items():
            for position, entry in enumerate(entries or []):
                for m in entry.get("metrics", []):
                    values.append(MetricValue(stage, facet, str(entry.get("value_or_threshold", "")), position,
                                              str(m.get("name")), number_value(m.get("value")), m.get("error"),
                                              m.get("value")))
    return values


def asks_for(raw: Any) -> set[str]:
    """Which Clarify analyses a raw analysis_config.json asks for: ``bias`` and/or ``shap`` (which monitor plays
    the Clarify container)."""
    out: set[str] = set()
    if not isinstance(raw, dict):
        return out
    methods = raw.get("methods")
    if isinstance(methods, dict):
        if "shap" in methods:
            out.add("shap")
        if {"pre_training_bias", "post_training_bias"} & set(methods):
            out.add("bias")
    elif raw.get("facet") or raw.get("label_values_or_threshold") is not None:
        out.add("bias")
    return out


def config_asks_for(path: str | None) -> set[str]:
    """:func:`asks_for` of a config file; an unreadable one asks for nothing (its monitor reports it)."""
    if not path:
        return set()
    try:
        from monitor_lib.formats.jsonfmt import load_json_file

        return asks_for(load_json_file(path))
    except Exception:
        return set()


def shap_only(path: str | None) -> bool:
    """The config file asks for SHAP and no bias metric: the feature-attribution monitor's, not model bias's."""
    return config_asks_for(path) == {"shap"}
