"""Re-pointing every row that references a duplicate resident to the surviving record.

The referencing columns come from the SQLAlchemy metadata (every foreign key to
``residents.id``), so a new table is covered without touching this module. Each column gets a
strategy, derived from the table's constraints:

- ``MOVE``: no unique constraint involves the column; the rows are re-pointed.
- ``FOLD``: a unique constraint involves the column (``enrolments (resident_id, programme)``,
  the DTx tables). A duplicate row without a counterpart on the survivor is re-pointed; one
  with a counterpart is *folded*: the rows that reference it (e.g. enrolment status history)
  are re-pointed to the counterpart, the counterpart's empty fields listed in ``FILL`` are
  filled from it, and it is deleted (its content is returned for the audit event).
- ``PAIRS``: ``mpi_not_duplicates`` (two columns, ordered pair) — handled by the caller.
- ``KEEP``: ``audit_events.resident_id``: the audit trail is hash-chained and immutable; the
  merge event links the two records instead.
- ``CHAIN``: ``residents.merged_into_id``: records merged earlier into the duplicate are
  re-pointed to the survivor so a merged record is always one step from its survivor.

``plan()`` refuses (``UnhandledReference``) a shape it cannot merge safely — a folded row
whose own referencing rows carry a unique constraint — so such a schema change fails the test
suite rather than a merge in production.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Table, UniqueConstraint, delete, func, select, update
from sqlalchemy.orm import Session

from manbing.db.base import Base
from manbing.db.models import Resident


class Strategy(StrEnum):
    MOVE = "move"
    FOLD = "fold"
    PAIRS = "pairs"
    KEEP = "keep"
    CHAIN = "chain"


_EXPLICIT = {
    ("audit_events", "resident_id"): Strategy.KEEP,
    ("residents", "merged_into_id"): Strategy.CHAIN,
    ("mpi_not_duplicates", "low_id"): Strategy.PAIRS,
    ("mpi_not_duplicates", "high_id"): Strategy.PAIRS,
}

# Fields of a kept row filled from the folded duplicate row when the kept one has none.
FILL: dict[str, tuple[str, ...]] = {
    "enrolments": ("diagnosed_on", "diagnosed_org_id", "diagnosis_icd10", "team_id"),
    "dtx_lessons": ("completed_at",),
    "dtx_enrolments": ("package_id",),
}


class UnhandledReference(RuntimeError):
    """A foreign key to residents whose rows the merge cannot re-point safely."""


@dataclass(frozen=True)
class Reference:
    table: Table
    column: Column[Any]
    strategy: Strategy
    # for FOLD: the other columns of each unique constraint that involves ``column``
    keys: tuple[tuple[str, ...], ...] = ()


def _unique_sets(table: Table) -> list[tuple[str, ...]]:
    sets = [
        tuple(c.name for c in con.columns)
        for con in table.constraints
        if isinstance(con, UniqueConstraint)
    ]
    sets += [tuple(c.name for c in ix.columns) for ix in table.indexes if ix.unique]
    sets += [(c.name,) for c in table.columns if c.unique]
    return sets


def _children(table: Table) -> list[tuple[Table, Column[Any]]]:
    """Columns of other tables that reference ``table``'s primary key."""
    out = []
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table and fk.column.primary_key:
                out.append((other, fk.parent))
    return out


def plan() -> list[Reference]:
    """Every foreign key to ``residents.id`` with its strategy, in a stable order."""
    residents = Resident.__table__
    refs: list[Reference] = []
    for table in Base.metadata.sorted_tables:
        for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
            if fk.column.table is not residents:
                continue
            column = fk.parent
            explicit = _EXPLICIT.get((table.name, column.name))
            if explicit is not None:
                refs.append(Reference(table, column, explicit))
                continue
            if column.primary_key:
                raise UnhandledReference(f"{table.name}.{column.name} is part of a primary key")
            keys = tuple(
                tuple(n for n in names if n != column.name)
                for names in _unique_sets(table)
                if column.name in names
            )
            if not keys:
                refs.append(Reference(table, column, Strategy.MOVE))
                continue
            if () in keys:
                raise UnhandledReference(f"{table.name}.{column.name} is unique on its own")
            for child, child_column in _children(table):
                if any(child_column.name in names for names in _unique_sets(child)):
                    raise UnhandledReference(
                        f"{child.name}.{child_column.name} is unique: cannot fold {table.name}"
                    )
            refs.append(Reference(table, column, Strategy.FOLD, keys))
    return refs


def count(session: Session, ref: Reference, resident_id: uuid.UUID) -> int:
    return int(
        session.scalar(select(func.count()).select_from(ref.table).where(ref.column == resident_id))
        or 0
    )


def move(
    session: Session, ref: Reference, survivor: uuid.UUID, duplicate: uuid.UUID
) -> list[dict[str, Any]]:
    """Re-point ``ref``'s rows from the duplicate; the folded rows' content is returned."""
    if ref.strategy is Strategy.MOVE:
        session.execute(
            update(ref.table).where(ref.column == duplicate).values({ref.column.name: survivor})
        )
        return []
    if ref.strategy is not Strategy.FOLD:
        raise ValueError(f"{ref.strategy} is handled by the caller")
    folded: list[dict[str, Any]] = []
    pk = next(iter(ref.table.primary_key.columns))
    rows = session.execute(select(ref.table).where(ref.column == duplicate)).mappings().all()
    for row in rows:
        kept = _counterpart(session, ref, survivor, row)
        if kept is None:
            session.execute(
                update(ref.table).where(pk == row[pk.name]).values({ref.column.name: survivor})
            )
            continue
        for child, child_column in _children(ref.table):
            session.execute(
                update(child)
                .where(child_column == row[pk.name])
                .values({child_column.name: kept[pk.name]})
            )
        fill = {
            name: row[name]
            for name in FILL.get(ref.table.name, ())
            if kept[name] is None and row[name] is not None
        }
        if fill:
            session.execute(update(ref.table).where(pk == kept[pk.name]).values(fill))
        session.execute(delete(ref.table).where(pk == row[pk.name]))
        folded.append({k: _plain(v) for k, v in row.items()} | {"kept_id": str(kept[pk.name])})
    return folded


def _counterpart(session: Session, ref: Reference, survivor: uuid.UUID, row: Any) -> Any | None:
    for names in ref.keys:
        if any(row[name] is None for name in names):
            continue  # NULLs never clash in a unique constraint
        stmt = select(ref.table).where(ref.column == survivor)
        for name in names:
            stmt = stmt.where(ref.table.c[name] == row[name])
        found = session.execute(stmt.limit(1)).mappings().first()
        if found is not None:
            return found
    return None


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool, dict, list)):
        return value
    return str(value)
