"""Recording a follow-up visit (高血压/2型糖尿病患者随访服务记录表) and previewing its classification.

One transaction stores the visit, its medications and the BP / fasting-glucose readings, closes
the resident's open follow-up tasks and opens the next one (a post-referral follow-up at +14 days
when the rules say refer). A repeated idempotency key (a double-submitted form) returns the
follow-up already stored instead of storing a second one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from manbing.db.models import (
    Enrolment,
    FollowUp,
    FollowUpMedication,
    MedicationStatement,
    Observation,
    Organization,
    Practitioner,
    Resident,
    WorklistTask,
)
from manbing.domain.audit import AuditAction
from manbing.domain.errors import InvalidInput, NotFound
from manbing.domain.followup_form import (
    Adherence,
    DorsalisPedis,
    FormType,
    Hypoglycaemia,
    Rating,
    SaltIntake,
    Side,
    VisitMode,
    VisitOutcome,
)
from manbing.domain.observations import SPECS, ObservationKind, ObservationSource
from manbing.domain.organisations import Permission
from manbing.domain.programmes import EnrolmentStatus
from manbing.domain.programmes import Programme as CareProgramme
from manbing.domain.residents import age_on
from manbing.domain.rules import (
    DangerSign,
    FollowupClass,
    FollowupDecision,
    FollowupVisit,
    Programme,
    check_vitals,
    classify_followup,
    referral_followup_date,
)
from manbing.domain.rules.plausibility import HBA1C_PERCENT_RANGE, require_in_range
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.services import access, audit, follow_up_schedule, tasks
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")
_PROGRAMMES = {
    CareProgramme.HYPERTENSION: Programme.HYPERTENSION,
    CareProgramme.T2DM: Programme.DIABETES,
}
# data-quality limits of the form's other numbers (typing errors, not clinical findings)
_LIMITS: dict[str, tuple[float, float, str, str]] = {
    "weight_kg": (2, 300, "体重", "kg"),
    "weight_target_kg": (2, 300, "目标体重", "kg"),
    "height_cm": (40, 250, "身高", "cm"),
    "cigarettes_per_day": (0, 200, "日吸烟量", "支"),
    "cigarettes_per_day_target": (0, 200, "目标日吸烟量", "支"),
    "alcohol_liang_per_day": (0, 50, "日饮酒量", "两"),
    "alcohol_liang_per_day_target": (0, 50, "目标日饮酒量", "两"),
    "exercise_times_per_week": (0, 21, "每周运动次数", "次"),
    "exercise_times_per_week_target": (0, 21, "目标每周运动次数", "次"),
    "exercise_minutes": (0, 600, "每次运动时间", "分钟"),
    "exercise_minutes_target": (0, 600, "目标每次运动时间", "分钟"),
    "staple_food_g": (0, 2000, "主食", "克/天"),
    "staple_food_g_target": (0, 2000, "目标主食", "克/天"),
    "temperature_c": (30, 45, "体温", "℃"),
}


@dataclass(frozen=True)
class MedicationInput:
    name: str
    times_per_day: int | None = None
    dose: float | None = None
    dose_unit: str | None = None
    is_insulin: bool = False
    insulin_type: str | None = None
    usage: str | None = None


@dataclass(frozen=True)
class FollowUpInput:
    """Every field of the national forms; ``None`` is "not recorded"."""

    resident_id: uuid.UUID
    visit_date: date
    mode: VisitMode | None = VisitMode.CLINIC
    outcome: VisitOutcome = VisitOutcome.DONE
    outcome_reason: str | None = None
    symptoms: tuple[str, ...] = ()
    symptoms_other: str | None = None
    danger_signs: tuple[DangerSign, ...] = ()
    sbp: int | None = None
    dbp: int | None = None
    heart_rate: int | None = None
    temperature_c: float | None = None
    weight_kg: float | None = None
    weight_target_kg: float | None = None
    height_cm: float | None = None
    bmi_target: float | None = None
    dorsalis_pedis: DorsalisPedis | None = None
    dorsalis_pedis_side: Side | None = None
    signs_other: str | None = None
    cigarettes_per_day: int | None = None
    cigarettes_per_day_target: int | None = None
    alcohol_liang_per_day: float | None = None
    alcohol_liang_per_day_target: float | None = None
    exercise_times_per_week: int | None = None
    exercise_times_per_week_target: int | None = None
    exercise_minutes: int | None = None
    exercise_minutes_target: int | None = None
    salt_intake: SaltIntake | None = None
    salt_intake_target: SaltIntake | None = None
    staple_food_g: int | None = None
    staple_food_g_target: int | None = None
    psychological: Rating | None = None
    compliance: Rating | None = None
    fasting_glucose: float | None = None
    random_glucose: float | None = None
    hba1c: float | None = None
    hba1c_date: date | None = None
    tests_other: str | None = None
    adherence: Adherence | None = None
    adverse_reaction: bool = False
    adverse_reaction_text: str | None = None
    hypoglycaemia: Hypoglycaemia | None = None
    new_complication: bool = False
    complication_text: str | None = None
    referral_org_dept: str | None = None
    medications: tuple[MedicationInput, ...] = ()
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Preview:
    """What the rules say about the visit as typed so far."""

    form: FormType
    programmes: tuple[str, ...]
    age: int
    previous_classification: FollowupClass | None
    decision: FollowupDecision | None
    error: InvalidInput | None = None


@dataclass(frozen=True)
class Recorded:
    id: uuid.UUID
    created: bool
    classification: str | None
    next_visit_date: date | None
    refer: bool
    urgent: bool
    reasons_zh: list[str] = field(default_factory=list)


def _programmes(session: Session, resident_id: uuid.UUID) -> frozenset[Programme]:
    rows = session.scalars(
        select(Enrolment.programme).where(
            Enrolment.resident_id == resident_id,
            Enrolment.status == EnrolmentStatus.ACTIVE,
            Enrolment.programme.in_(list(_PROGRAMMES)),
        )
    ).all()
    return frozenset(_PROGRAMMES[p] for p in rows)


def form_for(programmes: frozenset[Programme]) -> FormType:
    if programmes == {Programme.HYPERTENSION, Programme.DIABETES}:
        return FormType.COMBINED
    if programmes == {Programme.DIABETES}:
        return FormType.DIABETES
    return FormType.HYPERTENSION


def _previous_class(session: Session, resident_id: uuid.UUID, before: date) -> FollowupClass | None:
    code = session.scalars(
        select(FollowUp.classification)
        .where(
            FollowUp.resident_id == resident_id,
            FollowUp.visit_date <= before,
            FollowUp.classification.is_not(None),
        )
        .order_by(FollowUp.visit_date.desc(), FollowUp.created_at.desc())
        .limit(1)
    ).first()
    return FollowupClass(code) if code else None


def _check_fields(data: FollowUpInput, resident: Resident, today: date) -> None:
    if data.visit_date > today:
        raise InvalidInput("visit_date", "随访日期不能晚于今天", "the visit date is in the future")
    if data.visit_date < resident.birth_date:
        raise InvalidInput("visit_date", "随访日期早于出生日期", "the visit precedes birth")
    check_vitals(sbp=data.sbp, dbp=data.dbp, heart_rate=data.heart_rate)
    for name, (low, high, label, unit) in _LIMITS.items():
        value = getattr(data, name)
        if value is not None:
            require_in_range(name, value, (low, high), label_zh=label, unit=unit)
    if data.hba1c is not None:
        require_in_range(
            "hba1c", data.hba1c, HBA1C_PERCENT_RANGE, label_zh="糖化血红蛋白", unit="%"
        )
        if data.hba1c_date and data.hba1c_date > today:
            raise InvalidInput("hba1c_date", "检查日期不能晚于今天", "hba1c date in the future")
    for n, med in enumerate(data.medications):
        if not med.name.strip():
            raise InvalidInput(f"medications.{n}.name", "请填写药物名称", "drug name is required")
        if med.times_per_day is not None and not 1 <= med.times_per_day <= 12:
            raise InvalidInput(
                f"medications.{n}.times_per_day", "每日次数应在1–12之间", "times per day 1–12"
            )
        if med.dose is not None and not 0 < med.dose <= 10000:
            raise InvalidInput(f"medications.{n}.dose", "每次剂量不合理", "implausible dose")


def _visit(
    data: FollowUpInput, age: int, programmes: frozenset[Programme], previous: FollowupClass | None
) -> FollowupVisit:
    return FollowupVisit(
        visit_date=data.visit_date,
        age=age,
        programmes=programmes,
        sbp=data.sbp,
        dbp=data.dbp,
        fasting_glucose=data.fasting_glucose,
        random_glucose=data.random_glucose,
        heart_rate=data.heart_rate,
        temperature_c=data.temperature_c,
        danger_signs=frozenset(data.danger_signs),
        adverse_reaction=data.adverse_reaction,
        new_or_worse_complication=data.new_complication,
        previous_classification=previous,
    )


def _assess(
    session: Session, actor: Actor, data: FollowUpInput, today: date
) -> tuple[Resident, Preview]:
    resident = access.get_resident(session, actor, data.resident_id)
    programmes = _programmes(session, resident.id)
    if not programmes:
        raise InvalidInput(
            "programmes",
            "该居民未纳入高血压或糖尿病管理，请先纳入管理",
            "the resident is not enrolled in hypertension or diabetes care",
        )
    _check_fields(data, resident, today)
    age = age_on(resident.birth_date, data.visit_date)
    previous = _previous_class(session, resident.id, data.visit_date)
    decision = (
        classify_followup(_visit(data, age, programmes, previous))
        if data.outcome is VisitOutcome.DONE
        else None
    )
    names = tuple(sorted(p.value for p in programmes))
    return resident, Preview(form_for(programmes), names, age, previous, decision)


def preview(uow: UnitOfWork, actor: Actor, data: FollowUpInput, clock: Clock) -> Preview:
    """Classify without storing anything; a rule violation comes back in ``error``."""
    access.require(actor, Permission.WRITE_CLINICAL)
    with uow:
        session = uow.session
        resident = access.get_resident(session, actor, data.resident_id)
        try:
            return _assess(session, actor, data, clock.today())[1]
        except InvalidInput as exc:
            programmes = _programmes(session, resident.id)
            return Preview(
                form_for(programmes),
                tuple(sorted(p.value for p in programmes)),
                age_on(resident.birth_date, data.visit_date),
                None,
                None,
                exc,
            )


def _recorded_from(session: Session, follow_up: FollowUp) -> Recorded:
    referral_task = session.scalars(
        select(WorklistTask).where(
            WorklistTask.kind == TaskKind.POST_REFERRAL_FOLLOW_UP,
            WorklistTask.source_type == "follow_up",
            WorklistTask.source_id == str(follow_up.id),
        )
    ).first()
    reasons = [r for r in (follow_up.referral_reason or "").split("；") if r]
    return Recorded(
        id=follow_up.id,
        created=False,
        classification=follow_up.classification,
        next_visit_date=follow_up.next_visit_date,
        refer=bool(reasons),
        urgent=bool(referral_task and referral_task.detail.get("urgent")),
        reasons_zh=reasons,
    )


def get(uow: UnitOfWork, actor: Actor, follow_up_id: uuid.UUID) -> Recorded:
    """A stored visit's outcome (class, next visit, referral decision), within scope."""
    access.require(actor, Permission.READ_RESIDENTS)
    with uow:
        found = uow.session.get(FollowUp, follow_up_id)
        if found is None:
            raise NotFound("未找到该随访记录", "follow-up not found")
        access.get_resident(uow.session, actor, found.resident_id)
        return _recorded_from(uow.session, found)


