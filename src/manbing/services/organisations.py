"""Setting up the organisation tree, practitioners, teams and user accounts (administration)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import Division, Organization, Practitioner, Team, TeamMember, User
from manbing.domain.errors import Conflict, InvalidInput
from manbing.domain.identity import parse_division_code
from manbing.domain.organisations import OrgType, Role
from manbing.services.auth import hash_password


def add_division(
    session: Session, code: str, name: str, parent_code: str | None = None
) -> Division:
    parsed = parse_division_code(code)
    division = Division(
        code=parsed.code, name=name, level=parsed.level, parent_code=parent_code or parsed.parent
    )
    session.add(division)
    return division


def add_organization(
    session: Session,
    *,
    code: str,
    name: str,
    type: OrgType,
    division_code: str,
    parent: Organization | None = None,
) -> Organization:
    """Create an organisation; its ``path`` extends the parent's so subtree scoping is a prefix match."""
    if session.get(Division, division_code) is None:
        raise InvalidInput("division_code", "行政区划代码不存在", "unknown division code")
    if session.scalar(select(Organization.id).where(Organization.code == code)) is not None:
        raise Conflict("机构编码已存在", f"organisation code {code} exists")
    org_id = uuid.uuid4()
    path = (parent.path if parent else "/") + org_id.hex + "/"
    org = Organization(
        id=org_id,
        code=code,
        name=name,
        type=type,
        division_code=division_code,
        parent_id=parent.id if parent else None,
        path=path,
    )
    session.add(org)
    return org


def add_practitioner(
    session: Session, *, name: str, organization: Organization, title: str | None = None
) -> Practitioner:
    practitioner = Practitioner(
        id=uuid.uuid4(), name=name, title=title, organization_id=organization.id
    )
    session.add(practitioner)
    return practitioner


def add_team(
    session: Session,
    *,
    name: str,
    organization: Organization,
    members: list[tuple[Practitioner, str]],
) -> Team:
    team = Team(id=uuid.uuid4(), name=name, organization_id=organization.id)
    if members:
        team.leader_id = members[0][0].id
    for practitioner, role_in_team in members:
        team.members.append(TeamMember(practitioner_id=practitioner.id, role_in_team=role_in_team))
    session.add(team)
    return team


def add_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    organization: Organization | None,
    practitioner: Practitioner | None = None,
    resident_id: uuid.UUID | None = None,
) -> User:
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("用户名已存在", f"username {username} exists")
    if role is Role.PATIENT and resident_id is None:
        raise InvalidInput(
            "resident_id", "患者账号必须关联居民档案", "a patient account needs a resident"
        )
    user = User(
        id=uuid.uuid4(),
        username=username,
        password_hash=hash_password(password),
        display_name=display_name,
        role=role,
        organization_id=organization.id if organization else None,
        practitioner_id=practitioner.id if practitioner else None,
        resident_id=resident_id,
    )
    session.add(user)
    return user
