"""Two-way referral (双向转诊): up-referral from primary care, the hospital's answer and return.

The community doctor creates an up-referral (urgency, reasons, target hospital and department);
the hospital specialist accepts it and returns the patient with a plan, which stores a down-referral
and opens a REFERRAL_RESULT task for the managing station; the community doctor acknowledges the
result, which closes the referral. Every referral has its active follow-up within 2 weeks as a task.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from manbing.db.models import (
    FollowUp,
    Organization,
    Referral,
    ReferralEvent,
    Resident,
    WorklistTask,
)
from manbing.domain.audit import AuditAction
from manbing.domain.errors import Forbidden, InvalidInput, NotFound
from manbing.domain.organisations import OrgType, Permission
from manbing.domain.referrals import Direction, ReferralStatus, Urgency, check_transition
from manbing.domain.residents import mask_name
from manbing.domain.rules import referral_followup_date
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.services import access, audit, tasks
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

OPEN_UP = (ReferralStatus.REQUESTED, ReferralStatus.ACCEPTED)


@dataclass(frozen=True)
class NewReferral:
    resident_id: uuid.UUID
    to_org_id: uuid.UUID
    urgency: Urgency
    reasons: tuple[str, ...] = ()
    reason_text: str | None = None
    to_department: str | None = None
    follow_up_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ReferralView:
    id: uuid.UUID
    resident_id: uuid.UUID
    resident_name: str
    direction: Direction
    urgency: Urgency
    status: ReferralStatus
    status_label: str
    reasons: list[str]
    reason_text: str | None
    from_org: str
    to_org: str
    to_department: str | None
    plan: str | None
    created_at: datetime
    follow_up_id: uuid.UUID | None


@dataclass(frozen=True)
class HospitalView:
    id: uuid.UUID
    name: str


def hospitals(uow: UnitOfWork, actor: Actor) -> list[HospitalView]:
    """Hospitals a referral may go to (not personal data: every clinician sees them)."""
    access.require(actor, Permission.WRITE_CLINICAL)
    with uow:
        rows = uow.session.scalars(
            select(Organization)
            .where(Organization.type == OrgType.HOSPITAL, Organization.active.is_(True))
            .order_by(Organization.code)
        ).all()
        return [HospitalView(o.id, o.name) for o in rows]


def _names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return {
        o.id: o.name for o in session.scalars(select(Organization).where(Organization.id.in_(ids)))
    }


def _views(session: Session, actor: Actor, rows: list[Referral]) -> list[ReferralView]:
    if not rows:
        return []
    orgs = _names(session, {r.from_org_id for r in rows} | {r.to_org_id for r in rows})
    people = {
        r.id: r.name
        for r in session.scalars(
            select(Resident).where(Resident.id.in_({x.resident_id for x in rows}))
        )
    }
    unmasked = actor.can(Permission.SEE_UNMASKED_PII)
    return [
        ReferralView(
            id=r.id,
            resident_id=r.resident_id,
            resident_name=people.get(r.resident_id, "")
            if unmasked
            else mask_name(people.get(r.resident_id, "")),
            direction=r.direction,
            urgency=r.urgency,
            status=r.status,
            status_label=r.status.label_zh,
            reasons=list(r.reasons),
            reason_text=r.reason_text,
            from_org=orgs.get(r.from_org_id, ""),
            to_org=orgs.get(r.to_org_id, ""),
            to_department=r.to_department,
            plan=r.plan,
            created_at=r.created_at,
            follow_up_id=r.follow_up_id,
        )
        for r in rows
    ]


def _event(
    referral: Referral, new: ReferralStatus, actor: Actor, at: datetime, note: str | None
) -> None:
    check_transition(referral.status, new)
    referral.history.append(
        ReferralEvent(
            id=uuid.uuid4(),
            from_status=referral.status,
            to_status=new,
            note=note,
            actor_user_id=actor.user_id,
            occurred_at=at,
        )
    )
    referral.status = new


def create_up(uow: UnitOfWork, actor: Actor, data: NewReferral, clock: Clock) -> ReferralView:
    """Refer a resident of the actor's area to a hospital department."""
    with uow:
        referral = create_up_in(uow.session, actor, data, clock)
        [result] = _views(uow.session, actor, [referral])
        uow.commit()
        return result