@dataclass(frozen=True)
class PrintableVisit:
    """One stored visit with everything the national paper form prints."""

    resident_name: str
    record_number: str
    sex: str
    age: int
    organization: str
    practitioner: str
    fields: dict[str, object]
    medications: list[dict[str, object]]


def printable(
    uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID, follow_up_id: uuid.UUID, clock: Clock
) -> PrintableVisit:
    access.require(actor, Permission.READ_RESIDENTS)
    access.require(actor, Permission.SEE_UNMASKED_PII)  # the paper form carries the full name
    with uow:
        session = uow.session
        resident = access.get_resident(session, actor, resident_id)
        found = session.get(FollowUp, follow_up_id)
        if found is None or found.resident_id != resident.id:
            raise NotFound("未找到该随访记录", "follow-up not found")
        org = session.get(Organization, found.organization_id)
        doctor = session.get(Practitioner, found.practitioner_id) if found.practitioner_id else None
        fields = {c.key: getattr(found, c.key) for c in FollowUp.__table__.columns}
        meds = [
            {c.key: getattr(m, c.key) for c in FollowUpMedication.__table__.columns}
            for m in found.medications
        ]
        audit.record(
            session,
            actor,
            AuditAction.EXPORT,
            "follow_up_form",
            at=clock.now(),
            entity_id=found.id,
            resident_id=resident.id,
        )
        result = PrintableVisit(
            resident_name=resident.name,
            record_number=resident.record_number,
            sex=resident.sex.value,
            age=age_on(resident.birth_date, found.visit_date),
            organization=org.name if org else "",
            practitioner=doctor.name if doctor else "",
            fields=fields,
            medications=meds,
        )
        uow.commit()
        return result


