"""`manbing synth --to db` into a migrated SQLite file and (when reachable) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from manbing.cli import _register, app
from manbing.db.models import FollowUp, Resident
from manbing.db.session import make_engine

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
TABLES = (
    "residents",
    "follow_ups",
    "observations",
    "enrolments",
    "contracts",
    "organizations",
    "census_populations",
)


def _run(*args: str) -> str:
    _register()
    result = CliRunner().invoke(app, ["synth", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"select count(*) from {t}")).scalar_one() for t in TABLES}
    engine.dispose()
    return counts


def test_synth_fills_a_migrated_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    _run(
        "--residents",
        "3000",
        "--region",
        "330108",
        "--seed",
        "7",
        "--to",
        "db",
        "--database-url",
        url,
    )
    engine = make_engine(url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Resident)) >= 3000
        assert session.execute(text("pragma foreign_key_check")).all() == []
        dupes = session.execute(
            text("select record_number from residents group by 1 having count(*) > 1")
        ).all()
        assert dupes == []
        # A census for each year of the 3-year window, larger than the records (coverage 0.90).
        years = session.execute(
            text("select year, sum(population) from census_populations group by year order by 1")
        ).all()
        assert [y for y, _ in years] == [2024, 2025, 2026]
        assert 3000 / 0.95 < years[-1][1] < 3000 / 0.85
        visit = session.scalars(select(FollowUp).where(FollowUp.outcome == "done").limit(1)).one()
        assert isinstance(visit.id, uuid.UUID) and visit.visit_date.year >= 2023
        assert visit.created_at.tzinfo is not None and visit.medications
    engine.dispose()
    # A second run refuses to write into a populated database unless told what to do.
    _register()
    refused = CliRunner().invoke(
        app, ["synth", "--residents", "1000", "--to", "db", "--database-url", url]
    )
    assert refused.exit_code != 0 and "--replace" in refused.output
    before = _counts(url)
    _run("--residents", "3000", "--seed", "7", "--to", "db", "--database-url", url, "--replace")
    assert _counts(url) == before


def _postgres_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.mark.postgres
def test_synth_copies_into_postgresql_with_indexes_rebuilt(tmp_path: Path) -> None:
    if not _postgres_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (required in CI)")
        pytest.skip("PostgreSQL is not reachable")
    schema = f"synth_it_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    try:
        _run("--residents", "3000", "--seed", "7", "--to", "db", "--database-url", url)
        sqlite_url = f"sqlite:///{tmp_path / 'same.db'}"
        _run("--residents", "3000", "--seed", "7", "--to", "db", "--database-url", sqlite_url)
        assert _counts(url) == _counts(sqlite_url)
        with psycopg.connect(PG_ADMIN) as conn:
            indexes = conn.execute(
                "select count(*) from pg_indexes where schemaname = %s and tablename = 'follow_ups'",
                [schema],
            ).fetchone()
            fks = conn.execute(
                "select count(*) from pg_constraint where contype = 'f' and connamespace = %s::regnamespace",
                [schema],
            ).fetchone()
        assert indexes is not None and indexes[0] >= 4
        assert fks is not None and fks[0] > 40
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"drop schema {schema} cascade")
