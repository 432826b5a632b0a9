"""Create and update of the workflow resources, mapped onto the platform's tables by its services."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from manbing.db.models import (
    Device,
    Enrolment,
    FollowUp,
    MedicationStatement,
    Observation,
    Referral,
    Team,
    WorklistTask,
)
from manbing.domain.organisations import Role
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.domain.referrals import Direction, ReferralStatus
from manbing.domain.tasks import TaskKind, TaskStatus
from tests.conftest import NOW, TODAY, District
from tests.integration.fhir_helpers import Fhir, as_role, counts, issue

ATC = "http://www.whocc.no/atc"


@pytest.fixture
def doctor(district: District) -> Fhir:
    return as_role(district, Role.FAMILY_DOCTOR, "xixing-1")


@pytest.fixture
def specialist(district: District) -> Fhir:
    return as_role(district, Role.HOSPITAL_SPECIALIST, "hospital")


def _enrolled(district: District, station: str, programme: Programme) -> uuid.UUID:
    ids = district.resident_ids[station]
    with district.session_factory() as session:
        found = session.scalars(
            select(Enrolment.resident_id).where(
                Enrolment.resident_id.in_(ids),
                Enrolment.programme == programme,
                Enrolment.status == EnrolmentStatus.ACTIVE,
            )
        ).first()
    assert found is not None
    return found


def _not_enrolled(district: District, station: str) -> uuid.UUID:
    ids = district.resident_ids[station]
    with district.session_factory() as session:
        enrolled = set(session.scalars(select(Enrolment.resident_id)))
    return next(i for i in ids if i not in enrolled)  # type: ignore[return-value]


def _statement(patient: object, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": ATC, "code": "C08CA01"}],
            "text": "氨氯地平片",
        },
        "subject": {"reference": f"Patient/{patient}"},
        "effectivePeriod": {"start": "2026-10-01"},
        "dosage": [
            {
                "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg"}}],
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "route": {"text": "口服"},
            }
        ],
    }
    body.update(changes)
    return body


# ------------------------------------------------------------ MedicationStatement
def test_medication_statement_create_update_and_refusals(district: District, doctor: Fhir) -> None:
    patient = district.resident_ids["xixing-1"][0]
    created = doctor("POST", "MedicationStatement", _statement(patient))
    assert created.status == 201, created.resource
    assert created.resource is not None
    sid = created.resource["id"]
    with district.session_factory() as session:
        row = session.get(MedicationStatement, uuid.UUID(sid))
        assert row is not None
        assert (row.name, row.atc_code, row.dose, row.dose_unit) == (
            "氨氯地平片",
            "C08CA01",
            5,
            "mg",
        )
        assert (row.times_per_day, row.route, row.start_date) == (1, "口服", date(2026, 10, 1))
        assert row.source == "fhir" and row.active

    twice_daily = _statement(
        patient,
        id=sid,
        status="stopped",
        effectivePeriod={"start": "2026-10-01", "end": "2026-11-20"},
    )
    twice_daily["dosage"] = [
        {"timing": {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}}}
    ]
    updated = doctor("PUT", f"MedicationStatement/{sid}", twice_daily)
    assert updated.status == 200, updated.resource
    assert updated.resource is not None and updated.resource["status"] == "stopped"
    with district.session_factory() as session:
        row = session.get(MedicationStatement, uuid.UUID(sid))
        assert row is not None
        assert (row.times_per_day, row.dose, row.active) == (2, None, False)
        assert row.end_date == date(2026, 11, 20)

    before = counts(district.session_factory)
    other = district.resident_ids["changhe-1"][0]
    bad = [
        (
            _statement(
                patient, medicationCodeableConcept={"coding": [{"system": ATC, "code": "c8"}]}
            ),
            422,
            "ATC",
        ),
        (_statement(patient, effectivePeriod={"start": "2027-01-01"}), 422, "future"),
        (_statement(other), 404, "not found"),
        (_statement("Patient/nobody"), 422, "subject"),
        (_statement(patient, status="entered-in-error"), 422, "entered-in-error"),
        ({"resourceType": "MedicationStatement", "status": "active"}, 400, "MedicationStatement"),
    ]
    dose = _statement(patient)
    dose["dosage"] = [{"doseAndRate": [{"doseQuantity": {"value": -5, "unit": "mg"}}]}]
    bad.append((dose, 422, "dose"))
    for body, status, text in bad:
        refused = doctor("POST", "MedicationStatement", body)
        assert refused.status == status, (body, refused.resource)
        assert text in issue(refused)
    assert counts(district.session_factory) == before

    with district.session_factory() as session:
        from_visit = MedicationStatement(
            id=uuid.uuid4(), resident_id=patient, name="二甲双胍", source="follow_up"
        )
        session.add(from_visit)
        session.commit()
        visit_sid = str(from_visit.id)
    refused = doctor("PUT", f"MedicationStatement/{visit_sid}", _statement(patient, id=visit_sid))
    assert refused.status == 422 and "follow-up" in issue(refused)


# -------------------------------------------------------------- Encounter, Appointment
def _bp(patient: object, sbp: float, dbp: float) -> dict[str, object]:
    def component(code: str, value: float) -> dict[str, object]:
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value, "unit": "mmHg"},
        }

    return {
        "resourceType": "Observation",
        "id": "bp",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": TODAY.isoformat(),
        "component": [component("8480-6", sbp), component("8462-4", dbp)],
    }


def _encounter(patient: object, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient}"},
        "period": {"start": TODAY.isoformat()},
        "contained": [_bp(patient, 128, 78)],
    }
    body.update(changes)
    return body


def test_an_encounter_records_a_follow_up_whose_appointment_can_be_rescheduled(
    district: District, doctor: Fhir
) -> None:
    patient = _enrolled(district, "xixing-1", Programme.HYPERTENSION)
    created = doctor("POST", "Encounter", _encounter(patient))
    assert created.status == 201, created.resource
    assert created.resource is not None
    visit_id = uuid.UUID(created.resource["id"])
    with district.session_factory() as session:
        visit = session.get(FollowUp, visit_id)
        assert visit is not None and visit.visit_date == TODAY and visit.next_visit_date
        assert visit.organization_id == district.orgs["xixing-1"]
        assert (visit.sbp, visit.dbp) == (128, 78)
        next_date = visit.next_visit_date
        reading = session.scalars(
            select(Observation).where(Observation.follow_up_id == visit_id)
        ).one()
        assert (reading.value, reading.value2) == (128, 78)

    appointment = doctor("GET", f"Appointment/{visit_id}").resource
    assert appointment is not None
    assert appointment["requestedPeriod"][0]["start"] == next_date.isoformat()
    later = next_date + timedelta(days=7)
    appointment["requestedPeriod"] = [{"start": later.isoformat()}]
    moved = doctor("PUT", f"Appointment/{visit_id}", appointment)
    assert moved.status == 200, moved.resource
    with district.session_factory() as session:
        visit = session.get(FollowUp, visit_id)
        assert visit is not None and visit.next_visit_date == later
        task = session.scalars(
            select(WorklistTask).where(
                WorklistTask.source_id == str(visit_id),
                WorklistTask.kind == TaskKind.FOLLOW_UP_DUE,
                WorklistTask.status == TaskStatus.OPEN,
            )
        ).one()
        assert task.due_date == later

    before = counts(district.session_factory)
    appointment["requestedPeriod"] = [{"start": (TODAY - timedelta(days=1)).isoformat()}]
    assert doctor("PUT", f"Appointment/{visit_id}", appointment).status == 422
    appointment["requestedPeriod"] = [{"start": later.isoformat()}]
    appointment["participant"][0]["actor"]["reference"] = (
        f"Patient/{district.resident_ids['xixing-1'][1]}"
    )
    assert doctor("PUT", f"Appointment/{visit_id}", appointment).status == 422
    refusals = [
        ("POST", "Encounter", _encounter(_not_enrolled(district, "xixing-1")), 422, "not enrolled"),
        ("POST", "Encounter", _encounter(patient, period={"start": "2027-01-01"}), 422, "future"),
        ("POST", "Encounter", _encounter(patient, **{"class": {"code": "EMER"}}), 422, "class"),
        ("POST", "Encounter", _encounter(patient, status="planned"), 422, "status"),
        ("POST", "Encounter", _encounter(patient, status="cancelled"), 422, "reasonCode"),
        ("POST", "Encounter", _encounter(patient, contained=[]), 422, "sbp"),
        ("POST", "Encounter", _encounter(patient, contained=[_bp(patient, 320, 96)]), 422, "sbp"),
        (
            "POST",
            "Encounter",
            _encounter(patient, contained=[_bp(patient, 150, 90), _bp(patient, 150, 90)]),
            422,
            "twice",
        ),
        (
            "POST",
            "Encounter",
            _encounter(patient, contained=[_bp(uuid.uuid4(), 150, 90)]),
            422,
            "another subject",
        ),
        ("PUT", f"Encounter/{visit_id}", _encounter(patient, id=str(visit_id)), 405, "signed"),
        ("POST", "Appointment", appointment, 405, "follow-up rules"),
    ]
    for method, path, body, status, text in refusals:
        refused = doctor(method, path, body)
        assert refused.status == status, (path, refused.resource)
        assert text in issue(refused)
    assert counts(district.session_factory) == before


def test_a_lost_visit_is_a_cancelled_encounter_with_its_reason(
    district: District, doctor: Fhir
) -> None:
    patient = _enrolled(district, "xixing-1", Programme.HYPERTENSION)
    lost = _encounter(patient, status="cancelled", reasonCode=[{"text": "外出务工，联系不上"}])
    created = doctor("POST", "Encounter", lost)
    assert created.status == 201, created.resource
    assert created.resource is not None
    assert created.resource["status"] == "cancelled"
    assert created.resource["reasonCode"] == [{"text": "外出务工，联系不上"}]


# ------------------------------------------------------------ ServiceRequest and Task
def _referral(patient: object, hospital: object) -> dict[str, object]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "subject": {"reference": f"Patient/{patient}"},
        "performer": [{"reference": f"Organization/{hospital}"}],
        "performerType": {"text": "心内科"},
        "reasonCode": [{"text": "血压控制不满意"}],
    }


def test_a_referral_is_sent_accepted_returned_and_closed_through_fhir(
    district: District, doctor: Fhir, specialist: Fhir
) -> None:
    patient = district.resident_ids["xixing-1"][0]
    sent = doctor("POST", "ServiceRequest", _referral(patient, district.orgs["hospital"]))
    assert sent.status == 201, sent.resource
    assert sent.resource is not None
    rid = sent.resource["id"]
    with district.session_factory() as session:
        row = session.get(Referral, uuid.UUID(rid))
        assert row is not None
        assert (row.direction, row.status, row.to_department) == (
            Direction.UP,
            ReferralStatus.REQUESTED,
            "心内科",
        )
        assert row.reason_text == "血压控制不满意"

    task = specialist("GET", f"Task/{rid}").resource
    assert task is not None and task["status"] == "requested"
    task["status"] = "accepted"
    assert specialist("PUT", f"Task/{rid}", task).status == 200
    assert specialist("PUT", f"Task/{rid}", task).status == 200  # the same state again: no move
    task["status"] = "completed"
    no_plan = specialist("PUT", f"Task/{rid}", task)
    assert no_plan.status == 422 and "plan" in issue(no_plan)
    task["note"] = [{"text": "调整降压方案，两周后复查"}]
    returned = specialist("PUT", f"Task/{rid}", task)
    assert returned.status == 200, returned.resource
    with district.session_factory() as session:
        row = session.get(Referral, uuid.UUID(rid))
        assert row is not None and row.status is ReferralStatus.RETURNED
        assert row.plan == "调整降压方案，两周后复查"
        down = session.scalars(select(Referral).where(Referral.parent_id == row.id)).one()
        assert down.direction is Direction.DOWN

    mine = doctor("GET", f"Task/{rid}").resource
    assert mine is not None
    assert mine["businessStatus"]["coding"][0]["code"] == "returned"
    mine["businessStatus"] = {
        "coding": [{"system": "urn:manbing:referral-status", "code": "closed"}]
    }
    mine.pop("note", None)
    closed = doctor("PUT", f"Task/{rid}", mine)
    assert closed.status == 200
    with district.session_factory() as session:
        row = session.get(Referral, uuid.UUID(rid))
        assert row is not None and row.status is ReferralStatus.CLOSED


def test_bad_referrals_and_task_moves_are_refused_and_write_nothing(
    district: District, doctor: Fhir, specialist: Fhir
) -> None:
    patient = district.resident_ids["xixing-1"][0]
    sent = doctor("POST", "ServiceRequest", _referral(patient, district.orgs["hospital"]))
    assert sent.resource is not None
    rid = sent.resource["id"]
    task = specialist("GET", f"Task/{rid}").resource
    assert task is not None
    before = counts(district.session_factory)
    to_station = _referral(patient, district.orgs["xixing-2"])
    down = _referral(patient, district.orgs["hospital"])
    down["category"] = [{"coding": [{"system": "urn:manbing:referral-direction", "code": "down"}]}]
    no_reason = _referral(patient, district.orgs["hospital"])
    no_reason.pop("reasonCode")
    foreign = _referral(district.resident_ids["changhe-1"][0], district.orgs["hospital"])
    rejected = {**task, "status": "rejected"}
    other_focus = {
        **task,
        "status": "accepted",
        "focus": {"reference": f"ServiceRequest/{uuid.uuid4()}"},
    }
    cases = [
        (doctor, "POST", "ServiceRequest", to_station, 422, "hospital"),
        (doctor, "POST", "ServiceRequest", down, 422, "down-referrals"),
        (doctor, "POST", "ServiceRequest", no_reason, 422, "reason"),
        (doctor, "POST", "ServiceRequest", foreign, 404, "not found"),
        (
            doctor,
            "PUT",
            f"ServiceRequest/{rid}",
            {**_referral(patient, district.orgs["hospital"]), "id": rid},
            405,
            "Task",
        ),
        (doctor, "POST", "Task", task, 405, "ServiceRequest"),
        (specialist, "PUT", f"Task/{rid}", rejected, 422, "accepted or completed"),
        (specialist, "PUT", f"Task/{rid}", other_focus, 422, "focus"),
        (doctor, "PUT", f"Task/{rid}", {**task, "status": "accepted"}, 403, "lacks"),
    ]
    for who, method, path, body, status, text in cases:
        refused = who(method, path, body)
        assert refused.status == status, (path, refused.resource)
        assert text in issue(refused)
    assert counts(district.session_factory) == before


# ----------------------------------------------------------------------- CareTeam
def _team(org: object, *members: tuple[object, str], **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "resourceType": "CareTeam",
        "status": "active",
        "name": "西兴第1站慢病团队",
        "managingOrganization": [{"reference": f"Organization/{org}"}],
        "participant": [
            {"role": [{"text": role}], "member": {"reference": f"Practitioner/{p}"}}
            for p, role in members
        ],
    }
    body.update(changes)
    return body


def test_care_teams_are_kept_by_their_own_organisation(district: District, doctor: Fhir) -> None:
    station = district.orgs["xixing-1"]
    with district.session_factory() as session:
        from manbing.db.models import Practitioner

        mine = list(
            session.scalars(select(Practitioner.id).where(Practitioner.organization_id == station))
        )
        theirs = session.scalars(
            select(Practitioner.id).where(
                Practitioner.organization_id == district.orgs["changhe-1"]
            )
        ).first()
    created = doctor("POST", "CareTeam", _team(station, (mine[0], "全科医生"), (mine[1], "护士")))
    assert created.status == 201, created.resource
    assert created.resource is not None
    tid = created.resource["id"]
    with district.session_factory() as session:
        team = session.get(Team, uuid.UUID(tid))
        assert team is not None and team.leader_id == mine[0]
        assert {(m.practitioner_id, m.role_in_team) for m in team.members} == {
            (mine[0], "全科医生"),
            (mine[1], "护士"),
        }
    renamed = doctor(
        "PUT",
        f"CareTeam/{tid}",
        _team(station, (mine[1], "护士"), id=tid, name="新团队", status="inactive"),
    )
    assert renamed.status == 200, renamed.resource
    with district.session_factory() as session:
        team = session.get(Team, uuid.UUID(tid))
        assert team is not None and (team.name, team.active, len(team.members)) == (
            "新团队",
            False,
            1,
        )

    before = counts(district.session_factory)
    cases = [
        (
            "POST",
            "CareTeam",
            _team(district.orgs["changhe-1"], (theirs, "全科医生")),
            403,
            "outside your scope",
        ),
        ("POST", "CareTeam", _team(district.orgs["hospital"]), 403, "outside your scope"),
        ("POST", "CareTeam", _team(station, (theirs, "全科医生")), 422, "practitioner of the team"),
        ("POST", "CareTeam", _team(station, (mine[0], "医生"), (mine[0], "护士")), 422, "twice"),
        ("POST", "CareTeam", _team(station, name=" "), 422, "name"),
        (
            "PUT",
            f"CareTeam/{tid}",
            _team(district.orgs["xixing-2"], id=tid),
            403,
            "outside your scope",
        ),
    ]
    for method, path, body, status, text in cases:
        refused = doctor(method, path, body)
        assert refused.status == status, (body, refused.resource)
        assert text in issue(refused)
    assert counts(district.session_factory) == before


# ----------------------------------------------------------------------- CarePlan
def _plan(patient: object, programme: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [{"system": "urn:manbing:programme", "code": programme}]}],
        "subject": {"reference": f"Patient/{patient}"},
    }
    body.update(changes)
    return body


def test_a_care_plan_enrols_and_its_status_follows_the_enrolment_rules(
    district: District, doctor: Fhir
) -> None:
    patient = _not_enrolled(district, "xixing-1")
    created = doctor(
        "POST", "CarePlan", _plan(patient, "t2dm", addresses=[{"display": "ICD-10 E11"}])
    )
    assert created.status == 201, created.resource
    assert created.resource is not None
    pid = created.resource["id"]
    with district.session_factory() as session:
        row = session.get(Enrolment, uuid.UUID(pid))
        assert row is not None
        assert (row.programme, row.status, row.diagnosis_icd10) == (
            Programme.T2DM,
            EnrolmentStatus.ACTIVE,
            "E11",
        )
        assert row.enrolled_on == TODAY

    again = doctor("POST", "CarePlan", _plan(patient, "t2dm"))
    assert again.status == 409
    lost = {
        **created.resource,
        "extension": [{"url": "urn:manbing:enrolment-status", "valueCode": "lost"}],
        "status": "revoked",
    }
    assert doctor("PUT", f"CarePlan/{pid}", lost).status == 200
    with district.session_factory() as session:
        row = session.get(Enrolment, uuid.UUID(pid))
        assert row is not None and row.status is EnrolmentStatus.LOST

    before = counts(district.session_factory)
    cases = [
        ("POST", "CarePlan", _plan(patient, "asthma"), 422, "programme"),
        ("POST", "CarePlan", _plan(patient, "copd", status="completed"), 422, "ambiguous"),
        ("POST", "CarePlan", _plan(patient, "copd", status="revoked"), 422, "starts active"),
        (
            "POST",
            "CarePlan",
            _plan(patient, "copd", careTeam=[{"reference": f"CareTeam/{uuid.uuid4()}"}]),
            422,
            "careTeam",
        ),
        (
            "POST",
            "CarePlan",
            _plan(district.resident_ids["changhe-1"][0], "copd"),
            404,
            "not found",
        ),
        ("PUT", f"CarePlan/{pid}", _plan(patient, "hypertension", id=pid), 422, "programme"),
        (
            "PUT",
            f"CarePlan/{pid}",
            {
                **lost,
                "extension": [{"url": "urn:manbing:enrolment-status", "valueCode": "transferred"}],
            },
            422,
            "cannot change",
        ),
    ]
    for method, path, body, status, text in cases:
        refused = doctor(method, path, body)
        assert refused.status == status, (body, refused.resource)
        assert text in issue(refused)
    assert counts(district.session_factory) == before


# ------------------------------------------------------------------------- Device
def test_a_bound_device_is_switched_off_but_not_created_or_rebound(
    district: District, doctor: Fhir
) -> None:
    patient = district.resident_ids["xixing-1"][0]
    with district.session_factory() as session:
        device = Device(
            id=uuid.uuid4(), serial="BP-7", kind="bp_monitor", resident_id=patient, bound_at=NOW
        )
        session.add(device)
        session.commit()
        did = str(device.id)
    body = doctor("GET", f"Device/{did}").resource
    assert body is not None
    body.update(status="inactive", manufacturer="欧姆龙", modelNumber="U10")
    assert doctor("PUT", f"Device/{did}", body).status == 200
    with district.session_factory() as session:
        row = session.get(Device, uuid.UUID(did))
        assert row is not None and (row.active, row.manufacturer, row.model) == (
            False,
            "欧姆龙",
            "U10",
        )
    before = counts(district.session_factory)
    for method, path, payload, status, text in [
        ("PUT", f"Device/{did}", {**body, "serialNumber": "BP-8"}, 422, "binding code"),
        (
            "PUT",
            f"Device/{did}",
            {**body, "patient": {"reference": f"Patient/{district.resident_ids['xixing-1'][1]}"}},
            422,
            "binding code",
        ),
        ("PUT", f"Device/{did}", {**body, "status": "entered-in-error"}, 422, "status"),
        ("POST", "Device", {**body, "serialNumber": "BP-9"}, 405, "binding code"),
    ]:
        refused = doctor(method, path, payload)
        assert refused.status == status, (payload, refused.resource)
        assert text in issue(refused)
    assert counts(district.session_factory) == before


# ------------------------------------------------------------ transactions, metadata
def test_a_transaction_of_workflow_writes_is_all_or_nothing(
    district: District, doctor: Fhir
) -> None:
    station = district.orgs["xixing-1"]
    patient = district.resident_ids["xixing-1"][0]
    new_patient = {
        "resourceType": "Patient",
        "name": [{"text": "周建华"}],
        "gender": "male",
        "birthDate": "1958-02-03",
    }
    entries = [
        {
            "fullUrl": "urn:uuid:4b4f3c1e-0000-4000-8000-000000000001",
            "resource": new_patient,
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "resource": _statement("urn:uuid:4b4f3c1e-0000-4000-8000-000000000001"),
            "request": {"method": "POST", "url": "MedicationStatement"},
        },
        {
            "resource": _plan("urn:uuid:4b4f3c1e-0000-4000-8000-000000000001", "hypertension"),
            "request": {"method": "POST", "url": "CarePlan"},
        },
        {
            "resource": _referral(patient, district.orgs["hospital"]),
            "request": {"method": "POST", "url": "ServiceRequest"},
        },
    ]
    for entry in entries[1:3]:
        entry["resource"]["subject"] = {
            "reference": "urn:uuid:4b4f3c1e-0000-4000-8000-000000000001"
        }  # type: ignore[index]
    bad = {
        "resource": _team(district.orgs["changhe-1"]),
        "request": {"method": "POST", "url": "CareTeam"},
    }
    before = counts(district.session_factory)
    failed = doctor(
        "POST", "", {"resourceType": "Bundle", "type": "transaction", "entry": [*entries, bad]}
    )
    assert failed.status == 403, failed.resource
    assert "outside your scope" in issue(failed)
    assert counts(district.session_factory) == before

    done = doctor("POST", "", {"resourceType": "Bundle", "type": "transaction", "entry": entries})
    assert done.status == 200, done.resource
    assert done.resource is not None
    statuses = [e["response"]["status"] for e in done.resource["entry"]]
    assert statuses == ["201 Created"] * 4
    new_id = done.resource["entry"][0]["resource"]["id"]
    assert done.resource["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{new_id}"
    after = counts(district.session_factory)
    assert after["medication_statements"] == before["medication_statements"] + 1
    assert after["enrolments"] == before["enrolments"] + 1
    assert after["referrals"] == before["referrals"] + 1
    assert station


def test_the_capability_statement_lists_the_writes_and_the_refusals(doctor: Fhir) -> None:
    statement = doctor("GET", "metadata").resource
    assert statement is not None
    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}

    def codes(rtype: str) -> set[str]:
        found = {i["code"] for i in by_type[rtype]["interaction"]}
        assert {"vread", "history-instance", "history-type"} <= found
        return found - {"vread", "history-instance", "history-type"}

    for rtype in ("MedicationStatement", "MedicationRequest", "CareTeam", "CarePlan"):
        assert codes(rtype) == {"read", "search-type", "create", "update"}
    assert codes("Encounter") == {"read", "search-type", "create"}
    assert codes("ServiceRequest") == {"read", "search-type", "create"}
    assert (
        codes("Appointment")
        == codes("Task")
        == codes("Device")
        == {"read", "search-type", "update"}
    )
    assert codes("AuditEvent") == {"read", "search-type"}
    assert "binding code" in by_type["Device"]["documentation"]
    assert by_type["Appointment"]["conditionalCreate"] is False
    assert by_type["CarePlan"]["versioning"] == "versioned-update"
    assert by_type["AuditEvent"]["versioning"] == "versioned"
    assert by_type["Patient"]["readHistory"] is True


# -------------------------------------------------------------------- MedicationRequest
def _prescription(patient: object, visit: object, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "硝苯地平控释片"},
        "subject": {"reference": f"Patient/{patient}"},
        "encounter": {"reference": f"Encounter/{visit}"},
        "dosageInstruction": [
            {
                "text": "早餐后",
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 30, "unit": "mg"}}],
            }
        ],
    }
    body.update(changes)
    return body


def test_medication_requests_are_the_prescriptions_of_a_visit(
    district: District, doctor: Fhir
) -> None:
    from manbing.db.models import FollowUpMedication

    patient = _enrolled(district, "xixing-1", Programme.HYPERTENSION)
    earlier = (TODAY - timedelta(days=10)).isoformat()
    first = doctor("POST", "Encounter", _encounter(patient, period={"start": earlier}))
    assert first.status == 201 and first.resource is not None
    visit = first.resource["id"]
    created = doctor("POST", "MedicationRequest", _prescription(patient, visit))
    assert created.status == 201, created.resource
    assert created.resource is not None
    mid = created.resource["id"]
    assert created.resource["status"] == "active"
    assert created.resource["authoredOn"] == earlier
    with district.session_factory() as session:
        row = session.get(FollowUpMedication, uuid.UUID(mid))
        assert row is not None
        assert (row.name, row.dose, row.dose_unit, row.times_per_day, row.usage) == (
            "硝苯地平控释片",
            30,
            "mg",
            1,
            "早餐后",
        )
        statement = session.scalars(
            select(MedicationStatement).where(
                MedicationStatement.follow_up_id == uuid.UUID(visit),
                MedicationStatement.name == "硝苯地平控释片",
            )
        ).one()
        assert statement.active and statement.dose == 30

    insulin = _prescription(
        patient,
        visit,
        id=mid,
        category=[{"coding": [{"system": "urn:manbing:medication-kind", "code": "insulin"}]}],
        note=[{"text": "预混胰岛素"}],
    )
    insulin["dosageInstruction"] = [
        {
            "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 12, "unit": "U"}}],
        }
    ]
    assert doctor("PUT", f"MedicationRequest/{mid}", insulin).status == 200
    with district.session_factory() as session:
        row = session.get(FollowUpMedication, uuid.UUID(mid))
        assert row is not None
        assert (row.is_insulin, row.insulin_type, row.dose, row.times_per_day) == (
            True,
            "预混胰岛素",
            12,
            2,
        )
        statement = session.get(MedicationStatement, statement.id)
        assert statement is not None
        assert (statement.dose, statement.times_per_day, statement.route) == (12, 2, "injection")

    found = doctor("GET", "MedicationRequest", query=[("encounter", visit)]).resource
    assert found is not None and [e["resource"]["id"] for e in found["entry"]] == [mid]
    assert doctor("POST", "Encounter", _encounter(patient)).status == 201  # a later visit
    superseded = doctor("GET", f"MedicationRequest/{mid}").resource
    assert superseded is not None and superseded["status"] == "completed"
    mine = doctor("GET", "MedicationRequest", query=[("patient", str(patient))]).resource
    assert mine is not None and mid in {e["resource"]["id"] for e in mine["entry"]}

    before = counts(district.session_factory)
    other_visit = doctor("POST", "Encounter", _encounter(patient, period={"start": earlier}))
    assert other_visit.resource is not None
    other_id = other_visit.resource["id"]
    before = counts(district.session_factory)
    someone_else = district.resident_ids["xixing-1"][1]
    too_often = _prescription(patient, visit)
    too_often["dosageInstruction"] = [{"timing": {"repeat": {"frequency": 30, "period": 1}}}]
    cases = [
        ("POST", "MedicationRequest", _prescription(patient, uuid.uuid4()), 404, "not found"),
        ("POST", "MedicationRequest", _prescription(someone_else, visit), 422, "subject"),
        (
            "POST",
            "MedicationRequest",
            _prescription(patient, visit, status="cancelled"),
            422,
            "status",
        ),
        ("POST", "MedicationRequest", too_often, 422, "times per day"),
        (
            "POST",
            "MedicationRequest",
            _prescription(patient, visit, medicationCodeableConcept={"coding": []}),
            422,
            "medicationCodeableConcept",
        ),
        ("PUT", f"MedicationRequest/{mid}", _prescription(patient, other_id, id=mid), 422, "stays"),
        (
            "PUT",
            f"MedicationRequest/{uuid.uuid4()}",
            _prescription(patient, visit),
            404,
            "not found",
        ),
    ]
    for method, path, body, status, text in cases:
        refused = doctor(method, path, body)
        assert refused.status == status, (body, refused.resource)
        assert text in issue(refused)
    assert counts(district.session_factory) == before