def _existing(session: Session, key: str | None) -> FollowUp | None:
    if not key:
        return None
    return session.scalars(select(FollowUp).where(FollowUp.idempotency_key == key)).first()


def record(uow: UnitOfWork, actor: Actor, data: FollowUpInput, clock: Clock) -> Recorded:
    """Store the visit and everything that follows from it, all or nothing."""
    access.require(actor, Permission.WRITE_CLINICAL)
    try:
        return _record(uow, actor, data, clock)
    except IntegrityError:
        # two submissions of the same form raced: the other one stored it
        with uow:
            access.get_resident(uow.session, actor, data.resident_id)
            found = _existing(uow.session, data.idempotency_key)
            if found is None:
                raise
            return _recorded_from(uow.session, found)


def _record(uow: UnitOfWork, actor: Actor, data: FollowUpInput, clock: Clock) -> Recorded:
    with uow:
        recorded = record_in(uow.session, actor, data, clock)
        uow.commit()
        return recorded


def record_in(session: Session, actor: Actor, data: FollowUpInput, clock: Clock) -> Recorded:
    """Store the visit inside the caller's transaction (e.g. a FHIR transaction Bundle)."""
    access.require(actor, Permission.WRITE_CLINICAL)
    today = clock.today()
    access.get_resident(session, actor, data.resident_id)
    found = _existing(session, data.idempotency_key)
    if found is not None:
        if found.resident_id != data.resident_id:
            raise InvalidInput(
                "idempotency_key", "重复的提交标识", "idempotency key used for another resident"
            )
        return _recorded_from(session, found)
    resident, assessed = _assess(session, actor, data, today)
    decision = assessed.decision
    if actor.organization_id is None:
        raise InvalidInput("organization", "您的账号未关联机构", "the user has no organisation")
    bmi = (
        round(data.weight_kg / (data.height_cm / 100) ** 2, 1)
        if data.weight_kg and data.height_cm
        else None
    )
    follow_up = FollowUp(
        id=uuid.uuid4(),
        resident_id=resident.id,
        form=assessed.form,
        visit_date=data.visit_date,
        outcome=data.outcome,
        outcome_reason=_text(data.outcome_reason),
        mode=data.mode,
        symptoms=list(data.symptoms) + [f"danger:{s.value}" for s in data.danger_signs],
        symptoms_other=_text(data.symptoms_other),
        sbp=data.sbp,
        dbp=data.dbp,
        weight_kg=data.weight_kg,
        weight_target_kg=data.weight_target_kg,
        height_cm=data.height_cm,
        bmi=bmi,
        bmi_target=data.bmi_target,
        heart_rate=data.heart_rate,
        dorsalis_pedis=data.dorsalis_pedis,
        dorsalis_pedis_side=data.dorsalis_pedis_side,
        signs_other=_text(data.signs_other),
        cigarettes_per_day=data.cigarettes_per_day,
        cigarettes_per_day_target=data.cigarettes_per_day_target,
        alcohol_liang_per_day=data.alcohol_liang_per_day,
        alcohol_liang_per_day_target=data.alcohol_liang_per_day_target,
        exercise_times_per_week=data.exercise_times_per_week,
        exercise_times_per_week_target=data.exercise_times_per_week_target,
        exercise_minutes=data.exercise_minutes,
        exercise_minutes_target=data.exercise_minutes_target,
        salt_intake=data.salt_intake,
        salt_intake_target=data.salt_intake_target,
        staple_food_g=data.staple_food_g,
        staple_food_g_target=data.staple_food_g_target,
        psychological=data.psychological,
        compliance=data.compliance,
        fasting_glucose=data.fasting_glucose,
        hba1c=data.hba1c,
        hba1c_date=data.hba1c_date,
        tests_other=_text(data.tests_other),
        adherence=data.adherence,
        adverse_reaction=data.adverse_reaction,
        adverse_reaction_text=_text(data.adverse_reaction_text),
        hypoglycaemia=data.hypoglycaemia,
        new_complication=data.new_complication,
        complication_text=_text(data.complication_text),
        classification=decision.classification.value if decision else None,
        referral_reason="；".join(decision.reasons_zh) if decision and decision.refer else None,
        referral_org_dept=_text(data.referral_org_dept),
        next_visit_date=decision.next_visit_date if decision else None,
        practitioner_id=actor.practitioner_id,
        organization_id=actor.organization_id,
        idempotency_key=data.idempotency_key,
    )
    for med in data.medications:
        follow_up.medications.append(
            FollowUpMedication(
                id=uuid.uuid4(),
                name=med.name.strip(),
                times_per_day=med.times_per_day,
                dose=med.dose,
                dose_unit=_text(med.dose_unit),
                is_insulin=med.is_insulin,
                insulin_type=_text(med.insulin_type),
                usage=_text(med.usage),
            )
        )
    session.add(follow_up)
    session.flush()
    follow_up_schedule.refresh(session, [resident.id])
    _store_readings(session, actor, data, follow_up, clock)
    _replace_medication_list(session, data, follow_up, clock)
    tasks.close_open_tasks(
        session,
        resident.id,
        (TaskKind.FOLLOW_UP_DUE, TaskKind.POST_REFERRAL_FOLLOW_UP),
        clock,
    )
    if decision is not None:
        _open_next_task(session, resident, follow_up, decision)
    audit.record(
        session,
        actor,
        AuditAction.CREATE,
        "follow_up",
        at=clock.now(),
        entity_id=follow_up.id,
        resident_id=resident.id,
        detail={
            "classification": follow_up.classification,
            "refer": bool(decision and decision.refer),
        },
    )
    return Recorded(
        id=follow_up.id,
        created=True,
        classification=follow_up.classification,
        next_visit_date=follow_up.next_visit_date,
        refer=bool(decision and decision.refer),
        urgent=bool(decision and decision.urgent),
        reasons_zh=decision.reasons_zh if decision else [],
    )


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _effective_at(visit_date: date, clock: Clock) -> datetime:
    if visit_date == clock.today():
        return clock.now()
    return datetime.combine(visit_date, time(9, 0), tzinfo=SHANGHAI).astimezone(UTC)


