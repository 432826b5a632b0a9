"""Writes of the workflow resources: FHIR JSON → the inputs of the services that own the tables.

The reads are in ``readonly.py`` (the module keeps its name: it was read-only first). Each parser
checks the R4 structure, then what the platform needs; every refusal names the element.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from manbing.domain.errors import InvalidInput
from manbing.domain.followup_form import VisitMode, VisitOutcome
from manbing.domain.observations import ObservationKind
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.domain.referrals import Direction, Urgency
from manbing.fhir.codec import observation as observation_codec
from manbing.fhir.codec.common import (
    ICD10,
    ICD10_CN,
    SHANGHAI,
    code_in,
    codings,
    first_code,
    number,
    parse_date,
    reference_id,
    validate_structure,
)
from manbing.fhir.codec.readonly import (
    ATC,
    ENROLMENT_STATUS_URL,
    INSULIN_SYSTEM,
    PROGRAMME_SYSTEM,
)
from manbing.services.followups import FollowUpInput, MedicationInput
from manbing.services.medications import StatementInput
from manbing.services.referrals import NewReferral
from manbing.services.teams import TeamInput

_STATEMENT_STATUS = (
    "active",
    "completed",
    "entered-in-error",
    "intended",
    "stopped",
    "on-hold",
    "unknown",
    "not-taken",
)
_PRIORITY = ("routine", "urgent", "asap", "stat")
_CLASS_MODE = {"AMB": VisitMode.CLINIC, "HH": VisitMode.HOME, "VR": VisitMode.PHONE}
_PLAN_STATUS = {"active": EnrolmentStatus.ACTIVE, "revoked": EnrolmentStatus.CANCELLED}


def _uuid(raw: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise InvalidInput(field, "引用的资源不存在", f"{field}: no such resource {raw!r}") from exc


def _text(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return str(concept["text"]).strip()
    for coding in codings(concept):
        for key in ("display", "code"):
            if isinstance(coding.get(key), str) and coding[key].strip():
                return str(coding[key]).strip()
    return None


def _required_date(raw: Any, field: str) -> date:
    found = parse_date(raw if isinstance(raw, str) else None, field)
    if found is None:
        raise InvalidInput(field, "缺少日期", f"{field} is required")
    return found


# ----------------------------------------------------------------- MedicationStatement
def _times_per_day(repeat: Any) -> int | None:
    if not isinstance(repeat, dict) or repeat.get("frequency") is None:
        return None
    frequency = number(repeat["frequency"], "dosage.timing.repeat.frequency")
    period = number(repeat.get("period", 1), "dosage.timing.repeat.period")
    per_day = {"d": 1.0, "h": 24.0}.get(str(repeat.get("periodUnit", "d")))
    if per_day is None or period <= 0:
        raise InvalidInput(
            "dosage.timing.repeat", "给药频次只支持按日或按小时", "timing must be per day or hour"
        )
    times = frequency * per_day / period
    if not math.isfinite(times) or times != int(times):
        raise InvalidInput(
            "dosage.timing.repeat",
            "给药频次须为每日整数次",
            "timing must come to a whole number of times per day",
        )
    return int(times)


def medication_statement(resource: Any) -> StatementInput:
    body = validate_structure(resource, "MedicationStatement")
    status = code_in(body["status"], _STATEMENT_STATUS, "status")
    if status == "entered-in-error":
        raise InvalidInput("status", "不支持删除用药记录", "entered-in-error (deletion) is refused")
    concept = body.get("medicationCodeableConcept")
    name = _text(concept)
    if name is None:
        raise InvalidInput(
            "medicationCodeableConcept",
            "缺少药品名称",
            "a medicationCodeableConcept with text, display or code is required "
            "(medicationReference is not supported)",
        )
    period = body.get("effectivePeriod") or {}
    start = parse_date(period.get("start") or body.get("effectiveDateTime"), "effective")
    end = parse_date(period.get("end"), "effectivePeriod.end")
    dose = unit = route = None
    times = None
    dosages = body.get("dosage") or []
    if dosages:
        first = dosages[0]
        rates = first.get("doseAndRate") or []
        quantity = rates[0].get("doseQuantity") if rates else None
        if isinstance(quantity, dict) and quantity.get("value") is not None:
            dose = number(quantity["value"], "dosage.doseAndRate.doseQuantity.value")
            unit = quantity.get("unit") or quantity.get("code")
        times = _times_per_day((first.get("timing") or {}).get("repeat"))
        route = _text(first.get("route"))
    return StatementInput(
        resident_id=_uuid(reference_id(body.get("subject"), "Patient", "subject"), "subject"),
        name=name,
        atc_code=first_code(concept, ATC),
        dose=dose,
        dose_unit=unit,
        times_per_day=times,
        route=route,
        start_date=start,
        end_date=end,
        active=status in ("active", "intended"),
    )


# ------------------------------------------------------------------------- Encounter
def encounter(resource: Any) -> FollowUpInput:
    """A finished visit (or a lost one, ``cancelled`` with a reason) becomes a follow-up."""
    body = validate_structure(resource, "Encounter")
    status = body["status"]
    klass = body["class"].get("code")
    if klass not in _CLASS_MODE:
        raise InvalidInput(
            "class", "随访方式只支持门诊、家庭或电话", f"class {klass!r} is not AMB, HH or VR"
        )
    reasons = [t for t in (_text(c) for c in body.get("reasonCode") or []) if t]
    if status == "finished":
        outcome = VisitOutcome.DONE
    elif status == "cancelled":
        if not reasons:
            raise InvalidInput(
                "reasonCode", "失访须填写原因", "a cancelled (lost) visit needs a reasonCode"
            )
        outcome = VisitOutcome.LOST
    else:
        raise InvalidInput(
            "status",
            "只能记录已完成或失访的随访",
            f"status {status!r}: only finished or cancelled (lost) visits are recorded",
        )
    patient = reference_id(body.get("subject"), "Patient", "subject")
    return FollowUpInput(
        resident_id=_uuid(patient, "subject"),
        visit_date=_required_date((body.get("period") or {}).get("start"), "period.start"),
        mode=_CLASS_MODE[klass],
        outcome=outcome,
        outcome_reason="；".join(reasons) or None,
        **_readings(body.get("contained") or [], patient),
    )


# what a follow-up form records of each observation kind (value, value2)
_FORM_FIELDS: dict[ObservationKind, tuple[str, ...]] = {
    ObservationKind.BLOOD_PRESSURE: ("sbp", "dbp"),
    ObservationKind.HEART_RATE: ("heart_rate",),
    ObservationKind.GLUCOSE_FASTING: ("fasting_glucose",),
    ObservationKind.GLUCOSE_RANDOM: ("random_glucose",),
    ObservationKind.HBA1C: ("hba1c",),
    ObservationKind.WEIGHT: ("weight_kg",),
    ObservationKind.HEIGHT: ("height_cm",),
}
_WHOLE = ("sbp", "dbp", "heart_rate")


def _readings(contained: list[Any], patient: str) -> dict[str, Any]:
    """The visit's measurements, given as contained Observations (LOINC-coded, like any other)."""
    fields: dict[str, Any] = {}
    for n, item in enumerate(contained):
        where = f"contained[{n}]"
        if not isinstance(item, dict) or item.get("resourceType") != "Observation":
            raise InvalidInput(where, "只接受内含的观察结果", f"{where}: only Observations")
        draft = observation_codec.parse(item)
        if draft.subject_id != patient:
            raise InvalidInput(where, "观察结果的居民与随访不一致", f"{where}: another subject")
        names = _FORM_FIELDS.get(draft.kind)
        if names is None:
            raise InvalidInput(
                where, "随访表不记录该项目", f"{where}: {draft.kind.value} is not on the form"
            )
        if names[0] in fields:
            raise InvalidInput(where, "同一项目重复", f"{where}: {draft.kind.value} given twice")
        for name, value in zip(names, (draft.value, draft.value2), strict=False):
            fields[name] = round(value) if name in _WHOLE and value is not None else value
        if draft.kind is ObservationKind.HBA1C:
            fields["hba1c_date"] = draft.effective_at.astimezone(SHANGHAI).date()
    return fields


