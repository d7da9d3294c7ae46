"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.equivalence.outputs import build


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample (both batches) run once per session through `cramp-cohort run --landing`, with a fixed
    HMAC key: a real warehouse for the tests that only read one. Do not write to it."""
    return build("sample", tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def vignettes_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clinical vignettes run once per session through `cramp-cohort run --input`. Do not write to it."""
    return build("vignettes", tmp_path_factory.mktemp("vignettes"))


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (one core: the tests are about meaning, not speed) for every Spark test; the JVM
    starts once per test run."""
    from pipelines.warehouse.spark_session import start_session

    session = start_session("local[1]")
    yield session
    session.stop()
