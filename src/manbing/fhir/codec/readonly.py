"""Read-only resources over existing tables: Device, MedicationStatement, CarePlan, AuditEvent."""

from __future__ import annotations

from typing import Any

from manbing.db.models import AuditEvent, Device, Enrolment, MedicationStatement
from manbing.domain.programmes import EnrolmentStatus
from manbing.fhir.codec.common import instant

PROGRAMME_SYSTEM = "urn:manbing:programme"
DEVICE_KIND_SYSTEM = "urn:manbing:device-kind"
ATC = "http://www.whocc.no/atc"
_CAREPLAN_STATUS = {
    EnrolmentStatus.ACTIVE: "active",
    EnrolmentStatus.TRANSFERRED: "completed",
    EnrolmentStatus.LOST: "revoked",
    EnrolmentStatus.DEAD: "completed",
    EnrolmentStatus.CANCELLED: "revoked",
}
_AUDIT_ACTION = {"create": "C", "read": "R", "search": "E", "update": "U", "delete": "D"}


def device(row: Device) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Device",
        "id": str(row.id),
        "meta": {"versionId": "1"},
        "identifier": [{"system": "urn:manbing:device-serial", "value": row.serial}],
        "status": "active" if row.active else "inactive",
        "serialNumber": row.serial,
        "type": {"coding": [{"system": DEVICE_KIND_SYSTEM, "code": row.kind}]},
    }
    if row.manufacturer:
        body["manufacturer"] = row.manufacturer
    if row.model:
        body["modelNumber"] = row.model
    if row.resident_id:
        body["patient"] = {"reference": f"Patient/{row.resident_id}"}
    return body


def medication_statement(row: MedicationStatement) -> dict[str, Any]:
    coding = [{"system": ATC, "code": row.atc_code}] if row.atc_code else []
    body: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": instant(row.recorded_at)},
        "status": "active" if row.active else "stopped",
        "medicationCodeableConcept": {"coding": coding, "text": row.name}
        if coding
        else {"text": row.name},
        "subject": {"reference": f"Patient/{row.resident_id}"},
        "dateAsserted": instant(row.recorded_at),
    }
    if row.start_date or row.end_date:
        period: dict[str, str] = {}
        if row.start_date:
            period["start"] = row.start_date.isoformat()
        if row.end_date:
            period["end"] = row.end_date.isoformat()
        body["effectivePeriod"] = period
    if row.dose is not None:
        dosage: dict[str, Any] = {
            "doseAndRate": [{"doseQuantity": {"value": row.dose, "unit": row.dose_unit or ""}}]
        }
        if row.times_per_day:
            dosage["timing"] = {
                "repeat": {"frequency": row.times_per_day, "period": 1, "periodUnit": "d"}
            }
        if row.route:
            dosage["route"] = {"text": row.route}
        body["dosage"] = [dosage]
    return body


def care_plan(row: Enrolment) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": instant(row.updated_at)},
        "status": _CAREPLAN_STATUS[row.status],
        "intent": "plan",
        "category": [{"coding": [{"system": PROGRAMME_SYSTEM, "code": row.programme.value}]}],
        "title": row.programme.label_zh,
        "subject": {"reference": f"Patient/{row.resident_id}"},
        "period": {"start": row.enrolled_on.isoformat()},
        "author": {"reference": f"Organization/{row.managing_org_id}"},
    }
    if row.team_id:
        body["careTeam"] = [{"reference": f"CareTeam/{row.team_id}"}]
    if row.diagnosis_icd10:
        body["addresses"] = [
            {"display": f"ICD-10 {row.diagnosis_icd10}"},
        ]
    return body


def audit_event(row: AuditEvent) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": instant(row.occurred_at)},
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
        },
        "subtype": [{"system": "urn:manbing:audit-action", "code": row.action.value}],
        "recorded": instant(row.occurred_at),
        "outcome": "0",
        "agent": [
            {
                "type": {"text": row.actor_role or "system"},
                "who": {
                    "identifier": {"system": "urn:manbing:user", "value": str(row.actor_user_id)}
                }
                if row.actor_user_id
                else {"display": "system"},
                "requestor": True,
            }
        ],
        "source": {"observer": {"display": "manbing"}},
        "entity": [{"what": {"display": f"{row.entity_type}/{row.entity_id or ''}"}}],
    }
    if row.action.value in _AUDIT_ACTION:
        body["action"] = _AUDIT_ACTION[row.action.value]
    if row.organization_id:
        body["agent"][0]["location"] = {"reference": f"Organization/{row.organization_id}"}
    if row.resident_id:
        body["entity"].append({"what": {"reference": f"Patient/{row.resident_id}"}})
    return body
