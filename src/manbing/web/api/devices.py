"""Home devices over HTTP: binding codes (doctor), binding (device), batches of readings (device).

Devices authenticate with ``Authorization: Device <serial>:<secret>`` (see ADR 0008); they use
no cookie session, so no CSRF token is involved. The doctor's calls use the session + CSRF.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from manbing.domain.errors import NotFound
from manbing.domain.observations import ObservationKind
from manbing.services import devices, messages
from manbing.services.device_payload import Serial, submission_from_item
from manbing.web.api.schemas import ERRORS
from manbing.web.deps import ActorDep, ContainerDep, CsrfDep

router = APIRouter(prefix="/api/v1", tags=["devices"], responses=ERRORS)
MAX_BATCH = 1000


class BindingCodeOut(BaseModel):
    code: str
    expires_at: datetime


class BindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    serial: Serial
    kind: Annotated[str, StringConstraints(max_length=32)]
    binding_code: Annotated[str, StringConstraints(min_length=4, max_length=20)]
    manufacturer: Annotated[str, StringConstraints(max_length=100)] | None = None
    model: Annotated[str, StringConstraints(max_length=100)] | None = None


class BindOut(BaseModel):
    device_id: uuid.UUID
    serial: str
    secret: str = Field(description="shown once: the device must store it")


class ReadingsIn(BaseModel):
    readings: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class RejectionOut(BaseModel):
    index: int
    message_id: str | None
    decision: str
    field: str
    reason: str
    reason_en: str


class ReadingsOut(BaseModel):
    accepted: int
    duplicates: int
    alerts: int
    rejected: list[RejectionOut]


class HomeReadingOut(BaseModel):
    kind: ObservationKind
    value: float | None
    value2: float | None
    unit: str
    measured_at: datetime
    clock_skew: bool
    device_serial: str | None


class HomeOut(BaseModel):
    resident_id: uuid.UUID
    days: int
    bp_readings: int
    mean_sbp: float | None
    mean_dbp: float | None
    uncontrolled_at_home: bool | None
    recent: list[HomeReadingOut]


@router.post(
    "/residents/{resident_id}/device-binding-codes",
    response_model=BindingCodeOut,
    status_code=201,
    dependencies=[CsrfDep],
)
def issue_binding_code(
    resident_id: uuid.UUID, actor: ActorDep, container: ContainerDep
) -> BindingCodeOut:
    code, expires = devices.issue_binding_code(container.uow(), actor, resident_id, container.clock)
    return BindingCodeOut(code=code, expires_at=expires)


@router.post("/devices/bind", response_model=BindOut, status_code=201)
def bind(body: BindIn, container: ContainerDep) -> BindOut:
    bound = devices.bind_device(
        container.uow(),
        body.serial,
        body.kind,
        body.binding_code,
        container.clock,
        manufacturer=body.manufacturer,
        model=body.model,
    )
    return BindOut(device_id=bound.device_id, serial=bound.serial, secret=bound.secret)


def _device_credentials(authorization: str | None) -> tuple[str, str]:
    if authorization and authorization.startswith("Device "):
        serial, _, secret = authorization.removeprefix("Device ").partition(":")
        if serial and secret:
            return serial.strip(), secret.strip()
    raise NotFound("设备未绑定或认证失败", "device unknown, unbound or bad credentials")


@router.post("/device-readings", response_model=ReadingsOut)
def post_readings(
    body: ReadingsIn,
    container: ContainerDep,
    authorization: Annotated[str | None, Header()] = None,
) -> ReadingsOut:
    """A batch of one device's readings; each bad item is reported, the good ones are kept."""
    serial, secret = _device_credentials(authorization)
    devices.authenticate_device(container.uow(), serial, secret)
    submissions = [submission_from_item(item, serial, secret) for item in body.readings]
    result = devices.ingest(container.uow(), submissions, container.clock)
    if result.alerts:
        messages.dispatch_pending(container.uow(), container.clock)
    return ReadingsOut(
        accepted=result.accepted,
        duplicates=result.duplicates,
        alerts=result.alerts,
        rejected=[
            RejectionOut(
                index=r.index,
                message_id=r.message_id,
                decision=r.decision.value,
                field=r.field,
                reason=r.reason,
                reason_en=r.reason_en,
            )
            for r in result.rejected
        ],
    )


@router.get("/residents/{resident_id}/home", response_model=HomeOut)
def home(resident_id: uuid.UUID, actor: ActorDep, container: ContainerDep) -> HomeOut:
    """The last 7 days of home readings and the home-BP average (≥135/85 ⇒ uncontrolled)."""
    view = devices.home_view(container.uow(), actor, resident_id, container.clock)
    return HomeOut.model_validate(view, from_attributes=True)