def _store_readings(
    session: Session, actor: Actor, data: FollowUpInput, follow_up: FollowUp, clock: Clock
) -> None:
    """BP and glucose of a clinic or home visit become observations (a phone visit's do not)."""
    if data.mode is VisitMode.PHONE:
        return
    at = _effective_at(data.visit_date, clock)
    readings: list[tuple[ObservationKind, float, float | None]] = []
    if data.sbp is not None and data.dbp is not None:
        readings.append((ObservationKind.BLOOD_PRESSURE, data.sbp, data.dbp))
    if data.fasting_glucose is not None:
        readings.append((ObservationKind.GLUCOSE_FASTING, data.fasting_glucose, None))
    if data.random_glucose is not None:
        readings.append((ObservationKind.GLUCOSE_RANDOM, data.random_glucose, None))
    if data.hba1c is not None:
        readings.append((ObservationKind.HBA1C, data.hba1c, None))
    for kind, value, value2 in readings:
        spec = SPECS[kind]
        session.add(
            Observation(
                id=uuid.uuid4(),
                resident_id=follow_up.resident_id,
                kind=kind,
                loinc=spec.loinc,
                value=value,
                value2=value2,
                unit=spec.unit,
                unit_received=spec.unit,
                effective_at=at,
                received_at=clock.now(),
                source=ObservationSource.CLINIC,
                follow_up_id=follow_up.id,
                organization_id=actor.organization_id,
            )
        )


