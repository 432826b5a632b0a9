import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, update

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


def test_0016_puts_the_organisation_in_the_fhir_source_keys_stored_before(
    blank_url: str, tmp_path: Path
) -> None:
    """Keys stored as the old importer did (the source id alone) get the organisation of the
    resident, so a file loaded before 0016 still matches; downgrade strips it again."""
    from manbing.db.models import Condition, Observation
    from manbing.db.session import make_session_factory
    from manbing.domain.observations import ObservationSource
    from manbing.domain.organisations import Role
    from manbing.fhir import importer
    from manbing.services.clock import FixedClock
    from manbing.services.unit_of_work import UnitOfWork
    from manbing.synth import fixed_district
    from tests.conftest import NOW, TODAY
    from tests.personas import actor_at

    long_url = "https://qyws.example.gov.cn/fhir/R4/Observation/" + "7" * 60
    patient, sources = "urn:uuid:" + str(uuid.uuid4()), [f"urn:uuid:{uuid.uuid4()}", long_url]
    hba1c = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": patient},
        "effectiveDateTime": "2026-10-01T09:00:00+08:00",
        "valueQuantity": {"value": 7.1, "unit": "%", "code": "%"},
    }
    htn = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
        "subject": {"reference": patient},
    }
    entries = [
        (
            patient,
            {"resourceType": "Patient", "name": [{"text": "陈立新"}], "birthDate": "1958-02-03"},
        ),
        (sources[0], htn),
        (sources[1], hba1c),
    ]
    path = tmp_path / "file.json"
    path.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "fullUrl": u,
                        "resource": r,
                        "request": {"method": "POST", "url": r["resourceType"]},
                    }
                    for u, r in entries
                ],
            }
        ),
        "utf-8",
    )
    migrate.upgrade(blank_url, "0015")  # the models are those of 0015: 0016 changes data only
    engine = make_engine(blank_url)
    factory = make_session_factory(engine)
    clock = FixedClock(NOW)
    imported = Observation.source == ObservationSource.IMPORT

    def keys() -> tuple[str | None, str | None]:
        with factory() as session:
            return (
                session.scalars(select(Condition.source_key)).one(),
                session.scalars(select(Observation.idempotency_key).where(imported)).one(),
            )

    def load() -> importer.ImportReport:
        return importer.import_path(lambda: UnitOfWork(factory), actor, clock, path)

    try:
        with factory() as session:
            built = fixed_district.build(session, today=TODAY, residents_per_station=1)
            station = built.organizations["xixing-1"].id
            session.commit()
        actor = actor_at(factory, Role.FAMILY_DOCTOR, station)
        assert load().created["Observation"] == 1
        now = keys()
        assert now[0] == f"fhir:{station.hex}:{sources[0]}"
        assert now[1] is not None and now[1].startswith(f"fhir:{station.hex}:sha256:")
        with engine.begin() as conn:  # what the importer stored before
            conn.execute(update(Condition).values(source_key=sources[0]))
            conn.execute(update(Observation).where(imported).values(idempotency_key=None))

        migrate.upgrade(blank_url, "0016")
        assert keys() == (now[0], None)
        again = load()
        assert not again.rejected and again.matched["Condition"] == 1, again
        assert again.created["Observation"] == 1  # it had no key before: loaded again
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(Condition)) == 1

        other = actor_at(factory, Role.FAMILY_DOCTOR, built.organizations["changhe-1"].id)
        theirs = importer.import_path(lambda: UnitOfWork(factory), other, clock, path)
        assert theirs.created["Condition"] == 1, theirs  # their own resident, their own key

        migrate.downgrade(blank_url, "0015")
        with factory() as session:
            # the two keys become one: one row keeps it
            assert sorted(session.scalars(select(Condition.source_key)), key=str) == [
                None,
                sources[0],
            ]
            assert set(session.scalars(select(Observation.idempotency_key).where(imported))) == {
                None  # the long one had no key before 0016, the new ones lose their hash
            }
        migrate.upgrade(blank_url)
        with factory() as session:
            stored = set(session.scalars(select(Condition.source_key)))
        assert stored in ({now[0], None}, {f"fhir:{other.organization_id.hex}:{sources[0]}", None})
    finally:
        engine.dispose()
