"""Write batches into the operational database: SQLite (executemany) or PostgreSQL (COPY).

The database must be at Alembic head (``ensure_schema`` upgrades it). A non-empty ``residents``
table is refused unless ``append`` (add to it) or ``replace`` (empty the generated tables, and
the tables that point at them, first) is given. For PostgreSQL the secondary indexes and foreign
keys of the tables being loaded are dropped before COPY and recreated afterwards.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Engine, Uuid, inspect, text
from sqlalchemy.orm import Session

from manbing.db.session import make_engine
from manbing.services import follow_up_schedule
from manbing.synth import tables
from manbing.synth.generator import Batch

# Tables outside the generator that reference generated rows; emptied by ``replace``.
DEPENDENT_TABLES = ("audit_events", "worklist_tasks", "risk_assessments", "users")


class SchemaMissing(RuntimeError):
    pass


class NotEmpty(RuntimeError):
    pass


def alembic_ini() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "alembic.ini"
        if candidate.is_file() and (parent / "migrations").is_dir():
            return candidate
    return None


def ensure_schema(url: str) -> None:
    """Upgrade the database to Alembic head, or refuse if the migrations cannot be found."""
    ini = alembic_ini()
    if ini is None:
        engine = make_engine(url)
        try:
            if not inspect(engine).has_table("residents"):
                raise SchemaMissing(
                    "the database has no schema; run `alembic -x url=… upgrade head`"
                )
        finally:
            engine.dispose()
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ini))
    cfg.set_main_option("script_location", str(ini.parent / "migrations"))
    cfg.cmd_opts = None
    cfg.attributes["x_url"] = url
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")


class DatabaseWriter:
    def __init__(self, url: str, *, append: bool = False, replace: bool = False) -> None:
        if append and replace:
            raise ValueError("choose --append or --replace, not both")
        self.url = url
        self.engine: Engine = make_engine(url)
        self.postgres = self.engine.dialect.name == "postgresql"
        self.rows: dict[str, int] = {}
        self._dropped: list[str] = []
        with self.engine.begin() as conn:
            count = conn.execute(text("select count(*) from residents")).scalar_one()
            if count and not (append or replace):
                raise NotEmpty(
                    f"the residents table already holds {count} rows: pass --replace to empty the "
                    "generated tables first, or --append to add to them"
                )
            if count and replace:
                for name in (*DEPENDENT_TABLES, *reversed(tables.TABLE_ORDER)):
                    conn.execute(text(f"delete from {name}"))
            fresh = not count or replace
        if self.postgres and fresh:
            self._drop_indexes_and_keys()

    def write(self, batch: Batch) -> None:
        for name in tables.TABLE_ORDER:
            table = batch.tables.get(name)
            if table is None or table.num_rows == 0:
                continue
            if self.postgres:
                self._copy(name, table)
            else:
                self._insert(name, table)
            self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def close(self) -> None:
        if self._dropped:
            with self.engine.begin() as conn:
                for ddl in self._dropped:
                    conn.execute(text(ddl))
                for name in tables.TABLE_ORDER:
                    conn.execute(text(f"analyze {name}"))
            self._dropped = []
        with Session(self.engine) as session:  # the worklist's schedule of the loaded residents
            follow_up_schedule.refresh_all(session)
            session.commit()
        self.engine.dispose()

    # SQLite -------------------------------------------------------------------------------
    def _insert(self, name: str, table: pa.Table) -> None:
        columns = [
            _sqlite_column(table.column(c.name), c.type) for c in tables.sa_table(name).columns
        ]
        names = ", ".join(c.name for c in tables.sa_table(name).columns)
        marks = ", ".join("?" for _ in columns)
        sql = f"insert into {name} ({names}) values ({marks})"
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.executemany(sql, list(zip(*columns, strict=True)))
            raw.commit()
        finally:
            raw.close()

    # PostgreSQL ---------------------------------------------------------------------------
    def _copy(self, name: str, table: pa.Table) -> None:
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, batch_size=65_536))
        cols = ", ".join(table.column_names)
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f"copy {name} ({cols}) from stdin with (format csv)") as copy:
                view = buf.getbuffer()
                for start in range(0, len(view), 1 << 20):
                    copy.write(view[start : start + (1 << 20)])
                del view
            raw.commit()
        finally:
            raw.close()

    def _drop_indexes_and_keys(self) -> None:
        names = list(tables.TABLE_ORDER)
        with self.engine.begin() as conn:
            fks = conn.execute(
                text(
                    "select conrelid::regclass::text, conname, pg_get_constraintdef(oid) from pg_constraint "
                    "where contype = 'f' and conrelid::regclass::text = any(:t) and connamespace = current_schema()::regnamespace"
                ),
                {"t": names},
            ).all()
            idx = conn.execute(
                text(
                    "select i.indexname, i.indexdef from pg_indexes i where i.schemaname = current_schema() "
                    "and i.tablename = any(:t) and not exists (select 1 from pg_constraint c "
                    "where c.conname = i.indexname and c.connamespace = current_schema()::regnamespace)"
                ),
                {"t": names},
            ).all()
            for table_name, con_name, definition in fks:
                conn.execute(text(f'alter table {table_name} drop constraint "{con_name}"'))
                self._dropped.append(
                    f'alter table {table_name} add constraint "{con_name}" {definition}'
                )
            for index_name, definition in idx:
                conn.execute(text(f'drop index "{index_name}"'))
                self._dropped.insert(0, definition)


def _sqlite_column(col: pa.ChunkedArray, sa_type: Any) -> list[Any]:
    """Values in the form SQLAlchemy stores them on SQLite (uuid hex, ISO dates and times)."""
    if isinstance(sa_type, Uuid):
        col = pc.replace_substring(col, "-", "")
    elif pa.types.is_date32(col.type):
        col = col.cast(pa.string())
    elif pa.types.is_timestamp(col.type):
        col = pc.strftime(col, "%Y-%m-%d %H:%M:%S")
    values: list[Any] = col.to_pylist()
    return values
