"""Home devices: binding codes, binding, device authentication and batch ingestion of readings.

Authentication (ADR 0008): each device holds a 256-bit random secret, shown once when it is
bound; the platform stores only its SHA-256 (a fast hash suffices for a high-entropy secret).
Ingestion is one transaction per batch (an MQTT burst or an HTTP request), inserts with
``ON CONFLICT DO NOTHING`` on the idempotency key (so concurrent gateways never duplicate), and
audits the binding and each alert, never each reading.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ARRAY, String, Table, any_, bindparam, func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from manbing.db.models import Device, DeviceBindingCode, Observation, Resident
from manbing.domain.audit import AuditAction
from manbing.domain.errors import InvalidInput, NotFound
from manbing.domain.ingestion import (
    Decision,
    HomeMeasurement,
    NormalisedReading,
    RawReading,
    StaleReading,
    alert_for,
    home_bp_summary,
    merge_decision,
    normalise,
)
from manbing.domain.observations import SPECS, ObservationKind, ObservationSource
from manbing.domain.organisations import Permission
from manbing.domain.tasks import TaskKind
from manbing.services import access, audit, messages
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.tasks import TaskSpec, open_tasks
from manbing.services.unit_of_work import UnitOfWork

BINDING_CODE_TTL = timedelta(days=14)
DEVICE_KINDS = ("bp_monitor", "glucometer")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _normalise_code(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def issue_binding_code(
    uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID, clock: Clock
) -> tuple[str, datetime]:
    """A doctor prints a code for a resident; a device presenting it is bound to the resident."""
    access.require(actor, Permission.WRITE_CLINICAL)
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    code = f"{raw[:4]}-{raw[4:]}"
    with uow:
        session = uow.session
        access.get_resident(session, actor, resident_id)
        row = DeviceBindingCode(
            id=uuid.uuid4(),
            resident_id=resident_id,
            code_hash=_sha256(raw),
            issued_by_id=actor.user_id,
            issued_at=clock.now(),
            expires_at=clock.now() + BINDING_CODE_TTL,
        )
        session.add(row)
        audit.record(
            session,
            actor,
            AuditAction.CREATE,
            "device_binding_code",
            at=clock.now(),
            entity_id=row.id,
            resident_id=resident_id,
        )
        uow.commit()
        return code, row.expires_at


@dataclass(frozen=True)
class BoundDevice:
    device_id: uuid.UUID
    serial: str
    secret: str  # shown once; only its hash is stored


def bind_device(
    uow: UnitOfWork,
    serial: str,
    kind: str,
    binding_code: str,
    clock: Clock,
    *,
    manufacturer: str | None = None,
    model: str | None = None,
) -> BoundDevice:
    """Bind a device (by serial number) with a printed binding code; issue its secret."""
    serial = serial.strip()
    if not serial or len(serial) > 64:
        raise InvalidInput("serial", "设备序列号缺失或过长", "serial missing or too long")
    if kind not in DEVICE_KINDS:
        raise InvalidInput(
            "kind", "设备类型应为血压计或血糖仪", f"kind must be one of {DEVICE_KINDS}"
        )
    with uow:
        session = uow.session
        code = session.scalars(
            select(DeviceBindingCode).where(
                DeviceBindingCode.code_hash == _sha256(_normalise_code(binding_code))
            )
        ).one_or_none()
        if code is None or code.used_at is not None or code.expires_at < clock.now():
            raise InvalidInput(
                "binding_code",
                "绑定码无效、已使用或已过期",
                "binding code invalid, used or expired",
            )
        device = session.scalars(select(Device).where(Device.serial == serial)).one_or_none()
        if device is None:
            device = Device(id=uuid.uuid4(), serial=serial, kind=kind)
            session.add(device)
        secret = secrets.token_urlsafe(32)
        device.kind = kind
        device.manufacturer = manufacturer
        device.model = model
        previous = device.resident_id
        device.resident_id = code.resident_id
        device.bound_at = clock.now()
        device.active = True
        device.secret_hash = _sha256(secret)
        session.flush()
        code.used_at = clock.now()
        code.device_id = device.id
        audit.record(
            session,
            None,
            AuditAction.UPDATE,
            "device",
            at=clock.now(),
            entity_id=device.id,
            resident_id=code.resident_id,
            detail={
                "serial": serial,
                "bound": True,
                "previous_resident": str(previous) if previous else None,
            },
        )
        uow.commit()
        return BoundDevice(device.id, serial, secret)


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: uuid.UUID
    serial: str
    resident_id: uuid.UUID
    organization_id: uuid.UUID
    secret_hash: str


def _identities(session: Session, serials: set[str]) -> dict[str, DeviceIdentity]:
    query = select(
        Device.id, Device.serial, Device.resident_id, Resident.managing_org_id, Device.secret_hash
    ).join(Resident, Resident.id == Device.resident_id)
    if session.get_bind().dialect.name == "postgresql":
        # one array parameter instead of thousands of bound values (a gateway batch)
        wanted = Device.serial == any_(bindparam("serials", list(serials), type_=ARRAY(String)))
    else:
        wanted = Device.serial.in_(serials)
    rows = session.execute(query.where(wanted, Device.active.is_(True))).all()
    return {
        r.serial: DeviceIdentity(r.id, r.serial, r.resident_id, r.managing_org_id, r.secret_hash)
        for r in rows
        if r.secret_hash
    }


def _secret_ok(identity: DeviceIdentity | None, secret: str | None) -> bool:
    if identity is None or not secret:
        return False
    return hmac.compare_digest(identity.secret_hash, _sha256(secret))


@dataclass(frozen=True)
class Submission:
    """One reading as received: parsed (or the parse error) and the credential it came with."""

    raw: RawReading | None
    secret: str | None
    error: InvalidInput | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class Rejection:
    index: int
    message_id: str | None
    decision: Decision
    field: str
    reason: str
    reason_en: str


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    alerts: int = 0
    accepted_keys: list[str] = field(default_factory=list)


_STAGED = (
    "resident_id",
    "kind",
    "loinc",
    "value",
    "value2",
    "unit",
    "value_received",
    "unit_received",
    "effective_at",
    "device_id",
    "idempotency_key",
    "clock_skew_flag",
)
"""The columns that vary per reading; id, source and received_at are filled in by the insert."""
_STAGE = "device_reading_stage"
_Staged = tuple[
    uuid.UUID, str, str, float, float | None, str, str, str, datetime, uuid.UUID, str, bool
]


def _insert_new(
    session: Session, rows: list[_Staged], received_at: datetime
) -> dict[str, uuid.UUID]:
    """Insert the rows whose key is not stored yet; return {key: new observation id} of those.

    PostgreSQL: COPY into a temporary staging table, then one ``INSERT … SELECT … ON CONFLICT
    DO NOTHING RETURNING`` (concurrent gateways cannot duplicate); ids come from
    ``gen_random_uuid()``. SQLite: a multi-row insert with the same conflict clause.
    """
    source = ObservationSource.HOME_DEVICE
    if session.get_bind().dialect.name != "postgresql":
        table = cast(Table, Observation.__table__)
        stmt = (
            sqlite.insert(table)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.idempotency_key, table.c.id)
        )
        params = [
            dict(zip(_STAGED, row, strict=True))
            | {"id": uuid.uuid4(), "source": source, "received_at": received_at}
            for row in rows
        ]
        return {k: i for k, i in session.connection().execute(stmt, params)}
    columns = ", ".join(_STAGED)
    session.execute(
        text(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS"
            f" AS SELECT {columns} FROM observations WITH NO DATA"
        )
    )
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {_STAGE} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    inserted = session.execute(
        text(
            f"INSERT INTO observations (id, source, received_at, {columns})"
            f" SELECT gen_random_uuid(), :source, :received_at, {columns} FROM {_STAGE}"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key, id"
        ),
        {"source": source.value, "received_at": received_at},
    )
    return {k: i for k, i in inserted}


def ingest(uow: UnitOfWork, submissions: Sequence[Submission], clock: Clock) -> IngestResult:
    """Store a batch of device readings in one transaction; bad items are reported, not fatal."""
    result = IngestResult()
    received_at = clock.now()
    good: list[tuple[int, NormalisedReading]] = []
    for index, sub in enumerate(submissions):
        mid = sub.raw.message_id if sub.raw else sub.message_id
        if sub.raw is None:
            err = sub.error or InvalidInput("payload", "无法解析的数据", "unparseable payload")
            result.rejected.append(
                Rejection(index, mid, Decision.INVALID, err.field, err.message, err.message_en)
            )
            continue
        try:
            good.append((index, normalise(sub.raw, received_at)))
        except InvalidInput as exc:
            decision = Decision.STALE if isinstance(exc, StaleReading) else Decision.INVALID
            result.rejected.append(
                Rejection(index, mid, decision, exc.field, exc.message, exc.message_en)
            )
    if not good:
        return result
    with uow:
        session = uow.session
        identities = _identities(session, {r.device_serial for _, r in good})
        rows: list[_Staged] = []
        # what an inserted row may need afterwards: its reading key and a possible alert
        alerting: dict[str, tuple[HomeMeasurement, NormalisedReading, DeviceIdentity]] = {}
        seen: set[str] = set()
        pulse_of: dict[str, str] = {}  # pulse row key -> its reading's key
        for index, reading in good:
            identity = identities.get(reading.device_serial)
            if identity is None or not _secret_ok(identity, submissions[index].secret):
                result.rejected.append(
                    Rejection(
                        index,
                        reading.message_id,
                        Decision.INVALID,
                        "device_id",
                        "设备未绑定或认证失败",
                        "device unknown, unbound or bad credentials",
                    )
                )
                continue
            reading_key = reading.idempotency_key
            if merge_decision(reading_key, seen) is Decision.DUPLICATE:
                result.duplicates += 1
                continue
            seen.add(reading_key)
            for m in reading.measurements:
                key = reading_key + m.key_suffix
                if m.key_suffix:
                    pulse_of[key] = reading_key
                spec = SPECS[m.kind]
                rows.append(
                    (
                        identity.resident_id,
                        m.kind.value,
                        spec.loinc,
                        m.value,
                        m.value2,
                        spec.unit,
                        m.value_received,
                        m.unit_received,
                        reading.measured_at,
                        identity.device_id,
                        key,
                        reading.clock_skew,
                    )
                )
                if alert_for(m) is not None:
                    alerting[key] = (m, reading, identity)
        inserted = _insert_new(session, rows, received_at) if rows else {}
        new_readings = {pulse_of.get(key, key) for key in inserted}
        alerts: list[AlertToRaise] = []
        for key, observation_id in inserted.items():
            if key not in alerting:
                continue
            m, reading, identity = alerting[key]
            alert = alert_for(m)
            assert alert is not None
            alerts.append(
                AlertToRaise(
                    resident_id=identity.resident_id,
                    organization_id=identity.organization_id,
                    observation={
                        "id": observation_id,
                        "kind": m.kind,
                        "value": m.value,
                        "value2": m.value2,
                        "effective_at": reading.measured_at,
                    },
                    title=alert.title_zh,
                    patient_message=alert.patient_message_zh,
                    device_serial=identity.serial,
                )
            )
        raise_alerts(session, alerts, clock)
        result.alerts = len(alerts)
        uow.commit()
    result.accepted = len(new_readings)
    result.accepted_keys = sorted(new_readings)
    result.duplicates += len(seen) - len(new_readings)
    return result


@dataclass(frozen=True)
class AlertToRaise:
    resident_id: uuid.UUID
    organization_id: uuid.UUID
    observation: dict[str, Any]  # id, kind, value, value2, effective_at
    title: str
    patient_message: str
    device_serial: str | None


def raise_alert(
    session: Session,
    *,
    resident_id: uuid.UUID,
    organization_id: uuid.UUID,
    observation: dict[str, Any],
    title: str,
    patient_message: str,
    clock: Clock,
    device_serial: str | None,
) -> None:
    """Urgent task for the care team + message to the patient + audit, in the caller's transaction."""
    alert = AlertToRaise(
        resident_id, organization_id, observation, title, patient_message, device_serial
    )
    raise_alerts(session, [alert], clock)


