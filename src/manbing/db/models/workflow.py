"""Referrals with their status history, worklist tasks and the audit trail."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manbing.db.base import Base, Timestamps, UuidPk, enum_column, utcnow
from manbing.domain.audit import AuditAction
from manbing.domain.referrals import Direction, ReferralStatus, Urgency
from manbing.domain.tasks import TaskKind, TaskStatus


class Referral(UuidPk, Timestamps, Base):
    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_to_status", "to_org_id", "status"),
        Index("ix_referrals_from_status", "from_org_id", "status"),
        # type and system _history and _lastUpdated search filter on the last-updated time
        Index("ix_referrals_updated_at", "updated_at"),
    )

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    direction: Mapped[Direction] = mapped_column(enum_column(Direction, 8))
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency, 8))
    reasons: Mapped[list[str]] = mapped_column(default=list)
    reason_text: Mapped[str | None] = mapped_column(String(1000))
    from_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    to_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    to_department: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[ReferralStatus] = mapped_column(enum_column(ReferralStatus, 16))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    handled_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    follow_up_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("follow_ups.id"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referrals.id"))
    plan: Mapped[str | None] = mapped_column(String(2000))  # the hospital's answer / down plan

    history: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral",
        cascade="all, delete-orphan",
        order_by="ReferralEvent.occurred_at",
    )


class ReferralEvent(UuidPk, Base):
    __tablename__ = "referral_events"

    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id"), index=True)
    from_status: Mapped[ReferralStatus | None] = mapped_column(enum_column(ReferralStatus, 16))
    to_status: Mapped[ReferralStatus] = mapped_column(enum_column(ReferralStatus, 16))
    note: Mapped[str | None] = mapped_column(String(1000))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)

    referral: Mapped[Referral] = relationship(back_populates="history")


class WorklistTask(UuidPk, Timestamps, Base):
    """One thing a care team must do for one resident; ``source_*`` points at what caused it."""

    __tablename__ = "worklist_tasks"
    __table_args__ = (
        UniqueConstraint("kind", "source_type", "source_id"),
        Index("ix_tasks_org_status_due", "organization_id", "status", "due_date"),
        Index("ix_tasks_resident_status", "resident_id", "status"),
    )

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    kind: Mapped[TaskKind] = mapped_column(enum_column(TaskKind))
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus, 12), default=TaskStatus.OPEN)
    due_date: Mapped[date]
    priority: Mapped[int] = mapped_column(default=0)  # higher is more urgent
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_type: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[str] = mapped_column(String(64))
    completed_at: Mapped[datetime | None]


class AuditEvent(Base):
    """Append-only, hash-chained record of who did what to which personal data."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_resident_time", "resident_id", "occurred_at"),)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    action: Mapped[AuditAction] = mapped_column(enum_column(AuditAction, 16))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
