"""Digital-therapeutics programme: service packages with payer split, enrolments, lessons, doses."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from manbing.db.base import Base, UuidPk, utcnow


class DtxPackage(UuidPk, Base):
    """A priced DTx service package; the monthly price is split between payers (percent)."""

    __tablename__ = "dtx_packages"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    monthly_price_fen: Mapped[int]
    government_percent: Mapped[int]
    company_percent: Mapped[int]
    resident_percent: Mapped[int]
    company_name: Mapped[str | None] = mapped_column(String(100))


class DtxEnrolment(UuidPk, Base):
    __tablename__ = "dtx_enrolments"
    __table_args__ = (UniqueConstraint("resident_id", "programme"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    programme: Mapped[str] = mapped_column(String(20))
    enrolled_on: Mapped[date]
    ended_on: Mapped[date | None]
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    package_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dtx_packages.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    enrolled_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class DtxLesson(UuidPk, Base):
    """A lesson assigned to a resident by rule, and when they completed it."""

    __tablename__ = "dtx_lessons"
    __table_args__ = (UniqueConstraint("resident_id", "lesson_code"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    lesson_code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(200))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class DoseConfirmation(UuidPk, Base):
    """The patient confirmed taking one dose of a medicine on a day."""

    __tablename__ = "dtx_dose_confirmations"
    __table_args__ = (UniqueConstraint("resident_id", "medicine", "taken_on", "dose_index"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    medicine: Mapped[str] = mapped_column(String(100))
    taken_on: Mapped[date]
    dose_index: Mapped[int]
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
