"""Type and system ``_history``: every change in the caller's scope, newest first.

The stored versions (FHIR writes) and the current state of every resource changed in the window
by any path (the clinic's services, the device gateway …), as the instance history lists them.
Personas: the station's doctor, the centre above it, a doctor of another centre (who sees none
of the station's changes), a CDC analyst (masked: no Patient versions), a client whose token
reads Observations only.

The synthetic district's rows are set back a month (``_age``), so ``_since`` a day ago lists
only what a test changed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select, update

from manbing.db.models import FhirResourceVersion, Observation, Resident, Team
from manbing.domain.organisations import Role
from manbing.fhir.auth import Scopes
from manbing.fhir.router import FhirContext, FhirRequest, FhirResponse, handle
from manbing.fhir.store import WRITABLE_TYPES, Store
from manbing.services import devices, followups
from manbing.services.clock import FixedClock
from manbing.services.device_payload import submission_from_item
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import NOW, TODAY, District
from tests.device_helpers import bind, bp_payload, new_serial
from tests.integration.fhir_helpers import BASE, Fhir, as_role, issue
from tests.integration.helpers_clinic import enrolled_patient

SINCE = [("_since", (NOW - timedelta(days=1)).isoformat())]


def _age(district: District, at: datetime = NOW - timedelta(days=30)) -> None:
    """Set every row's last-updated time (what ``meta.lastUpdated`` reports) to ``at``."""
    columns = {Store.last_updated_column(t) for t in WRITABLE_TYPES}
    with district.session_factory() as session:
        for column in columns:
            session.execute(update(column.table).values({column.key: at}))
        session.execute(update(FhirResourceVersion).values(recorded_at=at))
        session.commit()


def _patient(name: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"text": name}],
        "gender": "female",
        "birthDate": "1955-06-07",
    }


def _hba1c(patient: str, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-10-01T09:00:00+08:00",
        "valueQuantity": {"value": value, "unit": "%", "code": "%"},
    }


def _write_some(fhir: Fhir, name: str) -> tuple[str, str]:
    """A Patient (created, renamed) and an Observation (created, corrected): four versions."""
    created = fhir("POST", "Patient", _patient(name))
    assert created.status == 201 and created.resource is not None
    pid = created.resource["id"]
    renamed = fhir("PUT", f"Patient/{pid}", {**_patient(name + "兰"), "id": pid})
    assert renamed.status == 200, renamed.resource
    observed = fhir("POST", "Observation", _hba1c(pid, 7.1))
    assert observed.status == 201 and observed.resource is not None
    oid = observed.resource["id"]
    fixed = fhir("PUT", f"Observation/{oid}", {**_hba1c(pid, 7.4), "id": oid})
    assert fixed.status == 200, fixed.resource
    return pid, oid


def _listed(response: FhirResponse) -> list[tuple[str, str]]:
    assert response.status == 200, response.resource
    assert response.resource is not None and response.resource["type"] == "history"
    return [
        (e["request"]["url"], e["resource"]["meta"]["versionId"])
        for e in response.resource["entry"]
    ]


def _doctor(district: District, org: str) -> Fhir:
    """The org's doctor; made once per test and org (each persona adds a Practitioner)."""
    made: dict[str, Fhir] = district.__dict__.setdefault("_history_doctors", {})
    if org not in made:
        made[org] = as_role(district, Role.FAMILY_DOCTOR, org)
    return made[org]


@pytest.fixture
def written(district: District) -> dict[str, tuple[str, str]]:
    doctors = {org: _doctor(district, org) for org in ("xixing-1", "changhe-1")}
    _age(district)
    return {
        "xixing-1": _write_some(doctors["xixing-1"], "吴秀英"),
        "changhe-1": _write_some(doctors["changhe-1"], "何丽萍"),
    }


