"""Persona actors for access tests: the clinician in charge, a colleague, an outsider …"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import Division, Organization
from manbing.domain.organisations import OrgType, Role
from manbing.services import auth
from manbing.services.actor import Actor
from manbing.services.organisations import (
    add_division,
    add_organization,
    add_practitioner,
    add_user,
)


def actor_at(
    session_factory: sessionmaker[Session],
    role: Role,
    org_id: object,
    *,
    resident_id: uuid.UUID | None = None,
) -> Actor:
    with session_factory() as session:
        org = session.get(Organization, org_id)
        assert org is not None
        practitioner = (
            add_practitioner(session, name="测试医生", organization=org)
            if role in (Role.FAMILY_DOCTOR, Role.HOSPITAL_SPECIALIST)
            else None
        )
        user = add_user(
            session,
            username=f"{role.value}-{uuid.uuid4().hex[:8]}",
            password="persona-password",
            display_name=f"{role.label_zh}",
            role=role,
            organization=org,
            practitioner=practitioner,
            resident_id=resident_id,
        )
        session.flush()
        actor = auth.actor_for(session, user)
        session.commit()
    return actor


def other_district_station(session_factory: sessionmaker[Session]) -> uuid.UUID:
    """A station in another district (西湖区 330106), outside the fixed district."""
    with session_factory() as session:
        if session.get(Division, "330106") is None:
            add_division(session, "330106", "西湖区", "330100")
            add_division(session, "330106001000", "北山街道")
        session.flush()
        centre = add_organization(
            session,
            code=f"330106-CHC-{uuid.uuid4().hex[:6]}",
            name="北山街道社区卫生服务中心",
            type=OrgType.COMMUNITY_CENTRE,
            division_code="330106001000",
        )
        session.flush()
        station = add_organization(
            session,
            code=f"330106-S-{uuid.uuid4().hex[:6]}",
            name="北山社区卫生服务站",
            type=OrgType.STATION,
            division_code="330106001000",
            parent=centre,
        )
        session.commit()
        return station.id