def raise_alerts(session: Session, alerts: Sequence[AlertToRaise], clock: Clock) -> None:
    """:func:`raise_alert` for a batch (a few queries per batch, not per alert)."""
    if not alerts:
        return
    tasks = open_tasks(
        session,
        [
            TaskSpec(
                resident_id=a.resident_id,
                kind=TaskKind.URGENT_ALERT,
                due_date=clock.today(),
                organization_id=a.organization_id,
                title=a.title,
                source_type="observation",
                source_id=str(a.observation["id"]),
                priority=100,
                detail={
                    "kind": a.observation["kind"].value,
                    "value": a.observation["value"],
                    "value2": a.observation["value2"],
                    "measured_at": a.observation["effective_at"].isoformat(),
                    "device_serial": a.device_serial,
                },
            )
            for a in alerts
        ],
    )
    messages.enqueue_many(
        session,
        [
            messages.Outgoing(
                a.resident_id,
                "居家测量提醒",
                a.patient_message,
                "observation",
                str(a.observation["id"]),
            )
            for a in alerts
        ],
        at=clock.now(),
    )
    audit.record_many(
        session,
        None,
        AuditAction.CREATE,
        "urgent_alert",
        at=clock.now(),
        items=[
            (
                task.id,
                a.resident_id,
                {"observation_id": str(a.observation["id"]), "device_serial": a.device_serial},
            )
            for task, a in zip(tasks, alerts, strict=True)
        ],
    )


