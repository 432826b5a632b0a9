"""Access control in one place: which residents and organisations an actor reaches.

Every read or write of personal data goes through ``resident_filter`` (for lists and searches)
or ``get_resident`` (for one record). Out-of-scope records are reported as *not found*, so a
user cannot learn that a resident exists elsewhere.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from manbing.db.models import Organization, Referral, Resident
from manbing.domain.errors import Forbidden, NotFound
from manbing.domain.organisations import Permission, Scope, division_prefix
from manbing.services.actor import Actor


def require(actor: Actor, permission: Permission) -> None:
    if not actor.can(permission):
        raise Forbidden(
            "您没有执行此操作的权限", f"the role {actor.role.value} lacks {permission.value}"
        )


def org_filter(actor: Actor) -> ColumnElement[bool]:
    """Organisations whose residents the actor reaches (by subtree or by division)."""
    scope = actor.scope
    if scope is Scope.ORG_SUBTREE and actor.org_path:
        return Organization.path.startswith(actor.org_path, autoescape=True)
    if scope is Scope.DIVISION and actor.division_code:
        return Organization.division_code.startswith(
            division_prefix(actor.division_code), autoescape=True
        )
    if scope is Scope.REFERRED and actor.org_path:
        return Organization.path.startswith(actor.org_path, autoescape=True)
    return false()


def resident_filter(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Resident`` limiting rows to the actor's scope."""
    if not actor.can(Permission.READ_RESIDENTS):
        return false()
    scope = actor.scope
    if scope is Scope.SELF:
        return Resident.id == actor.resident_id if actor.resident_id else false()
    managed_here = Resident.managing_org_id.in_(select(Organization.id).where(org_filter(actor)))
    if scope is Scope.REFERRED and actor.organization_id:
        referred = Resident.id.in_(
            select(Referral.resident_id).where(Referral.to_org_id == actor.organization_id)
        )
        return or_(managed_here, referred)
    return managed_here


def get_resident(session: Session, actor: Actor, resident_id: uuid.UUID) -> Resident:
    resident = session.scalars(
        select(Resident).where(Resident.id == resident_id, resident_filter(actor))
    ).one_or_none()
    if resident is None:
        raise NotFound("未找到该居民档案", "resident not found")
    return resident


def require_org_in_scope(session: Session, actor: Actor, org_id: uuid.UUID) -> Organization:
    """The organisation, if the actor may act on its residents; else ``NotFound``."""
    org = session.scalars(
        select(Organization).where(Organization.id == org_id, org_filter(actor))
    ).one_or_none()
    if org is None:
        raise NotFound("未找到该机构或无权访问", "organisation not found or out of scope")
    return org
