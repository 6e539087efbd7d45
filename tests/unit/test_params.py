"""Parameters declared once: the flags, YAML keys, required fields and parsers all come from the declarations."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from monitor_lib.errors import ConfigError
from monitor_lib.monitors.data_quality import BaselineParams, MonitoringRunParams
from monitor_lib.monitors.model_quality import ModelQualityParams
from monitor_lib.params import (
    add_flags,
    check_required,
    declared,
    enabled,
    env_names,
    from_params,
    integer,
    number,
    param,
    params_from_args,
    read_yaml,
    reference_rows,
)


@dataclass(frozen=True)
class Toy:
    size: int = param("toy_size", "how many", parse=integer(1, 10), required=True)
    ratio: float | None = param("RATIO", "a share", parse=number)
    on: bool = param("switch_it", "on or off", parse=enabled, default=False, switch=True)

    def __post_init__(self) -> None:
        check_required(self)


def test_flags_are_derived_from_the_declarations():
    p = argparse.ArgumentParser()
    add_flags(p, Toy)
    args = p.parse_args(["--toy-size", "3", "--ratio", "0.5", "--switch-it"])
    assert params_from_args(args, Toy) == {"toy_size": "3", "RATIO": "0.5", "switch_it": "Enabled"}
    assert params_from_args(p.parse_args([]), Toy) == {}  # nothing given: nothing overrides the YAML
    assert from_params(Toy, params_from_args(args, Toy), "flags") == Toy(3, 0.5, True)


def test_values_parse_the_same_from_every_source():
    assert from_params(Toy, {"toy_size": 4, "switch_it": True}, "YAML") == Toy(4, None, True)
    assert from_params(Toy, {"toy_size": "4", "switch_it": "Disabled"}, "environment") == Toy(4, None, False)


@pytest.mark.parametrize("raw, message", [
    ({}, r"toy_size is required \(here; flag --toy-size\): how many"),
    ({"toy_size": "x"}, r"toy_size must be an integer, got 'x' \(here\)"),
    ({"toy_size": "11"}, r"toy_size must be between 1 and 10, got 11"),
    ({"toy_size": "2", "RATIO": "inf"}, "RATIO must be a finite number"),
    ({"toy_size": "2", "switch_it": "maybe"}, "switch_it must be Enabled or Disabled, got 'maybe'"),
    ({"toy_size": "2", "colour": "red"}, r"here: unknown key\(s\) colour; known keys: RATIO, switch_it, toy_size"),
])
def test_errors_name_the_field_and_the_source(raw, message):
    with pytest.raises(ConfigError, match=message):
        from_params(Toy, raw, "here")


def test_unknown_keys_pass_when_not_strict():
    assert from_params(Toy, {"toy_size": "2", "custom": "x"}, "environment", strict=False) == Toy(2)


def test_yaml_keys_are_the_declared_names(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("toy_size: 3\nRATIO: 0.25\n")
    assert from_params(Toy, read_yaml(str(good), env_names(Toy)), "--config") == Toy(3, 0.25)
    bad = tmp_path / "bad.yaml"
    bad.write_text("toy_sise: 3\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) toy_sise; known keys: RATIO, switch_it, toy_size"):
        read_yaml(str(bad), env_names(Toy))
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="must be a mapping of settings, got list"):
        read_yaml(str(tmp_path / "list.yaml"), env_names(Toy))


def test_the_monitors_declare_every_sagemaker_name_once():
    for cls in (BaselineParams, MonitoringRunParams, ModelQualityParams):
        names = env_names(cls)
        assert len(names) == len(set(names)), cls
        flags = [p.flag for _, p in declared(cls)]
        assert len(flags) == len(set(flags)), cls
    # the SageMaker analyzer's names (spec §3.2) are all declared by some monitor
    sagemaker = {"dataset_source", "dataset_format", "output_path", "publish_cloudwatch_metrics",
                 "baseline_constraints", "baseline_statistics", "start_time", "end_time", "metric_time",
                 "sagemaker_endpoint_name", "sagemaker_monitoring_schedule_name", "record_preprocessor_script",
                 "post_analytics_processor_script", "problem_type", "inference_attribute", "probability_attribute",
                 "probability_threshold_attribute", "ground_truth_attribute", "positive_label",
                 "categorical_drift_method", "CLOUDWATCH_METRICS_DIRECTORY", "output_columns_position"}
    declared_names = set(env_names(BaselineParams)) | set(env_names(MonitoringRunParams)) | set(
        env_names(ModelQualityParams))
    assert sagemaker <= declared_names


def test_reference_rows_show_defaults_and_required_fields():
    rows = {r[0]: r for r in reference_rows(Toy)}
    assert rows["toy_size"][1:3] == ("--toy-size TOY_SIZE", "required")
    assert rows["switch_it"][1] == "--switch-it"


def test_the_library_front_door_refuses_a_misspelt_parameter(tmp_path):
    from monitor_lib.runner import run_job

    with pytest.raises(ConfigError, match=r"parameters: unknown key\(s\) dataset_sorce; known keys: "):
        run_job("data-quality", {"dataset_sorce": "x.csv", "dataset_format": '{"csv": {}}',
                                 "output_path": str(tmp_path / "o")})
    assert not (tmp_path / "o").exists()  # refused before anything is created
