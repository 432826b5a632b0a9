"""Programme enrolment and its status history."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import Enrolment, EnrolmentStatusChange
from manbing.domain.audit import AuditAction
from manbing.domain.errors import Conflict, InvalidInput
from manbing.domain.organisations import Permission
from manbing.domain.programmes import EnrolmentStatus, Programme, check_transition
from manbing.domain.tasks import TaskKind
from manbing.services import access, audit, follow_up_schedule, tasks
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork


def enrol(
    uow: UnitOfWork,
    actor: Actor,
    resident_id: uuid.UUID,
    programme: Programme,
    clock: Clock,
    *,
    diagnosed_on: date | None = None,
    diagnosis_icd10: str | None = None,
    team_id: uuid.UUID | None = None,
) -> uuid.UUID:
    with uow:
        enrolment = enrol_in(
            uow.session,
            actor,
            resident_id,
            programme,
            clock,
            diagnosed_on=diagnosed_on,
            diagnosis_icd10=diagnosis_icd10,
            team_id=team_id,
        )
        uow.commit()
        return enrolment.id


def enrol_in(
    session: Session,
    actor: Actor,
    resident_id: uuid.UUID,
    programme: Programme,
    clock: Clock,
    *,
    diagnosed_on: date | None = None,
    diagnosis_icd10: str | None = None,
    team_id: uuid.UUID | None = None,
) -> Enrolment:
    """``enrol`` inside the caller's transaction (e.g. a FHIR transaction Bundle)."""
    access.require(actor, Permission.WRITE_CLINICAL)
    today = clock.today()
    if diagnosed_on and diagnosed_on > today:
        raise InvalidInput(
            "diagnosed_on", "确诊日期不能晚于今天", "diagnosis date is in the future"
        )
    resident = access.get_resident(session, actor, resident_id)
    if diagnosed_on and diagnosed_on < resident.birth_date:
        raise InvalidInput("diagnosed_on", "确诊日期早于出生日期", "diagnosis date precedes birth")
    existing = session.scalars(
        select(Enrolment).where(
            Enrolment.resident_id == resident_id, Enrolment.programme == programme
        )
    ).one_or_none()
    if existing is not None and existing.status is EnrolmentStatus.ACTIVE:
        raise Conflict(
            f"该居民已纳入{programme.label_zh}管理", f"already enrolled in {programme.value}"
        )
    if existing is not None:
        _change(existing, EnrolmentStatus.ACTIVE, today, actor, "重新纳入管理")
        existing.managing_org_id = resident.managing_org_id
        enrolment = existing
    else:
        enrolment = Enrolment(
            id=uuid.uuid4(),
            resident_id=resident_id,
            programme=programme,
            diagnosed_on=diagnosed_on,
            diagnosed_org_id=actor.organization_id,
            diagnosis_icd10=diagnosis_icd10,
            enrolled_on=today,
            managing_org_id=resident.managing_org_id,
            team_id=team_id,
            status=EnrolmentStatus.ACTIVE,
            status_date=today,
        )
        enrolment.history.append(
            EnrolmentStatusChange(
                to_status=EnrolmentStatus.ACTIVE,
                effective_on=today,
                reason="纳入管理",
                changed_by_id=actor.user_id,
            )
        )
        session.add(enrolment)
    session.flush()
    follow_up_schedule.refresh(session, [resident_id])
    if programme in (Programme.HYPERTENSION, Programme.T2DM):
        # the screening positive is confirmed by the enrolment
        tasks.close_open_tasks(session, resident_id, (TaskKind.SCREENING_CONFIRMATION,), clock)
    audit.record(
        session,
        actor,
        AuditAction.CREATE,
        "enrolment",
        at=clock.now(),
        entity_id=enrolment.id,
        resident_id=resident_id,
        detail={"programme": programme.value},
    )
    return enrolment


def change_status(
    uow: UnitOfWork,
    actor: Actor,
    enrolment_id: uuid.UUID,
    new_status: EnrolmentStatus,
    clock: Clock,
    *,
    reason: str | None = None,
) -> None:
    with uow:
        change_status_in(uow.session, actor, enrolment_id, new_status, clock, reason=reason)
        uow.commit()


def change_status_in(
    session: Session,
    actor: Actor,
    enrolment_id: uuid.UUID,
    new_status: EnrolmentStatus,
    clock: Clock,
    *,
    reason: str | None = None,
) -> Enrolment:
    access.require(actor, Permission.WRITE_CLINICAL)
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise InvalidInput("enrolment_id", "未找到该管理记录", "enrolment not found")
    access.get_resident(session, actor, enrolment.resident_id)
    _change(enrolment, new_status, clock.today(), actor, reason)
    follow_up_schedule.refresh(session, [enrolment.resident_id])
    audit.record(
        session,
        actor,
        AuditAction.UPDATE,
        "enrolment",
        at=clock.now(),
        entity_id=enrolment.id,
        resident_id=enrolment.resident_id,
        detail={"status": new_status.value},
    )
    return enrolment


def _change(
    enrolment: Enrolment, new: EnrolmentStatus, on: date, actor: Actor, reason: str | None
) -> None:
    check_transition(enrolment.status, new)
    enrolment.history.append(
        EnrolmentStatusChange(
            from_status=enrolment.status,
            to_status=new,
            effective_on=on,
            reason=reason,
            changed_by_id=actor.user_id,
        )
    )
    enrolment.status = new
    enrolment.status_date = on
