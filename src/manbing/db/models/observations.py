"""Observations (clinic, home device, lab, import), devices and medication statements."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from manbing.db.base import Base, UuidPk, enum_column, utcnow
from manbing.domain.observations import ObservationKind, ObservationSource


class Device(UuidPk, Base):
    """A home BP monitor or glucometer, bound to one resident."""

    __tablename__ = "devices"

    serial: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # bp_monitor / glucometer
    manufacturer: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"), index=True)
    bound_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    # SHA-256 of the device's 256-bit random secret (shown once at binding); see ADR 0008
    secret_hash: Mapped[str | None] = mapped_column(String(64))


class DeviceBindingCode(UuidPk, Base):
    """A short code a doctor prints for a resident; a device presenting it is bound to them."""

    __tablename__ = "device_binding_codes"

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"))


class Observation(UuidPk, Base):
    """A typed, LOINC-coded measurement with its value in the canonical unit.

    Blood pressure is one row: ``value`` is systolic and ``value2`` diastolic (LOINC panel
    85354-9), so control queries read one row per reading.
    """

    __tablename__ = "observations"
    __table_args__ = (
        Index("ix_observations_resident_kind_time", "resident_id", "kind", "effective_at"),
        # type and system _history and _lastUpdated search filter on the last-updated time
        Index("ix_observations_received_at", "received_at"),
    )

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    kind: Mapped[ObservationKind] = mapped_column(enum_column(ObservationKind, 20))
    loinc: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None]
    value2: Mapped[float | None]
    value_code: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(16))
    value_received: Mapped[str | None] = mapped_column(String(40))
    unit_received: Mapped[str | None] = mapped_column(String(16))
    effective_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[ObservationSource] = mapped_column(enum_column(ObservationSource, 16))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"))
    follow_up_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("follow_ups.id"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    clock_skew_flag: Mapped[bool] = mapped_column(default=False)


class MedicationStatement(UuidPk, Base):
    """A medicine the resident takes (from a follow-up, a prescription or the patient)."""

    __tablename__ = "medication_statements"
    # type and system _history and _lastUpdated search filter on the last-updated time
    __table_args__ = (Index("ix_medication_statements_recorded_at", "recorded_at"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    atc_code: Mapped[str | None] = mapped_column(String(10))
    dose: Mapped[float | None]
    dose_unit: Mapped[str | None] = mapped_column(String(20))
    times_per_day: Mapped[int | None]
    route: Mapped[str | None] = mapped_column(String(30))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(20), default="follow_up")
    follow_up_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("follow_ups.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
