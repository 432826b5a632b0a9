"""Reads of the resources over the platform's workflow tables.

Device, MedicationStatement, CarePlan (enrolments), AuditEvent, CareTeam (teams), Encounter (follow-ups),
Appointment (a follow-up's next visit date), ServiceRequest and Task (referrals), MedicationRequest
(medicines prescribed at a follow-up). The writes of these types are in ``workflow.py``.
"""

from __future__ import annotations

from typing import Any

from manbing.db.models import (
    AuditEvent,
    Device,
    Enrolment,
    FollowUp,
    FollowUpMedication,
    MedicationStatement,
    Referral,
    Team,
)
from manbing.domain.programmes import EnrolmentStatus
from manbing.fhir.codec.common import instant

PROGRAMME_SYSTEM = "urn:manbing:programme"
DEVICE_KIND_SYSTEM = "urn:manbing:device-kind"
ATC = "http://www.whocc.no/atc"
INSULIN_SYSTEM = "urn:manbing:medication-kind"
ENROLMENT_STATUS_URL = "urn:manbing:enrolment-status"  # the exact enrolment status
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
    if row.bound_at:
        body["meta"]["lastUpdated"] = instant(row.bound_at)
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
        "extension": [{"url": ENROLMENT_STATUS_URL, "valueCode": row.status.value}],
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


_ENCOUNTER_CLASS = {"1": "AMB", "2": "HH", "3": "VR"}
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_SR_STATUS = {
    "requested": "active",
    "accepted": "active",
    "returned": "completed",
    "rejected": "revoked",
    "cancelled": "revoked",
    "closed": "completed",
}
_TASK_STATUS = {
    "requested": "requested",
    "accepted": "accepted",
    "returned": "completed",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "closed": "completed",
}


def encounter(row: FollowUp) -> dict[str, Any]:
    """A follow-up visit (随访) as an Encounter."""
    mode = row.mode.value if row.mode else "1"
    body: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": instant(row.updated_at)},
        "status": "finished" if row.outcome.value == "done" else "cancelled",
        "class": {"system": _ACT_CODE, "code": _ENCOUNTER_CLASS.get(mode, "AMB")},
        "type": [{"coding": [{"system": "urn:manbing:follow-up-form", "code": row.form.value}]}],
        "subject": {"reference": f"Patient/{row.resident_id}"},
        "period": {"start": row.visit_date.isoformat()},
        "serviceProvider": {"reference": f"Organization/{row.organization_id}"},
    }
    if row.practitioner_id:
        body["participant"] = [{"individual": {"reference": f"Practitioner/{row.practitioner_id}"}}]
    if row.outcome_reason:
        body["reasonCode"] = [{"text": row.outcome_reason}]
    return body


def appointment(row: FollowUp) -> dict[str, Any]:
    """The next follow-up the visit scheduled (proposed for that date)."""
    assert row.next_visit_date is not None
    return {
        "resourceType": "Appointment",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": instant(row.updated_at)},
        "status": "proposed",
        "serviceType": [{"text": "慢病随访"}],
        "requestedPeriod": [{"start": row.next_visit_date.isoformat()}],
        "participant": [
            {"actor": {"reference": f"Patient/{row.resident_id}"}, "status": "needs-action"},
            {
                "actor": {"reference": f"Practitioner/{row.practitioner_id}"},
                "status": "accepted",
            }
            if row.practitioner_id
            else {"type": [{"text": "随访机构"}], "status": "accepted"},
        ],
        "basedOn": [{"reference": f"Encounter/{row.id}"}],
    }


def service_request(row: Referral) -> dict[str, Any]:
    """A two-way referral (双向转诊) as a ServiceRequest."""
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": instant(row.updated_at)},
        "status": _SR_STATUS[row.status.value],
        "intent": "order",
        "category": [
            {"coding": [{"system": "urn:manbing:referral-direction", "code": row.direction.value}]}
        ],
        "priority": "urgent" if row.urgency.value == "urgent" else "routine",
        "subject": {"reference": f"Patient/{row.resident_id}"},
        "authoredOn": instant(row.created_at),
        "performer": [{"reference": f"Organization/{row.to_org_id}"}],
        "reasonCode": [{"text": r} for r in row.reasons]
        + ([{"text": row.reason_text}] if row.reason_text else []),
    }
    if row.requested_by_id:
        body["requester"] = {"reference": f"Practitioner/{row.requested_by_id}"}
    if row.plan:
        body["note"] = [{"text": row.plan}]
    return body


def task(row: Referral) -> dict[str, Any]:
    """The referral's workflow state as a Task on its ServiceRequest."""
    return {
        "resourceType": "Task",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": instant(row.updated_at)},
        "status": _TASK_STATUS[row.status.value],
        "businessStatus": {
            "coding": [{"system": "urn:manbing:referral-status", "code": row.status.value}],
            "text": row.status.label_zh,
        },
        "intent": "order",
        "focus": {"reference": f"ServiceRequest/{row.id}"},
        "for": {"reference": f"Patient/{row.resident_id}"},
        "authoredOn": instant(row.created_at),
        "lastModified": instant(row.updated_at),
        "requester": {"reference": f"Organization/{row.from_org_id}"},
        "owner": {"reference": f"Organization/{row.to_org_id}"},
    }


def care_team(row: Team) -> dict[str, Any]:
    """A family-doctor team (家庭医生团队)."""
    return {
        "resourceType": "CareTeam",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": instant(row.updated_at)},
        "status": "active" if row.active else "inactive",
        "category": [{"text": "家庭医生团队"}],
        "name": row.name,
        "managingOrganization": [{"reference": f"Organization/{row.organization_id}"}],
        "participant": [
            {
                "role": [{"text": member.role_in_team}],
                "member": {"reference": f"Practitioner/{member.practitioner_id}"},
            }
            for member in sorted(row.members, key=lambda m: str(m.practitioner_id))
        ],
    }


def medication_request(row: FollowUpMedication, *, current: bool) -> dict[str, Any]:
    """A medicine prescribed at a follow-up visit (用药指导); ``current``: no later visit yet."""
    visit = row.follow_up
    dosage: dict[str, Any] = {}
    if row.usage:
        dosage["text"] = row.usage
    if row.times_per_day:
        dosage["timing"] = {
            "repeat": {"frequency": row.times_per_day, "period": 1, "periodUnit": "d"}
        }
    if row.dose is not None:
        dosage["doseAndRate"] = [{"doseQuantity": {"value": row.dose, "unit": row.dose_unit or ""}}]
    if row.is_insulin:
        dosage["route"] = {"text": "皮下注射"}
    body: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": instant(visit.updated_at)},
        "status": "active" if current else "completed",
        "intent": "order",
        "medicationCodeableConcept": {"text": row.name},
        "subject": {"reference": f"Patient/{visit.resident_id}"},
        "encounter": {"reference": f"Encounter/{visit.id}"},
        "authoredOn": visit.visit_date.isoformat(),
    }
    if row.is_insulin:
        body["category"] = [{"coding": [{"system": INSULIN_SYSTEM, "code": "insulin"}]}]
        if row.insulin_type:
            body["note"] = [{"text": row.insulin_type}]
    if visit.practitioner_id:
        body["requester"] = {"reference": f"Practitioner/{visit.practitioner_id}"}
    if dosage:
        body["dosageInstruction"] = [dosage]
    return body
