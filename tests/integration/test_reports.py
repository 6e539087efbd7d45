"""The run report of a 100-feature monitoring run: under 2 MB, nothing loaded from the network (Chromium's
net log, with a positive control that proves the log would show it), every feature drawn, the violated
ones first; and the `report` command's own edges."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from helpers import ink, page_dom, page_screenshot

from monitor_lib.cli import main

N_NUMERIC, N_CATEGORICAL = 70, 30
SHIFTED = [f"num_{i:02d}" for i in range(0, 70, 7)]  # 10 numeric features drift
RECOLOURED = [f"cat_{i:02d}" for i in range(0, 30, 6)]  # 5 categorical features get a new value
HOLED = [f"num_{i:02d}" for i in (3, 33)]  # 2 numeric features lose 20 % of their values


def wide_frame(n: int, rng: np.random.Generator, drifted: bool) -> pd.DataFrame:
    cols = {}
    for i in range(N_NUMERIC):
        name = f"num_{i:02d}"
        values = rng.normal(i, 1 + i % 5, n) if i % 2 else rng.integers(0, 10 + i, n).astype(float)
        if drifted and name in SHIFTED:  # 3 standard deviations, or half the range of the integers
            values = values + (3 * (1 + i % 5) if i % 2 else (10 + i) // 2)
        col = pd.Series(values if i % 2 else values.astype(int)).astype(str)
        if drifted and name in HOLED:
            col[rng.random(n) < 0.2] = ""
        cols[name] = col
    for i in range(N_CATEGORICAL):
        name = f"cat_{i:02d}"
        levels = [f"v{k}" for k in range(3 + i % 8)]
        values = pd.Series(rng.choice(levels, n))
        if drifted and name in RECOLOURED:
            values[rng.random(n) < 0.3] = "brand-new"
        cols[name] = values
    return pd.DataFrame(cols)


@pytest.fixture(scope="module")
def wide_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("wide")
    rng = np.random.default_rng(11)
    wide_frame(3_000, rng, drifted=False).to_csv(root / "train.csv", index=False)
    (root / "current").mkdir()
    wide_frame(1_500, rng, drifted=True).to_csv(root / "current" / "part.csv", index=False)
    assert main(["baseline", "--dataset", str(root / "train.csv"), "--format", "csv", "--header",
                 "--output", str(root / "baseline")]) == 0
    code = main(["monitor", "--dataset", str(root / "current"), "--format", "csv", "--header",
                 "--baseline-constraints", str(root / "baseline" / "constraints.json"),
                 "--baseline-statistics", str(root / "baseline" / "statistics.json"), "--output", str(root / "run")])
    assert code == 0
    return root


def test_a_100_feature_report_is_small_self_contained_and_complete(wide_run, tmp_path):
    report = wide_run / "run" / "report.html"
    size = report.stat().st_size
    assert 50_000 < size < 2_000_000, size
    text = report.read_text()
    assert not re.search(r"https?://|src=|@import|url\(|<script|<link", text)
    dom, requests = page_dom(report, tmp_path)
    assert requests == []
    cards = re.findall(r'<section id="f\d+" class="feature( violated)?"><h3>([^<]+)</h3>', dom)
    names = [name for _, name in cards]
    assert sorted(names) == sorted([f"num_{i:02d}" for i in range(N_NUMERIC)] + [f"cat_{i:02d}" for i in range(30)])
    violations = json.loads((wide_run / "run" / "constraint_violations.json").read_text())["violations"]
    violated = {v["feature_name"] for v in violations}
    assert set(SHIFTED) | set(RECOLOURED) | set(HOLED) <= violated
    assert {name for bad, name in cards[:len(violated)]} == violated and all(bad for bad, _ in cards[:len(violated)])
    for v in violations:
        assert html.escape(v["description"], quote=False) in dom
    # every numeric card has its two histograms, every categorical card its bars
    assert dom.count('aria-label="histogram of the baseline and the current values"') == N_NUMERIC
    assert dom.count('aria-label="category shares of the baseline and the current values"') == N_CATEGORICAL
    shares = ink(page_screenshot(report, tmp_path, height=3000))
    assert shares["drawn"] > 0.05 and shares["red"] > 0.0005 and shares["blue"] > 0.001 and shares["grey"] > 0.001


def test_the_network_check_sees_a_page_that_loads_from_the_network(tmp_path):
    page = tmp_path / "leaky.html"
    page.write_text('<html><body><img src="http://192.0.2.7/pixel.png"><link rel="stylesheet" '
                    'href="https://fonts.example.invalid/a.css"><p>leaky</p></body></html>')
    dom, requests = page_dom(page, tmp_path)
    assert "leaky" in dom
    assert sorted(requests) == ["http://192.0.2.7/pixel.png", "https://fonts.example.invalid/a.css"]


def test_report_command_redraws_one_run_and_names_a_bad_root(wide_run, tmp_path, capsys):
    target = tmp_path / "again.html"
    assert main(["report", str(wide_run / "run"), "--output", str(target)]) == 0
    assert f"report of the run in {wide_run / 'run'}: {target}" in capsys.readouterr().out
    first = (wide_run / "run" / "report.html").read_text()
    assert target.read_text() == first
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert f"error: OUTPUT_ROOT {tmp_path / 'nowhere'} is not a folder" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty)]) == 0
    assert "no monitoring run found under" in capsys.readouterr().out
    assert "No monitoring run was found" in (empty / "history.html").read_text()


def test_baseline_report_shows_each_feature_once(wide_run, tmp_path):
    dom, requests = page_dom(wide_run / "baseline" / "report.html", tmp_path)
    assert requests == [] and "Data-quality baseline" in dom
    stats = json.loads((wide_run / "baseline" / "statistics.json").read_text())
    cards = re.findall(r'<section id="f\d+" class="feature"><h3>([^<]+)</h3>', dom)
    assert cards == [f["name"] for f in stats["features"]]  # no violations: the baseline's own order
    summary = json.loads((wide_run / "baseline" / "run_summary.json").read_text())
    assert summary["files"]["report"] == str(wide_run / "baseline" / "report.html")