def _replace_medication_list(
    session: Session, data: FollowUpInput, follow_up: FollowUp, clock: Clock
) -> None:
    """The medicines recorded at the latest visit are the resident's current list."""
    if not data.medications:
        return
    for old in session.scalars(
        select(MedicationStatement).where(
            MedicationStatement.resident_id == follow_up.resident_id,
            MedicationStatement.active.is_(True),
            MedicationStatement.source == "follow_up",
        )
    ):
        old.active = False
        old.end_date = data.visit_date
    for med in data.medications:
        session.add(
            MedicationStatement(
                id=uuid.uuid4(),
                resident_id=follow_up.resident_id,
                name=med.name.strip(),
                dose=med.dose,
                dose_unit=_text(med.dose_unit),
                times_per_day=med.times_per_day,
                route="injection" if med.is_insulin else "oral",
                start_date=data.visit_date,
                active=True,
                source="follow_up",
                follow_up_id=follow_up.id,
                recorded_at=clock.now(),
            )
        )


def _open_next_task(
    session: Session, resident: Resident, follow_up: FollowUp, decision: FollowupDecision
) -> None:
    if decision.refer:
        tasks.open_task(
            session,
            tasks.TaskSpec(
                resident_id=resident.id,
                kind=TaskKind.POST_REFERRAL_FOLLOW_UP,
                due_date=referral_followup_date(follow_up.visit_date),
                organization_id=resident.managing_org_id,
                title=f"{resident.name}：转诊后2周随访",
                source_type="follow_up",
                source_id=str(follow_up.id),
                priority=3 if decision.urgent else 2,
                detail={"urgent": decision.urgent, "reasons": decision.reason_codes},
            ),
        )
        return
    tasks.open_task(
        session,
        tasks.TaskSpec(
            resident_id=resident.id,
            kind=TaskKind.FOLLOW_UP_DUE,
            due_date=decision.next_visit_date,
            organization_id=resident.managing_org_id,
            title=f"{resident.name}：{decision.classification.label_zh}，下次随访",
            source_type="follow_up",
            source_id=str(follow_up.id),
            priority=0 if decision.controlled else 1,
            detail={"classification": decision.classification.value},
        ),
    )


