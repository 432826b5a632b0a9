"""Helpers shared by the device tests: bind a device to a resident, build payloads."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from manbing.domain.organisations import Role
from manbing.services import devices
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork
from tests.personas import actor_at


def bind(
    session_factory: sessionmaker[Session],
    org_id: object,
    resident_id: Any,
    serial: str,
    clock: Clock,
    kind: str = "bp_monitor",
) -> devices.BoundDevice:
    doctor = actor_at(session_factory, Role.FAMILY_DOCTOR, org_id)
    code, _ = devices.issue_binding_code(UnitOfWork(session_factory), doctor, resident_id, clock)
    return devices.bind_device(UnitOfWork(session_factory), serial, kind, code, clock)


def bp_payload(
    serial: str,
    message_id: str,
    sbp: float,
    dbp: float,
    measured_at: datetime,
    token: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "device_id": serial,
        "message_id": message_id,
        "measured_at": measured_at.isoformat(),
        "type": "bp",
        "values": {"sbp": sbp, "dbp": dbp},
        "units": {"sbp": "mmHg", "dbp": "mmHg"},
    }
    if token is not None:
        data["token"] = token
    return data


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def new_serial(prefix: str = "BP") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
