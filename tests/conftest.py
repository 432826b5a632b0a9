"""Shared fixtures: database back-ends (SQLite and PostgreSQL), a fixed clock, personas.

PostgreSQL: the server comes from ``MANBING_DATABASE_URL`` when it names one, else
``MANBING_TEST_POSTGRES_URL``, else ``postgresql+psycopg://postgres@127.0.0.1:5432/test``. Each
pytest worker gets a database of its own on that server. With ``CI=true`` an unreachable server
fails the run; elsewhere the PostgreSQL cases are skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from manbing.db import migrate
from manbing.db.session import make_engine, make_session_factory
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
IN_CI = os.environ.get("CI", "").lower() == "true"


def postgres_server_url() -> str:
    configured = os.environ.get("MANBING_DATABASE_URL", "")
    if configured.startswith("postgresql"):
        return configured
    return os.environ.get(
        "MANBING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _drop_postgres_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(make_url(postgres_server_url()), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _fresh_postgres_database(name: str) -> str:
    server = make_url(postgres_server_url())
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and unreachable at {server!r}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {server!r}: {exc}")
    finally:
        admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def run_id(testrun_uid: str) -> str:
    """Unique per test run, so concurrent runs on one server never share a database."""
    return testrun_uid[:8]


@pytest.fixture(scope="session")
def postgresql_url(run_id: str) -> Iterator[str]:
    base = make_url(postgres_server_url()).database or "test"
    url = _fresh_postgres_database(f"{base}_mb_{run_id}_{_worker()}")
    yield url
    _drop_postgres_database(url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'manbing.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """A migrated database URL, once per back-end (integration tests run on both)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def default_backend_url(request: pytest.FixtureRequest) -> str:
    """The back-end the app would use: PostgreSQL when MANBING_DATABASE_URL names it, else SQLite."""
    name = (
        "postgresql"
        if os.environ.get("MANBING_DATABASE_URL", "").startswith("postgresql")
        else "sqlite"
    )
    url: str = request.getfixturevalue(f"{name}_url")
    migrate.upgrade(url)
    return url


def _truncate_all(engine: Engine) -> None:
    from manbing.db.base import Base

    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def engine(backend_url: str) -> Iterator[Engine]:
    engine = make_engine(backend_url)
    _truncate_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> UnitOfWork:
    return UnitOfWork(session_factory)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@dataclass
class District:
    """The fixed district plus persona actors for access tests."""

    session_factory: sessionmaker[Session]
    orgs: dict[str, object]
    resident_ids: dict[str, list[object]]


@pytest.fixture
def district(session_factory: sessionmaker[Session]) -> District:
    from manbing.synth import fixed_district

    with session_factory() as session:
        built = fixed_district.build(session, today=TODAY, residents_per_station=6)
        by_station: dict[str, list[object]] = {}
        for resident in built.residents:
            by_station.setdefault(str(resident.managing_org_id), []).append(resident.id)
        orgs = {key: org.id for key, org in built.organizations.items()}
        session.commit()
    return District(session_factory, orgs, {k: by_station.get(str(v), []) for k, v in orgs.items()})


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
