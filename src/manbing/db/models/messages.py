"""Messages to residents: an outbox drained by pluggable senders; the in-app inbox is built in."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from manbing.db.base import Base, UuidPk, utcnow


class Message(UuidPk, Base):
    """One message to one resident on one channel; unique per (channel, source)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "source_type", "source_id"),
        Index("ix_messages_status_created", "status", "created_at"),
        Index("ix_messages_resident_created", "resident_id", "created_at"),
    )

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    channel: Mapped[str] = mapped_column(String(20))  # in_app, sms, wechat …
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(2000))
    source_type: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending/sent/failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
