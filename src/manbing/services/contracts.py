"""Family-doctor contracts (签约): sign a resident to a team with a service package, renew, list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import Contract, Organization, Resident, ServicePackage, Team, WorklistTask
from manbing.domain.audit import AuditAction
from manbing.domain.contracts import (
    EXPIRY_NOTICE_DAYS,
    ContractStatus,
    check_period,
    default_end,
)
from manbing.domain.errors import Conflict, InvalidInput, NotFound
from manbing.domain.organisations import Permission
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.services import access, audit
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

STANDARD_PACKAGES = (
    ("BASIC", "基础服务包", "国家基本公共卫生服务项目、健康咨询", 0),
    ("CHRONIC", "慢病个性化服务包", "高血压、糖尿病规范管理，家庭自测设备指导，优先转诊", 12000),
)


@dataclass(frozen=True)
class Option:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class ContractView:
    id: uuid.UUID
    resident_id: uuid.UUID
    team: str
    package: str
    start_date: date
    end_date: date
    status: ContractStatus


def ensure_standard_packages(session: Session) -> None:
    """Create the two standard service packages once (the caller commits)."""
    have = set(session.scalars(select(ServicePackage.code)))
    for code, name, description, fee in STANDARD_PACKAGES:
        if code not in have:
            session.add(
                ServicePackage(
                    id=uuid.uuid4(),
                    code=code,
                    name=name,
                    description=description,
                    annual_fee_fen=fee,
                )
            )
    session.flush()


def options(uow: UnitOfWork, actor: Actor) -> tuple[list[Option], list[Option]]:
    """The teams of the actor's organisation subtree and the active service packages."""
    with uow:
        return options_in(uow.session, actor)


def options_in(session: Session, actor: Actor) -> tuple[list[Option], list[Option]]:
    """``options`` in the caller's transaction."""
    access.require(actor, Permission.WRITE_CLINICAL)
    teams = session.scalars(
        select(Team)
        .join(Organization, Organization.id == Team.organization_id)
        .where(access.org_filter(actor), Team.active.is_(True))
        .order_by(Team.name)
    ).all()
    packages = session.scalars(
        select(ServicePackage).where(ServicePackage.active.is_(True)).order_by(ServicePackage.code)
    ).all()
    return [Option(t.id, t.name) for t in teams], [Option(p.id, p.name) for p in packages]


def _view(session: Session, c: Contract) -> ContractView:
    team = session.get(Team, c.team_id)
    package = session.get(ServicePackage, c.package_id)
    return ContractView(
        c.id,
        c.resident_id,
        team.name if team else "",
        package.name if package else "",
        c.start_date,
        c.end_date,
        c.status,
    )


def sign(
    uow: UnitOfWork,
    actor: Actor,
    resident_id: uuid.UUID,
    team_id: uuid.UUID,
    package_id: uuid.UUID,
    clock: Clock,
    *,
    start: date | None = None,
    end: date | None = None,
) -> ContractView:
    access.require(actor, Permission.WRITE_CLINICAL)
    today = clock.today()
    start = start or today
    if abs((start - today).days) > 366:
        raise InvalidInput(
            "start_date", "签约开始日期应在今天前后一年内", "start must be within a year of today"
        )
    end = end or default_end(start)
    check_period(start, end)
    with uow:
        session = uow.session
        resident = access.get_resident(session, actor, resident_id)
        team = session.scalars(
            select(Team)
            .join(Organization, Organization.id == Team.organization_id)
            .where(Team.id == team_id, access.org_filter(actor))
        ).one_or_none()
        if team is None:
            raise InvalidInput(
                "team_id", "请选择本机构的家庭医生团队", "team not found or out of scope"
            )
        package = session.get(ServicePackage, package_id)
        if package is None or not package.active:
            raise InvalidInput("package_id", "请选择服务包", "service package not found")
        current = session.scalars(
            select(Contract).where(
                Contract.resident_id == resident.id,
                Contract.status == ContractStatus.ACTIVE,
                Contract.end_date >= start,
            )
        ).first()
        if current is not None:
            raise Conflict(
                "该居民已有有效签约，请到期前续约", "the resident has an active contract"
            )
        contract = Contract(
            id=uuid.uuid4(),
            resident_id=resident.id,
            team_id=team.id,
            package_id=package.id,
            start_date=start,
            end_date=end,
            status=ContractStatus.ACTIVE,
            signed_by_id=actor.practitioner_id,
            signed_at=clock.now(),
        )
        session.add(contract)
        session.flush()
        _audit(session, actor, contract, clock.now(), "signed")
        result = _view(session, contract)
        uow.commit()
        return result


def renew(uow: UnitOfWork, actor: Actor, contract_id: uuid.UUID, clock: Clock) -> ContractView:
    """续约: a new one-year contract from the day after the old one ends (same team, package)."""
    access.require(actor, Permission.WRITE_CLINICAL)
    with uow:
        session = uow.session
        old = session.get(Contract, contract_id)
        if old is None:
            raise NotFound("未找到该签约", "contract not found")
        access.get_resident(session, actor, old.resident_id)
        if old.status not in (ContractStatus.ACTIVE, ContractStatus.EXPIRED):
            raise Conflict("该签约已续约或已解约", "the contract was already renewed or ended")
        start = max(old.end_date + timedelta(days=1), clock.today())
        new = Contract(
            id=uuid.uuid4(),
            resident_id=old.resident_id,
            team_id=old.team_id,
            package_id=old.package_id,
            start_date=start,
            end_date=default_end(start),
            status=ContractStatus.ACTIVE,
            renewal_of_id=old.id,
            signed_by_id=actor.practitioner_id,
            signed_at=clock.now(),
        )
        old.status = ContractStatus.RENEWED
        session.add(new)
        session.flush()
        for task in session.scalars(
            select(WorklistTask).where(
                WorklistTask.resident_id == old.resident_id,
                WorklistTask.kind == TaskKind.CONTRACT_EXPIRING,
                WorklistTask.status == TaskStatus.OPEN,
            )
        ):
            task.status = TaskStatus.DONE
            task.completed_at = clock.now()
        _audit(session, actor, new, clock.now(), "renewed")
        result = _view(session, new)
        uow.commit()
        return result


def expiring(
    uow: UnitOfWork, actor: Actor, clock: Clock, days: int = EXPIRY_NOTICE_DAYS
) -> list[ContractView]:
    """Active contracts of residents in scope ending within ``days`` days."""
    access.require(actor, Permission.READ_RESIDENTS)
    today = clock.today()
    with uow:
        rows = uow.session.scalars(
            select(Contract)
            .join(Resident, Resident.id == Contract.resident_id)
            .where(
                access.resident_filter(actor),
                Contract.status == ContractStatus.ACTIVE,
                Contract.end_date >= today,
                Contract.end_date <= today + timedelta(days=days),
            )
            .order_by(Contract.end_date)
            .limit(500)
        ).all()
        return [_view(uow.session, c) for c in rows]


def _audit(session: Session, actor: Actor, contract: Contract, at: datetime, what: str) -> None:
    audit.record(
        session,
        actor,
        AuditAction.CREATE,
        "contract",
        at=at,
        entity_id=contract.id,
        resident_id=contract.resident_id,
        detail={"action": what},
    )
