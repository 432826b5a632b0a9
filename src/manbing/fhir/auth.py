"""OAuth2 client credentials for system clients, with SMART-style ``system/`` scopes.

Scopes: ``system/<Type or *>.<read|write|*>`` (SMART v1) or ``system/<Type or *>.<cruds letters>``
(SMART v2: c/u = write, r/s = read). Tokens are signed with the settings secret (itsdangerous)
and expire; the client acts as its service account, i.e. with its organisation's scope.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import FhirClient, Organization, User
from manbing.domain.errors import InvalidInput
from manbing.domain.organisations import OrgType, Role
from manbing.fhir.errors import FhirError
from manbing.services import auth
from manbing.services.actor import Actor
from manbing.services.unit_of_work import UnitOfWork

TOKEN_SECONDS = 3600
_SALT = "manbing-fhir-token"
_SCOPE = re.compile(r"^system/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)\Z")
_HASHER = PasswordHasher()
UNUSABLE_PASSWORD = "!fhir-client"  # not an argon2 hash: the service account cannot sign in


@dataclass(frozen=True)
class Scopes:
    """What a token allows; ``None`` entries mean a signed-in user (the role decides)."""

    grants: frozenset[tuple[str, str]]  # (resource type or "*", "read" | "write")

    @classmethod
    def parse(cls, text: str) -> Scopes:
        grants: set[tuple[str, str]] = set()
        for scope in text.split():
            match = _SCOPE.match(scope)
            if not match:
                raise InvalidInput("scope", "无效的授权范围", f"invalid scope {scope!r}")
            rtype, access = match.groups()
            if access in ("read", "*") or "r" in access or "s" in access:
                grants.add((rtype, "read"))
            if access in ("write", "*") or "c" in access or "u" in access or "d" in access:
                grants.add((rtype, "write"))
        return cls(frozenset(grants))

    def allows(self, resource_type: str, access: str) -> bool:
        return (resource_type, access) in self.grants or ("*", access) in self.grants

    def require(self, resource_type: str, access: str) -> None:
        if not self.allows(resource_type, access):
            raise FhirError(
                403, "forbidden", f"the token's scopes do not allow {access} on {resource_type}"
            )


def _default_role(org_type: OrgType) -> Role:
    if org_type is OrgType.CDC:
        return Role.CDC_ANALYST
    if org_type is OrgType.HEALTH_COMMISSION:
        return Role.COMMISSION_MANAGER
    return Role.CENTRE_MANAGER


def register_client(
    session: Session,
    *,
    organization_code: str,
    name: str,
    scopes: str,
    role: Role | None = None,
) -> tuple[str, str]:
    """Create a client and its service account; return (client_id, secret) — shown once."""
    Scopes.parse(scopes)
    org = session.scalars(
        select(Organization).where(Organization.code == organization_code)
    ).first()
    if org is None:
        raise InvalidInput("org", "机构编码不存在", f"no organisation {organization_code}")
    client_id = "mb-" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    user = User(
        id=uuid.uuid4(),
        username=f"fhir-client:{client_id}",
        password_hash=UNUSABLE_PASSWORD,
        display_name=name[:50],
        role=role or _default_role(org.type),
        organization_id=org.id,
    )
    session.add(user)
    session.flush()
    session.add(
        FhirClient(
            client_id=client_id,
            secret_hash=_HASHER.hash(secret),
            user_id=user.id,
            scopes=sorted(scopes.split()),
        )
    )
    session.flush()
    return client_id, secret


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


def issue_token(
    uow: UnitOfWork,
    secret_key: str,
    form: dict[str, str],
) -> dict[str, Any]:
    """The token response of RFC 6749 §4.4 for valid client credentials."""
    if form.get("grant_type") != "client_credentials":
        raise OAuthError(400, "unsupported_grant_type", "only client_credentials is supported")
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    with uow:
        client = uow.session.get(FhirClient, client_id) if client_id else None
        user = uow.session.get(User, client.user_id) if client else None
        if client is None or user is None or not client.active or not user.active:
            raise OAuthError(401, "invalid_client", "unknown or inactive client")
        try:
            _HASHER.verify(client.secret_hash, secret)
        except (VerificationError, InvalidHashError) as exc:
            raise OAuthError(401, "invalid_client", "wrong client secret") from exc
        granted = set(client.scopes)
    requested = form.get("scope", "").split() or sorted(granted)
    refused = [s for s in requested if s not in granted]
    if refused:
        raise OAuthError(400, "invalid_scope", f"not granted to this client: {' '.join(refused)}")
    scope = " ".join(requested)
    token = URLSafeTimedSerializer(secret_key, salt=_SALT).dumps({"cid": client_id, "scope": scope})
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": TOKEN_SECONDS,
        "scope": scope,
    }


def actor_for_token(uow: UnitOfWork, secret_key: str, token: str) -> tuple[Actor, Scopes]:
    try:
        data = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(token, max_age=TOKEN_SECONDS)
    except SignatureExpired as exc:
        raise FhirError(401, "expired", "the access token has expired") from exc
    except BadSignature as exc:
        raise FhirError(401, "login", "invalid access token") from exc
    with uow:
        client = uow.session.get(FhirClient, str(data.get("cid")))
        user = uow.session.get(User, client.user_id) if client else None
        if client is None or user is None or not client.active or not user.active:
            raise FhirError(401, "login", "the client is no longer active")
        actor = auth.actor_for(uow.session, user)
    return actor, Scopes.parse(str(data.get("scope", "")))
