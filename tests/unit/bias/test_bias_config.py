"""Clarify's analysis_config.json: what is accepted, and every refusal naming the field and the fix — before Spark."""

from __future__ import annotations

import json

import pytest

from monitor_lib.bias.config import parse_bias_config, read_bias_config
from monitor_lib.bias.metrics import POST_TRAINING, PRE_TRAINING
from monitor_lib.errors import ConfigError, FormatError

BASE = {"label": "y", "label_values_or_threshold": [1], "facet": [{"name_or_index": "sex", "value_or_threshold": [0]}]}


def test_the_monitors_config_without_methods_asks_for_every_metric_of_both_stages():
    c = parse_bias_config({**BASE, "group_variable": "g", "headers": ["a", "sex", "g", "y"]})
    assert c.methods == {"pre_training_bias": PRE_TRAINING, "post_training_bias": POST_TRAINING}
    assert not c.methods_given
    assert c.label_name == "y" and c.feature_headers == ["a", "sex", "g"]
    assert c.facets[0].values == [0] and c.group_variable == "g"


def test_a_clarify_job_config_with_method_lists_and_all():
    c = parse_bias_config({**BASE, "dataset_type": "text/csv", "probability_threshold": 0.8, "predicted_label": "p",
                           "methods": {"pre_training_bias": {"methods": ["KL", "CI"]},
                                       "post_training_bias": {"methods": "all"}, "report": {"name": "report"}}})
    assert c.methods == {"pre_training_bias": ("CI", "KL"), "post_training_bias": POST_TRAINING}
    assert c.methods_given and c.probability_threshold == 0.8 and c.predicted_label == "p"


def test_label_by_index_takes_its_name_from_the_headers():
    c = parse_bias_config({**BASE, "label": 3, "headers": ["a", "b", "c", "Target"]})
    assert c.label_name == "Target" and c.feature_headers == ["a", "b", "c"]


def test_a_facet_without_values_is_one_vs_rest_and_a_single_facet_object_is_a_list():
    c = parse_bias_config({**BASE, "facet": {"name_or_index": 2}})
    assert len(c.facets) == 1 and c.facets[0].name_or_index == 2 and c.facets[0].values is None


@pytest.mark.parametrize("change, message", [
    ({"methods": {"post_training_bias": {"methods": ["DPPL", "XYZ"]}}},
     "methods.post_training_bias.methods: unknown metric 'XYZ' — choose from AD, CDDPL"),
    ({"methods": {"pre_training_bias": {"methods": ["DPPL"]}}},
     "methods.pre_training_bias.methods: unknown metric 'DPPL' — choose from CDDL, CI"),
    ({"methods": {"shapley": {}}}, "methods names neither pre_training_bias nor post_training_bias"),
    ({"label_values_or_threshold": []}, "label_values_or_threshold is required: the positive label values"),
    ({"facet": []}, "facet is required"),
    ({"facet": [{"value_or_threshold": [1]}]}, "facet[0] needs name_or_index"),
    ({"facet": [{"name_or_index": True}]}, "facet[0].name_or_index must be a column name or a 0-based index"),
    ({"facet": [{"name_or_index": "a", "value_or_threshold": [{"x": 1}]}]}, "facet[0].value_or_threshold holds"),
    ({"probability_threshold": "high"}, "probability_threshold must be a number, got 'high'"),
    ({"dataset_type": "application/x-image"}, "dataset_type 'application/x-image' is not supported"),
    ({"version": "2.0"}, "version '2.0' is not supported"),
    ({"lable": "y"}, "unknown key 'lable'"),
    ({"headers": "a,b"}, "headers must be a list of column names"),
])
def test_invalid_configs_name_the_field_and_the_fix(change, message):
    with pytest.raises(ConfigError) as e:
        parse_bias_config({**BASE, **change}, "cfg.json")
    assert str(e.value).startswith("cfg.json: ")
    assert message in str(e.value)


def test_a_config_that_is_not_json_names_the_file_and_line(tmp_path):
    path = tmp_path / "analysis_config.json"
    path.write_text('{"label": "y",\n  "facet": [,]}')
    with pytest.raises(FormatError) as e:
        read_bias_config(str(path))
    assert str(path) in str(e.value) and "line 2" in str(e.value)
    path.write_text(json.dumps(BASE))
    assert read_bias_config(str(path)).label == "y"
