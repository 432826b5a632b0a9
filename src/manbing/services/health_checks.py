"""The annual health check (健康体检表): vitals and measurements, findings, conclusion, guidance."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import HealthCheck
from manbing.domain.audit import AuditAction
from manbing.domain.errors import InvalidInput
from manbing.domain.organisations import Permission
from manbing.domain.rules import check_vitals
from manbing.domain.rules.plausibility import require_in_range
from manbing.domain.tasks import TaskKind
from manbing.services import access, audit, tasks
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

_LIMITS: dict[str, tuple[float, float, str, str]] = {
    "respiration": (5, 80, "呼吸频率", "次/分"),
    "height_cm": (40, 250, "身高", "cm"),
    "weight_kg": (2, 300, "体重", "kg"),
    "waist_cm": (30, 200, "腰围", "cm"),
    "self_care_score": (0, 100, "生活自理能力评分", "分"),
}


@dataclass(frozen=True)
class HealthCheckInput:
    resident_id: uuid.UUID
    check_date: date | None = None
    temperature_c: float | None = None
    pulse: int | None = None
    respiration: int | None = None
    sbp: int | None = None
    dbp: int | None = None
    height_cm: float | None = None
    weight_kg: float | None = None
    waist_cm: float | None = None
    fasting_glucose: float | None = None
    self_care_score: int | None = None
    conclusion: str | None = None
    guidance: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class HealthCheckView:
    id: uuid.UUID
    check_date: date
    sbp: int | None
    dbp: int | None
    bmi: float | None
    fasting_glucose: float | None
    conclusion: str | None


def record(uow: UnitOfWork, actor: Actor, data: HealthCheckInput, clock: Clock) -> HealthCheckView:
    access.require(actor, Permission.WRITE_CLINICAL)
    today = clock.today()
    on = data.check_date or today
    if on > today:
        raise InvalidInput("check_date", "体检日期不能晚于今天", "check date in the future")
    check_vitals(
        sbp=data.sbp,
        dbp=data.dbp,
        heart_rate=data.pulse,
        glucose_mmol=data.fasting_glucose,
        temperature_c=data.temperature_c,
    )
    for name, (low, high, label, unit) in _LIMITS.items():
        value = getattr(data, name)
        if value is not None:
            require_in_range(name, value, (low, high), label_zh=label, unit=unit)
    if len(data.conclusion or "") > 1000:
        raise InvalidInput("conclusion", "健康评价不能超过1000字", "conclusion too long")
    with uow:
        session = uow.session
        resident = access.get_resident(session, actor, data.resident_id)
        if on < resident.birth_date:
            raise InvalidInput("check_date", "体检日期早于出生日期", "check precedes birth")
        if actor.organization_id is None:
            raise InvalidInput("organization", "您的账号未关联机构", "the user has no organisation")
        bmi = (
            round(data.weight_kg / (data.height_cm / 100) ** 2, 1)
            if data.weight_kg and data.height_cm
            else None
        )
        check = HealthCheck(
            id=uuid.uuid4(),
            resident_id=resident.id,
            check_date=on,
            organization_id=actor.organization_id,
            practitioner_id=actor.practitioner_id,
            temperature_c=data.temperature_c,
            pulse=data.pulse,
            respiration=data.respiration,
            sbp=data.sbp,
            dbp=data.dbp,
            height_cm=data.height_cm,
            weight_kg=data.weight_kg,
            waist_cm=data.waist_cm,
            bmi=bmi,
            fasting_glucose=data.fasting_glucose,
            self_care_score=data.self_care_score,
            conclusion=(data.conclusion or "").strip() or None,
            guidance=[g for g in data.guidance if g],
            recorded_at=clock.now(),
        )
        session.add(check)
        session.flush()
        tasks.close_open_tasks(session, resident.id, (TaskKind.ANNUAL_HEALTH_CHECK,), clock)
        audit.record(
            session,
            actor,
            AuditAction.CREATE,
            "health_check",
            at=clock.now(),
            entity_id=check.id,
            resident_id=resident.id,
        )
        uow.commit()
        return _view(check)


def _view(c: HealthCheck) -> HealthCheckView:
    return HealthCheckView(c.id, c.check_date, c.sbp, c.dbp, c.bmi, c.fasting_glucose, c.conclusion)


def of_resident(session: Session, resident_id: uuid.UUID) -> list[HealthCheckView]:
    """In the caller's transaction, once the caller has checked the actor reaches the resident."""
    rows = session.scalars(
        select(HealthCheck)
        .where(HealthCheck.resident_id == resident_id)
        .order_by(HealthCheck.check_date.desc())
        .limit(10)
    ).all()
    return [_view(c) for c in rows]
