"""The registry: --type names and SageMaker analysis types, commands, and which phase an environment asks for."""

import pytest

from monitor_lib.errors import ConfigError
from monitor_lib.monitors import registry


def test_the_built_in_monitors_are_registered():
    assert registry.names()[:2] == ["data-quality", "model-quality"]
    assert registry.get("MODEL_QUALITY") is registry.get("model-quality")
    assert registry.commands() == ["baseline", "monitor", "merge"]
    with pytest.raises(ConfigError, match=r"unknown monitor type 'nope'; registered: data-quality \(DATA_QUALITY\)"):
        registry.get("nope")


def test_commands_resolve_to_a_monitor_and_phase():
    assert [(m.name, p.name) for m, p in (registry.resolve("baseline", None), registry.resolve("monitor", None),
                                          registry.resolve("merge", None),
                                          registry.resolve("monitor", "model-quality"))] == [
        ("data-quality", "baseline"), ("data-quality", "monitoring"), ("model-quality", "merge"),
        ("model-quality", "monitoring")]
    with pytest.raises(ConfigError, match="--type data-quality has no `merge` command"):
        registry.resolve("merge", "data-quality")


@pytest.mark.parametrize("env, expected", [
    ({}, ("data-quality", "baseline")),
    ({"baseline_constraints": "c.json"}, ("data-quality", "monitoring")),
    ({"analysis_type": "MODEL_QUALITY"}, ("model-quality", "baseline")),
    ({"analysis_type": "MODEL_QUALITY", "baseline_constraints": "c"}, ("model-quality", "monitoring")),
    ({"analysis_type": "MODEL_QUALITY", "baseline_constraints": "c", "ground_truth_source": "g"},
     ("model-quality", "monitoring")),
    ({"ground_truth_source": "g"}, ("model-quality", "merge")),  # the ground-truth merger container
    ({"analysis_type": "data_quality", "baseline_constraints": "c"}, ("data-quality", "monitoring")),
])
def test_the_environment_selects_the_monitor_and_phase(env, expected):
    monitor, phase = registry.for_environment(env)
    assert (monitor.name, phase.name) == expected


def test_environment_names_cover_every_declared_parameter():
    names = registry.environment_names()
    assert names[0] == "analysis_type"
    assert {"dataset_source", "problem_type", "ground_truth_source", "kll_k", "html_report"} <= set(names)
