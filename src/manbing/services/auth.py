"""Passwords (argon2id) and turning a user row into an ``Actor``."""

from __future__ import annotations

import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import Organization, User
from manbing.domain.audit import AuditAction
from manbing.domain.errors import InvalidInput, Unauthenticated
from manbing.services import audit
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser")


class AuthenticationFailed(Unauthenticated):
    """Wrong user name or password (never says which)."""


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InvalidInput("password", "密码至少8位", "password needs at least 8 characters")
    return _hasher.hash(password)


def authenticate(uow: UnitOfWork, username: str, password: str, clock: Clock) -> Actor:
    """Return the actor for valid credentials; a wrong name or password fail alike."""
    with uow:
        session = uow.session
        user = session.scalars(select(User).where(User.username == username.strip())).one_or_none()
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
            ok = user is not None and user.active
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None:
            audit.record(
                session,
                None,
                AuditAction.LOGIN_FAILED,
                "user",
                at=clock.now(),
                detail={"username": username[:64]},
            )
            uow.commit()
            raise AuthenticationFailed("用户名或密码错误", "wrong username or password")
        user.last_login_at = clock.now()
        actor = actor_for(session, user)
        audit.record(session, actor, AuditAction.LOGIN, "user", at=clock.now(), entity_id=user.id)
        uow.commit()
        return actor


def load_actor(uow: UnitOfWork, user_id: uuid.UUID) -> Actor | None:
    """The signed-in user of a request: one query for the user and their organisation."""
    with uow:
        found = uow.session.execute(
            select(User, Organization)
            .outerjoin(Organization, Organization.id == User.organization_id)
            .where(User.id == user_id)
        ).one_or_none()
        if found is None or not found[0].active:
            return None
        return _actor(found[0], found[1])


def actor_for(session: Session, user: User) -> Actor:
    org = session.get(Organization, user.organization_id) if user.organization_id else None
    return _actor(user, org)


def _actor(user: User, org: Organization | None) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        organization_id=user.organization_id,
        org_path=org.path if org else None,
        division_code=org.division_code if org else None,
        practitioner_id=user.practitioner_id,
        resident_id=user.resident_id,
    )
