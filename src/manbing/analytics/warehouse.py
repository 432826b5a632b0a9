"""The Parquet warehouse: the operational tables extracted to ``DIR/<table>/part-*.parquet``.

Layout (shared with ``manbing synth``, so its output is a warehouse as it stands): one directory
per table, named as in ``manbing.db.models``, the same column names, UUIDs as strings, dates as
date32, datetimes as timestamp[us, UTC], enums as their values, JSON as text.

The extract is incremental: the first run copies every table; later runs read only the rows
whose ``updated_at`` (or ``created_at`` / ``recorded_at`` / ``received_at``) is at or after the
table's watermark (minus an overlap for transactions committed late), write them as a new part
and drop their older versions from the earlier parts, so every id appears once. Tables without
a change column are copied in full each time (they are small: divisions, team members, …).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.orm import Session

from manbing.analytics.lock import WarehouseBusy, exclusive
from manbing.db.base import Base

STATE_FILE = "_extract_state.json"
EXTRACT_LOCK_FILE = "_extract.lock"
OVERLAP = timedelta(minutes=5)
BATCH_ROWS = 50_000
CHANGE_COLUMNS = ("updated_at", "created_at", "recorded_at", "received_at")

# The tables the indicators read (the others stay in the operational database).
WAREHOUSE_TABLES: tuple[str, ...] = (
    "divisions",
    "organizations",
    "teams",
    "residents",
    "enrolments",
    "follow_ups",
    "contracts",
    "health_checks",
    "referrals",
    "observations",
    "census_populations",
)


def arrow_type(column: sa.Column[Any]) -> pa.DataType:
    """The Parquet type of a column under the shared warehouse layout."""
    t = column.type
    impl = t.impl if isinstance(t, sa.TypeDecorator) else t
    if isinstance(impl, sa.Uuid | sa.Enum | sa.String | sa.JSON):
        return pa.string()
    if isinstance(impl, sa.Boolean):
        return pa.bool_()
    if isinstance(impl, sa.Integer):
        return pa.int64()
    if isinstance(impl, sa.Float | sa.Numeric):
        return pa.float64()
    if isinstance(impl, sa.DateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(impl, sa.Date):
        return pa.date32()
    raise TypeError(f"no warehouse type for {column.table.name}.{column.name}: {t!r}")


def arrow_schema(table: sa.Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c), nullable=True) for c in table.columns])


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


@dataclass(frozen=True, slots=True)
class TableExtract:
    table: str
    rows: int
    full: bool
    watermark: str | None


def _change_column(table: sa.Table) -> sa.Column[Any] | None:
    for name in CHANGE_COLUMNS:
        if name in table.columns:
            return table.columns[name]
    return None


def _load_state(directory: Path) -> dict[str, str]:
    path = directory / STATE_FILE
    if not path.exists():
        return {}
    data: dict[str, str] = json.loads(path.read_text())
    return data


def _batches(
    session: Session, table: sa.Table, where: sa.ColumnElement[bool] | None
) -> Iterator[pa.RecordBatch]:
    schema = arrow_schema(table)
    statement = sa.select(*table.columns)
    if where is not None:
        statement = statement.where(where)
    result = session.execute(statement.execution_options(yield_per=BATCH_ROWS))
    names = [c.name for c in table.columns]
    for chunk in result.partitions():
        columns = list(zip(*chunk, strict=False)) if chunk else [() for _ in names]
        arrays = [
            pa.array([_cell(v) for v in values], type=schema.field(name).type)
            for name, values in zip(names, columns, strict=True)
        ]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _next_part(directory: Path) -> Path:
    numbers = [int(p.stem.split("-")[1]) for p in directory.glob("part-*.parquet")]
    return directory / f"part-{max(numbers, default=-1) + 1:05d}.parquet"


def _write(table: pa.Table, part: Path) -> None:
    """Write a part under a temporary name and rename it into place: a reader (an indicator run,
    a build of the DuckDB copy) sees the old part or the new one, never half of one."""
    partial = part.with_name(f".{part.name}.writing")
    pq.write_table(table, partial)
    os.replace(partial, part)


class ExtractRunning(WarehouseBusy):
    """Another extract into the same warehouse holds the lock."""


def _extract_lock(directory: Path) -> AbstractContextManager[None]:
    def busy(holder: str) -> ExtractRunning:
        return ExtractRunning(
            f"另一个抽取正在进行（进程 {holder}）：{directory} 未更新，请等它结束后再运行",
            f"another extract is running (process {holder}): {directory} was not updated; "
            "run again once it has finished",
        )

    return exclusive(directory / EXTRACT_LOCK_FILE, busy)


def _drop_ids(directory: Path, ids: pa.Array, keep: Path) -> None:
    """Remove older versions of ``ids`` from every part but ``keep``."""
    for part in sorted(directory.glob("part-*.parquet")):
        if part == keep:
            continue
        old = pq.read_table(part)
        mask = pc.is_in(old.column("id"), value_set=ids)
        if pc.any(mask).as_py():
            remaining = old.filter(pc.invert(mask))
            if remaining.num_rows:
                _write(remaining, part)
            else:
                part.unlink()


def extract(
    session: Session, directory: Path, *, now: datetime, full: bool = False
) -> list[TableExtract]:
    """Extract the warehouse tables into ``directory``; incremental unless ``full`` or first run.
    Raises ``ExtractRunning`` (and changes nothing) while another extract runs."""
    directory.mkdir(parents=True, exist_ok=True)
    with _extract_lock(directory):
        return _extract(session, directory, now=now, full=full)


def _extract(session: Session, directory: Path, *, now: datetime, full: bool) -> list[TableExtract]:
    state = {} if full else _load_state(directory)
    done: list[TableExtract] = []
    for name in WAREHOUSE_TABLES:
        table = Base.metadata.tables[name]
        target = directory / name
        change = _change_column(table)
        mark = state.get(name)
        incremental = change is not None and mark is not None and target.exists()
        where = None
        if incremental and change is not None and mark is not None:
            where = change >= datetime.fromisoformat(mark) - OVERLAP
        batches = list(_batches(session, table, where))
        rows = sum(b.num_rows for b in batches)
        if not incremental:
            target.mkdir(parents=True, exist_ok=True)
            part = target / "part-00000.parquet"
            _write(pa.Table.from_batches(batches, schema=arrow_schema(table)), part)
            for stale in target.glob("part-*.parquet"):
                if stale != part:
                    stale.unlink()
        elif rows:
            part = _next_part(target)
            delta = pa.Table.from_batches(batches, schema=arrow_schema(table))
            _write(delta, part)
            if "id" in table.columns:
                _drop_ids(target, delta.column("id").combine_chunks(), keep=part)
        new_mark = mark
        if change is not None:
            latest = session.scalar(sa.select(sa.func.max(change)))
            if latest is not None:
                if latest.tzinfo is None:
                    latest = latest.replace(tzinfo=UTC)
                new_mark = latest.isoformat()
            else:
                new_mark = now.isoformat()
            state[name] = new_mark
        done.append(TableExtract(name, rows, not incremental, new_mark))
    state["_extracted_at"] = now.isoformat()
    partial = directory / f".{STATE_FILE}.writing"
    partial.write_text(json.dumps(state, indent=2, sort_keys=True))
    os.replace(partial, directory / STATE_FILE)
    return done


def as_of_date(directory: Path) -> date | None:
    state = _load_state(directory)
    stamp = state.get("_extracted_at")
    return datetime.fromisoformat(stamp).date() if stamp else None
