"""The digital-therapeutics programme: enrolment and plan, the patient's day, lessons, doses,
weekly adherence with escalation to the doctor, and monthly statements per payer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from manbing.db.models import (
    DoseConfirmation,
    DtxEnrolment,
    DtxLesson,
    DtxPackage,
    FollowUp,
    MedicationStatement,
    Observation,
    Organization,
    Resident,
    WorklistTask,
)
from manbing.domain.audit import AuditAction
from manbing.domain.dtx import (
    LESSONS_BY_CODE,
    DtxProgramme,
    Lesson,
    Payer,
    RecordFacts,
    WeeklyAdherence,
    assign_lessons,
    escalation_reason,
    personal_plan,
    split_fee,
)
from manbing.domain.errors import Conflict, InvalidInput, NotFound
from manbing.domain.ingestion import (
    GlucoseContext,
    MeasurementType,
    RawReading,
    alert_for,
    home_bp_summary,
    normalise,
)
from manbing.domain.observations import SPECS, ObservationKind, ObservationSource
from manbing.domain.organisations import Permission, Scope
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.services import access, audit
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.devices import raise_alert
from manbing.services.tasks import TaskSpec, open_task
from manbing.services.unit_of_work import UnitOfWork

TZ = ZoneInfo("Asia/Shanghai")
_GLUCOSE_KINDS = (
    ObservationKind.GLUCOSE_FASTING,
    ObservationKind.GLUCOSE_2H,
    ObservationKind.GLUCOSE_RANDOM,
)


def _facts(session: Session, resident_id: uuid.UUID, programmes: set[DtxProgramme]) -> RecordFacts:
    latest = session.scalars(
        select(FollowUp)
        .where(FollowUp.resident_id == resident_id)
        .order_by(FollowUp.visit_date.desc())
        .limit(1)
    ).first()
    medicines = session.execute(
        select(MedicationStatement.name, MedicationStatement.times_per_day).where(
            MedicationStatement.resident_id == resident_id, MedicationStatement.active.is_(True)
        )
    ).all()
    return RecordFacts(
        programmes=frozenset(programmes),
        salt_intake=latest.salt_intake if latest else None,
        salt_target=latest.salt_intake_target if latest else None,
        cigarettes_per_day=latest.cigarettes_per_day if latest else None,
        cigarettes_target=latest.cigarettes_per_day_target if latest else None,
        exercise_times_per_week=latest.exercise_times_per_week if latest else None,
        exercise_target=latest.exercise_times_per_week_target if latest else None,
        bmi=latest.bmi if latest else None,
        weight_target_kg=latest.weight_target_kg if latest else None,
        staple_food_g=latest.staple_food_g if latest else None,
        staple_food_target_g=latest.staple_food_g_target if latest else None,
        medicines=tuple((name, times or 1) for name, times in medicines),
    )


def enrol(
    uow: UnitOfWork,
    actor: Actor,
    resident_id: uuid.UUID,
    programme: DtxProgramme,
    clock: Clock,
    *,
    package_code: str | None = None,
) -> uuid.UUID:
    """Enrol (once per programme): personalised plan from the record and lessons by rule."""
    access.require(actor, Permission.WRITE_CLINICAL)
    with uow:
        session = uow.session
        resident = access.get_resident(session, actor, resident_id)
        existing = session.scalars(
            select(DtxEnrolment).where(
                DtxEnrolment.resident_id == resident_id, DtxEnrolment.programme == programme.value
            )
        ).one_or_none()
        if existing is not None and existing.ended_on is None:
            return existing.id
        package_id = None
        if package_code:
            package_id = session.scalar(
                select(DtxPackage.id).where(DtxPackage.code == package_code)
            )
            if package_id is None:
                raise InvalidInput("package_code", "未找到该服务包", "unknown service package")
        programmes = {
            DtxProgramme(p)
            for p in session.scalars(
                select(DtxEnrolment.programme).where(
                    DtxEnrolment.resident_id == resident_id, DtxEnrolment.ended_on.is_(None)
                )
            )
        } | {programme}
        facts = _facts(session, resident_id, programmes)
        plan = personal_plan(facts)
        enrolment = existing or DtxEnrolment(id=uuid.uuid4(), resident_id=resident_id)
        enrolment.programme = programme.value
        enrolment.enrolled_on = clock.today()
        enrolment.ended_on = None
        enrolment.plan = {
            "measurements_per_week": plan.measurements_per_week,
            "medication_reminders": plan.medication_reminders,
            "goals": plan.goals_zh,
        }
        enrolment.package_id = package_id
        enrolment.organization_id = resident.managing_org_id
        enrolment.enrolled_by_id = actor.user_id
        session.add(enrolment)
        known = set(
            session.scalars(
                select(DtxLesson.lesson_code).where(DtxLesson.resident_id == resident_id)
            )
        )
        for assignment in assign_lessons(facts):
            if assignment.code not in known:
                session.add(
                    DtxLesson(
                        id=uuid.uuid4(),
                        resident_id=resident_id,
                        lesson_code=assignment.code,
                        reason=assignment.reason_zh,
                        assigned_at=clock.now(),
                    )
                )
        session.flush()
        audit.record(
            session,
            actor,
            AuditAction.CREATE,
            "dtx_enrolment",
            at=clock.now(),
            entity_id=enrolment.id,
            resident_id=resident_id,
            detail={"programme": programme.value},
        )
        uow.commit()
        return enrolment.id


def record_manual_reading(
    uow: UnitOfWork,
    actor: Actor,
    resident_id: uuid.UUID,
    clock: Clock,
    *,
    sbp: float | None = None,
    dbp: float | None = None,
    glucose: float | None = None,
    context: GlucoseContext = GlucoseContext.FASTING,
    measured_at: datetime | None = None,
) -> uuid.UUID:
    """A reading typed in by the patient (or the care team); urgent values alert as from a device."""
    access.require(actor, Permission.READ_RESIDENTS)
    if actor.scope is not Scope.SELF:
        access.require(actor, Permission.WRITE_CLINICAL)
    at = measured_at or clock.now()
    if at > clock.now() + timedelta(minutes=5):
        raise InvalidInput(
            "measured_at", "测量时间不能晚于当前时间", "measured_at is in the future"
        )
    if glucose is not None:
        raw = RawReading(
            "manual", "m", at, MeasurementType.GLUCOSE, {"glucose": glucose}, {}, context=context
        )
    else:
        if sbp is None or dbp is None:
            raise InvalidInput("sbp", "请填写收缩压和舒张压", "sbp and dbp are required")
        raw = RawReading(
            "manual", "m", at, MeasurementType.BLOOD_PRESSURE, {"sbp": sbp, "dbp": dbp}, {}
        )
    measurement = normalise(raw, clock.now()).measurements[0]
    with uow:
        session = uow.session
        resident = access.get_resident(session, actor, resident_id)
        row: dict[str, Any] = {
            "id": uuid.uuid4(),
            "kind": measurement.kind,
            "value": measurement.value,
            "value2": measurement.value2,
            "effective_at": at,
        }
        session.add(
            Observation(
                id=row["id"],
                resident_id=resident_id,
                kind=measurement.kind,
                loinc=SPECS[measurement.kind].loinc,
                value=measurement.value,
                value2=measurement.value2,
                unit=SPECS[measurement.kind].unit,
                value_received=measurement.value_received,
                unit_received=measurement.unit_received,
                effective_at=at,
                received_at=clock.now(),
                source=ObservationSource.HOME_DEVICE,
                idempotency_key=f"manual:{row['id']}",
            )
        )
        session.flush()
        alert = alert_for(measurement)
        if alert is not None:
            raise_alert(
                session,
                resident_id=resident_id,
                organization_id=resident.managing_org_id,
                observation=row,
                title=alert.title_zh,
                patient_message=alert.patient_message_zh,
                clock=clock,
                device_serial=None,
            )
        audit.record(
            session,
            actor,
            AuditAction.CREATE,
            "observation",
            at=clock.now(),
            entity_id=row["id"],
            resident_id=resident_id,
            detail={"source": "manual"},
        )
        uow.commit()
        return uuid.UUID(str(row["id"]))


def complete_lesson(
    uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID, code: str, clock: Clock
) -> None:
    with uow:
        session = uow.session
        access.get_resident(session, actor, resident_id)
        lesson = session.scalars(
            select(DtxLesson).where(
                DtxLesson.resident_id == resident_id, DtxLesson.lesson_code == code
            )
        ).one_or_none()
        if lesson is None:
            raise NotFound("未找到该课程", "lesson not assigned")
        if lesson.completed_at is None:
            lesson.completed_at = clock.now()
        uow.commit()


def confirm_dose(
    uow: UnitOfWork,
    actor: Actor,
    resident_id: uuid.UUID,
    medicine: str,
    dose_index: int,
    clock: Clock,
) -> None:
    with uow:
        session = uow.session
        access.get_resident(session, actor, resident_id)
        exists = session.scalar(
            select(DoseConfirmation.id).where(
                DoseConfirmation.resident_id == resident_id,
                DoseConfirmation.medicine == medicine,
                DoseConfirmation.taken_on == clock.today(),
                DoseConfirmation.dose_index == dose_index,
            )
        )
        if exists is None:
            session.add(
                DoseConfirmation(
                    id=uuid.uuid4(),
                    resident_id=resident_id,
                    medicine=medicine[:100],
                    taken_on=clock.today(),
                    dose_index=dose_index,
                    confirmed_at=clock.now(),
                )
            )
        uow.commit()


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), TZ).astimezone(UTC)


def _plan_of(
    session: Session, resident_id: uuid.UUID
) -> tuple[list[DtxEnrolment], dict[str, int], list[dict[str, Any]], list[str]]:
    enrolments = list(
        session.scalars(
            select(DtxEnrolment).where(
                DtxEnrolment.resident_id == resident_id, DtxEnrolment.ended_on.is_(None)
            )
        )
    )
    schedule: dict[str, int] = {}
    reminders: dict[str, dict[str, Any]] = {}
    goals: list[str] = []
    for e in enrolments:
        for k, v in e.plan.get("measurements_per_week", {}).items():
            schedule[k] = max(schedule.get(k, 0), int(v))
        for r in e.plan.get("medication_reminders", []):
            reminders[str(r["name"])] = r
        goals += [g for g in e.plan.get("goals", []) if g not in goals]
    return enrolments, schedule, list(reminders.values()), goals


def _adherence(
    session: Session,
    resident_id: uuid.UUID,
    schedule: dict[str, int],
    reminders: list[dict[str, Any]],
    first: date,
    last: date,
) -> WeeklyAdherence:
    days = (last - first).days + 1
    rows = session.execute(
        select(Observation.kind, func.count())
        .where(
            Observation.resident_id == resident_id,
            Observation.source == ObservationSource.HOME_DEVICE,
            Observation.effective_at >= _day_start(first),
            Observation.effective_at < _day_start(last + timedelta(days=1)),
        )
        .group_by(Observation.kind)
    ).all()
    counts = {kind: n for kind, n in rows}
    done = 0
    if "bp" in schedule:
        done += min(counts.get(ObservationKind.BLOOD_PRESSURE, 0), schedule["bp"])
    if "glucose" in schedule:
        done += min(sum(counts.get(k, 0) for k in _GLUCOSE_KINDS), schedule["glucose"])
    planned = sum(schedule.values()) * days // 7
    doses_planned = sum(int(r.get("times_per_day", 1)) for r in reminders) * days
    confirmed = (
        session.scalar(
            select(func.count())
            .select_from(DoseConfirmation)
            .where(
                DoseConfirmation.resident_id == resident_id,
                DoseConfirmation.taken_on >= first,
                DoseConfirmation.taken_on <= last,
            )
        )
        or 0
    )
    return WeeklyAdherence(planned, done, doses_planned, int(confirmed))


@dataclass(frozen=True)
class LessonView:
    lesson: Lesson
    reason: str
    completed: bool


@dataclass(frozen=True)
class ReadingPoint:
    kind: ObservationKind
    value: float
    value2: float | None
    measured_at: datetime


@dataclass(frozen=True)
class ProgrammeView:
    resident_id: uuid.UUID
    resident_name: str
    programmes: list[str]
    schedule: dict[str, int]
    reminders: list[dict[str, Any]]
    goals: list[str]
    lessons: list[LessonView]
    adherence: WeeklyAdherence
    bp_today: int
    glucose_today: int
    doses_today: set[tuple[str, int]]
    home_mean_sbp: float | None
    home_mean_dbp: float | None
    home_uncontrolled: bool | None
    escalation: str | None
    next_appointment: date | None
    readings: list[ReadingPoint]


def programme_view(
    uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID, clock: Clock
) -> ProgrammeView:
    """Everything the patient app and the doctor's home view show for one resident."""
    access.require(actor, Permission.READ_RESIDENTS)
    today = clock.today()
    with uow:
        session = uow.session
        resident = access.get_resident(session, actor, resident_id)
        enrolments, schedule, reminders, goals = _plan_of(session, resident_id)
        lessons = [
            LessonView(LESSONS_BY_CODE[row.lesson_code], row.reason, row.completed_at is not None)
            for row in session.scalars(
                select(DtxLesson)
                .where(DtxLesson.resident_id == resident_id)
                .order_by(DtxLesson.assigned_at, DtxLesson.lesson_code)
            )
            if row.lesson_code in LESSONS_BY_CODE
        ]
        week = _adherence(
            session, resident_id, schedule, reminders, today - timedelta(days=6), today
        )
        points = [
            ReadingPoint(o.kind, float(o.value), o.value2, o.effective_at)
            for o in session.scalars(
                select(Observation)
                .where(
                    Observation.resident_id == resident_id,
                    Observation.kind.in_((ObservationKind.BLOOD_PRESSURE, *_GLUCOSE_KINDS)),
                    Observation.effective_at >= _day_start(today - timedelta(days=29)),
                    Observation.value.is_not(None),
                )
                .order_by(Observation.effective_at)
            )
            if o.value is not None
        ]
        start_today = _day_start(today)
        bp_today = sum(
            1
            for p in points
            if p.kind is ObservationKind.BLOOD_PRESSURE and p.measured_at >= start_today
        )
        glucose_today = sum(
            1 for p in points if p.kind in _GLUCOSE_KINDS and p.measured_at >= start_today
        )
        seven = _day_start(today - timedelta(days=6))
        summary = home_bp_summary(
            (p.value, p.value2)
            for p in points
            if p.kind is ObservationKind.BLOOD_PRESSURE
            and p.value2 is not None
            and p.measured_at >= seven
        )
        doses = {
            (d.medicine, d.dose_index)
            for d in session.scalars(
                select(DoseConfirmation).where(
                    DoseConfirmation.resident_id == resident_id, DoseConfirmation.taken_on == today
                )
            )
        }
        next_visit = session.scalar(
            select(func.min(FollowUp.next_visit_date)).where(
                FollowUp.resident_id == resident_id, FollowUp.next_visit_date >= today
            )
        )
        if next_visit is None:
            next_visit = session.scalar(
                select(func.min(WorklistTask.due_date)).where(
                    WorklistTask.resident_id == resident_id,
                    WorklistTask.kind == TaskKind.FOLLOW_UP_DUE,
                    WorklistTask.status == TaskStatus.OPEN,
                )
            )
        if actor.scope is not Scope.SELF:
            audit.record(
                session,
                actor,
                AuditAction.READ,
                "dtx_programme",
                at=clock.now(),
                resident_id=resident_id,
            )
            uow.commit()
        return ProgrammeView(
            resident_id=resident_id,
            resident_name=resident.name,
            programmes=[e.programme for e in enrolments],
            schedule=schedule,
            reminders=reminders,
            goals=goals,
            lessons=lessons,
            adherence=week,
            bp_today=bp_today,
            glucose_today=glucose_today,
            doses_today=doses,
            home_mean_sbp=summary.mean_sbp,
            home_mean_dbp=summary.mean_dbp,
            home_uncontrolled=summary.uncontrolled,
            escalation=escalation_reason(week, summary.uncontrolled) if enrolments else None,
            next_appointment=next_visit,
            readings=points,
        )


