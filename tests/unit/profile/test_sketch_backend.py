"""Choosing where the sketches are built: capability detection with fake probes, and the forcing knobs."""

from __future__ import annotations

import pytest

from monitor_lib.errors import ConfigError
from monitor_lib.monitors.data_quality import BaselineParams, MonitoringRunParams
from monitor_lib.params import env_names, from_params
from monitor_lib.profile.options import ProfileOptions
from monitor_lib.profile.python_sketches import choose_backend, frequent_lg_map_size

SPARK_35_MISSING = ("kll_sketch_agg_double", "approx_top_k_accumulate")  # what Spark 3.5 lacks


def test_auto_picks_native_when_every_function_exists_and_python_when_one_is_missing():
    assert choose_backend(None, None, ()) == "native"
    assert choose_backend("auto", "", ()) == "native"
    assert choose_backend(None, None, SPARK_35_MISSING) == "python"
    assert choose_backend(None, "auto", ("approx_top_k_accumulate",)) == "python"


def test_forcing_python_works_on_any_spark_and_the_option_wins_over_the_environment():
    assert choose_backend("python", None, ()) == "python"
    assert choose_backend(None, "python", ()) == "python"
    assert choose_backend(None, " Python ", ()) == "python"
    assert choose_backend("native", "python", ()) == "native"
    assert choose_backend("auto", "python", ()) == "python"  # auto defers to the environment


def test_forcing_native_on_a_spark_without_the_functions_names_what_is_missing():
    with pytest.raises(ConfigError, match="MODEL_MONITOR_SKETCHES=native but this Spark lacks "
                                          "kll_sketch_agg_double, approx_top_k_accumulate"):
        choose_backend(None, "native", SPARK_35_MISSING)
    with pytest.raises(ConfigError, match="ProfileOptions.sketches=native"):
        choose_backend("native", None, SPARK_35_MISSING)


def test_bad_values_fail_fast_with_the_field_name():
    with pytest.raises(ConfigError, match=r"MODEL_MONITOR_SKETCHES must be one of auto, native, python, got 'jvm'"):
        choose_backend(None, "jvm", ())
    with pytest.raises(ConfigError, match="sketches must be one of auto, native, python, got 'fast'"):
        ProfileOptions(sketches="fast")


def test_the_option_is_read_from_flat_parameters():
    cfg = from_params(BaselineParams, {"dataset_source": "d.csv", "dataset_format": '{"csv": {"header": true}}',
                                       "output_path": "out", "sketches": "Python", "kll_k": "1024"}, "parameters")
    assert cfg.profile == ProfileOptions(kll_k=1024, sketches="python")


def test_frequent_items_map_size_is_the_one_spark_allocates():
    # measured on Spark 4.1: approx_top_k_accumulate(s, m) -> lg max map size
    measured = {10: 4, 48: 6, 49: 7, 96: 7, 97: 8, 121: 8, 192: 8, 193: 9, 1001: 11}
    assert {m: frequent_lg_map_size(m) for m in measured} == measured


def test_the_option_is_a_known_config_key_for_baseline_and_monitoring():
    assert "sketches" in env_names(BaselineParams) and "sketches" in env_names(MonitoringRunParams)


class _FakeSpark:
    """A session whose function registry holds only ``known`` (Spark 3.5: hll_sketch_agg alone)."""

    def __init__(self, app_id: str, known: set[str], broken: bool = False):
        self.sparkContext = type("SC", (), {"applicationId": app_id})()
        self.lookups: list[str] = []
        outer = self

        class Catalog:
            def functionExists(self, name):  # noqa: N802 - Spark's name
                outer.lookups.append(name)
                if broken:
                    raise RuntimeError("metastore unreachable")
                return name in known

        self.catalog = Catalog()


def test_detection_probes_the_registry_once_per_application(monkeypatch):
    from monitor_lib.profile import python_sketches as ps

    monkeypatch.delenv(ps.SKETCHES_ENV, raising=False)
    spark35 = _FakeSpark("app-35", {"hll_sketch_agg"})
    assert ps.missing_functions(spark35) == SPARK_35_MISSING
    assert ps.sketch_backend(spark35) == "python"
    assert spark35.lookups == list(ps.NATIVE_FUNCTIONS)  # looked up once, then remembered
    spark41 = _FakeSpark("app-41", set(ps.NATIVE_FUNCTIONS))
    assert ps.sketch_backend(spark41) == "native"
    with pytest.raises(ConfigError, match="lacks kll_sketch_agg_double"):
        ps.sketch_backend(spark35, "native")
    # a registry that cannot answer counts as missing: the fallback works everywhere
    assert ps.sketch_backend(_FakeSpark("app-broken", set(), broken=True)) == "python"
    # forcing python does not even probe
    forced = _FakeSpark("app-forced", set(ps.NATIVE_FUNCTIONS))
    assert ps.sketch_backend(forced, "python") == "python" and forced.lookups == []