def create_up_in(session: Session, actor: Actor, data: NewReferral, clock: Clock) -> Referral:
    """``create_up`` inside the caller's transaction (e.g. a FHIR transaction Bundle)."""
    access.require(actor, Permission.WRITE_CLINICAL)
    if not data.reasons and not (data.reason_text or "").strip():
        raise InvalidInput("reason_text", "请填写转诊原因", "give at least one referral reason")
    resident = access.get_resident(session, actor, data.resident_id)
    hospital = session.get(Organization, data.to_org_id)
    if hospital is None or hospital.type is not OrgType.HOSPITAL:
        raise InvalidInput("to_org_id", "请选择转入医院", "the target must be a hospital")
    if actor.organization_id is None:
        raise Forbidden("您的账号未关联机构", "the user has no organisation")
    if data.follow_up_id is not None:
        visit = session.get(FollowUp, data.follow_up_id)
        if visit is None or visit.resident_id != resident.id:
            raise InvalidInput("follow_up_id", "随访记录不存在", "unknown follow-up")
    now = clock.now()
    referral = Referral(
        id=uuid.uuid4(),
        resident_id=resident.id,
        direction=Direction.UP,
        urgency=data.urgency,
        reasons=list(data.reasons),
        reason_text=(data.reason_text or "").strip() or None,
        from_org_id=actor.organization_id,
        to_org_id=hospital.id,
        to_department=(data.to_department or "").strip() or None,
        status=ReferralStatus.REQUESTED,
        requested_by_id=actor.practitioner_id,
        follow_up_id=data.follow_up_id,
        created_at=now,
    )
    referral.history.append(
        ReferralEvent(
            id=uuid.uuid4(),
            to_status=ReferralStatus.REQUESTED,
            actor_user_id=actor.user_id,
            occurred_at=now,
        )
    )
    session.add(referral)
    session.flush()
    if data.follow_up_id is not None:
        visit = session.get(FollowUp, data.follow_up_id)
        assert visit is not None
        visit.referral_org_dept = f"{hospital.name} {referral.to_department or ''}".strip()
    _ensure_post_referral_task(session, resident, referral, clock.today())
    audit.record(
        session,
        actor,
        AuditAction.CREATE,
        "referral",
        at=now,
        entity_id=referral.id,
        resident_id=resident.id,
        detail={"urgency": data.urgency.value, "to_org": str(hospital.id)},
    )
    return referral


def _ensure_post_referral_task(
    session: Session, resident: Resident, referral: Referral, today: date
) -> None:
    """The active follow-up within 2 weeks (the follow-up that prompted it may have opened it)."""
    already = session.scalars(
        select(WorklistTask.id).where(
            WorklistTask.resident_id == resident.id,
            WorklistTask.kind == TaskKind.POST_REFERRAL_FOLLOW_UP,
            WorklistTask.status == TaskStatus.OPEN,
        )
    ).first()
    if already is not None:
        return
    urgent = referral.urgency is Urgency.URGENT
    tasks.open_task(
        session,
        tasks.TaskSpec(
            resident_id=resident.id,
            kind=TaskKind.POST_REFERRAL_FOLLOW_UP,
            due_date=referral_followup_date(today),
            organization_id=resident.managing_org_id,
            title=f"{resident.name}：转诊后2周随访",
            source_type="referral",
            source_id=str(referral.id),
            priority=3 if urgent else 2,
            detail={"urgent": urgent},
        ),
    )


