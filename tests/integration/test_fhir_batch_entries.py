"""Batch Bundles and the lenient import: every entry on its own, in a savepoint.

A failing entry gets its error response and leaves nothing of itself (rows, audit events,
versions, reference mappings, counts); the other entries are kept. Each test makes an entry fail
*after* it wrote something, which only a savepoint can undo.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import (
    AuditEvent,
    Condition,
    FhirResourceVersion,
    Observation,
    Resident,
    ResidentIdentifier,
)
from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.domain.errors import InvalidInput
from manbing.domain.identity import check_character
from manbing.domain.organisations import Role
from manbing.fhir import bundle as bundle_ops
from manbing.fhir import importer, versions
from manbing.fhir.store import Store
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import NOW, District
from tests.integration.fhir_helpers import Fhir, as_role
from tests.personas import actor_at

TABLES = (Resident, ResidentIdentifier, Observation, Condition, FhirResourceVersion, AuditEvent)
SQL_WORDS = (
    "INSERT",
    "SELECT",
    "resident_identifiers",
    "conditions.",
    "[SQL",
    "sqlite3",
    "psycopg",
)


def _national_id(born: str, seq: int) -> str:
    first17 = f"330108{born.replace('-', '')}{seq:03d}"
    return first17 + check_character(first17)


def _patient(name: str, id_number: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": id_number}],
        "name": [{"text": name}],
    }


def _hba1c(subject: str, value: float = 7.1) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2026-10-01T09:00:00+08:00",
        "valueQuantity": {"value": value, "unit": "%", "code": "%"},
    }


def _hypertension(subject: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
        "subject": {"reference": subject},
        "onsetDateTime": "2019-05-01",
    }


def _post(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return {
            t.__tablename__: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in TABLES
        }


def _grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


def _stale_national_id(district: District, station: str, born: str, seq: int) -> str:
    """A national ID no resident holds, left as an identifier row on another record.

    A corrected ID number leaves its old identifier behind: a Patient registered later with that
    number passes the look-up (``residents.id_number``) and fails on the unique identifier row,
    after its ``residents`` row went in.
    """
    number = _national_id(born, seq)
    with district.session_factory() as session:
        session.add(
            ResidentIdentifier(
                id=uuid.uuid4(),
                resident_id=district.resident_ids[station][0],
                system=NATIONAL_ID_SYSTEM,
                value=number,
                assigned_at=NOW,
            )
        )
        session.commit()
    return number


def _new_audit_events(factory: sessionmaker[Session], seen: int) -> list[AuditEvent]:
    with factory() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq).offset(seen)))


def _resident_ids(factory: sessionmaker[Session]) -> set[str]:
    with factory() as session:
        return {str(i) for i in session.scalars(select(Resident.id))}


def _assert_no_sql(text: str) -> None:
    assert not [w for w in SQL_WORDS if w in text], text


@pytest.fixture
def doctor(district: District) -> Fhir:
    return as_role(district, Role.FAMILY_DOCTOR, "xixing-1")


def test_a_batch_entry_refused_by_the_database_leaves_nothing_and_the_others_stay(
    district: District, doctor: Fhir
) -> None:
    stale = _stale_national_id(district, "xixing-1", "1961-04-05", 21)
    good_a, good_c = _national_id("1958-02-03", 11), _national_id("1970-07-08", 31)
    urn_a = _urn()
    entries = [
        _post(_patient("陈立新", good_a), urn_a),
        _post(_patient("林美华", stale), _urn()),
        _post(_hba1c(urn_a), _urn()),
        _post(_patient("郑国强", good_c), _urn()),
    ]
    before = _counts(district.session_factory)

    response = doctor("POST", "", {"resourceType": "Bundle", "type": "batch", "entry": entries})

    assert response.status == 200, response.resource
    assert response.resource is not None
    assert response.resource["type"] == "batch-response"
    answers = response.resource["entry"]
    assert [a["response"]["status"] for a in answers] == [
        "201 Created",
        "409",
        "201 Created",
        "201 Created",
    ]
    issue = answers[1]["response"]["outcome"]["issue"][0]
    assert issue["code"] == "conflict"
    assert issue["expression"] == ["Bundle.entry[1]"]
    assert "unique values" in issue["diagnostics"] and "标识" in issue["diagnostics"]
    _assert_no_sql(issue["diagnostics"])
    patient_a = answers[0]["resource"]["id"]
    assert answers[2]["resource"]["subject"]["reference"] == f"Patient/{patient_a}"

    # the good entries are stored and readable; of the refused one nothing is left
    assert _grown(before, _counts(district.session_factory)) == {
        "residents": 2,
        "resident_identifiers": 2,  # the two national IDs
        "observations": 1,
        "fhir_resource_versions": 3,  # version 1 of each created resource
        "audit_events": 3,  # one CREATE each
    }
    for answer in (answers[0], answers[2], answers[3]):
        location = answer["response"]["location"].split("/_history")[0]
        read = doctor("GET", location)
        assert read.status == 200, read.resource
    with district.session_factory() as session:
        assert session.scalar(select(Resident.id).where(Resident.name == "林美华")) is None
        assert (
            session.scalar(
                select(func.count()).select_from(Resident).where(Resident.id_number == stale)
            )
            == 0
        )


def test_a_batch_entry_failing_after_it_wrote_leaves_no_row_or_audit_event(
    district: District, doctor: Fhir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Patient's row, identifier and audit event are written, then its version step fails."""
    record = versions.record

    def failing(session: Session, rtype: str, resource: dict[str, Any], at: Any) -> Any:
        if rtype == "Patient" and resource["name"][0]["text"] == "吴晓东":
            raise InvalidInput("name", "版本记录失败", "the version could not be recorded")
        return record(session, rtype, resource, at)

    monkeypatch.setattr(versions, "record", failing)
    entries = [
        _post(_patient("周建华", _national_id("1958-02-03", 13)), _urn()),
        _post(_patient("吴晓东", _national_id("1962-09-10", 23)), _urn()),
        _post(_patient("孙丽", _national_id("1975-11-12", 34)), _urn()),
    ]
    before = _counts(district.session_factory)

    response = doctor("POST", "", {"resourceType": "Bundle", "type": "batch", "entry": entries})

    assert response.status == 200, response.resource
    assert response.resource is not None
    answers = response.resource["entry"]
    assert [a["response"]["status"] for a in answers] == ["201 Created", "422", "201 Created"]
    assert (
        "version could not be recorded"
        in answers[1]["response"]["outcome"]["issue"][0]["diagnostics"]
    )
    assert _grown(before, _counts(district.session_factory)) == {
        "residents": 2,
        "resident_identifiers": 2,
        "fhir_resource_versions": 2,
        "audit_events": 2,
    }
    stored = _resident_ids(district.session_factory)
    events = _new_audit_events(district.session_factory, before["audit_events"])
    assert all(e.entity_id in stored and str(e.resident_id) in stored for e in events)
    with district.session_factory() as session:
        assert session.scalar(select(Resident.id).where(Resident.name == "吴晓东")) is None


