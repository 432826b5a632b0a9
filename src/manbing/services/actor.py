"""Who is acting: the authenticated user as the services see it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from manbing.domain.organisations import ROLE_SCOPE, Permission, Role, Scope, has_permission


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: uuid.UUID
    username: str
    display_name: str
    role: Role
    organization_id: uuid.UUID | None
    org_path: str | None
    division_code: str | None
    practitioner_id: uuid.UUID | None = None
    resident_id: uuid.UUID | None = None

    def can(self, permission: Permission) -> bool:
        return has_permission(self.role, permission)

    @property
    def scope(self) -> Scope:
        return ROLE_SCOPE[self.role]
