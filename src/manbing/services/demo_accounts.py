"""Demo sign-ins for whatever district is loaded: one account per persona, printed by the CLI."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import Enrolment, Organization, Practitioner, Resident, User
from manbing.domain.organisations import OrgType, Role
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.services.organisations import add_practitioner, add_user

DEMO_PASSWORD = "manbing-demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role
    organization: str


def _first_org(
    session: Session, org_type: OrgType, under: Organization | None = None
) -> Organization:
    stmt = select(Organization).where(Organization.type == org_type).order_by(Organization.code)
    if under is not None:
        stmt = stmt.where(Organization.path.startswith(under.path))
    org = session.scalars(stmt.limit(1)).first()
    if org is None:
        raise LookupError(f"the loaded district has no organisation of type {org_type.value}")
    return org


def _practitioner_at(session: Session, org: Organization, name: str, title: str) -> Practitioner:
    found = session.scalars(
        select(Practitioner)
        .where(Practitioner.organization_id == org.id)
        .order_by(Practitioner.name)
        .limit(1)
    ).first()
    return found or add_practitioner(session, name=name, organization=org, title=title)


def create_demo_accounts(session: Session) -> list[DemoLogin]:
    """Create (once) the demo users; return the sign-ins. The caller commits."""
    existing = session.scalars(select(User).where(User.username.in_(_USERNAMES))).all()
    if len(existing) == len(_USERNAMES):
        orgs = {o.id: o.name for o in session.scalars(select(Organization))}
        return [
            DemoLogin(
                u.username,
                DEMO_PASSWORD,
                u.role,
                orgs.get(u.organization_id, "") if u.organization_id else "",
            )
            for u in sorted(existing, key=lambda u: _USERNAMES.index(u.username))
        ]
    for user in existing:
        session.delete(user)
    session.flush()
    centre = _first_org(session, OrgType.COMMUNITY_CENTRE)
    try:
        station = _first_org(session, OrgType.STATION, under=centre)
    except LookupError:
        station = centre
    cdc = _first_org(session, OrgType.CDC)
    hospital = _first_org(session, OrgType.HOSPITAL)
    doctor = _practitioner_at(session, station, "李医生", "主治医师")
    specialist = _practitioner_at(session, hospital, "王主任", "主任医师")
    patient = session.scalars(
        select(Resident)
        .join(Enrolment, Enrolment.resident_id == Resident.id)
        .join(Organization, Organization.id == Resident.managing_org_id)
        .where(
            Organization.path.startswith(station.path),
            Enrolment.programme == Programme.HYPERTENSION,
            Enrolment.status == EnrolmentStatus.ACTIVE,
        )
        .order_by(Resident.record_number)
        .limit(1)
    ).first()
    plan: list[tuple[str, str, Role, Organization, Practitioner | None, uuid.UUID | None]] = [
        ("doctor", "李医生", Role.FAMILY_DOCTOR, station, doctor, None),
        ("manager", "张主任", Role.CENTRE_MANAGER, centre, None, None),
        ("cdc", "陈分析师", Role.CDC_ANALYST, cdc, None, None),
        ("specialist", "王主任", Role.HOSPITAL_SPECIALIST, hospital, specialist, None),
    ]
    if patient is not None:
        plan.append(("patient", patient.name, Role.PATIENT, station, None, patient.id))
    logins = []
    for username, name, role, org, practitioner, resident_id in plan:
        add_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            display_name=name,
            role=role,
            organization=org,
            practitioner=practitioner,
            resident_id=resident_id,
        )
        logins.append(DemoLogin(username, DEMO_PASSWORD, role, org.name))
    session.flush()
    return logins


_USERNAMES = ["doctor", "manager", "cdc", "specialist", "patient"]
