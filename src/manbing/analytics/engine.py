"""Where the indicator definitions run: DuckDB (default), Apache Spark, or PostgreSQL.

The same ibis expressions run on every back-end; this module only opens a connection and
exposes the warehouse tables to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import ibis
from ibis.backends import BaseBackend

from manbing.analytics.store import COPIED, open_current_store
from manbing.analytics.warehouse import WAREHOUSE_TABLES
from manbing.domain.errors import InvalidInput


class EngineName(StrEnum):
    DUCKDB = "duckdb"
    SPARK = "spark"
    POSTGRES = "postgres"


@dataclass
class Warehouse:
    """An ibis connection with the warehouse tables, keyed by table name."""

    engine: EngineName
    backend: BaseBackend
    tables: dict[str, ibis.Table]
    spark: Any = None
    memo: dict[Any, ibis.Table] = field(default_factory=dict)
    cache_shared: bool = False

    def shared(self, key: Any, build: Any) -> ibis.Table:
        """A sub-expression several indicators use, materialised once per run when
        ``cache_shared`` (DuckDB: a temporary table) instead of recomputed per indicator."""
        if not self.cache_shared:
            result: ibis.Table = build()
            return result
        if key not in self.memo:
            self.memo[key] = build().cache()
        return self.memo[key]

    def table(self, name: str) -> ibis.Table:
        return self.tables[name]

    def close(self) -> None:
        for cached in self.memo.values():
            cached.release()
        self.memo.clear()
        if self.spark is not None:
            return  # the caller owns the Spark session
        self.backend.disconnect()


def _parts(directory: Path, table: str) -> str:
    folder = directory / table
    if not folder.exists() or not any(folder.glob("*.parquet")):
        raise InvalidInput(
            "warehouse",
            f"数据仓库缺少表 {table}：请先运行 manbing warehouse extract",
            f"the warehouse has no {table} table: run manbing warehouse extract first",
        )
    return str(folder / "*.parquet")


def open_duckdb(
    directory: Path,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_directory: Path | None = None,
    use_store: bool = True,
) -> Warehouse:
    """DuckDB over the warehouse: its own copy (``store``) when current, else the Parquet.
    ``memory_limit`` (e.g. ``4GB``) bounds DuckDB's buffer pool (the shared tables included):
    past it, DuckDB spills to ``temp_directory``."""
    # The copy is opened once: its fingerprint is checked on the connection then used.
    current = open_current_store(directory) if use_store else None
    copy = current is not None
    con = ibis.duckdb.from_connection(current) if current is not None else ibis.duckdb.connect()
    if threads:
        con.raw_sql(f"SET threads = {int(threads)}")
    if memory_limit:
        con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    if temp_directory:
        con.raw_sql(f"SET temp_directory = '{temp_directory}'")
    tables = {
        t: con.table(t)
        if copy and t in COPIED
        else con.read_parquet(_parts(directory, t), table_name=t)
        for t in WAREHOUSE_TABLES
    }
    return Warehouse(EngineName.DUCKDB, con, tables, cache_shared=True)


def spark_session(
    master: str = "local[2]", shuffle_partitions: int = 4, driver_memory: str | None = None
) -> Any:
    """A Spark session in local mode (``local[N]``) or on a cluster (``spark://host:7077``);
    never downloads packages at run time. ``driver_memory`` (e.g. ``6g``) only takes effect
    when this call starts the JVM; in local mode the driver is the executor too."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master)
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    return (
        builder.appName("manbing-indicators")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )


def open_spark(directory: Path, session: Any = None, master: str = "local[2]") -> Warehouse:
    spark = session or spark_session(master)
    con = ibis.pyspark.connect(spark)
    tables = {}
    for t in WAREHOUSE_TABLES:
        _parts(directory, t)
        tables[t] = con.read_parquet(str(directory / t), table_name=f"mb_{t}")
    # Shared sub-expressions are cached (Spark: persisted DataFrames behind temporary views),
    # so each indicator's plan starts from them instead of re-planning the joins they hold.
    return Warehouse(
        EngineName.SPARK, con, tables, spark=spark if session else None, cache_shared=True
    )


def open_postgres(url: str, schema: str | None = None) -> Warehouse:
    """The operational tables in PostgreSQL, read in place (used by the benchmark)."""
    con = ibis.connect(url.replace("postgresql+psycopg://", "postgres://"))
    tables = {t: con.table(t, database=schema) for t in WAREHOUSE_TABLES}
    return Warehouse(EngineName.POSTGRES, con, tables, cache_shared=True)


def open_warehouse(engine: EngineName, directory: Path, *, master: str = "local[2]") -> Warehouse:
    if engine is EngineName.DUCKDB:
        return open_duckdb(directory)
    if engine is EngineName.SPARK:
        return open_spark(directory, master=master)
    raise InvalidInput(
        "engine", "该命令不支持此引擎", f"engine {engine.value} is not supported here"
    )
