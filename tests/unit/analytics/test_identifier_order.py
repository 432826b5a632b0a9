"""The smallest identifier rule (``base.smallest_id``): the order of the canonical lowercase
text on every engine. DuckDB's copy keeps ``min`` over its UUIDs, which is only right while
DuckDB orders UUIDs as that text; this checks that it does, the top bit included."""

from __future__ import annotations

import uuid

import duckdb
import ibis
from hypothesis import example, given
from hypothesis import strategies as st

from manbing.analytics.engine import EngineName
from manbing.analytics.indicators.base import smallest_id

EDGES = [
    uuid.UUID(int=0),
    uuid.UUID(int=2**127 - 1),  # 7fff…: the largest with the top bit clear
    uuid.UUID(int=2**127),  # 8000…: the smallest with it set
    uuid.UUID(int=2**128 - 1),
    uuid.UUID("12345678-0000-4000-8000-00000000000f"),
    uuid.UUID("12345678-aaaa-4000-8000-000000000000"),
]


@given(st.lists(st.uuids(), min_size=1, max_size=30))
@example(EDGES)
@example(list(reversed(EDGES)))
def test_duckdb_orders_uuids_as_their_text(ids: list[uuid.UUID]) -> None:
    text = [str(i) for i in ids]
    con = duckdb.connect()
    try:
        ranked = con.execute(
            "SELECT list(u ORDER BY CAST(u AS UUID)), min(CAST(u AS UUID))::VARCHAR "
            "FROM unnest(?::VARCHAR[]) AS t(u)",
            [text],
        ).fetchone()
    finally:
        con.close()
    assert ranked == (sorted(text), min(text))


def test_smallest_id_is_the_smallest_text_on_uuids_and_on_text() -> None:
    rows = {"g": ["a"] * len(EDGES), "u": [str(i) for i in reversed(EDGES)]}
    con = ibis.duckdb.connect()
    t = ibis.memtable(rows)
    for column in (t.u, t.u.cast("uuid")):
        picked = t.group_by("g").aggregate(m=smallest_id(column, EngineName.DUCKDB).cast("string"))
        assert con.to_pyarrow(picked).column("m").to_pylist() == [str(uuid.UUID(int=0))]
    con.disconnect()
