"""Family-doctor teams (家庭医生团队) kept by their own organisation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import Organization, Practitioner, Team, TeamMember
from manbing.domain.audit import AuditAction
from manbing.domain.errors import Forbidden, InvalidInput, NotFound
from manbing.domain.organisations import Permission
from manbing.services import access, audit
from manbing.services.actor import Actor
from manbing.services.clock import Clock


@dataclass(frozen=True)
class TeamInput:
    name: str
    organization_id: uuid.UUID
    members: tuple[tuple[uuid.UUID, str], ...] = ()  # (practitioner, role in team), leader first
    active: bool = True


def _org_in_scope(session: Session, actor: Actor, org_id: uuid.UUID) -> Organization:
    try:
        return access.require_org_in_scope(session, actor, org_id)
    except NotFound:
        raise Forbidden(
            "只能为本机构或下属机构管理家庭医生团队",
            "a care team is kept by its own organisation: this one is outside your scope",
        ) from None


def save_team(
    session: Session,
    actor: Actor,
    data: TeamInput,
    clock: Clock,
    *,
    team_id: uuid.UUID | None = None,
) -> Team:
    """Create a team, or replace one's name, status and members (inside the caller's transaction)."""
    access.require(actor, Permission.WRITE_RESIDENTS)
    name = data.name.strip()
    if not name or len(name) > 100:
        raise InvalidInput(
            "name", "团队名称应为1至100个字符", "the team name needs 1-100 characters"
        )
    org = _org_in_scope(session, actor, data.organization_id)
    ids = [p for p, _ in data.members]
    if len(set(ids)) != len(ids):
        raise InvalidInput("participant", "团队成员重复", "a practitioner is listed twice")
    for _, role in data.members:
        if not role.strip() or len(role.strip()) > 30:
            raise InvalidInput(
                "participant.role", "成员角色应为1至30个字符", "role needs 1-30 chars"
            )
    if ids:
        known = set(
            session.scalars(
                select(Practitioner.id).where(
                    Practitioner.id.in_(ids), Practitioner.organization_id == org.id
                )
            )
        )
        if known != set(ids):
            raise InvalidInput(
                "participant",
                "团队成员必须是本机构的医务人员",
                "every member must be a practitioner of the team's organisation",
            )
    if team_id is None:
        team = Team(id=uuid.uuid4(), organization_id=org.id)
        session.add(team)
        action = AuditAction.CREATE
    else:
        found = session.get(Team, team_id)
        if found is None:
            raise NotFound("未找到该团队", "care team not found")
        _org_in_scope(session, actor, found.organization_id)
        if found.organization_id != org.id:
            raise InvalidInput(
                "managingOrganization",
                "团队不能转到其他机构",
                "a team cannot move to another organisation",
            )
        team, action = found, AuditAction.UPDATE
        team.members.clear()
        session.flush()
    team.name, team.active = name, data.active
    team.leader_id = ids[0] if ids else None
    for practitioner_id, role in data.members:
        team.members.append(TeamMember(practitioner_id=practitioner_id, role_in_team=role.strip()))
    team.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        action,
        "team",
        at=clock.now(),
        entity_id=team.id,
        detail={"members": len(ids)},
    )
    return team
