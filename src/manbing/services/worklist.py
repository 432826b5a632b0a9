"""工作台: what a family doctor must do today, within the actor's organisation subtree.

Follow-ups due this week and overdue come from each managed patient's follow-up schedule, kept on
the resident by services/follow_up_schedule.py (due on the date the latest visit scheduled or, with
no visit yet, the enrolment date: ``domain.rules.follow_up_due_on``); the other sections come from
open worklist tasks, referrals and contracts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, String, cast, func, select
from sqlalchemy.orm import Session

from manbing.db.models import (
    Contract,
    Enrolment,
    FollowUp,
    Organization,
    Referral,
    Resident,
    WorklistTask,
)
from manbing.domain.audit import AuditAction
from manbing.domain.contracts import EXPIRY_NOTICE_DAYS, ContractStatus
from manbing.domain.errors import Forbidden
from manbing.domain.organisations import Permission, Scope
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.domain.referrals import Direction, ReferralStatus
from manbing.domain.residents import ResidentStatus, age_on, mask_name
from manbing.domain.rules import FollowupClass
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.services import access, audit
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

SHOWN_TASKS = (
    TaskKind.URGENT_ALERT,
    TaskKind.POST_REFERRAL_FOLLOW_UP,
    TaskKind.SCREENING_CONFIRMATION,
)
SECTION_LIMIT = 200


class DueSort(StrEnum):
    OVERDUE = "overdue"  # most days overdue first
    RISK = "risk"  # worst last classification, then highest SBP


@dataclass(frozen=True)
class DueItem:
    resident_id: uuid.UUID
    name: str
    age: int
    programmes: list[str]
    last_visit: date | None
    classification: str | None
    classification_label: str | None
    last_sbp: int | None
    last_dbp: int | None
    last_fpg: float | None
    due_date: date
    days_overdue: int
    risk: int


@dataclass(frozen=True)
class TaskItem:
    id: uuid.UUID
    resident_id: uuid.UUID
    name: str
    kind: TaskKind
    kind_label: str
    title: str
    due_date: date
    priority: int


@dataclass(frozen=True)
class ReferralItem:
    id: uuid.UUID
    resident_id: uuid.UUID
    name: str
    urgency: str
    status: ReferralStatus
    status_label: str
    to_org: str
    to_department: str | None
    plan: str | None
    created: date


@dataclass(frozen=True)
class ContractItem:
    id: uuid.UUID
    resident_id: uuid.UUID
    name: str
    end_date: date
    days_left: int


@dataclass
class Worklist:
    today: date
    week_end: date
    due: list[DueItem] = field(default_factory=list)
    uncontrolled: list[DueItem] = field(default_factory=list)
    alerts: list[TaskItem] = field(default_factory=list)
    post_referral: list[TaskItem] = field(default_factory=list)
    referrals_sent: list[ReferralItem] = field(default_factory=list)
    referrals_returned: list[ReferralItem] = field(default_factory=list)
    screening: list[TaskItem] = field(default_factory=list)
    contracts: list[ContractItem] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "overdue": sum(1 for d in self.due if d.days_overdue > 0),
            "due_this_week": sum(1 for d in self.due if d.days_overdue <= 0),
            "uncontrolled": len(self.uncontrolled),
            "alerts": len(self.alerts),
            "post_referral": len(self.post_referral),
            "referrals_sent": len(self.referrals_sent),
            "referrals_returned": len(self.referrals_returned),
            "screening": len(self.screening),
            "contracts": len(self.contracts),
        }


def _risk(classification: str | None, sbp: int | None, overdue: int) -> int:
    """A sort key: class 4 > 3 > 2 > 1, then SBP, then lateness (higher is riskier)."""
    severity = FollowupClass(classification).severity + 1 if classification else 0
    return severity * 1000 + min(sbp or 0, 299) + min(max(overdue, 0), 365) // 30


def build(
    uow: UnitOfWork, actor: Actor, clock: Clock, *, sort: DueSort = DueSort.OVERDUE
) -> Worklist:
    access.require(actor, Permission.WRITE_CLINICAL)
    if actor.scope is not Scope.ORG_SUBTREE:
        raise Forbidden("工作台仅供基层医疗机构人员使用", "the worklist is for primary-care staff")
    today = clock.today()
    work = Worklist(today=today, week_end=today + timedelta(days=6 - today.weekday()))
    with uow:
        session = uow.session
        in_scope = select(Resident.id).where(
            access.resident_filter(actor), Resident.status == ResidentStatus.ACTIVE
        )
        unmasked = actor.can(Permission.SEE_UNMASKED_PII)
        _follow_ups(session, work, access.resident_filter(actor), today, unmasked)
        key = (
            (lambda d: (-d.days_overdue, -d.risk))
            if sort is DueSort.OVERDUE
            else (lambda d: (-d.risk, -d.days_overdue))
        )
        work.due.sort(key=key)
        work.uncontrolled.sort(key=lambda d: (-d.risk, -d.days_overdue))
        tasks = _tasks(session, in_scope, SHOWN_TASKS, unmasked)
        work.alerts = tasks[TaskKind.URGENT_ALERT]
        work.post_referral = tasks[TaskKind.POST_REFERRAL_FOLLOW_UP]
        work.screening = tasks[TaskKind.SCREENING_CONFIRMATION]
        work.referrals_sent = _referrals(
            session, actor, in_scope, (ReferralStatus.REQUESTED, ReferralStatus.ACCEPTED), unmasked
        )
        work.referrals_returned = _referrals(
            session, actor, in_scope, (ReferralStatus.RETURNED, ReferralStatus.REJECTED), unmasked
        )
        work.contracts = _contracts(session, in_scope, today, unmasked)
        audit.record(
            session,
            actor,
            AuditAction.READ,
            "worklist",
            at=clock.now(),
            detail=work.counts,
        )
        uow.commit()
    return work


def _name(name: str, unmasked: bool) -> str:
    return name if unmasked else mask_name(name)


def _follow_ups(
    session: Session,
    work: Worklist,
    in_scope: ColumnElement[bool],
    today: date,
    unmasked: bool,
) -> None:
    """The due and the uncontrolled patients, each a page in due order, read through the
    schedule stored on the resident (services/follow_up_schedule.py) and the
    ``(managing_org_id, status, follow_up_due_on)`` index."""
    due = _due_rows(session, in_scope, Resident.follow_up_due_on <= work.week_end)
    uncontrolled = _due_rows(
        session,
        in_scope,
        Resident.follow_up_due_on.is_not(None),
        Resident.last_follow_up_class.in_(_UNCONTROLLED),
    )
    items: dict[uuid.UUID, DueItem] = {}
    for rows, section in ((due, work.due), (uncontrolled, work.uncontrolled)):
        for r in rows:
            item = items.get(r.id)
            if item is None:
                item = items[r.id] = _due_item(r, today, unmasked)
            section.append(item)


_UNCONTROLLED = [c.value for c in FollowupClass if c is not FollowupClass.SATISFIED]


def _due_rows(
    session: Session, in_scope: ColumnElement[bool], *conditions: ColumnElement[bool]
) -> Sequence[Row[Any]]:
    page = (
        select(
            Resident.id,
            Resident.name,
            Resident.birth_date,
            Resident.follow_up_due_on,
            Resident.last_follow_up_id,
        )
        .where(in_scope, Resident.status == ResidentStatus.ACTIVE, *conditions)
        .order_by(Resident.follow_up_due_on, Resident.id)
        .limit(SECTION_LIMIT)
        .subquery()
    )
    # the active programmes of each listed patient, read with the row: a separate query with
    # hundreds of bound ids cost more than the main query (drivers do not cache such statements)
    programmes = (
        select(func.aggregate_strings(cast(Enrolment.programme, String), ","))
        .where(Enrolment.resident_id == page.c.id, Enrolment.status == EnrolmentStatus.ACTIVE)
        .scalar_subquery()
    )
    last = FollowUp
    return session.execute(
        select(
            page.c.id,
            page.c.name,
            page.c.birth_date,
            page.c.follow_up_due_on,
            programmes.label("programmes"),
            last.visit_date,
            last.classification,
            last.sbp,
            last.dbp,
            last.fasting_glucose,
        )
        .select_from(page)
        .outerjoin(last, last.id == page.c.last_follow_up_id)
        .order_by(page.c.follow_up_due_on, page.c.id)
    ).all()


_CLASS_LABELS = {c.value: c.label_zh for c in FollowupClass}


def _due_item(r: Row[Any], today: date, unmasked: bool) -> DueItem:
    due: date = r.follow_up_due_on
    overdue = (today - due).days  # > 0 exactly when domain.rules.is_overdue(due, today)
    return DueItem(
        resident_id=r.id,
        name=_name(r.name, unmasked),
        age=age_on(r.birth_date, today),
        programmes=_programme_list(r.programmes),
        last_visit=r.visit_date,
        classification=r.classification,
        classification_label=_CLASS_LABELS[r.classification] if r.classification else None,
        last_sbp=r.sbp,
        last_dbp=r.dbp,
        last_fpg=r.fasting_glucose,
        due_date=due,
        days_overdue=overdue,
        risk=_risk(r.classification, r.sbp, overdue),
    )


_PROGRAMME_ORDER = tuple(p.value for p in Programme)  # iterating the enum is slow, per row


def _programme_list(joined: str | None) -> list[str]:
    """The aggregated programme values in the order the platform declares its programmes."""
    if not joined:
        return []
    found = set(joined.split(","))
    return [value for value in _PROGRAMME_ORDER if value in found]


def _tasks(
    session: Session, in_scope: Select[uuid.UUID], kinds: tuple[TaskKind, ...], unmasked: bool
) -> dict[TaskKind, list[TaskItem]]:
    """Open tasks of each kind, most urgent first, at most SECTION_LIMIT per kind, in one query."""
    ranked = (
        select(
            WorklistTask.id,
            WorklistTask.resident_id,
            WorklistTask.kind,
            WorklistTask.title,
            WorklistTask.due_date,
            WorklistTask.priority,
            func.row_number()
            .over(
                partition_by=WorklistTask.kind,
                order_by=(WorklistTask.priority.desc(), WorklistTask.due_date, WorklistTask.id),
            )
            .label("rank"),
        )
        .where(
            WorklistTask.kind.in_(kinds),
            WorklistTask.status == TaskStatus.OPEN,
            WorklistTask.resident_id.in_(in_scope),
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked, Resident.name)
        .join(Resident, Resident.id == ranked.c.resident_id)
        .where(ranked.c.rank <= SECTION_LIMIT)
        .order_by(ranked.c.kind, ranked.c.rank)
    ).all()
    found: dict[TaskKind, list[TaskItem]] = {kind: [] for kind in kinds}
    for r in rows:
        kind = TaskKind(r.kind)
        found[kind].append(
            TaskItem(
                id=r.id,
                resident_id=r.resident_id,
                name=_name(r.name, unmasked),
                kind=kind,
                kind_label=kind.label_zh,
                title=r.title if unmasked else kind.label_zh,
                due_date=r.due_date,
                priority=r.priority,
            )
        )
    return found


def _referrals(
    session: Session,
    actor: Actor,
    in_scope: Select[uuid.UUID],
    statuses: tuple[ReferralStatus, ...],
    unmasked: bool,
) -> list[ReferralItem]:
    sent_here = select(Organization.id).where(access.org_filter(actor))
    rows = session.execute(
        select(Referral, Resident.name)
        .join(Resident, Resident.id == Referral.resident_id)
        .where(
            Referral.direction == Direction.UP,
            Referral.status.in_(statuses),
            Referral.from_org_id.in_(sent_here),
            Referral.resident_id.in_(in_scope),
        )
        .order_by(Referral.created_at.desc())
        .limit(SECTION_LIMIT)
    ).all()
    orgs = {
        o.id: o.name
        for o in session.scalars(
            select(Organization).where(Organization.id.in_({r.to_org_id for r, _ in rows}))
        )
    }
    return [
        ReferralItem(
            id=r.id,
            resident_id=r.resident_id,
            name=_name(name, unmasked),
            urgency=r.urgency.value,
            status=r.status,
            status_label=r.status.label_zh,
            to_org=orgs.get(r.to_org_id, ""),
            to_department=r.to_department,
            plan=r.plan,
            created=r.created_at.date(),
        )
        for r, name in rows
    ]


def _contracts(
    session: Session, in_scope: Select[uuid.UUID], today: date, unmasked: bool
) -> list[ContractItem]:
    horizon = today + timedelta(days=EXPIRY_NOTICE_DAYS)
    rows = session.execute(
        select(Contract, Resident.name)
        .join(Resident, Resident.id == Contract.resident_id)
        .where(
            Contract.status == ContractStatus.ACTIVE,
            Contract.end_date >= today,
            Contract.end_date <= horizon,
            Contract.resident_id.in_(in_scope),
        )
        .order_by(Contract.end_date)
        .limit(SECTION_LIMIT)
    ).all()
    return [
        ContractItem(
            id=c.id,
            resident_id=c.resident_id,
            name=_name(name, unmasked),
            end_date=c.end_date,
            days_left=(c.end_date - today).days,
        )
        for c, name in rows
    ]
