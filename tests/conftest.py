"""Shared test fixtures: the real SageMaker outputs in ../shared, and one local SparkSession."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import FIXTURES  # noqa: E402


@pytest.fixture(scope="session")
def fixtures() -> Path:
    assert FIXTURES.is_dir(), f"the real SageMaker fixtures are expected at {FIXTURES}"
    return FIXTURES


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")
    from monitor_lib.spark import get_spark

    session = get_spark("model-monitor-tests")
    yield session
    session.stop()
