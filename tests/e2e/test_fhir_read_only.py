"""Read-only resources over the platform's tables: CarePlan, AuditEvent, Device, MedicationStatement."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import (
    Device,
    Enrolment,
    FollowUp,
    MedicationStatement,
    Organization,
    Referral,
)
from manbing.domain.referrals import Direction, ReferralStatus, Urgency
from tests.conftest import NOW
from tests.e2e.conftest import login


def test_care_plans_are_the_programme_enrolments_of_the_patient(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    login(client)
    visible = {
        e["resource"]["id"]
        for e in client.get("/fhir/Patient", params={"_count": "1000"}).json()["entry"]
    }
    with app_db() as session:
        enrolment = next(
            e for e in session.scalars(select(Enrolment)) if str(e.resident_id) in visible
        )
    plans = client.get("/fhir/CarePlan", params={"patient": str(enrolment.resident_id)}).json()
    by_id = {e["resource"]["id"]: e["resource"] for e in plans["entry"]}
    plan = by_id[str(enrolment.id)]
    get_fhir_model_class("CarePlan").model_validate(plan)
    assert plan["category"][0]["coding"][0]["code"] == enrolment.programme.value
    assert plan["period"]["start"] == enrolment.enrolled_on.isoformat()
    assert client.get(f"/fhir/CarePlan/{enrolment.id}").json()["id"] == str(enrolment.id)


def test_reading_a_patient_leaves_an_audit_event_that_can_be_read_back(
    client: TestClient,
) -> None:
    login(client)
    pid = client.get("/fhir/Patient", params={"_count": "1"}).json()["entry"][0]["resource"]["id"]
    assert client.get(f"/fhir/Patient/{pid}").status_code == 200
    events = client.get("/fhir/AuditEvent", params={"patient": pid}).json()
    reads = [e["resource"] for e in events["entry"] if e["resource"].get("action") == "R"]
    assert reads
    get_fhir_model_class("AuditEvent").model_validate(reads[0])
    assert {"reference": f"Patient/{pid}"} in [x["what"] for x in reads[0]["entity"]]
    refused = client.post(
        "/fhir/AuditEvent",
        json={"resourceType": "AuditEvent"},
        headers={"X-CSRF-Token": login(client)},
    )
    assert refused.status_code == 405


def test_devices_and_medication_statements_of_a_patient_are_listed(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    login(client)
    pid = client.get("/fhir/Patient", params={"_count": "1"}).json()["entry"][0]["resource"]["id"]
    with app_db() as session:
        session.add(
            Device(
                id=uuid.uuid4(),
                serial="BP-0001",
                kind="bp_monitor",
                manufacturer="鱼跃",
                resident_id=uuid.UUID(pid),
                bound_at=NOW,
            )
        )
        session.add(
            MedicationStatement(
                id=uuid.uuid4(),
                resident_id=uuid.UUID(pid),
                name="氨氯地平",
                atc_code="C08CA01",
                dose=5,
                dose_unit="mg",
                times_per_day=1,
                start_date=date(2026, 1, 5),
                recorded_at=NOW,
            )
        )
        session.commit()
    devices = client.get("/fhir/Device", params={"patient": pid}).json()
    assert [e["resource"]["serialNumber"] for e in devices["entry"]] == ["BP-0001"]
    meds = client.get("/fhir/MedicationStatement", params={"patient": pid}).json()
    statement = next(
        e["resource"]
        for e in meds["entry"]
        if e["resource"]["medicationCodeableConcept"]["text"] == "氨氯地平"
    )
    get_fhir_model_class("MedicationStatement").model_validate(statement)
    get_fhir_model_class("Device").model_validate(devices["entry"][0]["resource"])
    assert statement["medicationCodeableConcept"]["coding"][0]["code"] == "C08CA01"
    assert statement["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 5


def test_follow_ups_are_encounters_and_their_next_dates_appointments(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    login(client)
    visible = {
        e["resource"]["id"]
        for e in client.get("/fhir/Patient", params={"_count": "1000"}).json()["entry"]
    }
    with app_db() as session:
        visit = next(
            f
            for f in session.scalars(select(FollowUp).where(FollowUp.next_visit_date.is_not(None)))
            if str(f.resident_id) in visible
        )
    encounters = client.get("/fhir/Encounter", params={"patient": str(visit.resident_id)}).json()
    encounter = next(
        e["resource"] for e in encounters["entry"] if e["resource"]["id"] == str(visit.id)
    )
    get_fhir_model_class("Encounter").model_validate(encounter)
    assert encounter["period"]["start"] == visit.visit_date.isoformat()
    appointment = client.get(f"/fhir/Appointment/{visit.id}").json()
    get_fhir_model_class("Appointment").model_validate(appointment)
    assert appointment["requestedPeriod"][0]["start"] == str(visit.next_visit_date)


def test_a_referral_is_a_service_request_with_its_workflow_task(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    login(client)
    pid = client.get("/fhir/Patient", params={"_count": "1"}).json()["entry"][0]["resource"]
    with app_db() as session:
        hospital = session.scalars(
            select(Organization).where(Organization.code == "330108-H01")
        ).one()
        referral = Referral(
            id=uuid.uuid4(),
            resident_id=uuid.UUID(pid["id"]),
            direction=Direction.UP,
            urgency=Urgency.URGENT,
            reasons=["血压控制不满意"],
            from_org_id=uuid.UUID(pid["managingOrganization"]["reference"].split("/")[1]),
            to_org_id=hospital.id,
            status=ReferralStatus.ACCEPTED,
        )
        session.add(referral)
        session.commit()
    request = client.get(f"/fhir/ServiceRequest/{referral.id}").json()
    get_fhir_model_class("ServiceRequest").model_validate(request)
    assert (request["status"], request["priority"]) == ("active", "urgent")
    assert request["reasonCode"] == [{"text": "血压控制不满意"}]
    tasks = client.get("/fhir/Task", params={"patient": pid["id"]}).json()
    [task] = [e["resource"] for e in tasks["entry"]]
    get_fhir_model_class("Task").model_validate(task)
    assert task["status"] == "accepted"
    assert task["focus"] == {"reference": f"ServiceRequest/{referral.id}"}


def test_family_doctor_teams_are_care_teams_with_their_members(client: TestClient) -> None:
    login(client)
    teams = client.get("/fhir/CareTeam").json()
    assert teams["total"] > 0
    team = teams["entry"][0]["resource"]
    get_fhir_model_class("CareTeam").model_validate(team)
    assert team["participant"]
    member = team["participant"][0]["member"]["reference"]
    assert client.get(f"/fhir/{member}").status_code == 200
    by_name = client.get("/fhir/CareTeam", params={"name": team["name"]}).json()
    assert team["id"] in {e["resource"]["id"] for e in by_name["entry"]}
