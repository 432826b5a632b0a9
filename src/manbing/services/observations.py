"""Recording observations: plausibility at the edge of the platform, idempotent on a key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import Observation
from manbing.domain.audit import AuditAction
from manbing.domain.errors import InvalidInput
from manbing.domain.observations import (
    SPECS,
    ObservationKind,
    ObservationSource,
    check_blood_pressure,
    check_value,
)
from manbing.domain.organisations import Permission
from manbing.domain.rules.blood_pressure import is_urgent_bp
from manbing.domain.rules.glucose import is_urgent_glucose
from manbing.domain.tasks import TaskKind
from manbing.services import access, audit
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.tasks import TaskSpec, open_task
from manbing.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class NewObservation:
    resident_id: uuid.UUID
    kind: ObservationKind
    value: float | None
    effective_at: datetime
    source: ObservationSource
    value2: float | None = None  # diastolic for blood pressure
    value_code: str | None = None
    unit: str | None = None
    device_id: uuid.UUID | None = None
    idempotency_key: str | None = None


def validate(data: NewObservation) -> None:
    """Refuse implausible or incomplete values before anything is written."""
    if data.effective_at.tzinfo is None:
        raise InvalidInput("effective_at", "测量时间必须带时区", "effective_at needs a time zone")
    spec = SPECS[data.kind]
    if data.unit is not None and data.unit != spec.unit:
        raise InvalidInput("unit", f"单位应为{spec.unit}", f"unit must be {spec.unit}")
    if data.kind is ObservationKind.SMOKING:
        if not data.value_code:
            raise InvalidInput("value_code", "请填写吸烟状况", "smoking status is required")
        return
    if data.value is None:
        raise InvalidInput("value", "请填写测量值", "a value is required")
    if data.kind is ObservationKind.BLOOD_PRESSURE:
        if data.value2 is None:
            raise InvalidInput("dbp", "请填写舒张压", "diastolic pressure is required")
        check_blood_pressure(data.value, data.value2)
    else:
        check_value(data.kind, data.value)


def record(uow: UnitOfWork, actor: Actor, data: NewObservation, clock: Clock) -> uuid.UUID:
    """Store one observation; a repeated idempotency key returns the stored one's id."""
    access.require(actor, Permission.WRITE_CLINICAL)
    validate(data)
    if data.effective_at > clock.now():
        raise InvalidInput(
            "effective_at", "测量时间不能晚于当前时间", "effective_at is in the future"
        )
    with uow:
        session = uow.session
        resident = access.get_resident(session, actor, data.resident_id)
        if data.idempotency_key:
            existing = session.scalar(
                select(Observation.id).where(Observation.idempotency_key == data.idempotency_key)
            )
            if existing is not None:
                return existing
        spec = SPECS[data.kind]
        observation = Observation(
            id=uuid.uuid4(),
            resident_id=data.resident_id,
            kind=data.kind,
            loinc=spec.loinc,
            value=data.value,
            value2=data.value2,
            value_code=data.value_code,
            unit=spec.unit,
            unit_received=data.unit or spec.unit,
            effective_at=data.effective_at,
            received_at=clock.now(),
            source=data.source,
            device_id=data.device_id,
            organization_id=actor.organization_id,
            idempotency_key=data.idempotency_key,
        )
        session.add(observation)
        session.flush()
        _open_alert_if_critical(session, observation, resident.managing_org_id, clock)
        audit.record(
            session,
            actor,
            AuditAction.CREATE,
            "observation",
            at=clock.now(),
            entity_id=observation.id,
            resident_id=data.resident_id,
        )
        uow.commit()
        return observation.id


_GLUCOSE_KINDS = (
    ObservationKind.GLUCOSE_FASTING,
    ObservationKind.GLUCOSE_2H,
    ObservationKind.GLUCOSE_RANDOM,
)


def critical_title(kind: ObservationKind, value: float, value2: float | None) -> str | None:
    """The worklist title of a critical reading (the urgent-referral thresholds), or ``None``."""
    if kind is ObservationKind.BLOOD_PRESSURE and is_urgent_bp(value, value2):
        return f"血压危急值 {value:g}/{value2:g} mmHg" if value2 is not None else None
    if kind in _GLUCOSE_KINDS and is_urgent_glucose(value):
        return f"血糖危急值 {value:g} mmol/L"
    return None


def _open_alert_if_critical(
    session: Session, observation: Observation, organization_id: uuid.UUID, clock: Clock
) -> None:
    """A critical clinic or lab reading becomes an urgent task on the care team's worklist."""
    if observation.value is None:
        return
    title = critical_title(observation.kind, observation.value, observation.value2)
    if title is None:
        return
    open_task(
        session,
        TaskSpec(
            resident_id=observation.resident_id,
            kind=TaskKind.URGENT_ALERT,
            due_date=clock.today(),
            organization_id=organization_id,
            title=f"{title}（{_SOURCE_ZH[observation.source]}）",
            source_type="observation",
            source_id=str(observation.id),
            priority=100,
            detail={
                "kind": observation.kind.value,
                "value": observation.value,
                "value2": observation.value2,
                "source": observation.source.value,
            },
        ),
    )


_SOURCE_ZH = {
    ObservationSource.CLINIC: "门诊测量",
    ObservationSource.HOME_DEVICE: "居家设备",
    ObservationSource.LAB: "检验",
    ObservationSource.IMPORT: "导入",
}