_REVIEW_LOCK = 0x64747872  # "dtxr": one weekly review at a time on PostgreSQL


def reviewed_week(today: date) -> tuple[date, date]:
    """The ISO week a review run on ``today`` looks at: the last *completed* one (Mon–Sun)."""
    monday = today - timedelta(days=today.weekday() + 7)
    return monday, monday + timedelta(days=6)


def review_adherence(uow: UnitOfWork, clock: Clock) -> int:
    """Weekly review: open a DTX_ESCALATION task where the last completed week needs the doctor.

    Safe to run as often as wanted (the scheduler runs it hourly): a patient-week is escalated
    at most once — the task's source is ``{resident}:{ISO year}-W{week}`` and tasks are unique on
    their source; on PostgreSQL concurrent runs also queue on an advisory lock. A patient
    enrolled during the week is judged on the days since enrolment only, and one enrolled after
    it is not judged. Returns how many tasks this run opened.
    """
    first, last = reviewed_week(clock.today())
    year, week, _ = first.isocalendar()
    opened = 0
    with uow:
        session = uow.session
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REVIEW_LOCK})
        residents = session.execute(
            select(
                DtxEnrolment.resident_id,
                Resident.managing_org_id,
                func.min(DtxEnrolment.enrolled_on),
            )
            .join(Resident, Resident.id == DtxEnrolment.resident_id)
            .where(DtxEnrolment.ended_on.is_(None), DtxEnrolment.enrolled_on <= last)
            .group_by(DtxEnrolment.resident_id, Resident.managing_org_id)
        ).all()
        source_ids = {r: f"{r}:{year}-W{week:02d}" for r, _, _ in residents}
        done = set(
            session.scalars(
                select(WorklistTask.source_id).where(
                    WorklistTask.kind == TaskKind.DTX_ESCALATION,
                    WorklistTask.source_type == "dtx_week",
                    WorklistTask.source_id.in_(list(source_ids.values())),
                )
            )
        )
        for resident_id, org_id, enrolled_on in residents:
            source_id = source_ids[resident_id]
            if source_id in done:
                continue
            start = max(first, enrolled_on)
            _, schedule, reminders, _ = _plan_of(session, resident_id)
            adherence = _adherence(session, resident_id, schedule, reminders, start, last)
            bp = session.execute(
                select(Observation.value, Observation.value2).where(
                    Observation.resident_id == resident_id,
                    Observation.kind == ObservationKind.BLOOD_PRESSURE,
                    Observation.source == ObservationSource.HOME_DEVICE,
                    Observation.effective_at >= _day_start(start),
                    Observation.effective_at < _day_start(last + timedelta(days=1)),
                )
            ).all()
            summary = home_bp_summary(
                (float(s), float(d)) for s, d in bp if s is not None and d is not None
            )
            reason = escalation_reason(adherence, summary.uncontrolled)
            if reason is None:
                continue
            open_task(
                session,
                TaskSpec(
                    resident_id=resident_id,
                    kind=TaskKind.DTX_ESCALATION,
                    due_date=clock.today() + timedelta(days=2),
                    organization_id=org_id,
                    title=f"居家管理异常（{year}年第{week}周）：{reason}",
                    source_type="dtx_week",
                    source_id=source_id,
                    priority=50,
                    detail={
                        "reason": reason,
                        "week_start": start.isoformat(),
                        "week_end": last.isoformat(),
                        "measurements_planned": adherence.measurements_planned,
                        "measurements_done": adherence.measurements_done,
                        "doses_planned": adherence.doses_planned,
                        "doses_confirmed": adherence.doses_confirmed,
                    },
                ),
            )
            opened += 1
        uow.commit()
    return opened


