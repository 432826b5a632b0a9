"""Request and response bodies of the JSON API (pydantic, validated at the edge)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from manbing.domain.observations import ObservationKind, ObservationSource
from manbing.domain.organisations import Role
from manbing.domain.residents import ResidentStatus
from manbing.domain.values import Sex

Text50 = Annotated[str, StringConstraints(max_length=50)]
Text200 = Annotated[str, StringConstraints(max_length=200)]


class ErrorDetail(BaseModel):
    message: str
    message_en: str
    field: str | None = None
    existing_id: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (401, 403, 404, 409, 422)
}


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Me(BaseModel):
    user_id: uuid.UUID
    username: str
    display_name: str
    role: Role
    role_label: str
    organization_id: uuid.UUID | None
    csrf_token: str


class IdentifierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    value: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ResidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text50
    division_code: Annotated[str, StringConstraints(max_length=12)]
    managing_org_id: uuid.UUID
    id_number: Annotated[str, StringConstraints(max_length=18)] | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    phone: Annotated[str, StringConstraints(max_length=20)] | None = None
    address: Text200 | None = None
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=20)
    severe_mental_disorder: bool = False
    pregnant: bool = False
    disability: bool = False
    confirm_not_duplicate: bool = False


class ResidentOut(BaseModel):
    id: uuid.UUID
    record_number: str
    name: str
    sex: Sex
    birth_date: date
    age: int
    id_number: str | None
    phone: str | None
    address: str | None
    division_code: str
    managing_org_id: uuid.UUID
    status: ResidentStatus
    programmes: list[str]
    masked: bool


class ObservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: ObservationKind
    value: float | None = None
    value2: float | None = Field(default=None, description="diastolic pressure for kind=bp")
    value_code: Annotated[str, StringConstraints(max_length=32)] | None = None
    unit: Annotated[str, StringConstraints(max_length=16)] | None = None
    effective_at: datetime
    source: ObservationSource = ObservationSource.CLINIC
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


class CreatedOut(BaseModel):
    id: uuid.UUID
