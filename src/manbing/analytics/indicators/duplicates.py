"""Suspected duplicate records: residents on record sharing sex and birth date with another
record and either the same name, or a name one edit away (a typing or homophone error in another
source system) with the same address or phone.

Near-duplicates are only compared inside the small blocks of the same sex, birth date and
address (or phone), never across the whole register. Addresses and phones are compared by their
hash (``base.twin_key``): the keys two or more records on record hold are found by one sort of
the three kinds of 64-bit keys stacked, and names are compared, exactly, only among the few per
cent of residents whose key another resident holds.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from manbing.analytics.engine import EngineName, Warehouse
from manbing.analytics.indicators.base import on_record, twin_key
from manbing.analytics.periods import Period

# The blocking keys and the resident columns they are made of.
KEYS = ("name_key", "address_key", "phone_key")
KEYED = {"name_key": "name", "address_key": "address", "phone_key": "phone"}


def blocking_keys(r: ir.Table, engine: EngineName) -> dict[str, ir.Value]:
    """A residents table's blocking keys: read when the table holds them (DuckDB's copy of
    the warehouse computes them once per refresh, ``analytics.store``), else computed."""
    return {
        key: r[key] if key in r.columns else twin_key(r, r[column], engine)
        for key, column in KEYED.items()
    }


# A misspelt name: one character changed, dropped or added at one of the first NAME_POSITIONS
# characters (Chinese names have 2–4; longer names are compared exactly beyond that).
NAME_POSITIONS = 8


def one_edit_apart(a: ir.StringValue, b: ir.StringValue) -> ir.BooleanValue:
    """Whether ``b`` differs from ``a`` by one character changed, dropped or added at one of the
    first ``NAME_POSITIONS`` characters (in characters: the engines' own ``levenshtein``
    differ, DuckDB counting UTF-8 bytes and Spark characters). Meant for ``a != b``.

    Where one edit turns ``a`` into ``b``, it can be made at their first differing position,
    or at any earlier one inside the run of equal characters that ends there (a dropped or added
    character of a run): so only that position is tried, or the last of the first
    ``NAME_POSITIONS`` when they all agree, instead of every one."""
    la, lb = a.length(), b.length()
    first: ir.IntegerValue = ibis.literal(NAME_POSITIONS - 1)
    for i in reversed(range(NAME_POSITIONS - 1)):
        first = (a.substr(i, 1) != b.substr(i, 1)).ifelse(i, first)
    changed = (la == lb) & (la > first) & (a.substr(first + 1) == b.substr(first + 1))
    dropped = (la == lb + 1) & (la > first) & (a.substr(first + 1) == b.substr(first))
    added = (lb == la + 1) & (lb > first) & (a.substr(first) == b.substr(first + 1))
    return (changed | dropped | added).fill_null(False)


def _keys_held_twice(keys: ir.Table) -> ir.Column:
    """The key values (name, address and phone keys alike) that two or more rows of ``keys``
    hold. The kinds share one set: a value of one kind equal to one of another only adds a
    candidate, and pairs are matched within one kind."""
    stacked = keys.select(k=ibis.array([keys[k] for k in KEYS]).unnest())
    stacked = stacked.filter(stacked.k.notnull())
    # Sorted, a key held twice is next to its twin: one sort of 8-byte keys costs less than a
    # hash aggregation over as many distinct keys.
    w = ibis.window(order_by=stacked.k)
    near = stacked.mutate(before=stacked.k.lag().over(w), after=stacked.k.lead().over(w))
    twice = near.filter((near.k == near.before) | (near.k == near.after))
    return twice.select("k").distinct().k


def _candidates(wh: Warehouse, period: Period) -> ir.Table:
    """Residents on record whose name key, address key or phone key another resident on record
    holds: the only ones a pair can include (a few per cent of the register; materialised
    once)."""

    def build() -> ir.Table:
        r = on_record(wh.table("residents"), period)
        on = r.select("id", "name", "sex", "birth_date", **blocking_keys(r, wh.engine))
        held = _keys_held_twice(on)
        found = on.name_key.isin(held) | on.address_key.isin(held) | on.phone_key.isin(held)
        return on.filter(found.fill_null(False))

    return wh.shared(("dup_candidates", period), build)


def _pairs(c: ir.Table, key: str, near: bool) -> ir.Table:
    """Ids of candidates with another candidate of the same ``key``, sex and birth date whose
    name is the same, or (``near``) one edit away."""
    a = c.filter(c[key].notnull()).select(
        a_id="id", a_name="name", a_sex="sex", a_birth="birth_date", a_key=key
    )
    b = a.rename(b_id="a_id", b_name="a_name", b_sex="a_sex", b_birth="a_birth", b_key="a_key")
    j = a.join(
        b,
        [a.a_key == b.b_key, a.a_sex == b.b_sex, a.a_birth == b.b_birth, a.a_id != b.b_id],
    )
    same = j.a_name == j.b_name
    return j.filter(same | one_edit_apart(j.a_name, j.b_name) if near else same).select(
        dup_id=j.a_id
    )


def duplicate_ids(wh: Warehouse, period: Period) -> ir.Table:
    """Residents on record with a suspected duplicate on record (``dup_id``, distinct)."""
    c = _candidates(wh, period)
    return (
        _pairs(c, "name_key", near=False)
        .union(_pairs(c, "address_key", near=True))
        .union(_pairs(c, "phone_key", near=True))
        .distinct()
    )
