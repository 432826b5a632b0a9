"""DuckDB's own copy of the warehouse (``analytics.store``): typed identifiers, used only while
current, the same results as the Parquet it was copied from, and one build at a time."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from manbing.analytics.compute import compute_table
from manbing.analytics.engine import open_duckdb
from manbing.analytics.periods import parse_period
from manbing.analytics.store import (
    LOCK_FILE,
    STORE_FILE,
    BuildRunning,
    current_store,
    refresh_store,
    uuid_columns,
)
from manbing.synth.config import SynthConfig
from manbing.synth.generator import generate
from manbing.synth.writers.parquet import ParquetWriter
from tests.store_helpers import another_build

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


def _temporary_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob(STORE_FILE + ".*") if p.name != LOCK_FILE)


def test_two_builds_at_once_leave_one_current_copy_and_no_temporary_files(
    directory: Path,
) -> None:
    (directory / STORE_FILE).unlink(missing_ok=True)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def build() -> None:
        start.wait()
        try:
            refresh_store(directory)
            outcomes.append("built")
        except BuildRunning:
            outcomes.append("refused")
        except Exception as exc:
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Either the second build found the first one running, or they did not overlap.
    assert sorted(outcomes) in (["built", "refused"], ["built", "built"])
    assert current_store(directory) == directory / STORE_FILE
    assert _temporary_files(directory) == []


def test_a_build_while_another_runs_stops_at_once_and_touches_nothing(directory: Path) -> None:
    refresh_store(directory)
    copy = directory / STORE_FILE
    before = copy.stat().st_mtime_ns
    # A temporary file that may be the running build's own: it must not be removed.
    running = directory / (STORE_FILE + ".building-4242-0a0b0c0d")
    running.write_bytes(b"half a copy")
    with another_build(directory), pytest.raises(BuildRunning) as refused:
        refresh_store(directory)
    assert "another build is running (process 4242)" in refused.value.message_en
    assert "另一个构建正在进行" in refused.value.message
    assert running.exists()
    assert copy.stat().st_mtime_ns == before
    assert current_store(directory) == copy
    running.unlink()


def test_a_build_removes_what_killed_builds_left_behind(directory: Path) -> None:
    leftovers = [
        STORE_FILE + ".building",  # the single name of earlier versions
        STORE_FILE + ".building.wal",
        STORE_FILE + ".building-999-deadbeef",
        STORE_FILE + ".building-999-deadbeef.wal",
    ]
    for name in leftovers:
        (directory / name).write_bytes(b"killed")
    refresh_store(directory)
    assert _temporary_files(directory) == []
    assert current_store(directory) == directory / STORE_FILE


def _rows(directory: Path, table: str) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in (directory / table).glob("*.parquet"))


def _count_connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``duckdb.connect`` from now on (ibis's included), by database."""
    opened: list[str] = []
    real = duckdb.connect

    def connect(database: str = ":memory:", *args: Any, **kwargs: Any) -> Any:
        opened.append(Path(database).name if database != ":memory:" else database)
        return real(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect)
    return opened


def test_a_current_copy_is_opened_once(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refresh_store(directory)
    opened = _count_connections(monkeypatch)
    wh = open_duckdb(directory)
    try:
        assert wh.table("residents").schema()["id"].is_uuid()
        assert wh.table("residents").count().execute() == _rows(directory, "residents")
    finally:
        wh.close()
    assert opened == [STORE_FILE]


def test_a_stale_or_broken_copy_is_closed_and_the_parquet_read(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh_store(directory)
    part = sorted((directory / "contracts").glob("*.parquet"))[0]
    os.utime(part, ns=(2, 2))  # the Parquet changed since the copy was built
    opened = _count_connections(monkeypatch)
    wh = open_duckdb(directory)
    try:
        assert wh.table("residents").schema()["id"].is_string()
    finally:
        wh.close()
    assert opened == [STORE_FILE, ":memory:"]
    # A file that is no DuckDB database at all: read the Parquet, as with no copy.
    (directory / STORE_FILE).write_bytes(b"not a database" * 1000)
    wh = open_duckdb(directory)
    try:
        assert wh.table("residents").count().execute() == _rows(directory, "residents")
    finally:
        wh.close()
    refresh_store(directory)
