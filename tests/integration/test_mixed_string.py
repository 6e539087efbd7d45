"""The mixed String column (issue 17, defect 9): a column mixing numbers and text (a zipcode of ``85086.0`` and
``Unknown``) is String for Deequ and SageMaker, and then data_type_check fires on the baseline's own rows. The
default keeps SageMaker's behaviour; ``string_accepts_numeric`` (our constraints.json extension, settable when
suggesting the baseline) accepts numeric-looking values; the report shows the values that failed.

References: the generated values themselves (pandas counts of numeric-looking / text values), the real SDK
baseline files (``bad_cases``: _c5 typed String by hand, its data all numbers) with the key added by editing.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FIXTURES, run_process

from monitor_lib.checks.data_quality import TYPE_EXAMPLES
from monitor_lib.cli import main
from monitor_lib.formats.constraints import constraints_to_dict, parse_constraints

DQ = FIXTURES / "sdk-pipeline-dq-baseline"
MODEL_MONITOR = str(Path(sys.executable).parent / "model-monitor")
NUMERIC = re.compile(r"^(-|\+)? ?\d+((\.\d+)|((?:\.\d+)?[Ee][-+]?\d+))?$")  # Deequ's Integral or Fractional


def _housing(path: Path, n: int = 200, unknown: int = 20, seed: int = 3) -> pd.DataFrame:
    """A housing-like table whose zipcode mixes numbers written as floats (pandas' way) and 'Unknown'."""
    rng = np.random.default_rng(seed)
    zips = rng.choice([85086, 85001, 85254, 85383, 85016, 85032, 85260], n, p=[.3, .2, .15, .12, .1, .08, .05])
    zipcode = np.array([f"{z}.0" for z in zips], dtype=object)
    zipcode[rng.permutation(n)[:unknown]] = "Unknown"
    frame = pd.DataFrame({"price": np.round(rng.lognormal(12, 0.4, n), 2), "zipcode": zipcode})
    frame.to_csv(path, index=False)
    return frame


def _monitor(tmp: Path, data: Path, constraints: Path, name: str) -> dict:
    out = tmp / name
    assert main(["-q", "monitor", "--dataset", str(data), "--format", "csv", "--header",
                 "--baseline-constraints", str(constraints), "--output", str(out)]) in (0, 1)
    return {"violations": json.loads((out / "constraint_violations.json").read_text())["violations"],
            "summary": json.loads((out / "run_summary.json").read_text()),
            "report": (out / "report.html").read_text(encoding="utf-8")}


def _measured(summary: dict, name: str) -> dict:
    return next(m for m in summary["features_measured"] if m["name"] == name)


def _with_key(src: Path, dst: Path, **where) -> Path:
    doc = json.loads(src.read_text())
    if "feature" in where:
        feature = next(f for f in doc["features"] if f["name"] == where["feature"])
        feature["monitoringConfigOverrides"] = {"string_accepts_numeric": True}
    else:
        doc["monitoring_config"]["string_accepts_numeric"] = True
    dst.write_text(json.dumps(doc))
    return dst


def test_default_keeps_sagemakers_violation_and_the_option_removes_it(spark, tmp_path):
    data = tmp_path / "train.csv"
    frame = _housing(data)
    assert main(["-q", "baseline", "--dataset", str(data), "--format", "csv", "--header",
                 "--output", str(tmp_path / "baseline")]) == 0
    constraints = tmp_path / "baseline" / "constraints.json"
    doc = json.loads(constraints.read_text())
    assert {f["name"]: f["inferred_type"] for f in doc["features"]} == {"price": "Fractional", "zipcode": "String"}
    assert "string_accepts_numeric" not in doc["monitoring_config"]  # the container's layout by default

    # default: the baseline's own rows fail data_type_check, as SageMaker's analyzer does
    text_share = (~frame["zipcode"].str.match(NUMERIC)).mean()
    assert text_share == 0.1
    run = _monitor(tmp_path, data, constraints, "default")
    assert run["violations"] == [{
        "feature_name": "zipcode", "constraint_check_type": "data_type_check",
        "description": "Data type match requirement is not met. Expected data type: String, Expected match: "
                       "100.0%. Observed: Only 10.0% of data is String."}]
    zipcode = _measured(run["summary"], "zipcode")
    assert zipcode["type_match"] == pytest.approx(text_share, abs=1e-15)
    numeric = frame["zipcode"][frame["zipcode"].str.match(NUMERIC)].value_counts()
    expected = sorted(numeric.items(), key=lambda kv: (-kv[1], kv[0]))[:TYPE_EXAMPLES]
    assert zipcode["type_mismatch_examples"] == [v for v, _ in expected]
    assert _measured(run["summary"], "price")["type_mismatch_examples"] == []
    for value, _ in expected:  # the report shows the values that failed
        assert f"<code class='example'>{value}</code>" in run["report"]
    assert "values not String, e.g." in run["report"]

    # the extension key, globally or for the one feature: no violation, every value matches
    for name, where in (("global", {}), ("feature", {"feature": "zipcode"})):
        edited = _with_key(constraints, tmp_path / f"c-{name}.json", **where)
        run = _monitor(tmp_path, data, edited, name)
        assert run["violations"] == [], name
        assert _measured(run["summary"], "zipcode")["type_match"] == 1.0
        assert _measured(run["summary"], "zipcode")["type_mismatch_examples"] == []
        # the run re-emits the baseline constraints with the key where it was
        written = json.loads((tmp_path / name / "constraints.json").read_text())
        assert written == json.loads(edited.read_text())


def test_numbers_still_fail_an_integral_baseline_with_text_as_example(spark, tmp_path):
    # the option is about String baselines only: 'Unknown' in an Integral column is still a violation
    data = tmp_path / "d.csv"
    pd.DataFrame({"zipcode": ["85086"] * 9 + ["Unknown"]}).to_csv(data, index=False)
    constraints = tmp_path / "c.json"
    constraints.write_text(json.dumps({"version": 0.0, "features": [
        {"name": "zipcode", "inferred_type": "Integral", "completeness": 1.0}],
        "monitoring_config": {"string_accepts_numeric": True}}))
    run = _monitor(tmp_path, data, constraints, "out")
    assert [v["description"] for v in run["violations"]] == [
        "Data type match requirement is not met. Expected data type: Integral, Expected match: 100.0%. "
        "Observed: Only 90.0% of data is Integral."]
    assert _measured(run["summary"], "zipcode")["type_mismatch_examples"] == ["Unknown"]


def test_real_container_files_with_the_key_added(spark, tmp_path):
    # the SDK's bad_cases: _c5 typed String by hand over a column of numbers -> 0.0% String; with the key
    # added to the real file the same rows pass, and statistics.json is untouched by the option
    bad = DQ / "bad_cases" / "constraints.json"
    data = DQ / "baseline_dataset.csv"

    def run(constraints: Path, name: str):
        out = tmp_path / name
        main(["-q", "monitor", "--dataset", str(data), "--format", "csv", "--no-header",
              "--baseline-constraints", str(constraints), "--output", str(out)])
        return json.loads((out / "constraint_violations.json").read_text())["violations"], out

    violations, default = run(bad, "default")
    assert violations == [{"feature_name": "_c5", "constraint_check_type": "data_type_check",
                           "description": "Data type match requirement is not met. Expected data type: String, "
                                          "Expected match: 100.0%. Observed: Only 0.0% of data is String."}]
    violations, edited = run(_with_key(bad, tmp_path / "bad-with-key.json"), "edited")
    assert violations == []
    assert (default / "statistics.json").read_bytes() == (edited / "statistics.json").read_bytes()
    # examples of the default run: the most frequent numbers of _c5, counted with pandas
    c5 = pd.read_csv(data, header=None, dtype=str)[5].value_counts()
    expected = [v for v, _ in sorted(c5.items(), key=lambda kv: (-kv[1], kv[0]))[:TYPE_EXAMPLES]]
    summary = json.loads((default / "run_summary.json").read_text())
    assert _measured(summary, "_c5")["type_mismatch_examples"] == expected
    # SageMaker's own files carry no examples
    assert "type_mismatch_examples" not in (default / "statistics.json").read_text()
    assert "type_mismatch_examples" not in (default / "constraint_violations.json").read_text()


def test_baseline_flag_writes_the_key_through_the_cli(tmp_path):
    data = tmp_path / "train.csv"
    _housing(data, n=40, unknown=4)
    done = run_process([MODEL_MONITOR, "-q", "baseline", "--dataset", str(data), "--format", "csv", "--header",
                        "--string-accepts-numeric", "--output", str(tmp_path / "b")])
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads((tmp_path / "b" / "constraints.json").read_text())
    assert doc["monitoring_config"]["string_accepts_numeric"] is True
    # it survives a read and a write, as a top-level monitoring_config key next to SageMaker's own
    again = constraints_to_dict(parse_constraints(doc))
    assert again == doc and list(again["monitoring_config"])[:5] == [
        "evaluate_constraints", "emit_metrics", "datatype_check_threshold", "domain_content_threshold",
        "string_accepts_numeric"]


def test_the_key_must_be_a_boolean():
    from monitor_lib.errors import FormatError

    doc = {"features": [], "monitoring_config": {"string_accepts_numeric": "yes"}}
    with pytest.raises(FormatError, match="string_accepts_numeric"):
        parse_constraints(doc)
    assert parse_constraints({"features": []}).monitoring_config.string_accepts_numeric is None
