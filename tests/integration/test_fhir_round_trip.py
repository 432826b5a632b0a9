"""Export → import into an empty database reproduces the same records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db import migrate
from manbing.db.models import Condition, Observation, Resident
from manbing.db.session import make_engine, make_session_factory
from manbing.domain.organisations import Role
from manbing.fhir import export, importer
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork
from manbing.synth import fixed_district
from tests.conftest import TODAY, District
from tests.personas import actor_at

LIZ = Path("/work/shared/data/synthea-r4/Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json")


def _records(factory: sessionmaker[Session], resident_ids: set[Any] | None) -> dict[str, Any]:
    with factory() as session:
        residents = session.scalars(select(Resident)).all()
        chosen = [r for r in residents if resident_ids is None or r.id in resident_ids]
        by_id = {r.id: (r.name, r.sex, r.birth_date, r.id_number) for r in chosen}
        observations = sorted(
            (by_id[o.resident_id], o.kind, o.loinc, o.value, o.value2, o.unit, o.effective_at)
            for o in session.scalars(select(Observation))
            if o.resident_id in by_id
        )
        conditions = sorted(
            (by_id[c.resident_id], c.system, c.code, c.icd10, c.clinical_status, c.onset_date)
            for c in session.scalars(select(Condition))
            if c.resident_id in by_id
        )
        return {
            "residents": sorted(by_id.values()),
            "observations": observations,
            "conditions": conditions,
        }


@pytest.mark.skipif(not LIZ.is_file(), reason="shared FHIR test data not present")
def test_exported_ndjson_imports_into_an_empty_database_as_the_same_records(
    district: District, clock: FixedClock, tmp_path: Path
) -> None:
    source = district.session_factory
    doctor = actor_at(source, Role.FAMILY_DOCTOR, district.orgs["xixing"])
    importer.import_path(lambda: UnitOfWork(source), doctor, clock, LIZ)
    folder = tmp_path / "export"
    folder.mkdir()
    counts = export.run_now(
        lambda: UnitOfWork(source), clock, doctor, folder, ("Patient", "Observation", "Condition")
    )
    assert counts["Observation"] > 0
    with source() as session:
        visible = set(
            session.scalars(
                select(Resident.id).where(
                    Resident.managing_org_id.in_(
                        [district.orgs[k] for k in ("xixing", "xixing-1", "xixing-2")]
                    )
                )
            )
        )
    expected = _records(source, visible)

    target_url = f"sqlite:///{tmp_path / 'empty.db'}"
    migrate.upgrade(target_url)
    engine = make_engine(target_url)
    target = make_session_factory(engine)
    try:
        with target() as session:
            built = fixed_district.build(session, today=TODAY, residents_per_station=0)
            xixing = built.organizations["xixing"].id
            session.commit()
        receiver = actor_at(target, Role.FAMILY_DOCTOR, xixing)
        report = importer.import_path(lambda: UnitOfWork(target), receiver, clock, folder)
        assert not report.rejected, report.rejected
        assert report.created["Patient"] == counts["Patient"]
        assert _records(target, None) == expected
    finally:
        engine.dispose()
