"""Shared test fixtures: the real SageMaker outputs in ../shared, and one local SparkSession."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from aws import install_test_credentials, start_server  # noqa: E402
from helpers import FIXTURES  # noqa: E402

install_test_credentials()  # before any SparkSession: its workers inherit the environment


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


@pytest.fixture(scope="session")
def aws_server():
    """moto's server mode on 127.0.0.1; AWS_ENDPOINT_URL points every boto3 client of this process at it."""
    server = start_server()
    previous = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    yield server
    if previous is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        os.environ["AWS_ENDPOINT_URL"] = previous
    server.stop()