def _scoped(session: Session, actor: Actor, referral_id: uuid.UUID) -> Referral:
    """A referral the actor may see: received by their hospital, or about a resident in scope."""
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound("未找到该转诊单", "referral not found")
    if actor.can(Permission.RECEIVE_REFERRALS):
        if (
            referral.to_org_id == actor.organization_id
            or referral.from_org_id == actor.organization_id
        ):
            return referral
        raise NotFound("未找到该转诊单", "referral not found")
    access.get_resident(session, actor, referral.resident_id)
    return referral


def get(uow: UnitOfWork, actor: Actor, referral_id: uuid.UUID, clock: Clock) -> ReferralView:
    access.require(actor, Permission.READ_RESIDENTS)
    with uow:
        referral = _scoped(uow.session, actor, referral_id)
        audit.record(
            uow.session,
            actor,
            AuditAction.READ,
            "referral",
            at=clock.now(),
            entity_id=referral.id,
            resident_id=referral.resident_id,
        )
        [result] = _views(uow.session, actor, [referral])
        uow.commit()
        return result


def inbox(uow: UnitOfWork, actor: Actor, *, include_done: bool = False) -> list[ReferralView]:
    """The hospital's received up-referrals: waiting and accepted first (urgent on top)."""
    access.require(actor, Permission.RECEIVE_REFERRALS)
    if actor.organization_id is None:
        return []
    with uow:
        stmt = select(Referral).where(
            Referral.to_org_id == actor.organization_id, Referral.direction == Direction.UP
        )
        if not include_done:
            stmt = stmt.where(Referral.status.in_(OPEN_UP))
        rows = list(uow.session.scalars(stmt.order_by(Referral.created_at.desc()).limit(200)).all())
        rows.sort(
            key=lambda r: (
                r.urgency is not Urgency.URGENT,
                r.status is not ReferralStatus.REQUESTED,
            )
        )
        return _views(uow.session, actor, rows)


def for_resident(uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID) -> list[ReferralView]:
    access.require(actor, Permission.READ_RESIDENTS)
    with uow:
        access.get_resident(uow.session, actor, resident_id)
        return of_resident(uow.session, actor, resident_id)


def of_resident(session: Session, actor: Actor, resident_id: uuid.UUID) -> list[ReferralView]:
    """In the caller's transaction, once the caller has checked the actor reaches the resident."""
    stmt = select(Referral).where(Referral.resident_id == resident_id)
    if actor.can(Permission.RECEIVE_REFERRALS):
        stmt = stmt.where(
            or_(
                Referral.to_org_id == actor.organization_id,
                Referral.from_org_id == actor.organization_id,
            )
        )
    rows = list(session.scalars(stmt.order_by(Referral.created_at.desc())).all())
    return _views(session, actor, rows)


def accept(
    uow: UnitOfWork, actor: Actor, referral_id: uuid.UUID, clock: Clock, note: str | None = None
) -> ReferralView:
    with uow:
        referral = accept_in(uow.session, actor, referral_id, clock, note)
        [result] = _views(uow.session, actor, [referral])
        uow.commit()
        return result


def accept_in(
    session: Session, actor: Actor, referral_id: uuid.UUID, clock: Clock, note: str | None = None
) -> Referral:
    access.require(actor, Permission.RECEIVE_REFERRALS)
    referral = _received(session, actor, referral_id)
    _event(referral, ReferralStatus.ACCEPTED, actor, clock.now(), note)
    referral.handled_by_id = actor.practitioner_id
    _audit_update(session, actor, referral, clock, "accepted")
    return referral


def return_with_plan(
    uow: UnitOfWork, actor: Actor, referral_id: uuid.UUID, plan: str, clock: Clock
) -> ReferralView:
    """Answer and send the patient back (下转) with a plan; the station gets a result task."""
    with uow:
        referral = return_with_plan_in(uow.session, actor, referral_id, plan, clock)
        [result] = _views(uow.session, actor, [referral])
        uow.commit()
        return result