def test_type_and_system_history_list_the_versions_in_scope_newest_first(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    pid, oid = written["xixing-1"]
    doctor = _doctor(district, "xixing-1")

    assert _listed(doctor("GET", "Patient/_history", query=SINCE)) == [
        (f"Patient/{pid}", "2"),
        (f"Patient/{pid}", "1"),
    ]
    assert _listed(doctor("GET", "Observation/_history", query=SINCE)) == [
        (f"Observation/{oid}", "2"),
        (f"Observation/{oid}", "1"),
    ]
    everything = doctor("GET", "_history", query=SINCE)
    assert sorted(_listed(everything)) == sorted(
        [(f"Patient/{pid}", v) for v in "12"] + [(f"Observation/{oid}", v) for v in "12"]
    )
    assert everything.resource is not None and everything.resource["total"] == 4
    first = everything.resource["entry"][-1]
    assert first["request"]["method"] == "POST" and first["response"]["status"] == "201 Created"
    assert first["fullUrl"].startswith(f"{BASE}/")

    # the centre above the station sees the station's versions too
    centre = as_role(district, Role.CENTRE_MANAGER, "xixing")
    wide = [*SINCE, ("_count", "1000")]
    assert set(_listed(doctor("GET", "_history", query=wide))) <= set(
        _listed(centre("GET", "_history", query=wide))
    )


def test_a_doctor_of_another_centre_sees_none_of_the_other_centres_versions(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    theirs = set(written["xixing-1"])
    other = _doctor(district, "changhe-1")
    for path in ("_history", "Patient/_history", "Observation/_history"):
        listed = _listed(other("GET", path))
        assert listed, path  # their own versions are there
        assert not [url for url, _ in listed if url.split("/")[1] in theirs], path


def test_since_keeps_the_versions_recorded_at_or_after_the_instant(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    pid, _oid = written["xixing-1"]
    with district.session_factory() as session:  # the first versions were written two days ago
        session.execute(
            update(FhirResourceVersion)
            .where(FhirResourceVersion.version_id == 1)
            .values(recorded_at=NOW - timedelta(days=2))
        )
        session.commit()
    doctor = _doctor(district, "xixing-1")
    since = (NOW - timedelta(days=1)).isoformat()

    assert _listed(doctor("GET", "Patient/_history", query=[("_since", since)])) == [
        (f"Patient/{pid}", "2")
    ]
    recent = _listed(doctor("GET", "_history", query=[("_since", since)]))
    assert {v for _, v in recent} == {"2"} and len(recent) == 2


def test_count_pages_with_next_and_previous_links(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    doctor = _doctor(district, "xixing-1")
    seen: list[tuple[str, str]] = []
    query: list[tuple[str, str]] = [*SINCE, ("_count", "3")]
    pages = 0
    while True:
        page = doctor("GET", "_history", query=query)
        seen += _listed(page)
        pages += 1
        assert page.resource is not None
        links = {link["relation"]: link["url"] for link in page.resource["link"]}
        assert links["self"].startswith(f"{BASE}/_history?")
        if pages > 1:
            assert "previous" in links
        if "next" not in links:
            break
        query = parse_qsl(urlsplit(links["next"]).query)
    assert pages == 2 and len(seen) == 4 and len(set(seen)) == 4
    assert seen == _listed(doctor("GET", "_history", query=SINCE))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ([("_since", "yesterday")], "_since"),
        ([("_since", "2026-11-24")], "_since"),  # a date is not an instant
        ([("_since", "2026-13-40T00:00:00Z")], "_since"),
        ([("_count", "-1")], "_count"),
        ([("_count", "ten")], "_count"),
        ([("_count", "1" * 40)], "_count"),
        ([("_offset", "²")], "_offset"),
        ([("_at", "2026-11-24T00:00:00Z")], "_at"),
        ([("patient", "x")], "patient"),
    ],
)
def test_bad_history_parameters_are_400(
    district: District, query: list[tuple[str, str]], expected: str
) -> None:
    doctor = _doctor(district, "xixing-1")
    for path in ("_history", "Observation/_history"):
        answer = doctor("GET", path, query=query)
        assert answer.status == 400, (path, query, answer.resource)
        assert expected in issue(answer)


def test_history_of_an_unknown_type_or_by_post_is_refused(district: District) -> None:
    doctor = _doctor(district, "xixing-1")
    assert doctor("GET", "Medication/_history").status == 404
    assert doctor("POST", "_history", {"resourceType": "Bundle"}).status == 405
    assert doctor("DELETE", "Patient/_history").status == 405


def test_masked_roles_get_no_patient_versions(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    analyst = as_role(district, Role.CDC_ANALYST, "cdc")
    refused = analyst("GET", "Patient/_history")
    assert refused.status == 403 and "unmasked" in issue(refused)
    listed = _listed(analyst("GET", "_history"))
    assert listed and not [url for url, _ in listed if url.startswith("Patient/")]


def test_a_client_token_sees_the_types_its_scopes_read(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    doctor = _doctor(district, "xixing-1")
    context = FhirContext(
        uow=lambda: UnitOfWork(district.session_factory),
        clock=FixedClock(NOW),
        actor=doctor.actor,
        base_url=BASE,
        scopes=Scopes.parse("system/Observation.read"),
    )

    def get(path: str) -> FhirResponse:
        return handle(FhirRequest("GET", path, [], {}, None), context)

    assert {url.split("/")[0] for url, _ in _listed(get("_history"))} == {"Observation"}
    assert get("Patient/_history").status == 403


def test_the_capability_statement_lists_type_and_system_history(district: District) -> None:
    doctor = _doctor(district, "xixing-1")
    statement = doctor("GET", "metadata").resource
    assert statement is not None
    rest = statement["rest"][0]
    assert {"code": "history-system"} in rest["interaction"]
    for resource in rest["resource"]:
        assert {"code": "history-type"} in resource["interaction"], resource["type"]


def _ids(response: FhirResponse, rtype: str) -> list[str]:
    return [url.split("/")[1] for url, _ in _listed(response) if url.startswith(f"{rtype}/")]


def test_changes_made_in_the_clinic_and_by_devices_are_in_the_type_history(
    district: District, clock: FixedClock
) -> None:
    """The bug: a follow-up, a device reading, a registration were missing (not FHIR writes)."""
    doctor, other = _doctor(district, "xixing-1"), _doctor(district, "changhe-1")
    analyst = as_role(district, Role.CDC_ANALYST, "cdc")
    _age(district)
    uow = UnitOfWork(district.session_factory)
    station = district.orgs["xixing-1"]
    clinician = doctor.actor
    rid = enrolled_patient(uow, clinician, station, clock, name="历史同步")
    visit = followups.record(
        uow,
        clinician,
        followups.FollowUpInput(resident_id=rid, visit_date=TODAY, sbp=150, dbp=92),
        clock,
    )
    serial = new_serial()
    bound = bind(district.session_factory, station, rid, serial, clock)
    item = bp_payload(serial, "1", 141, 88, NOW - timedelta(hours=1))
    assert devices.ingest(uow, [submission_from_item(item, serial, bound.secret)], clock).accepted
    with district.session_factory() as session:
        readings = {
            str(i)
            for i in session.scalars(select(Observation.id).where(Observation.resident_id == rid))
        }
    assert len(readings) == 2  # the visit's blood pressure and the device's

    observed = doctor("GET", "Observation/_history", query=SINCE)
    assert set(_ids(observed, "Observation")) == readings
    assert all(v == "1" for _, v in _listed(observed))
    assert observed.resource is not None and observed.resource["total"] == len(readings)
    # the same changes as a search on _lastUpdated
    searched = doctor("GET", "Observation", query=[("_lastUpdated", f"ge{SINCE[0][1]}")])
    assert searched.resource is not None
    assert {e["resource"]["id"] for e in searched.resource["entry"]} == readings
    # each entry is the resource as read
    entry = observed.resource["entry"][0]
    assert entry["resource"] == doctor("GET", entry["request"]["url"]).resource

    assert _ids(doctor("GET", "Patient/_history", query=SINCE), "Patient") == [str(rid)]
    assert str(visit.id) in _ids(doctor("GET", "Encounter/_history", query=SINCE), "Encounter")
    everything = _listed(doctor("GET", "_history", query=[*SINCE, ("_count", "1000")]))
    assert {f"Observation/{o}" for o in readings} | {f"Patient/{rid}"} <= {u for u, _ in everything}

    # a doctor of another centre sees none of it; a masked role no Patient
    for path in ("_history", "Observation/_history", "Patient/_history", "Encounter/_history"):
        assert _listed(other("GET", path, query=SINCE)) == [], path
    masked = _listed(analyst("GET", "_history", query=[*SINCE, ("_count", "1000")]))
    assert f"Observation/{next(iter(readings))}" in {u for u, _ in masked}
    assert not [u for u, _ in masked if u.startswith("Patient/")]


def test_since_leaves_out_older_changes(district: District, clock: FixedClock) -> None:
    doctor = _doctor(district, "xixing-1")
    _age(district)
    assert _listed(doctor("GET", "_history", query=SINCE)) == []
    station = district.orgs["xixing-1"]
    rid = enrolled_patient(UnitOfWork(district.session_factory), doctor.actor, station, clock)
    assert _ids(doctor("GET", "Patient/_history", query=SINCE), "Patient") == [str(rid)]
    _age(district, NOW - timedelta(days=2))  # now it changed two days ago
    assert _listed(doctor("GET", "_history", query=SINCE)) == []
    since_three_days = [("_since", (NOW - timedelta(days=3)).isoformat())]
    assert str(rid) in _ids(doctor("GET", "Patient/_history", query=since_three_days), "Patient")


def test_a_change_outside_fhir_after_fhir_writes_is_listed_once_with_the_stored_versions(
    district: District,
) -> None:
    doctor = _doctor(district, "xixing-1")
    _age(district)
    with district.session_factory() as session:
        team = session.scalars(
            select(Team).where(Team.organization_id == district.orgs["xixing-1"])
        ).one()
        tid = str(team.id)
    current = doctor("GET", f"CareTeam/{tid}").resource
    assert current is not None
    renamed = doctor("PUT", f"CareTeam/{tid}", {**current, "name": "团队二"})
    assert renamed.status == 200
    # the FHIR write: versions 1 (kept) and 2, each once — not again as the current state
    assert _listed(doctor("GET", "CareTeam/_history")).count((f"CareTeam/{tid}", "2")) == 1
    with district.session_factory() as session:  # the web app renames the team
        row = session.get(Team, uuid.UUID(tid))
        assert row is not None
        row.name = "团队三"
        session.commit()
    listed = [e for e in _listed(doctor("GET", "CareTeam/_history")) if e[0] == f"CareTeam/{tid}"]
    assert listed == [(f"CareTeam/{tid}", v) for v in "321"]
    instance = doctor("GET", f"CareTeam/{tid}/_history").resource
    typed = doctor("GET", "CareTeam/_history").resource
    assert instance is not None and typed is not None
    assert [e["resource"] for e in typed["entry"] if e["request"]["url"] == f"CareTeam/{tid}"] == [
        e["resource"] for e in instance["entry"]
    ]


def test_paging_across_equal_timestamps_gives_every_entry_once(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    doctor = _doctor(district, "xixing-1")
    with district.session_factory() as session:
        tid = str(
            session.scalars(
                select(Team.id).where(Team.organization_id == district.orgs["xixing-1"])
            ).one()
        )
    current = doctor("GET", f"CareTeam/{tid}").resource
    assert current is not None
    assert doctor("PUT", f"CareTeam/{tid}", {**current, "name": "团队二"}).status == 200
    tie = NOW - timedelta(hours=1)
    _age(district, tie)  # every row and version at the same instant
    pid, _oid = written["xixing-1"]
    with district.session_factory() as session:  # changed outside FHIR after its FHIR writes
        session.execute(
            update(Resident)
            .where(Resident.id == uuid.UUID(pid))
            .values(phone="13900000000", version=Resident.version + 1, updated_at=tie)
        )
        session.execute(
            update(Team).where(Team.id == uuid.UUID(tid)).values(name="团队五", updated_at=tie)
        )
        session.commit()
    whole = doctor("GET", "_history", query=[*SINCE, ("_count", "1000")])
    everything = _listed(whole)
    assert whole.resource is not None and whole.resource["total"] == len(everything) > 20
    assert len(set(everything)) == len(everything)
    seen: list[tuple[str, str]] = []
    query: list[tuple[str, str]] = [*SINCE, ("_count", "7")]
    while True:
        page = doctor("GET", "_history", query=query)
        seen += _listed(page)
        assert page.resource is not None
        links = {link["relation"]: link["url"] for link in page.resource["link"]}
        if "next" not in links:
            break
        query = parse_qsl(urlsplit(links["next"]).query)
    assert seen == everything
    assert (f"Patient/{pid}", "3") in everything  # the change outside FHIR, with v2 and v1
    assert [v for u, v in everything if u == f"Patient/{pid}"] == ["3", "2", "1"]
    assert [v for u, v in everything if u == f"CareTeam/{tid}"] == ["3", "2", "1"]


def test_audit_event_history_answers_like_its_search(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    """AuditEvent is read-only (never written through FHIR): its type history was a 500."""
    doctor = _doctor(district, "xixing-1")
    search = doctor("GET", "AuditEvent")
    history = doctor("GET", "AuditEvent/_history")
    assert history.status == search.status, history.resource
    if history.status == 200:
        listed = _listed(history)
        assert listed and {url.split("/")[0] for url, _ in listed} == {"AuditEvent"}
