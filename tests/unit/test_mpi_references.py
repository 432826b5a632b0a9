"""The merge's reference plan adapts to new tables found in the metadata."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint, Uuid

from manbing.db.base import Base
from manbing.services import mpi_references as refs


@pytest.fixture
def extra_table() -> Iterator[list[Table]]:
    added: list[Table] = []
    yield added
    for table in added:
        Base.metadata.remove(table)


def _plan_of(name: str) -> list[refs.Reference]:
    return [r for r in refs.plan() if r.table.name == name]


def test_a_new_plain_table_is_moved(extra_table: list[Table]) -> None:
    extra_table.append(
        Table(
            "zz_mpi_notes",
            Base.metadata,
            Column("id", Uuid, primary_key=True),
            Column("resident_id", Uuid, ForeignKey("residents.id")),
        )
    )
    (ref,) = _plan_of("zz_mpi_notes")
    assert ref.strategy is refs.Strategy.MOVE


def test_a_new_table_unique_per_resident_is_folded(extra_table: list[Table]) -> None:
    extra_table.append(
        Table(
            "zz_mpi_badges",
            Base.metadata,
            Column("id", Uuid, primary_key=True),
            Column("resident_id", Uuid, ForeignKey("residents.id")),
            Column("code", String(10)),
            UniqueConstraint("resident_id", "code"),
        )
    )
    (ref,) = _plan_of("zz_mpi_badges")
    assert ref.strategy is refs.Strategy.FOLD and ref.keys == (("code",),)


def test_a_shape_the_merge_cannot_handle_is_refused(extra_table: list[Table]) -> None:
    extra_table.append(
        Table(
            "zz_mpi_one_per_resident",
            Base.metadata,
            Column("id", Uuid, primary_key=True),
            Column("resident_id", Uuid, ForeignKey("residents.id"), unique=True),
        )
    )
    with pytest.raises(refs.UnhandledReference, match="unique on its own"):
        refs.plan()
