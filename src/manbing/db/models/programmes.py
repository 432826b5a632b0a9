"""Programme enrolments (专病管理) with their status history."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manbing.db.base import Base, Timestamps, UuidPk, enum_column, utcnow
from manbing.domain.programmes import EnrolmentStatus, Programme


class Enrolment(UuidPk, Timestamps, Base):
    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("resident_id", "programme"),
        Index("ix_enrolments_org_programme_status", "managing_org_id", "programme", "status"),
        # type and system _history and _lastUpdated search filter on the last-updated time
        Index("ix_enrolments_updated_at", "updated_at"),
    )

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    programme: Mapped[Programme] = mapped_column(enum_column(Programme))
    diagnosed_on: Mapped[date | None]
    diagnosed_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    diagnosis_icd10: Mapped[str | None] = mapped_column(String(10))
    enrolled_on: Mapped[date]
    managing_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))
    status: Mapped[EnrolmentStatus] = mapped_column(enum_column(EnrolmentStatus))
    status_date: Mapped[date]

    history: Mapped[list[EnrolmentStatusChange]] = relationship(
        back_populates="enrolment",
        cascade="all, delete-orphan",
        order_by="EnrolmentStatusChange.changed_at",
    )


class EnrolmentStatusChange(UuidPk, Base):
    __tablename__ = "enrolment_status_changes"

    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrolments.id"), index=True)
    from_status: Mapped[EnrolmentStatus | None] = mapped_column(enum_column(EnrolmentStatus))
    to_status: Mapped[EnrolmentStatus] = mapped_column(enum_column(EnrolmentStatus))
    effective_on: Mapped[date]
    reason: Mapped[str | None] = mapped_column(String(200))
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="history")