def authenticate_device(uow: UnitOfWork, serial: str, secret: str) -> DeviceIdentity:
    """The bound device with this serial and secret, else ``NotFound`` (never say which failed)."""
    with uow:
        identity = _identities(uow.session, {serial}).get(serial)
    if not _secret_ok(identity, secret) or identity is None:
        raise NotFound("设备未绑定或认证失败", "device unknown, unbound or bad credentials")
    return identity


@dataclass(frozen=True)
class HomeReadingView:
    kind: ObservationKind
    value: float | None
    value2: float | None
    unit: str
    measured_at: datetime
    clock_skew: bool
    device_serial: str | None


@dataclass(frozen=True)
class HomeView:
    resident_id: uuid.UUID
    days: int
    bp_readings: int
    mean_sbp: float | None
    mean_dbp: float | None
    uncontrolled_at_home: bool | None
    recent: list[HomeReadingView]


def home_view(
    uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID, clock: Clock, days: int = 7
) -> HomeView:
    """Home readings of the last ``days`` days with the home-BP average (≥135/85 uncontrolled)."""
    access.require(actor, Permission.READ_RESIDENTS)
    since = clock.now() - timedelta(days=days)
    with uow:
        session = uow.session
        access.get_resident(session, actor, resident_id)
        rows = session.execute(
            select(Observation, Device.serial)
            .outerjoin(Device, Device.id == Observation.device_id)
            .where(
                Observation.resident_id == resident_id,
                Observation.source == ObservationSource.HOME_DEVICE,
                Observation.effective_at >= since,
                Observation.effective_at <= clock.now() + timedelta(days=1),
            )
            .order_by(Observation.effective_at.desc())
        ).all()
        bp = [
            (o.value, o.value2)
            for o, _ in rows
            if o.kind is ObservationKind.BLOOD_PRESSURE and o.value is not None and o.value2
        ]
        summary = home_bp_summary((float(s), float(d)) for s, d in bp if d is not None)
        recent = [
            HomeReadingView(
                o.kind, o.value, o.value2, o.unit, o.effective_at, o.clock_skew_flag, serial
            )
            for o, serial in rows[:50]
        ]
        audit.record(
            session,
            actor,
            AuditAction.READ,
            "home_readings",
            at=clock.now(),
            resident_id=resident_id,
        )
        uow.commit()
    return HomeView(
        resident_id,
        days,
        summary.readings,
        summary.mean_sbp,
        summary.mean_dbp,
        summary.uncontrolled,
        recent,
    )


