import pytest
from sqlalchemy import inspect

from manbing.db import migrate
from manbing.db.base import Base
from manbing.db.session import make_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('mig') / 'm.db'}"
    from tests.conftest import _fresh_postgres_database, _worker

    return _fresh_postgres_database(f"manbing_migrations_{_worker()}")


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
