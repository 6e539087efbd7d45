"""Data-quality ``constraints.json``: dataclasses, a tolerant reader, a writer in the container's layout.

Reads every known version: 2024 (with ``categorical_*``), 2021 (without), the 2019 legacy keys
``enable_comparisons`` / ``min_domain_mass`` under ``distribution_constraints``, and both per-feature
override spellings (DG: feature-level ``monitoringConfigOverrides``; SDK:
``string_constraints.monitoring_config_overrides``). Keys a file leaves out are filled with the real
container's defaults and, unless changed, left out again on writing, so every version round-trips.

Our one extension key, ``monitoring_config.string_accepts_numeric`` (``true``/``false``; also accepted in a
feature's overrides): under it a String baseline feature counts numeric-looking values (``85086.0``) as matching
in ``data_type_check``. SageMaker's analyzer does not know the key; it is written only when set, so files
suggested with the default are the container's layout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from monitor_lib.formats.jsonfmt import (
    JsonNode,
    dumps_jackson,
    json_number,
    load_json_file,
    write_json_atomic,
)

ON_OFF = ("Enabled", "Disabled")
COMPARISON_METHODS = ("Simple", "Robust")
CATEGORICAL_DRIFT_METHODS = ("LInfinity", "ChiSquared")
OverridesSpelling = Literal["feature", "string_constraints"]


@dataclass
class DistributionConstraints:
    perform_comparison: str = "Enabled"
    comparison_threshold: float = 0.1
    comparison_method: str = "Robust"
    categorical_comparison_threshold: float | None = 0.1  # None: key absent (2021 files)
    categorical_drift_method: str | None = "LInfinity"  # None: key absent (2021 files)

    @property
    def effective_categorical_comparison_threshold(self) -> float:
        if self.categorical_comparison_threshold is None:
            return self.comparison_threshold
        return self.categorical_comparison_threshold

    @property
    def effective_categorical_drift_method(self) -> str:
        return self.categorical_drift_method or "LInfinity"


@dataclass
class MonitoringConfig:
    evaluate_constraints: str = "Enabled"
    emit_metrics: str = "Enabled"
    datatype_check_threshold: float = 1.0
    domain_content_threshold: float = 1.0
    distribution_constraints: DistributionConstraints = field(default_factory=DistributionConstraints)
    # our extension: a String baseline accepts numeric-looking values in data_type_check (None: key absent)
    string_accepts_numeric: bool | None = None
    # How the source file spelled this block (for round trips only; not part of equality):
    # keys it left out (filled with defaults above) and the 2019 keys it used
    # ("enable_comparisons" for perform_comparison, "min_domain_mass" for domain_content_threshold).
    absent_keys: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    legacy_keys: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


@dataclass
class FeatureOverrides:
    """Per-feature overrides of ``monitoring_config``; None = not overridden; unknown keys in ``extra``."""

    evaluate_constraints: str | None = None
    emit_metrics: str | None = None
    datatype_check_threshold: float | None = None
    domain_content_threshold: float | None = None
    perform_comparison: str | None = None
    comparison_threshold: float | None = None
    comparison_method: str | None = None
    categorical_comparison_threshold: float | None = None
    categorical_drift_method: str | None = None
    string_accepts_numeric: bool | None = None  # our extension key (see the module docstring)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EffectiveFeatureConfig:
    """The monitoring configuration that applies to one feature (overrides applied over the global one)."""

    evaluate_constraints: bool
    emit_metrics: bool
    datatype_check_threshold: float
    domain_content_threshold: float
    perform_comparison: bool
    comparison_threshold: float
    comparison_method: str
    categorical_comparison_threshold: float
    categorical_drift_method: str
    string_accepts_numeric: bool = False


@dataclass
class FeatureConstraint:
    name: str
    inferred_type: str
    completeness: float | None = None
    is_non_negative: bool | None = None
    domains: list[str] | None = None
    overrides: FeatureOverrides | None = None
    overrides_spelling: OverridesSpelling | None = None  # where overrides are written; None = "feature"

    def effective(self, config: MonitoringConfig) -> EffectiveFeatureConfig:
        o = self.overrides or FeatureOverrides()
        dc = config.distribution_constraints

        def pick(override: Any, default: Any) -> Any:
            return default if override is None else override

        comparison_threshold = pick(o.comparison_threshold, dc.comparison_threshold)
        categorical_threshold = pick(
            o.categorical_comparison_threshold,
            pick(dc.categorical_comparison_threshold, comparison_threshold),
        )
        return EffectiveFeatureConfig(
            evaluate_constraints=pick(o.evaluate_constraints, config.evaluate_constraints) == "Enabled",
            emit_metrics=pick(o.emit_metrics, config.emit_metrics) == "Enabled",
            datatype_check_threshold=pick(o.datatype_check_threshold, config.datatype_check_threshold),
            domain_content_threshold=pick(o.domain_content_threshold, config.domain_content_threshold),
            perform_comparison=pick(o.perform_comparison, dc.perform_comparison) == "Enabled",
            comparison_threshold=comparison_threshold,
            comparison_method=pick(o.comparison_method, dc.comparison_method),
            categorical_comparison_threshold=categorical_threshold,
            categorical_drift_method=pick(o.categorical_drift_method, dc.effective_categorical_drift_method),
            string_accepts_numeric=bool(pick(o.string_accepts_numeric, config.string_accepts_numeric)),
        )


@dataclass
class Constraints:
    features: list[FeatureConstraint]
    monitoring_config: MonitoringConfig = field(default_factory=MonitoringConfig)
    version: float = 0.0

    def feature(self, name: str) -> FeatureConstraint | None:
        return next((f for f in self.features if f.name == name), None)


# ---------------------------------------------------------------- reading


def _on_off(node: JsonNode) -> str:
    if isinstance(node.value, bool):  # 2019 files write enable_comparisons as a boolean
        return "Enabled" if node.value else "Disabled"
    return node.as_choice(ON_OFF)


_READERS: dict[str, Any] = {
    "evaluate_constraints": _on_off,
    "emit_metrics": _on_off,
    "datatype_check_threshold": JsonNode.as_float,
    "domain_content_threshold": JsonNode.as_float,
    "perform_comparison": _on_off,
    "comparison_threshold": JsonNode.as_float,
    "comparison_method": lambda n: n.as_choice(COMPARISON_METHODS),
    "categorical_comparison_threshold": JsonNode.as_float,
    "categorical_drift_method": lambda n: n.as_choice(CATEGORICAL_DRIFT_METHODS),
    "string_accepts_numeric": JsonNode.as_bool,
}
STRING_ACCEPTS_NUMERIC = "string_accepts_numeric"
_TOP_LEVEL = ("evaluate_constraints", "emit_metrics", "datatype_check_threshold", "domain_content_threshold",
              STRING_ACCEPTS_NUMERIC)
_CATEGORICAL = ("categorical_comparison_threshold", "categorical_drift_method")


def _parse_overrides(node: JsonNode) -> FeatureOverrides:
    overrides = FeatureOverrides()
    for key, value in node.as_dict().items():
        if key in _READERS:
            child = node.get(key)
            if child is not None:
                setattr(overrides, key, _READERS[key](child))
        else:
            overrides.extra[key] = value
    return overrides


def _modern_or_legacy(
    parent: JsonNode, key: str, legacy_parent: JsonNode, legacy_key: str
) -> tuple[JsonNode | None, bool]:
    """The node under ``key`` or under its 2019 spelling, and whether the legacy spelling was used."""
    modern, legacy = parent.get(key), legacy_parent.get(legacy_key)
    if legacy is None:
        return modern, False
    if modern is not None:
        raise legacy.error(f"legacy spelling given together with {modern.path!r}; keep only that one")
    return legacy, True


def _parse_monitoring_config(mc: JsonNode) -> MonitoringConfig:
    dc = mc.get_object("distribution_constraints")
    perform, legacy_perform = _modern_or_legacy(dc, "perform_comparison", dc, "enable_comparisons")
    # min_domain_mass (2019) sits under distribution_constraints; domain_content_threshold one level up.
    domain, legacy_domain = _modern_or_legacy(mc, "domain_content_threshold", dc, "min_domain_mass")
    nodes = {key: (dc if key not in _TOP_LEVEL else mc).get(key) for key in _READERS}
    nodes["perform_comparison"], nodes["domain_content_threshold"] = perform, domain
    values = {key: _READERS[key](node) for key, node in nodes.items() if node is not None}
    distribution = DistributionConstraints(
        **{k: v for k, v in values.items() if k not in _TOP_LEVEL + _CATEGORICAL},
        categorical_comparison_threshold=values.get("categorical_comparison_threshold"),
        categorical_drift_method=values.get("categorical_drift_method"),
    )
    return MonitoringConfig(
        **{k: v for k, v in values.items() if k in _TOP_LEVEL},
        distribution_constraints=distribution,
        absent_keys=frozenset(k for k, node in nodes.items()
                              if node is None and k not in _CATEGORICAL and k != STRING_ACCEPTS_NUMERIC),
        legacy_keys=frozenset(
            k
            for k, used in (("enable_comparisons", legacy_perform), ("min_domain_mass", legacy_domain))
            if used
        ),
    )


def _parse_feature(f: JsonNode) -> FeatureConstraint:
    completeness = f.get("completeness")
    num = f.get("num_constraints")
    non_negative = None if num is None else num.get("is_non_negative")
    string = f.get("string_constraints")
    domains_node = None if string is None else string.get("domains")
    sdk_overrides = None if string is None else string.get("monitoring_config_overrides")
    dg_overrides = f.get("monitoringConfigOverrides")
    if sdk_overrides is not None and dg_overrides is not None:
        raise f.error(
            "overrides given both as 'monitoringConfigOverrides' and as "
            "'string_constraints.monitoring_config_overrides'; keep one"
        )
    spelling: OverridesSpelling | None = None
    overrides = None
    if dg_overrides is not None:
        spelling, overrides = "feature", _parse_overrides(dg_overrides)
    elif sdk_overrides is not None:
        spelling, overrides = "string_constraints", _parse_overrides(sdk_overrides)
    return FeatureConstraint(
        name=f.req("name").as_str(),
        inferred_type=f.req("inferred_type").as_str(),
        completeness=None if completeness is None else completeness.as_float(),
        is_non_negative=None if non_negative is None else non_negative.as_bool(),
        domains=None if domains_node is None else [d.as_str() for d in domains_node.items()],
        overrides=overrides,
        overrides_spelling=spelling,
    )


def parse_constraints(d: Any, source: str = "constraints.json") -> Constraints:
    """Typed constraints from a parsed JSON value; FormatError names ``source`` and the key path."""
    root = JsonNode(d, "", source)
    version = root.get("version")
    return Constraints(
        features=[_parse_feature(f) for f in root.req("features").items()],
        monitoring_config=_parse_monitoring_config(root.get_object("monitoring_config")),
        version=0.0 if version is None else version.as_float(),
    )


def read_constraints(path: str | os.PathLike[str]) -> Constraints:
    return parse_constraints(load_json_file(path), str(path))


# ---------------------------------------------------------------- writing


def _value(v: Any) -> Any:
    return json_number(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def _overrides_to_dict(o: FeatureOverrides) -> dict[str, Any]:
    d = {
        f.name: _value(getattr(o, f.name))
        for f in fields(o)
        if f.name != "extra" and getattr(o, f.name) is not None
    }
    d.update(o.extra)
    return d


def _feature_to_dict(f: FeatureConstraint) -> dict[str, Any]:
    d: dict[str, Any] = {"name": f.name, "inferred_type": f.inferred_type}
    if f.completeness is not None:
        d["completeness"] = _value(f.completeness)
    if f.is_non_negative is not None:
        d["num_constraints"] = {"is_non_negative": f.is_non_negative}
    overrides = None if f.overrides is None else _overrides_to_dict(f.overrides)
    in_string = overrides is not None and f.overrides_spelling == "string_constraints"
    if f.domains is not None or in_string:
        string: dict[str, Any] = {}
        if f.domains is not None:
            string["domains"] = list(f.domains)
        if in_string:
            string["monitoring_config_overrides"] = overrides
        d["string_constraints"] = string
    if overrides is not None and not in_string:
        d["monitoringConfigOverrides"] = overrides
    return d


def _monitoring_config_to_dict(mc: MonitoringConfig) -> dict[str, Any]:
    defaults = MonitoringConfig()
    dc, ddefaults = mc.distribution_constraints, defaults.distribution_constraints

    def keep(key: str, value: Any, default: Any) -> bool:
        return key not in mc.absent_keys or value != default

    d: dict[str, Any] = {}
    for key in (
        "evaluate_constraints",
        "emit_metrics",
        "datatype_check_threshold",
        "domain_content_threshold",
    ):
        value = getattr(mc, key)
        if keep(key, value, getattr(defaults, key)) and not (
            key == "domain_content_threshold" and "min_domain_mass" in mc.legacy_keys
        ):
            d[key] = _value(value)
    if mc.string_accepts_numeric is not None:
        d[STRING_ACCEPTS_NUMERIC] = mc.string_accepts_numeric
    dist: dict[str, Any] = {}
    if keep("perform_comparison", dc.perform_comparison, ddefaults.perform_comparison):
        if "enable_comparisons" in mc.legacy_keys:
            dist["enable_comparisons"] = dc.perform_comparison == "Enabled"
        else:
            dist["perform_comparison"] = dc.perform_comparison
    if "min_domain_mass" in mc.legacy_keys:
        dist["min_domain_mass"] = _value(mc.domain_content_threshold)
    for key in ("comparison_threshold", "comparison_method"):
        value = getattr(dc, key)
        if keep(key, value, getattr(ddefaults, key)):
            dist[key] = _value(value)
    for key in ("categorical_comparison_threshold", "categorical_drift_method"):
        if getattr(dc, key) is not None:
            dist[key] = _value(getattr(dc, key))
    if dist:
        d["distribution_constraints"] = dist
    return d


def constraints_to_dict(c: Constraints) -> dict[str, Any]:
    d: dict[str, Any] = {"version": float(c.version), "features": [_feature_to_dict(f) for f in c.features]}
    config = _monitoring_config_to_dict(c.monitoring_config)
    if config:  # empty only when the source file had no monitoring_config
        d["monitoring_config"] = config
    return d


def write_constraints(c: Constraints, path: str | os.PathLike[str]) -> None:
    write_json_atomic(path, dumps_jackson(constraints_to_dict(c)))