def count_home_readings(uow: UnitOfWork) -> int:
    with uow:
        return int(
            uow.session.scalar(
                select(func.count())
                .select_from(Observation)
                .where(Observation.source == ObservationSource.HOME_DEVICE)
            )
            or 0
        )


@dataclass(frozen=True)
class SimulatedDevice:
    serial: str
    kind: str
    secret: str


def provision_simulated_fleet(
    uow: UnitOfWork, count: int, clock: Clock, prefix: str = "SIM"
) -> list[SimulatedDevice]:
    """Bind ``count`` simulated devices round-robin to residents (demo and benchmark only).

    Bypasses the printed binding codes on purpose; the whole fleet is one audited operation.
    Existing devices of the same serials are re-keyed.
    """
    if count < 1:
        raise InvalidInput("count", "设备数量至少为1", "count must be at least 1")
    with uow:
        session = uow.session
        residents = session.scalars(select(Resident.id).order_by(Resident.id)).all()
        if not residents:
            raise NotFound("数据库中没有居民档案", "no residents to bind devices to")
        fleet: list[SimulatedDevice] = []
        existing = {
            d.serial: d
            for d in session.scalars(select(Device).where(Device.serial.startswith(f"{prefix}-")))
        }
        for i in range(count):
            kind = "glucometer" if i % 4 == 3 else "bp_monitor"
            serial = f"{prefix}-{i:06d}"
            secret = secrets.token_urlsafe(32)
            device = existing.get(serial) or Device(id=uuid.uuid4(), serial=serial, kind=kind)
            device.kind = kind
            device.resident_id = residents[i % len(residents)]
            device.bound_at = clock.now()
            device.active = True
            device.secret_hash = _sha256(secret)
            device.manufacturer = "manbing simulator"
            if serial not in existing:
                session.add(device)
            fleet.append(SimulatedDevice(serial, kind, secret))
        audit.record(
            session,
            None,
            AuditAction.CREATE,
            "simulated_fleet",
            at=clock.now(),
            detail={"prefix": prefix, "count": count},
        )
        uow.commit()
    return fleet


def update_registration(
    session: Session,
    actor: Actor,
    device_id: uuid.UUID,
    clock: Clock,
    *,
    active: bool,
    manufacturer: str | None,
    model: str | None,
) -> Device:
    """Switch a bound home device on or off (lost, broken) and correct its make and model.

    Binding and its secret stay with the binding-code flow: the resident and serial do not change.
    """
    access.require(actor, Permission.WRITE_CLINICAL)
    device = session.get(Device, device_id)
    if device is None or device.resident_id is None:
        raise NotFound("未找到该设备", "device not found")
    access.get_resident(session, actor, device.resident_id)
    for name, given in (("manufacturer", manufacturer), ("model", model)):
        if given is not None and len(given) > 100:
            raise InvalidInput(name, "内容不能超过100个字符", f"{name} is too long")
    device.active = active
    device.manufacturer = (manufacturer or "").strip() or None
    device.model = (model or "").strip() or None
    session.flush()
    audit.record(
        session,
        actor,
        AuditAction.UPDATE,
        "device",
        at=clock.now(),
        entity_id=device.id,
        resident_id=device.resident_id,
        detail={"active": active},
    )
    return device