# ----------------------------------------------------------------------- Appointment
def appointment_date(resource: Any) -> date:
    body = validate_structure(resource, "Appointment")
    periods = body.get("requestedPeriod") or []
    raw = body.get("start") or (periods[0].get("start") if periods else None)
    return _required_date(raw, "requestedPeriod.start")


# -------------------------------------------------------------- ServiceRequest, Task
def service_request(resource: Any) -> NewReferral:
    body = validate_structure(resource, "ServiceRequest")
    if body["status"] != "active":
        raise InvalidInput(
            "status", "新转诊单状态须为 active", "a new referral is created with status active"
        )
    direction = first_code((body.get("category") or [{}])[0], "urn:manbing:referral-direction")
    if direction not in (None, Direction.UP.value):
        raise InvalidInput(
            "category",
            "下转由医院回转时生成，不能直接创建",
            "down-referrals are created by the hospital's return (Task), not directly",
        )
    performers = body.get("performer") or []
    if len(performers) != 1:
        raise InvalidInput("performer", "须指定一家转入医院", "exactly one performer is required")
    follow_up = None
    for ref in body.get("reasonReference") or []:
        if str(ref.get("reference", "")).startswith("Encounter/"):
            follow_up = _uuid(reference_id(ref, "Encounter", "reasonReference"), "reasonReference")
    reasons = [t for t in (_text(c) for c in body.get("reasonCode") or []) if t]
    return NewReferral(
        resident_id=_uuid(reference_id(body.get("subject"), "Patient", "subject"), "subject"),
        to_org_id=_uuid(reference_id(performers[0], "Organization", "performer"), "performer"),
        urgency=Urgency.URGENT
        if code_in(body.get("priority"), _PRIORITY, "priority") in ("urgent", "asap", "stat")
        else Urgency.ROUTINE,
        reason_text="；".join(reasons) or None,
        to_department=_text(body.get("performerType")),
        follow_up_id=follow_up,
    )


