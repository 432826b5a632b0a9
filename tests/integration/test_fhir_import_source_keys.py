"""Source keys of imported Observations and Conditions: per source record and organisation.

Two stations (each with its own importer account) loading the same source records for their own
residents each get their rows; a station re-importing its file matches instead of duplicating;
an entry naming a resident outside the importer's scope is refused without telling anything of
that resident's records.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import Condition, Observation, Resident
from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.domain.identity import check_character
from manbing.domain.organisations import Role
from manbing.fhir import bundle as bundle_ops
from manbing.fhir import importer
from manbing.fhir.store import Store
from manbing.services.actor import Actor
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import District
from tests.integration.fhir_helpers import Fhir
from tests.personas import actor_at

REGIONAL = "https://qyws.example.gov.cn/fhir/R4/Observation/"


def _national_id(born: str, seq: int) -> str:
    first17 = f"330108{born.replace('-', '')}{seq:03d}"
    return first17 + check_character(first17)


def _patient(name: str, id_number: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": id_number}],
        "name": [{"text": name}],
    }


def _hba1c(subject: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2026-10-01T09:00:00+08:00",
        "valueQuantity": {"value": 7.1, "unit": "%", "code": "%"},
    }


def _hypertension(subject: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
        "subject": {"reference": subject},
        "onsetDateTime": "2019-05-01",
    }


def _post(resource: dict[str, Any], full_url: str) -> dict[str, Any]:
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _file(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(
        json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}), "utf-8"
    )
    return path


def _rows(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as session:
        return (
            int(session.scalar(select(func.count()).select_from(Observation)) or 0),
            int(session.scalar(select(func.count()).select_from(Condition)) or 0),
        )


def _import(district: District, actor: Actor, clock: FixedClock, path: Path) -> Any:
    return importer.import_path(lambda: UnitOfWork(district.session_factory), actor, clock, path)


def _station_file(path: Path, name: str, id_number: str, keys: tuple[str, str, str]) -> Path:
    """A resident of the station with an HbA1c and a hypertension under the shared keys."""
    patient = _urn()
    return _file(
        path,
        [
            _post(_patient(name, id_number), patient),
            _post(_hba1c(patient), keys[0]),
            _post(_hypertension(patient), keys[1]),
            _post(_hba1c(patient), keys[2]),
        ],
    )


def test_two_stations_importing_the_same_source_records_each_get_their_own_and_reimport_matches(
    district: District, clock: FixedClock, tmp_path: Path
) -> None:
    # a urn:uuid, a Condition's urn:uuid, an absolute fullUrl too long to keep as written
    keys = (_urn(), _urn(), REGIONAL + "x" * 80)
    xixing = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    changhe = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["changhe-1"])
    file_x = _station_file(tmp_path / "x.json", "陈立新", _national_id("1958-02-03", 11), keys)
    file_c = _station_file(tmp_path / "c.json", "何志明", _national_id("1950-01-02", 41), keys)
    before = _rows(district.session_factory)

    first = _import(district, xixing, clock, file_x)
    second = _import(district, changhe, clock, file_c)

    assert not first.rejected and not second.rejected, second.rejected
    for report in (first, second):
        assert dict(report.created) == {"Patient": 1, "Observation": 2, "Condition": 1}
    assert _rows(district.session_factory) == (before[0] + 4, before[1] + 2)

    # each station reads its own copy, for its own resident; not the other's
    for actor, name in ((xixing, "陈立新"), (changhe, "何志明")):
        fhir = Fhir(district.session_factory, actor)
        with district.session_factory() as session:
            mine = session.scalars(select(Resident.id).where(Resident.name == name)).one()
        found = fhir("GET", "Observation", query=[("code", "http://loinc.org|4548-4")])
        assert found.resource is not None
        subjects = {e["resource"]["subject"]["reference"] for e in found.resource["entry"]}
        assert subjects == {f"Patient/{mine}"}
        conditions = fhir("GET", "Condition", query=[("patient", str(mine))])
        assert conditions.resource is not None and conditions.resource["total"] == 1

    # importing the same file again matches every entry, for both stations
    for actor, path in ((xixing, file_x), (changhe, file_c)):
        again = _import(district, actor, clock, path)
        assert not again.rejected and not again.created, again
        assert dict(again.matched) == {"Patient": 1, "Observation": 2, "Condition": 1}
    assert _rows(district.session_factory) == (before[0] + 4, before[1] + 2)


def test_the_centre_reimporting_its_stations_file_matches_the_stations_records(
    district: District, clock: FixedClock, tmp_path: Path
) -> None:
    keys = (_urn(), _urn(), _urn())
    station = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    centre = actor_at(district.session_factory, Role.CENTRE_MANAGER, district.orgs["xixing"])
    path = _station_file(tmp_path / "x.json", "陈立新", _national_id("1958-02-03", 12), keys)
    assert not _import(district, station, clock, path).rejected
    before = _rows(district.session_factory)

    again = _import(district, centre, clock, path)

    assert not again.rejected and not again.created, again
    assert dict(again.matched) == {"Patient": 1, "Observation": 2, "Condition": 1}
    assert _rows(district.session_factory) == before


def test_an_import_entry_about_another_stations_resident_is_refused_and_tells_nothing(
    district: District, clock: FixedClock, tmp_path: Path
) -> None:
    keys = (_urn(), _urn(), _urn())
    xixing = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    path = _station_file(tmp_path / "x.json", "陈立新", _national_id("1958-02-03", 13), keys)
    assert not _import(district, xixing, clock, path).rejected
    with district.session_factory() as session:
        theirs = session.scalars(select(Resident).where(Resident.name == "陈立新")).one()
        their_rows = {
            str(i)
            for i in session.scalars(
                select(Observation.id).where(Observation.resident_id == theirs.id)
            )
        }
    changhe = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["changhe-1"])
    subject = f"Patient/{theirs.id}"
    entries = [
        _post(_hba1c(subject), keys[0]),  # the same source record, for their resident
        _post(_hypertension(subject), keys[1]),
        _post(_hba1c(subject), _urn()),  # a new one
    ]
    before = _rows(district.session_factory)

    with UnitOfWork(district.session_factory) as uow:
        store = Store(uow.session, changhe, clock, bulk=True)
        result = bundle_ops.process(store, {"entry": entries}, bundle_ops.Mode.IMPORT, ids={})
        store.flush_audit()
        uow.commit()

    assert [r.index for r in result.rejected] == [0, 1, 2]
    assert not result.created and not result.matched
    answers = json.dumps(result.responses)
    assert [a["response"]["status"] for a in result.responses] == ["404", "404", "404"]
    assert "resident not found" in answers
    assert not [row for row in their_rows if row in answers]
    assert _rows(district.session_factory) == before