def return_with_plan_in(
    session: Session, actor: Actor, referral_id: uuid.UUID, plan: str, clock: Clock
) -> Referral:
    access.require(actor, Permission.RECEIVE_REFERRALS)
    text = (plan or "").strip()
    if not text:
        raise InvalidInput("plan", "请填写回转治疗方案", "the return plan is required")
    if len(text) > 2000:
        raise InvalidInput(
            "plan", "治疗方案不能超过2000字", "the plan is longer than 2000 characters"
        )
    referral = _received(session, actor, referral_id)
    now = clock.now()
    if referral.status is ReferralStatus.REQUESTED:
        _event(referral, ReferralStatus.ACCEPTED, actor, now, None)
    _event(referral, ReferralStatus.RETURNED, actor, now, text)
    referral.plan = text
    referral.handled_by_id = actor.practitioner_id
    resident = session.get(Resident, referral.resident_id)
    assert resident is not None
    down = Referral(
        id=uuid.uuid4(),
        resident_id=resident.id,
        direction=Direction.DOWN,
        urgency=Urgency.ROUTINE,
        reasons=[],
        reason_text="回转社区继续管理",
        from_org_id=referral.to_org_id,
        to_org_id=resident.managing_org_id,
        status=ReferralStatus.RETURNED,
        handled_by_id=actor.practitioner_id,
        parent_id=referral.id,
        plan=text,
        created_at=now,
    )
    down.history.append(
        ReferralEvent(
            id=uuid.uuid4(),
            to_status=ReferralStatus.RETURNED,
            note=text,
            actor_user_id=actor.user_id,
            occurred_at=now,
        )
    )
    session.add(down)
    tasks.open_task(
        session,
        tasks.TaskSpec(
            resident_id=resident.id,
            kind=TaskKind.REFERRAL_RESULT,
            due_date=clock.today(),
            organization_id=resident.managing_org_id,
            title=f"{resident.name}：医院已回转，请查看方案",
            source_type="referral",
            source_id=str(referral.id),
            priority=2,
            detail={"referral_id": str(referral.id)},
        ),
    )
    _audit_update(session, actor, referral, clock, "returned")
    return referral


def acknowledge(
    uow: UnitOfWork, actor: Actor, referral_id: uuid.UUID, clock: Clock
) -> ReferralView:
    """The referring side has read the hospital's answer: close the referral and its task."""
    with uow:
        referral = acknowledge_in(uow.session, actor, referral_id, clock)
        [result] = _views(uow.session, actor, [referral])
        uow.commit()
        return result


def acknowledge_in(
    session: Session, actor: Actor, referral_id: uuid.UUID, clock: Clock
) -> Referral:
    access.require(actor, Permission.WRITE_CLINICAL)
    referral = _scoped(session, actor, referral_id)
    if actor.can(Permission.RECEIVE_REFERRALS):
        raise Forbidden("只有转出机构可以确认转诊结果", "only the referring side acknowledges")
    _event(referral, ReferralStatus.CLOSED, actor, clock.now(), None)
    for task in session.scalars(
        select(WorklistTask).where(
            WorklistTask.kind == TaskKind.REFERRAL_RESULT,
            WorklistTask.source_type == "referral",
            WorklistTask.source_id == str(referral.id),
            WorklistTask.status == TaskStatus.OPEN,
        )
    ):
        task.status = TaskStatus.DONE
        task.completed_at = clock.now()
    _audit_update(session, actor, referral, clock, "closed")
    return referral


def _received(session: Session, actor: Actor, referral_id: uuid.UUID) -> Referral:
    referral = session.get(Referral, referral_id)
    if (
        referral is None
        or referral.to_org_id != actor.organization_id
        or referral.direction is not Direction.UP
    ):
        raise NotFound("未找到该转诊单", "referral not found")
    return referral


def _audit_update(
    session: Session, actor: Actor, referral: Referral, clock: Clock, what: str
) -> None:
    audit.record(
        session,
        actor,
        AuditAction.UPDATE,
        "referral",
        at=clock.now(),
        entity_id=referral.id,
        resident_id=referral.resident_id,
        detail={"status": what},
    )