def test_an_unknown_observation_code_fails_its_batch_entry_only(
    district: District, doctor: Fhir
) -> None:
    patient = district.resident_ids["xixing-1"][0]
    unknown = _hba1c(f"Patient/{patient}")
    unknown["code"] = {"coding": [{"system": "http://loinc.org", "code": "6298-4"}]}  # potassium
    entries = [_post(unknown), _post(_hba1c(f"Patient/{patient}", 6.4))]
    response = doctor("POST", "", {"resourceType": "Bundle", "type": "batch", "entry": entries})
    assert response.status == 200, response.resource
    assert response.resource is not None
    statuses = [a["response"]["status"] for a in response.resource["entry"]]
    assert statuses[0].startswith("4") and statuses[1] == "201 Created"


def test_a_batch_of_reads_still_commits_without_waiting_for_the_wal_flush(
    engine: Engine, district: District, doctor: Fhir
) -> None:
    """The entries' savepoints are no writes (docs/adr/0009-audit-read-commits.md)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    patient = district.resident_ids["xixing-1"][0]
    reads = [
        {"request": {"method": "GET", "url": f"Patient/{patient}"}},
        {"request": {"method": "GET", "url": f"Observation?patient={patient}"}},
    ]
    write = [_post(_hba1c(f"Patient/{patient}"))]
    seen: list[str] = []

    def show(conn: Any) -> None:
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute("SHOW synchronous_commit")
        seen.append(cursor.fetchone()[0])
        cursor.close()

    event.listen(engine, "commit", show)
    try:
        for entries in (reads, reads + write):
            done = doctor("POST", "", {"resourceType": "Bundle", "type": "batch", "entry": entries})
            assert done.status == 200, done.resource
    finally:
        event.remove(engine, "commit", show)
    assert seen == ["off", "on"]


# ------------------------------------------------------------------------ import
def _transaction_file(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(
        json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}), "utf-8"
    )
    return path


def _imported_then_moved(district: District, clock: FixedClock, folder: Path, key: str) -> None:
    """The station imported a file whose Condition has the source key ``key``; the resident
    then moved to another station.

    The key stays the station's (fhir/source_keys.py), but the station's look-up no longer sees
    the row: a Condition with the same key for another of its residents is refused by the unique
    key when flushed, after its row went in.
    """
    station = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    urn = _urn()
    source = _transaction_file(
        folder / "earlier.json",
        [
            _post(_patient("何志明", _national_id("1950-01-02", 41)), urn),
            _post(_hypertension(urn), key),
        ],
    )
    report = importer.import_path(
        lambda: UnitOfWork(district.session_factory), station, clock, source
    )
    assert report.created["Condition"] == 1 and not report.rejected, report
    with district.session_factory() as session:
        moved = session.scalars(select(Resident).where(Resident.name == "何志明")).one()
        moved.managing_org_id = uuid.UUID(str(district.orgs["changhe-1"]))
        session.commit()


def test_an_import_entry_refused_by_the_database_leaves_nothing_and_the_file_still_loads(
    district: District, clock: FixedClock, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    taken_key = _urn()
    _imported_then_moved(district, clock, tmp_path, taken_key)
    stale = _stale_national_id(district, "xixing-1", "1961-04-05", 22)
    urn_b = _urn()
    source = _transaction_file(
        tmp_path / "in" / "station.json",
        [
            _post(_patient("高建平", _national_id("1956-03-04", 51)), urn_b),
            _post(_hypertension(urn_b), taken_key),  # its key is the moved resident's
            _post(_hba1c(urn_b), _urn()),
            _post(_patient("林美华", stale), _urn()),  # the stale national ID
            _post(_patient("罗淑芬", _national_id("1968-05-06", 62)), _urn()),
        ],
    )
    actor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    before = _counts(district.session_factory)

    report = importer.import_path(
        lambda: UnitOfWork(district.session_factory), actor, clock, source
    )

    assert dict(report.created) == {"Patient": 2, "Observation": 1}
    assert [(r.source, r.resource_type) for r in report.rejected] == [
        (f"{source}#entry[3]", "Patient"),
        (f"{source}#entry[1]", "Condition"),
    ]
    for rejected in report.rejected:
        assert "the database refused the write" in rejected.reason
        _assert_no_sql(rejected.reason)
    assert _grown(before, _counts(district.session_factory)) == {
        "residents": 2,
        "resident_identifiers": 2,
        "observations": 1,
        "audit_events": 2,  # one per new resident, listing what was created for them
    }
    with district.session_factory() as session:
        gao = session.scalars(select(Resident).where(Resident.name == "高建平")).one()
        assert (
            session.scalar(
                select(func.count()).select_from(Condition).where(Condition.resident_id == gao.id)
            )
            == 0
        )
        assert session.scalar(select(Resident.id).where(Resident.name == "林美华")) is None
    events = _new_audit_events(district.session_factory, before["audit_events"])
    listed = [e.detail.get("ids", {}) for e in events]
    assert {e.resident_id for e in events} <= {
        uuid.UUID(i) for i in _resident_ids(district.session_factory)
    }
    assert not [ids for ids in listed if "condition" in ids], listed
    assert sum(len(ids.get("observation", [])) for ids in listed) == 1


def test_a_failed_import_entry_keeps_no_reference_mapping_count_or_pending_audit(
    district: District, clock: FixedClock, tmp_path: Path
) -> None:
    taken_key = _urn()
    _imported_then_moved(district, clock, tmp_path, taken_key)
    actor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    urn_b = _urn()
    entries = [
        _post(_patient("高建平", _national_id("1956-03-04", 52)), urn_b),
        _post(_hypertension(urn_b), taken_key),
        _post(_hba1c(urn_b), _urn()),
    ]
    ids: dict[str, str] = {}
    with UnitOfWork(district.session_factory) as uow:
        store = Store(uow.session, actor, clock, bulk=True)
        result = bundle_ops.process(store, {"entry": entries}, bundle_ops.Mode.IMPORT, ids=ids)
        store.flush_audit()
        uow.commit()

    assert [r.index for r in result.rejected] == [1]
    assert dict(result.created) == {"Patient": 1, "Observation": 1}
    assert taken_key not in ids and urn_b in ids
    assert result.responses[1]["response"]["status"] == "409"
    events = _new_audit_events(district.session_factory, 0)
    mine = [e for e in events if e.resident_id == uuid.UUID(ids[urn_b].split("/")[1])]
    assert len(mine) == 1 and set(mine[0].detail["ids"]) == {"resident", "observation"}


def _no_time(subject: str) -> dict[str, Any]:
    observation = _hba1c(subject, 6.2)
    del observation["effectiveDateTime"]
    return observation


def test_entries_failing_before_they_write_cost_no_second_run(
    engine: Engine, district: District, clock: FixedClock, tmp_path: Path
) -> None:
    """The import's entries share one savepoint while bad ones fail before writing anything.

    The Observations have fullUrls, so each one's look-up by source key flushes the rows the
    previous ones left pending: that flush is not the failing entry's write.
    """
    urn = _urn()
    unknown = _hba1c(urn)
    unknown["code"] = {"coding": [{"system": "http://loinc.org", "code": "6298-4"}]}
    source = _transaction_file(
        tmp_path / "one.json",
        [
            _post(_patient("钱永康", _national_id("1957-06-07", 71)), urn),
            _post(_hba1c(urn, 6.8), _urn()),
            _post(_hba1c(urn, 7.0), _urn()),
            _post(unknown, _urn()),
            _post(_no_time(urn), _urn()),
            _post(_hba1c(urn, 7.2), _urn()),
        ],
    )
    actor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    savepoints: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("SAVEPOINT"):
            savepoints.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        report = importer.import_path(
            lambda: UnitOfWork(district.session_factory), actor, clock, source
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert dict(report.created) == {"Patient": 1, "Observation": 3}
    assert dict(report.skipped) == {"Observation (code not in catalogue)": 1}
    assert [r.source for r in report.rejected] == [f"{source}#entry[4]"]
    assert len(savepoints) == 1, savepoints


def test_an_import_entry_failing_after_it_queued_a_row_leaves_nothing(
    district: District,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bulk load defers the Observation's INSERT: the entry fails with its row still pending
    and its audit id queued, and neither may reach the database."""
    from manbing.fhir.codec import observation as observation_codec

    render = observation_codec.to_fhir

    def failing(row: Observation) -> dict[str, Any]:
        if row.value == pytest.approx(6.6):
            raise ValueError("cannot render the observation")
        return render(row)

    monkeypatch.setattr(observation_codec, "to_fhir", failing)
    urn = _urn()
    source = _transaction_file(
        tmp_path / "one.json",
        [
            _post(_patient("冯海燕", _national_id("1966-08-09", 82)), urn),
            _post(_hba1c(urn, 6.4)),
            _post(_hba1c(urn, 6.6)),
            _post(_hba1c(urn, 6.9)),
        ],
    )
    actor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    before = _counts(district.session_factory)

    report = importer.import_path(
        lambda: UnitOfWork(district.session_factory), actor, clock, source
    )

    assert dict(report.created) == {"Patient": 1, "Observation": 2}
    assert [r.source for r in report.rejected] == [f"{source}#entry[2]"]
    # a fault of the server, not of the entry: told as such, its cause in the log
    assert report.rejected[0].reason == "internal error"
    assert any(
        "cannot render the observation" in str(r.exc_info[1]) for r in caplog.records if r.exc_info
    )
    assert _grown(before, _counts(district.session_factory)) == {
        "residents": 1,
        "resident_identifiers": 1,
        "observations": 2,
        "audit_events": 1,
    }
    with district.session_factory() as session:
        stored = {str(i) for i in session.scalars(select(Observation.id))}
    (event_,) = _new_audit_events(district.session_factory, before["audit_events"])
    assert len(event_.detail["ids"]["observation"]) == 2
    assert set(event_.detail["ids"]["observation"]) <= stored