REFERRAL_STATUS_SYSTEM = "urn:manbing:referral-status"


@dataclass(frozen=True)
class TaskChange:
    status: str
    business_status: str | None  # the exact referral status, when given
    note: str | None


def task(resource: Any, referral_id: str) -> TaskChange:
    body = validate_structure(resource, "Task")
    focus = reference_id(body.get("focus"), "ServiceRequest", "focus")
    if focus != referral_id:
        raise InvalidInput("focus", "任务必须指向同一转诊单", "focus must be this referral")
    notes = [n.get("text") for n in body.get("note") or [] if isinstance(n.get("text"), str)]
    outputs = [o.get("valueString") for o in body.get("output") or [] if o.get("valueString")]
    text = "\n".join([*outputs, *notes]).strip() or None
    return TaskChange(
        body["status"], first_code(body.get("businessStatus"), REFERRAL_STATUS_SYSTEM), text
    )


# ---------------------------------------------------------------------- CareTeam
def care_team(resource: Any) -> TeamInput:
    body = validate_structure(resource, "CareTeam")
    orgs = body.get("managingOrganization") or []
    if len(orgs) != 1:
        raise InvalidInput(
            "managingOrganization", "须指定所属机构", "exactly one managingOrganization is required"
        )
    members = []
    for n, participant in enumerate(body.get("participant") or []):
        where = f"participant[{n}]"
        practitioner = reference_id(participant.get("member"), "Practitioner", f"{where}.member")
        roles = participant.get("role") or []
        role = _text(roles[0]) if roles else None
        members.append((_uuid(practitioner, f"{where}.member"), role or "成员"))
    status = body.get("status", "active")
    if status not in ("active", "inactive"):
        raise InvalidInput(
            "status", "团队状态只能为启用或停用", "status must be active or inactive"
        )
    return TeamInput(
        name=str(body.get("name") or ""),
        organization_id=_uuid(
            reference_id(orgs[0], "Organization", "managingOrganization"), "managingOrganization"
        ),
        members=tuple(members),
        active=status == "active",
    )


# ---------------------------------------------------------------------- CarePlan
@dataclass(frozen=True)
class PlanDraft:
    resident_id: uuid.UUID
    programme: Programme
    status: EnrolmentStatus
    team_id: uuid.UUID | None
    diagnosis_icd10: str | None