@dataclass(frozen=True)
class StatementLine:
    payer: Payer
    payer_name: str
    enrolments: int
    amount_fen: int


def monthly_statement(uow: UnitOfWork, actor: Actor, year: int, month: int) -> list[StatementLine]:
    """What each payer owes for the month: the package price split for each enrolment active in it."""
    access.require(actor, Permission.READ_INDICATORS)
    first = date(year, month, 1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    with uow:
        session = uow.session
        rows = session.execute(
            select(DtxEnrolment, DtxPackage)
            .join(DtxPackage, DtxPackage.id == DtxEnrolment.package_id)
            .join(Organization, Organization.id == DtxEnrolment.organization_id)
            .where(
                access.org_filter(actor),
                DtxEnrolment.enrolled_on <= last,
                (DtxEnrolment.ended_on.is_(None)) | (DtxEnrolment.ended_on >= first),
            )
        ).all()
        totals: dict[tuple[Payer, str], list[int]] = {}
        for _enrolment, package in rows:
            split = split_fee(
                package.monthly_price_fen,
                {
                    Payer.GOVERNMENT: package.government_percent,
                    Payer.COMPANY: package.company_percent,
                    Payer.RESIDENT: package.resident_percent,
                },
            )
            for payer, amount in split.items():
                name = {
                    Payer.GOVERNMENT: "医保/财政",
                    Payer.COMPANY: package.company_name or "企业",
                    Payer.RESIDENT: "居民自付",
                }[payer]
                entry = totals.setdefault((payer, name), [0, 0])
                entry[0] += 1
                entry[1] += amount
        return [
            StatementLine(payer, name, n, amount)
            for (payer, name), (n, amount) in sorted(
                totals.items(), key=lambda kv: (kv[0][0].value, kv[0][1])
            )
        ]


def add_package(
    uow: UnitOfWork,
    actor: Actor,
    *,
    code: str,
    name: str,
    monthly_price_fen: int,
    government_percent: int,
    company_percent: int,
    resident_percent: int,
    company_name: str | None,
    clock: Clock,
) -> uuid.UUID:
    access.require(actor, Permission.WRITE_CLINICAL)
    if monthly_price_fen < 0:
        raise InvalidInput("monthly_price_fen", "价格不能为负", "price must not be negative")
    split_fee(
        monthly_price_fen,
        {
            Payer.GOVERNMENT: government_percent,
            Payer.COMPANY: company_percent,
            Payer.RESIDENT: resident_percent,
        },
    )
    with uow:
        if uow.session.scalars(select(DtxPackage.id).where(DtxPackage.code == code)).first():
            raise Conflict("套餐编码已存在", f"package code {code} exists")
        package = DtxPackage(
            id=uuid.uuid4(),
            code=code,
            name=name,
            monthly_price_fen=monthly_price_fen,
            government_percent=government_percent,
            company_percent=company_percent,
            resident_percent=resident_percent,
            company_name=company_name,
        )
        uow.session.add(package)
        audit.record(
            uow.session,
            actor,
            AuditAction.CREATE,
            "dtx_package",
            at=clock.now(),
            entity_id=package.id,
        )
        uow.commit()
        return package.id
