from collections.abc import Iterator

import pytest
from sqlalchemy import inspect

from manbing.db import migrate
from manbing.db.base import Base
from manbing.db.session import make_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, run_id: str
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('mig') / 'm.db'}"
        return
    from tests.conftest import _drop_postgres_database, _fresh_postgres_database, _worker

    url = _fresh_postgres_database(f"mb_migrations_{run_id}_{_worker()}")
    yield url
    _drop_postgres_database(url)


def test_migrations_go_up_to_head_and_back_down_to_base(blank_url: str) -> None:
    migrate.upgrade(blank_url)
    engine = make_engine(blank_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        migrate.downgrade(blank_url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(blank_url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_models_and_the_migrations_agree(blank_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrate.upgrade(blank_url)
    engine = make_engine(blank_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diff == []
    finally:
        engine.dispose()
