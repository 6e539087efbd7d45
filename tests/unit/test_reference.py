"""docs/reference.md is generated from the parameter declarations: it must be what the script writes now."""

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_configuration_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location("gen_reference", REPO / "scripts" / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    assert (REPO / "docs" / "reference.md").read_text(encoding="utf-8") == expected, (
        "docs/reference.md is stale: run .venv/bin/python scripts/gen_reference.py")
    # every declared flag of every command is on the page
    from monitor_lib.monitors.registry import monitors
    from monitor_lib.params import declared

    for m in monitors():
        for phase in m.phases:
            for _, p in declared(phase.params):
                assert f"`{p.env}`" in expected and p.flag in expected
