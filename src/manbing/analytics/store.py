"""DuckDB's own copy of the Parquet warehouse: the default engine's fast path.

The Parquet warehouse keeps UUIDs as text so that every engine reads it (Spark rejects Parquet's
UUID type). Joined and grouped as 36-byte strings they cost DuckDB about twice what 16-byte UUIDs
do, and parsing them while reading costs more than it saves. So after each extract the warehouse
tables are copied once into ``DIR/warehouse.duckdb`` with the identifier columns of the
operational schema (``sa.Uuid``) as DuckDB UUIDs; ``engine.open_duckdb`` reads that copy when it
is current (built from exactly the Parquet files now present) and the Parquet otherwise.

The device readings (``observations``), which no definition reads, are not copied: the copy's
connection reads them from the Parquet. The copy also holds each resident's blocking keys for the suspected duplicates
(``duplicates.KEYS``), computed once per refresh instead of once per run.

Each build writes its own temporary file in the warehouse directory and renames it into place, so
that a reader sees the old copy or the new one, never half of one. Builds take a lock file
(``warehouse.duckdb.lock``, ``flock``) without waiting: a second build while one runs stops at
once with ``BuildRunning`` instead of doubling the work (docs/adr/0010). Holding the lock, a build
removes the temporary files a killed build left behind.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import duckdb
import ibis
import sqlalchemy as sa

import manbing.db.models  # noqa: F401  (registers the tables on Base.metadata)
from manbing.analytics.lock import WarehouseBusy, exclusive
from manbing.analytics.warehouse import WAREHOUSE_TABLES
from manbing.db.base import Base

STORE_FILE = "warehouse.duckdb"
LOCK_FILE = STORE_FILE + ".lock"
# A build's temporary file: ``warehouse.duckdb.building-<pid>-<random>`` (and DuckDB's ``.wal``
# beside it). The prefix also covers the single name earlier versions used.
BUILDING_PREFIX = STORE_FILE + ".building"
_STATE_TABLE = "_store_state"
# Left in the Parquet (read from there through the same connection): the device readings are
# the largest table and no indicator definition reads them.
NOT_COPIED = frozenset({"observations"})
COPIED: tuple[str, ...] = tuple(t for t in WAREHOUSE_TABLES if t not in NOT_COPIED)


def uuid_columns(table: str) -> frozenset[str]:
    """The columns of an operational table that hold UUIDs."""
    columns = Base.metadata.tables[table].columns
    found = set()
    for column in columns:
        kind: Any = column.type
        impl = kind.impl if isinstance(kind, sa.TypeDecorator) else kind
        if isinstance(impl, sa.Uuid):
            found.add(column.name)
    return frozenset(found)


def fingerprint(directory: Path) -> str:
    """The Parquet files of the warehouse tables (name, size, modification time), as text."""
    parts = {
        table: sorted(
            (p.name, p.stat().st_size, p.stat().st_mtime_ns)
            for p in (directory / table).glob("*.parquet")
        )
        for table in WAREHOUSE_TABLES
    }
    return json.dumps(parts, sort_keys=True)


class BuildRunning(WarehouseBusy):
    """Another build of the same warehouse's copy holds the lock."""


def _build_lock(directory: Path) -> AbstractContextManager[None]:
    """Hold ``DIR/warehouse.duckdb.lock`` for one build, or raise ``BuildRunning`` at once."""

    def busy(holder: str) -> BuildRunning:
        return BuildRunning(
            f"另一个构建正在进行（进程 {holder}）：{directory / STORE_FILE} 未重建，"
            "请等它结束后再运行 manbing warehouse store",
            f"another build is running (process {holder}): {directory / STORE_FILE} was not "
            "rebuilt; run manbing warehouse store once it has finished",
        )

    return exclusive(directory / LOCK_FILE, busy)


def _remove_leftovers(directory: Path) -> None:
    """The temporary files of builds killed before they finished. Called under the lock: no
    other build is running, so every such file is a leftover."""
    for leftover in directory.glob(BUILDING_PREFIX + "*"):
        leftover.unlink(missing_ok=True)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def refresh_store(
    directory: Path, *, threads: int | None = None, memory_limit: str | None = None
) -> float:
    """Copy the warehouse tables into ``DIR/warehouse.duckdb``; returns the seconds it took.
    Raises ``BuildRunning`` (and leaves everything as it was) while another build runs."""
    started = time.perf_counter()
    with _build_lock(directory):
        _remove_leftovers(directory)
        building = directory / f"{BUILDING_PREFIX}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            _build(directory, building, threads=threads, memory_limit=memory_limit)
            os.replace(building, directory / STORE_FILE)
        finally:
            for mine in (building, Path(f"{building}.wal")):
                mine.unlink(missing_ok=True)
    return time.perf_counter() - started


def _build(
    directory: Path, building: Path, *, threads: int | None, memory_limit: str | None
) -> None:
    # Imported here: the engine module opens the copy (``current_store``) and the definitions
    # import the engine module.
    from manbing.analytics.engine import EngineName
    from manbing.analytics.indicators.duplicates import blocking_keys

    stamp = fingerprint(directory)
    con = duckdb.connect(str(building))
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        source = ibis.duckdb.from_connection(con)
        for table in COPIED:
            parts = str(directory / table / "*.parquet")
            t = source.read_parquet(parts, table_name=f"parquet_{table}")
            wanted = uuid_columns(table)
            typed = {
                name: t[name].cast("uuid")
                for name, kind in t.schema().items()
                if name in wanted and kind.is_string()
            }
            t = t.mutate(**typed) if typed else t
            if table == "residents":
                t = t.mutate(**blocking_keys(t, EngineName.DUCKDB))
            sql = ibis.to_sql(t, dialect="duckdb")
            con.execute(f"CREATE TABLE {_quoted(table)} AS {sql}")
            con.execute(f"DROP VIEW {_quoted(f'parquet_{table}')}")
        con.execute(f"CREATE TABLE {_STATE_TABLE} (fingerprint VARCHAR)")
        con.execute(f"INSERT INTO {_STATE_TABLE} VALUES (?)", [stamp])
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _stored_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        row = con.execute(f"SELECT fingerprint FROM {_STATE_TABLE}").fetchone()
    except duckdb.Error:
        return None
    return str(row[0]) if row is not None else None


def open_current_store(directory: Path) -> duckdb.DuckDBPyConnection | None:
    """The store file opened read-only, if it holds exactly the Parquet files now in the
    warehouse; else None, with nothing left open. The fingerprint is read on the connection
    returned, so the copy checked is the copy read even if a build replaces the file meanwhile."""
    target = directory / STORE_FILE
    if not target.exists():
        return None
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error:
        return None
    if _stored_fingerprint(con) == fingerprint(directory):
        return con
    con.close()
    return None


def current_store(directory: Path) -> Path | None:
    """The store file, if it holds exactly the Parquet files now in the warehouse."""
    con = open_current_store(directory)
    if con is None:
        return None
    con.close()
    return directory / STORE_FILE
