"""Arrow schemas derived from the SQLAlchemy tables, so every writer speaks the DB's columns.

Types: UUID → canonical string, enum → its value, date → date32, datetime → timestamp[us, UTC],
JSON → JSON text (string), integer → int64, float → float64, bool → bool.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

import numpy as np
import pyarrow as pa
from sqlalchemy import JSON, Boolean, Date, Float, Integer, Table, Uuid
from sqlalchemy import Enum as SaEnum

import manbing.db.models  # noqa: F401 - registers the tables
from manbing.db.base import Base, UTCDateTime

# Parents before children (FK order); the writers load in this order.
TABLE_ORDER = (
    "divisions",
    "census_populations",
    "organizations",
    "practitioners",
    "teams",
    "team_members",
    "service_packages",
    "residents",
    "resident_identifiers",
    "contracts",
    "enrolments",
    "enrolment_status_changes",
    "follow_ups",
    "follow_up_medications",
    "devices",
    "observations",
    "medication_statements",
    "health_checks",
    "screening_results",
    "referrals",
    "referral_events",
)
TIMESTAMP = pa.timestamp("us", tz="UTC")
# Columns whose Python default is "now": the generator gives them a deterministic time instead.
_NOW_COLUMNS = (
    "created_at",
    "updated_at",
    "recorded_at",
    "received_at",
    "changed_at",
    "imported_at",
)


def sa_table(name: str) -> Table:
    return Base.metadata.tables[name]


def arrow_type(column: Any) -> pa.DataType:
    t = column.type
    if isinstance(t, Uuid | SaEnum):
        return pa.string()
    if isinstance(t, UTCDateTime):
        return TIMESTAMP
    if isinstance(t, JSON):
        return pa.string()
    if isinstance(t, Boolean):
        return pa.bool_()
    if isinstance(t, Integer):
        return pa.int64()
    if isinstance(t, Float):
        return pa.float64()
    if isinstance(t, Date):
        return pa.date32()
    return pa.string()


@cache
def schema(name: str) -> pa.Schema:
    return pa.schema(
        [pa.field(c.name, arrow_type(c), nullable=bool(c.nullable)) for c in sa_table(name).columns]
    )


def build(name: str, columns: Mapping[str, Any], stamp: datetime) -> pa.Table:
    """Assemble a table in schema order; absent columns get their scalar default or null.

    ``stamp`` fills the "now" columns (created_at, …) so the output stays deterministic.
    """
    sch = schema(name)
    given = {f.name: to_arrow(columns[f.name], f.type) for f in sch if f.name in columns}
    lengths = {len(v) for v in given.values()}
    if len(lengths) != 1:
        raise ValueError(f"{name}: columns of different lengths {lengths}")
    n = lengths.pop()
    arrays = []
    for fld, col in zip(sch, sa_table(name).columns, strict=True):
        if fld.name in given:
            arr = given[fld.name]
        elif fld.name in _NOW_COLUMNS:
            arr = pa.array(np.full(n, stamp.astimezone(UTC).replace(tzinfo=None)), TIMESTAMP)
        elif col.default is not None and col.default.is_scalar:
            default: Any = cast(Any, col.default).arg
            default = getattr(default, "value", default)
            arr = pa.array([default] * n, fld.type)
        elif isinstance(col.type, JSON) and col.default is not None:
            arr = pa.array(["{}" if fld.name in ("findings", "labs", "detail") else "[]"] * n)
        elif col.nullable:
            arr = pa.nulls(n, fld.type)
        else:
            raise ValueError(f"{name}.{fld.name} is required and was not generated")
        if not fld.nullable and arr.null_count:
            raise ValueError(f"{name}.{fld.name} has nulls")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=sch)


def to_arrow(value: Any, typ: pa.DataType) -> pa.Array:
    """Convert a generated column (Arrow, numpy, list of parts) to ``typ``.

    Integer numpy arrays bound for a date32 column are day numbers; values beyond year 9999
    (the generator's "never") become null.
    """
    if isinstance(value, list) and value and isinstance(value[0], pa.Array | np.ndarray):
        parts = [to_arrow(v, typ) for v in value]
        return pa.concat_arrays(parts) if parts else pa.array([], typ)
    if isinstance(value, list) and not value:
        return pa.array([], typ)
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if isinstance(value, pa.Array):
        return value if value.type == typ else value.cast(typ)
    if isinstance(value, np.ndarray):
        if typ == pa.date32() and value.dtype.kind in "iu":
            valid = value < 2_900_000
            return pa.array(np.where(valid, value, 0).astype(np.int32), pa.date32(), mask=~valid)
        if value.dtype == object:
            return pa.array(value, typ)
        return pa.array(value).cast(typ)
    return pa.array(value, typ)


def empty(name: str) -> pa.Table:
    return schema(name).empty_table()
