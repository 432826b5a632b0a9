"""DuckDB's own copy of the warehouse (``analytics.store``): typed identifiers, used only while
current, and the same results as the Parquet it was copied from."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from manbing.analytics.compute import compute_table
from manbing.analytics.engine import open_duckdb
from manbing.analytics.periods import parse_period
from manbing.analytics.store import STORE_FILE, current_store, refresh_store, uuid_columns
from manbing.synth.config import SynthConfig
from manbing.synth.generator import generate
from manbing.synth.writers.parquet import ParquetWriter

CONFIG = SynthConfig(residents=4_000, region="330108", seed=11)
COLUMNS = ["indicator", "unit_kind", "unit_id", "sex", "age_band"]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("store") / "warehouse"
    writer = ParquetWriter(directory)
    for batch in generate(CONFIG):
        writer.write(batch)
    return directory


def test_the_operational_uuid_columns_are_known() -> None:
    assert {"id", "managing_org_id"} <= uuid_columns("residents")
    assert "name" not in uuid_columns("residents")
    assert {"id", "resident_id", "team_id"} <= uuid_columns("contracts")


def test_the_copy_types_identifiers_and_gives_the_same_results(directory: Path) -> None:
    assert current_store(directory) is None
    refresh_store(directory)
    assert current_store(directory) == directory / STORE_FILE
    period = parse_period("2026Q3")
    stored = open_duckdb(directory)
    parquet = open_duckdb(directory, use_store=False)
    try:
        assert stored.table("residents").schema()["id"].is_uuid()
        assert stored.table("residents").schema()["name"].is_string()
        # Not copied (no definition reads it): read from the Parquet through the same connection.
        assert stored.table("observations").count().execute() > 0
        assert parquet.table("residents").schema()["id"].is_string()
        a = compute_table(stored, period).sort_by([(c, "ascending") for c in COLUMNS])
        b = compute_table(parquet, period).sort_by([(c, "ascending") for c in COLUMNS])
    finally:
        stored.close()
        parquet.close()
    assert a.num_rows > 1000
    assert a.equals(b)


def test_a_changed_warehouse_is_read_from_its_parquet_until_the_copy_is_rebuilt(
    directory: Path,
) -> None:
    refresh_store(directory)
    part = sorted((directory / "residents").glob("*.parquet"))[0]
    pq.write_table(pq.read_table(part), part)  # a new extract rewrote a part
    os.utime(part, ns=(1, 1))
    assert current_store(directory) is None
    wh = open_duckdb(directory)
    try:
        assert wh.table("residents").schema()["id"].is_string()
    finally:
        wh.close()
    refresh_store(directory)
    assert current_store(directory) is not None
    assert not (directory / (STORE_FILE + ".building")).exists()
