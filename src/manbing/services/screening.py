"""Opportunistic BP screening of residents aged 35 and over (首诊测血压) and the enrolment it leads to.

A screening reading ≥140/90 is re-checked on other days; readings raised on three different days
suggest hypertension and enrolment in the programme (the doctor confirms the diagnosis). Risk factors
are those of the service standard (``domain.rules.screening``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from manbing.db.models import Enrolment, Observation, ScreeningResult, WorklistTask
from manbing.domain.audit import AuditAction
from manbing.domain.errors import InvalidInput
from manbing.domain.observations import SPECS, ObservationKind, ObservationSource
from manbing.domain.organisations import Permission
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.domain.residents import age_on
from manbing.domain.rules import (
    ScreeningProfile,
    check_vitals,
    hypertension_risk_factors,
    needs_bp_recheck,
)
from manbing.domain.rules.screening import BP_SCREENING_MIN_AGE
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.services import access, audit, tasks
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

DAYS_TO_SUGGEST = 3
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class BpScreening:
    resident_id: uuid.UUID
    sbp: int
    dbp: int
    screened_on: date | None = None
    bmi: float | None = None
    waist_cm: float | None = None
    family_history: bool = False
    high_salt_diet: bool = False
    daily_spirits_ml: float = 0.0


@dataclass(frozen=True)
class ScreeningOutcome:
    id: uuid.UUID
    result: str  # normal / positive
    risk_factors: list[str]
    risk_factors_zh: list[str]
    raised_days: int
    suggest_enrolment: bool


def record_bp(uow: UnitOfWork, actor: Actor, data: BpScreening, clock: Clock) -> ScreeningOutcome:
    access.require(actor, Permission.WRITE_CLINICAL)
    today = clock.today()
    screened_on = data.screened_on or today
    if screened_on > today:
        raise InvalidInput("screened_on", "筛查日期不能晚于今天", "screening date in the future")
    check_vitals(sbp=data.sbp, dbp=data.dbp)
    if data.bmi is not None and not 10 <= data.bmi <= 80:
        raise InvalidInput("bmi", "BMI应在10–80之间", "BMI must be 10–80")
    if data.waist_cm is not None and not 40 <= data.waist_cm <= 200:
        raise InvalidInput("waist_cm", "腰围应在40–200cm之间", "waist must be 40–200 cm")
    if not 0 <= data.daily_spirits_ml <= 2000:
        raise InvalidInput("daily_spirits_ml", "日饮酒量不合理", "implausible daily spirits")
    with uow:
        session = uow.session
        resident = access.get_resident(session, actor, data.resident_id)
        age = age_on(resident.birth_date, screened_on)
        if age < BP_SCREENING_MIN_AGE:
            raise InvalidInput(
                "resident_id",
                f"血压筛查对象为{BP_SCREENING_MIN_AGE}岁及以上居民",
                f"BP screening is for residents aged {BP_SCREENING_MIN_AGE} and over",
            )
        profile = ScreeningProfile(
            age=age,
            sex=resident.sex,
            sbp=data.sbp,
            dbp=data.dbp,
            bmi=data.bmi,
            waist_cm=data.waist_cm,
            family_history_hypertension=data.family_history,
            high_salt_diet=data.high_salt_diet,
            daily_spirits_ml=data.daily_spirits_ml,
        )
        factors = sorted(hypertension_risk_factors(profile), key=lambda f: f.value)
        raised = needs_bp_recheck(data.sbp, data.dbp)
        if actor.organization_id is None:
            raise InvalidInput("organization", "您的账号未关联机构", "the user has no organisation")
        result = ScreeningResult(
            id=uuid.uuid4(),
            resident_id=resident.id,
            screened_on=screened_on,
            kind="bp",
            sbp=data.sbp,
            dbp=data.dbp,
            risk_factors=[f.value for f in factors],
            result="positive" if raised else "normal",
            organization_id=actor.organization_id,
            practitioner_id=actor.practitioner_id,
        )
        session.add(result)
        at = (
            clock.now()
            if screened_on == today
            else datetime.combine(screened_on, time(9), tzinfo=SHANGHAI).astimezone(UTC)
        )
        spec = SPECS[ObservationKind.BLOOD_PRESSURE]
        session.add(
            Observation(
                id=uuid.uuid4(),
                resident_id=resident.id,
                kind=ObservationKind.BLOOD_PRESSURE,
                loinc=spec.loinc,
                value=data.sbp,
                value2=data.dbp,
                unit=spec.unit,
                unit_received=spec.unit,
                effective_at=at,
                received_at=clock.now(),
                source=ObservationSource.CLINIC,
                organization_id=actor.organization_id,
            )
        )
        session.flush()
        raised_days = (
            session.scalar(
                select(func.count(func.distinct(ScreeningResult.screened_on))).where(
                    ScreeningResult.resident_id == resident.id,
                    ScreeningResult.kind == "bp",
                    ScreeningResult.result == "positive",
                )
            )
            or 0
        )
        enrolled = session.scalar(
            select(Enrolment.id).where(
                Enrolment.resident_id == resident.id,
                Enrolment.programme == Programme.HYPERTENSION,
                Enrolment.status == EnrolmentStatus.ACTIVE,
            )
        )
        open_task = session.scalar(
            select(WorklistTask.id).where(
                WorklistTask.resident_id == resident.id,
                WorklistTask.kind == TaskKind.SCREENING_CONFIRMATION,
                WorklistTask.status == TaskStatus.OPEN,
            )
        )
        if raised and enrolled is None and open_task is None:
            tasks.open_task(
                session,
                tasks.TaskSpec(
                    resident_id=resident.id,
                    kind=TaskKind.SCREENING_CONFIRMATION,
                    due_date=today,
                    organization_id=resident.managing_org_id,
                    title=f"{resident.name}：筛查血压{data.sbp}/{data.dbp}mmHg，待复测确诊",
                    source_type="screening",
                    source_id=str(result.id),
                    priority=1,
                ),
            )
        audit.record(
            session,
            actor,
            AuditAction.CREATE,
            "screening",
            at=clock.now(),
            entity_id=result.id,
            resident_id=resident.id,
            detail={"result": result.result},
        )
        uow.commit()
        return ScreeningOutcome(
            id=result.id,
            result=result.result,
            risk_factors=[f.value for f in factors],
            risk_factors_zh=[f.label_zh for f in factors],
            raised_days=raised_days,
            suggest_enrolment=raised_days >= DAYS_TO_SUGGEST and enrolled is None,
        )
