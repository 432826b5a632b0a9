"""SAVEPOINTs (``Session.begin_nested``) on both back-ends, through the app's own engine.

The sqlite3 driver opens no transaction before a SAVEPOINT by itself, so without the engine's
hook a released savepoint commits on the spot; these tests fail on SQLite without it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import Division
from manbing.domain.identity import DivisionLevel


def _division(code: str) -> Division:
    return Division(code=code, name=f"测试{code}", level=DivisionLevel.VILLAGE)


def _codes(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(
            session.scalars(
                select(Division.code).where(Division.code.like("99%")).order_by(Division.code)
            )
        )


def test_a_released_savepoint_is_undone_by_the_outer_rollback(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        session.scalar(select(Division.code).limit(1))  # a read first: no transaction yet
        with session.begin_nested():
            session.add(_division("990000000001"))
        session.rollback()
    assert _codes(session_factory) == []


def test_a_rolled_back_savepoint_drops_only_its_own_rows(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        session.scalar(select(Division.code).limit(1))
        with session.begin_nested():
            session.add(_division("990000000001"))
        savepoint = session.begin_nested()
        session.add(_division("990000000002"))
        session.flush()
        savepoint.rollback()
        with session.begin_nested():
            session.add(_division("990000000003"))
        session.commit()
    assert _codes(session_factory) == ["990000000001", "990000000003"]


def test_a_failed_flush_inside_a_savepoint_leaves_the_transaction_usable(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        session.add(_division("990000000001"))
        session.flush()
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(_division("990000000002"))
            session.flush()
            session.execute(
                insert(Division).values(
                    code="990000000001", name="重复", level=DivisionLevel.VILLAGE, edition="2023"
                )
            )
        # on PostgreSQL the transaction would be aborted without the savepoint
        session.add(_division("990000000003"))
        session.commit()
    assert _codes(session_factory) == ["990000000001", "990000000003"], engine.dialect.name