def care_plan(resource: Any) -> PlanDraft:
    """A programme enrolment (管理计划). The exact enrolment status may ride in an extension."""
    body = validate_structure(resource, "CarePlan")
    programme_code = next(
        (first_code(c, PROGRAMME_SYSTEM) for c in body.get("category") or []), None
    )
    try:
        programme = Programme(programme_code or "")
    except ValueError as exc:
        raise InvalidInput(
            "category",
            "须指明管理的慢病项目",
            f"a category coding in {PROGRAMME_SYSTEM} naming the programme is required "
            f"({', '.join(p.value for p in Programme)})",
        ) from exc
    exact = next(
        (
            e.get("valueCode")
            for e in body.get("extension") or []
            if e.get("url") == ENROLMENT_STATUS_URL
        ),
        None,
    )
    if exact is not None:
        try:
            status = EnrolmentStatus(exact)
        except ValueError as exc:
            raise InvalidInput("extension", "管理状态不正确", f"unknown status {exact!r}") from exc
    elif body["status"] in _PLAN_STATUS:
        status = _PLAN_STATUS[body["status"]]
    else:
        raise InvalidInput(
            "status",
            "管理状态须为 active、revoked，或在扩展中给出",
            f"status {body['status']!r} is ambiguous: use active, revoked or the "
            f"{ENROLMENT_STATUS_URL} extension (transferred, lost, dead)",
        )
    teams = body.get("careTeam") or []
    team = _uuid(reference_id(teams[0], "CareTeam", "careTeam"), "careTeam") if teams else None
    icd10 = None
    for ref in body.get("addresses") or []:
        display = str(ref.get("display") or "")
        if display.startswith("ICD-10 "):
            icd10 = display.removeprefix("ICD-10 ").strip()[:10] or None
    for concept in body.get("category") or []:
        icd10 = first_code(concept, ICD10) or first_code(concept, ICD10_CN) or icd10
    return PlanDraft(
        resident_id=_uuid(reference_id(body.get("subject"), "Patient", "subject"), "subject"),
        programme=programme,
        status=status,
        team_id=team,
        diagnosis_icd10=icd10,
    )


# ----------------------------------------------------------------------- Device
@dataclass(frozen=True)
class DeviceDraft:
    resident_id: uuid.UUID | None
    serial: str | None
    active: bool
    manufacturer: str | None
    model: str | None


def device(resource: Any) -> DeviceDraft:
    body = validate_structure(resource, "Device")
    status = body.get("status", "active")
    if status not in ("active", "inactive"):
        raise InvalidInput(
            "status", "设备状态只能为启用或停用", "status must be active or inactive"
        )
    patient = body.get("patient")
    resident = _uuid(reference_id(patient, "Patient", "patient"), "patient") if patient else None
    return DeviceDraft(
        resident_id=resident,
        serial=body.get("serialNumber"),
        active=status == "active",
        manufacturer=body.get("manufacturer"),
        model=body.get("modelNumber"),
    )


# -------------------------------------------------------------------- MedicationRequest
@dataclass(frozen=True)
class PrescriptionDraft:
    follow_up_id: uuid.UUID
    resident_id: uuid.UUID
    medication: MedicationInput


def medication_request(resource: Any) -> PrescriptionDraft:
    """A medicine prescribed at a recorded follow-up visit (``encounter`` names the visit)."""
    body = validate_structure(resource, "MedicationRequest")
    if body["status"] not in ("active", "completed"):
        raise InvalidInput(
            "status",
            "处方状态由随访决定，只能为 active 或 completed",
            f"status {body['status']!r}: a visit's prescription is active (latest visit) or "
            "completed (superseded); it cannot be cancelled or deleted",
        )
    if body["intent"] not in ("order", "plan", "original-order"):
        raise InvalidInput("intent", "处方意图须为 order", f"intent {body['intent']!r}")
    name = _text(body.get("medicationCodeableConcept"))
    if name is None:
        raise InvalidInput(
            "medicationCodeableConcept",
            "缺少药品名称",
            "a medicationCodeableConcept with text, display or code is required "
            "(medicationReference is not supported)",
        )
    insulin = any(first_code(c, INSULIN_SYSTEM) == "insulin" for c in body.get("category") or [])
    notes = [n.get("text") for n in body.get("note") or [] if isinstance(n.get("text"), str)]
    dose = unit = usage = None
    times = None
    instructions = body.get("dosageInstruction") or []
    if instructions:
        first = instructions[0]
        usage = first.get("text")
        rates = first.get("doseAndRate") or []
        quantity = rates[0].get("doseQuantity") if rates else None
        if isinstance(quantity, dict) and quantity.get("value") is not None:
            dose = number(quantity["value"], "dosageInstruction.doseAndRate.doseQuantity.value")
            unit = quantity.get("unit") or quantity.get("code")
        times = _times_per_day((first.get("timing") or {}).get("repeat"))
    return PrescriptionDraft(
        follow_up_id=_uuid(
            reference_id(body.get("encounter"), "Encounter", "encounter"), "encounter"
        ),
        resident_id=_uuid(reference_id(body.get("subject"), "Patient", "subject"), "subject"),
        medication=MedicationInput(
            name=name,
            times_per_day=times,
            dose=dose,
            dose_unit=unit,
            is_insulin=insulin,
            insulin_type=notes[0] if insulin and notes else None,
            usage=usage,
        ),
    )