def open_follow_up_tasks(session: Session, resident_id: uuid.UUID) -> list[WorklistTask]:
    return list(
        session.scalars(
            select(WorklistTask).where(
                WorklistTask.resident_id == resident_id,
                WorklistTask.status == TaskStatus.OPEN,
                WorklistTask.kind.in_((TaskKind.FOLLOW_UP_DUE, TaskKind.POST_REFERRAL_FOLLOW_UP)),
            )
        )
    )


def reschedule_next_visit(
    session: Session, actor: Actor, follow_up_id: uuid.UUID, new_date: date, clock: Clock
) -> FollowUp:
    """Move the next follow-up a visit scheduled; its open worklist task moves with it."""
    access.require(actor, Permission.WRITE_CLINICAL)
    follow_up = session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise NotFound("未找到该随访记录", "follow-up not found")
    access.get_resident(session, actor, follow_up.resident_id)
    if follow_up.next_visit_date is None:
        raise InvalidInput(
            "next_visit_date", "该次随访未安排下次随访", "this visit scheduled no next follow-up"
        )
    if new_date <= follow_up.visit_date:
        raise InvalidInput(
            "next_visit_date",
            "下次随访日期必须晚于本次随访日期",
            "the next follow-up must come after the visit",
        )
    before = follow_up.next_visit_date
    follow_up.next_visit_date = new_date
    follow_up.updated_at = clock.now()
    for task in session.scalars(
        select(WorklistTask).where(
            WorklistTask.kind == TaskKind.FOLLOW_UP_DUE,
            WorklistTask.source_type == "follow_up",
            WorklistTask.source_id == str(follow_up.id),
            WorklistTask.status == TaskStatus.OPEN,
        )
    ):
        task.due_date = new_date
    session.flush()
    follow_up_schedule.refresh(session, [follow_up.resident_id])
    audit.record(
        session,
        actor,
        AuditAction.UPDATE,
        "follow_up",
        at=clock.now(),
        entity_id=follow_up.id,
        resident_id=follow_up.resident_id,
        detail={"next_visit_date": [before.isoformat(), new_date.isoformat()]},
    )
    return follow_up


