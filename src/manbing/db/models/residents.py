"""Resident health records and their identifiers from many source systems (the MPI's basis)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manbing.db.base import Base, Timestamps, UuidPk, enum_column
from manbing.domain.residents import ResidentStatus
from manbing.domain.values import Sex

NATIONAL_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"  # 居民身份证号 (see docs/adr on identifiers)
RECORD_NUMBER_SYSTEM = "urn:manbing:health-record-number"


class Resident(UuidPk, Timestamps, Base):
    """居民健康档案. ``record_number`` is the 17-digit health-record number of the standard."""

    __tablename__ = "residents"
    __table_args__ = (
        Index("ix_residents_name_birth", "name", "birth_date"),
        Index("ix_residents_org_status", "managing_org_id", "status"),
        # the worklist reads one page of due patients of an organisation in due order
        Index("ix_residents_org_status_due", "managing_org_id", "status", "follow_up_due_on"),
        # type and system _history and _lastUpdated search filter on the last-updated time
        Index("ix_residents_updated_at", "updated_at"),
    )

    record_number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[Sex] = mapped_column(enum_column(Sex, 1))
    birth_date: Mapped[date]
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    managing_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    responsible_practitioner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("practitioners.id")
    )
    status: Mapped[ResidentStatus] = mapped_column(
        enum_column(ResidentStatus), default=ResidentStatus.ACTIVE
    )
    status_date: Mapped[date | None]
    death_cause_icd10: Mapped[str | None] = mapped_column(String(10))
    death_cause_text: Mapped[str | None] = mapped_column(String(200))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"))
    severe_mental_disorder: Mapped[bool] = mapped_column(default=False)
    pregnant: Mapped[bool] = mapped_column(default=False)
    disability: Mapped[bool] = mapped_column(default=False)
    registered_on: Mapped[date]
    # The follow-up schedule, derived and kept by services/follow_up_schedule.py whenever a
    # visit or an enrolment changes: when the next hypertension/diabetes follow-up is due (None
    # when the resident is in neither programme), and the latest visit (id and classification;
    # a plain id, not a foreign key: follow_ups already references residents).
    follow_up_due_on: Mapped[date | None]
    last_follow_up_id: Mapped[uuid.UUID | None]
    last_follow_up_class: Mapped[str | None] = mapped_column(String(1))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    identifiers: Mapped[list[ResidentIdentifier]] = relationship(
        back_populates="resident", cascade="all, delete-orphan"
    )


class ResidentIdentifier(UuidPk, Base):
    """An identifier of the resident in some system (national ID, HIS patient id, …)."""

    __tablename__ = "resident_identifiers"
    __table_args__ = (UniqueConstraint("system", "value"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    system: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime | None]

    resident: Mapped[Resident] = relationship(back_populates="identifiers")
