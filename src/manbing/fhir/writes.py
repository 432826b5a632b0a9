"""Create and update of the workflow resources, through the services that own their tables.

Each write runs inside the Store's session (so a transaction Bundle stays all or nothing); the
services check access and write the audit trail. Writes without a sensible meaning on the
platform's records are refused with 405 and the reason (docs/fhir.md lists each choice).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from manbing.db.models import (
    Device,
    Enrolment,
    FollowUp,
    FollowUpMedication,
    MedicationStatement,
    Referral,
    Team,
)
from manbing.domain.errors import InvalidInput
from manbing.domain.organisations import Permission
from manbing.domain.programmes import EnrolmentStatus
from manbing.domain.referrals import ReferralStatus
from manbing.fhir.codec import workflow as codec
from manbing.fhir.codec.common import reference_id
from manbing.fhir.errors import FhirError
from manbing.services import devices as device_service
from manbing.services import enrolments as enrolment_service
from manbing.services import followups as followup_service
from manbing.services import medications as medication_service
from manbing.services import referrals as referral_service
from manbing.services import teams as team_service

if TYPE_CHECKING:
    from manbing.fhir.store import Store

WORKFLOW_TYPES = (
    "MedicationStatement",
    "MedicationRequest",
    "Encounter",
    "Appointment",
    "ServiceRequest",
    "Task",
    "Device",
    "CareTeam",
    "CarePlan",
)
# Interactions refused on purpose, with the reason returned in the OperationOutcome.
REFUSED: dict[tuple[str, str], str] = {
    ("create", "Appointment"): (
        "the next follow-up is scheduled by the follow-up rules when a visit is recorded "
        "(POST Encounter); PUT Appointment/[id] reschedules it"
    ),
    ("create", "Task"): (
        "a referral's Task comes with its ServiceRequest (POST ServiceRequest); "
        "PUT Task/[id] moves the referral on"
    ),
    ("create", "Device"): (
        "home devices join by a binding code so each device gets its own secret; "
        "PUT Device/[id] switches a bound device on or off"
    ),
    ("update", "Encounter"): (
        "a follow-up visit is a signed national form: record a new visit (POST Encounter) "
        "instead of changing one"
    ),
    ("update", "ServiceRequest"): (
        "a sent referral does not change; its workflow moves through PUT Task/[id]"
    ),
}
_TASK_STATUS = {
    ReferralStatus.REQUESTED: "requested",
    ReferralStatus.ACCEPTED: "accepted",
    ReferralStatus.RETURNED: "completed",
    ReferralStatus.REJECTED: "rejected",
    ReferralStatus.CANCELLED: "cancelled",
    ReferralStatus.CLOSED: "completed",
}


def _refuse(action: str, resource_type: str) -> None:
    reason = REFUSED.get((action, resource_type))
    if reason is not None:
        raise FhirError(405, "not-supported", f"{action} of {resource_type} is refused: {reason}")


def create(store: Store, resource_type: str, resource: Any) -> tuple[str, Any]:
    """Create; returns the new id and the row the read codec renders."""
    _refuse("create", resource_type)
    session, actor, clock = store.session, store.actor, store.clock
    if resource_type == "MedicationStatement":
        row: Any = medication_service.save_statement(
            session, actor, codec.medication_statement(resource), clock
        )
    elif resource_type == "MedicationRequest":
        row = _prescribe(store, codec.medication_request(resource), None)
    elif resource_type == "Encounter":
        recorded = followup_service.record_in(session, actor, codec.encounter(resource), clock)
        row = session.get(FollowUp, recorded.id)
    elif resource_type == "ServiceRequest":
        row = referral_service.create_up_in(session, actor, codec.service_request(resource), clock)
    elif resource_type == "CareTeam":
        row = team_service.save_team(session, actor, codec.care_team(resource), clock)
    elif resource_type == "CarePlan":
        row = _enrol(store, codec.care_plan(resource))
    else:
        raise FhirError(405, "not-supported", f"create is not supported for {resource_type}")
    return str(row.id), row


def update(store: Store, resource_type: str, raw_id: str, resource: Any) -> Any:
    """Update in place; returns the row the read codec renders."""
    _refuse("update", resource_type)
    session, actor, clock = store.session, store.actor, store.clock
    if resource_type == "MedicationStatement":
        found = store.one(resource_type, raw_id)
        assert isinstance(found, MedicationStatement)
        return medication_service.save_statement(
            session, actor, codec.medication_statement(resource), clock, statement_id=found.id
        )
    if resource_type == "MedicationRequest":
        current = store.one(resource_type, raw_id)
        assert isinstance(current, FollowUpMedication)
        return _prescribe(store, codec.medication_request(resource), current.id)
    if resource_type == "Appointment":
        visit = store.one(resource_type, raw_id)
        assert isinstance(visit, FollowUp)
        new_date = codec.appointment_date(resource)
        patients = [
            p.get("actor")
            for p in resource.get("participant") or []
            if str((p.get("actor") or {}).get("reference", "")).startswith("Patient/")
        ]
        if not patients or reference_id(patients[0], "Patient", "participant") != str(
            visit.resident_id
        ):
            raise InvalidInput("participant", "预约的居民不能更改", "the patient cannot change")
        return followup_service.reschedule_next_visit(session, actor, visit.id, new_date, clock)
    if resource_type == "Task":
        return _move_referral(store, raw_id, resource)
    if resource_type == "CareTeam":
        team = store.one(resource_type, raw_id)
        assert isinstance(team, Team)
        return team_service.save_team(
            session, actor, codec.care_team(resource), clock, team_id=team.id
        )
    if resource_type == "CarePlan":
        return _change_plan(store, raw_id, codec.care_plan(resource))
    if resource_type == "Device":
        device = store.one(resource_type, raw_id)
        assert isinstance(device, Device)
        draft = codec.device(resource)
        if draft.serial not in (None, device.serial) or draft.resident_id not in (
            None,
            device.resident_id,
        ):
            raise InvalidInput(
                "patient",
                "设备序列号和绑定居民不能通过接口更改，请重新绑定",
                "serialNumber and patient do not change here; rebind with a binding code",
            )
        return device_service.update_registration(
            session,
            actor,
            device.id,
            clock,
            active=draft.active,
            manufacturer=draft.manufacturer,
            model=draft.model,
        )
    raise FhirError(405, "not-supported", f"update is not supported for {resource_type}")


def _prescribe(
    store: Store, draft: codec.PrescriptionDraft, medication_id: uuid.UUID | None
) -> FollowUpMedication:
    visit = store.one("Encounter", str(draft.follow_up_id))
    assert isinstance(visit, FollowUp)
    if visit.resident_id != draft.resident_id:
        raise InvalidInput(
            "subject", "处方的居民与随访不一致", "subject is not the visit's patient"
        )
    return followup_service.save_prescription(
        store.session,
        store.actor,
        visit.id,
        draft.medication,
        store.clock,
        medication_id=medication_id,
    )


def _team_in_scope(store: Store, team_id: uuid.UUID | None) -> None:
    if team_id is None:
        return
    found = store.session.scalar(
        store.base("CareTeam").with_only_columns(Team.id).where(Team.id == team_id)
    )
    if found is None:
        raise InvalidInput("careTeam", "未找到该家庭医生团队", "careTeam: no such team in scope")


def _enrol(store: Store, draft: codec.PlanDraft) -> Enrolment:
    if draft.status is not EnrolmentStatus.ACTIVE:
        raise InvalidInput("status", "新的管理计划须为 active", "a new CarePlan starts active")
    _team_in_scope(store, draft.team_id)
    return enrolment_service.enrol_in(
        store.session,
        store.actor,
        draft.resident_id,
        draft.programme,
        store.clock,
        diagnosis_icd10=draft.diagnosis_icd10,
        team_id=draft.team_id,
    )


def _change_plan(store: Store, raw_id: str, draft: codec.PlanDraft) -> Enrolment:
    enrolment = store.one("CarePlan", raw_id)
    assert isinstance(enrolment, Enrolment)
    if draft.resident_id != enrolment.resident_id or draft.programme is not enrolment.programme:
        raise InvalidInput(
            "subject", "管理计划的居民和项目不能更改", "subject and programme do not change"
        )
    if draft.team_id != enrolment.team_id or draft.diagnosis_icd10 not in (
        None,
        enrolment.diagnosis_icd10,
    ):
        raise InvalidInput(
            "careTeam", "只能通过接口更改管理状态", "only the plan's status changes through FHIR"
        )
    if draft.status is enrolment.status:
        return enrolment
    return enrolment_service.change_status_in(
        store.session, store.actor, enrolment.id, draft.status, store.clock, reason="FHIR"
    )


def _exact(code: str | None) -> ReferralStatus | None:
    """The referral status a businessStatus coding names (ignored when it disagrees with status:
    a client that edits only ``status`` leaves the old businessStatus behind)."""
    if code is None:
        return None
    try:
        return ReferralStatus(code)
    except ValueError as exc:
        raise InvalidInput("businessStatus", "转诊状态不正确", f"unknown status {code!r}") from exc


def _move_referral(store: Store, raw_id: str, resource: Any) -> Referral:
    """Task.status accepted/completed (or the exact businessStatus) moves the referral on."""
    referral = store.one("Task", raw_id)
    assert isinstance(referral, Referral)
    change = codec.task(resource, str(referral.id))
    session, actor, clock = store.session, store.actor, store.clock
    receiving = actor.can(Permission.RECEIVE_REFERRALS)
    exact = _exact(change.business_status)
    if exact is not None and _TASK_STATUS[exact] == change.status:
        target: ReferralStatus | None = exact  # businessStatus tells returned from closed
    elif change.status == "accepted":
        target = ReferralStatus.ACCEPTED
    elif change.status == "completed":  # the hospital returns; the referring side closes
        target = ReferralStatus.RETURNED if receiving else ReferralStatus.CLOSED
    elif change.status == _TASK_STATUS[referral.status]:
        target = referral.status
    else:
        target = None
    if target is referral.status:
        return referral  # the state it is in: PUT is idempotent
    if target is ReferralStatus.ACCEPTED:
        return referral_service.accept_in(session, actor, referral.id, clock, change.note)
    if target is ReferralStatus.RETURNED:
        return referral_service.return_with_plan_in(
            session, actor, referral.id, change.note or "", clock
        )
    if target is ReferralStatus.CLOSED:
        return referral_service.acknowledge_in(session, actor, referral.id, clock)
    raise InvalidInput(
        "status",
        "转诊任务只能接收（accepted）或完成（completed）",
        f"Task.status {change.status!r}: a referral moves to accepted or completed here",
    )