def _is_latest(session: Session, visit: FollowUp) -> bool:
    later = session.scalar(
        select(FollowUp.id)
        .where(FollowUp.resident_id == visit.resident_id, FollowUp.visit_date > visit.visit_date)
        .limit(1)
    )
    return later is None


def is_latest_visit(session: Session, follow_up_id: uuid.UUID) -> bool:
    """No later visit of the same resident exists (its medicines are the current list)."""
    visit = session.get(FollowUp, follow_up_id)
    return visit is not None and _is_latest(session, visit)


def save_prescription(
    session: Session,
    actor: Actor,
    follow_up_id: uuid.UUID,
    med: MedicationInput,
    clock: Clock,
    *,
    medication_id: uuid.UUID | None = None,
) -> FollowUpMedication:
    """Add a medicine to a recorded visit's 用药指导, or correct one (in the caller's transaction).

    When the visit is the resident's latest, the current medication list follows, as it does
    when the visit is recorded.
    """
    access.require(actor, Permission.WRITE_CLINICAL)
    visit = session.get(FollowUp, follow_up_id)
    if visit is None:
        raise NotFound("未找到该随访记录", "follow-up not found")
    resident = access.get_resident(session, actor, visit.resident_id)
    checked = FollowUpInput(
        resident_id=resident.id, visit_date=visit.visit_date, medications=(med,)
    )
    _check_fields(checked, resident, clock.today())
    for name, text, limit in (
        ("dose_unit", med.dose_unit, 20),
        ("insulin_type", med.insulin_type, 50),
        ("usage", med.usage, 100),
        ("name", med.name, 100),
    ):
        if text is not None and len(text.strip()) > limit:
            raise InvalidInput(name, f"内容不能超过{limit}个字符", f"{name} is too long")
    statement = None
    latest = _is_latest(session, visit)
    if medication_id is None:
        row = FollowUpMedication(id=uuid.uuid4(), follow_up_id=visit.id, name=med.name.strip())
        visit.medications.append(row)
        action = AuditAction.CREATE
        if latest:
            statement = MedicationStatement(
                id=uuid.uuid4(),
                resident_id=visit.resident_id,
                name=med.name.strip(),
                start_date=visit.visit_date,
                active=True,
                source="follow_up",
                follow_up_id=visit.id,
                recorded_at=clock.now(),
            )
            session.add(statement)
    else:
        found = session.get(FollowUpMedication, medication_id)
        if found is None or found.follow_up_id != visit.id:
            raise InvalidInput(
                "encounter", "处方所属的随访不能更改", "a prescription stays with its visit"
            )
        row, action = found, AuditAction.UPDATE
        if latest:
            statement = session.scalars(
                select(MedicationStatement).where(
                    MedicationStatement.follow_up_id == visit.id,
                    MedicationStatement.name == row.name,
                    MedicationStatement.active.is_(True),
                )
            ).first()
    row.name, row.times_per_day, row.dose = med.name.strip(), med.times_per_day, med.dose
    row.dose_unit, row.is_insulin = _text(med.dose_unit), med.is_insulin
    row.insulin_type, row.usage = _text(med.insulin_type), _text(med.usage)
    if statement is not None:
        statement.name, statement.dose = row.name, row.dose
        statement.dose_unit, statement.times_per_day = row.dose_unit, row.times_per_day
        statement.route = "injection" if row.is_insulin else "oral"
    visit.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        action,
        "follow_up_medication",
        at=clock.now(),
        entity_id=row.id,
        resident_id=visit.resident_id,
        detail={"follow_up": str(visit.id)},
    )
    return row
