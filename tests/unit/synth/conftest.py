from __future__ import annotations

import duckdb
import pytest

from manbing.synth.config import SynthConfig
from manbing.synth.generator import Batch, generate
from tests.unit.synth.metrics import connect

SAMPLE = SynthConfig(residents=50_000, region="330108", seed=7, chunk_size=25_000)


@pytest.fixture(scope="session")
def batches() -> list[Batch]:
    return list(generate(SAMPLE))


@pytest.fixture(scope="session")
def con(batches: list[Batch]) -> duckdb.DuckDBPyConnection:
    return connect(batches)
