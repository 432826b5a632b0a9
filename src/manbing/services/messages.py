"""Messages to residents: written to an outbox in the caller's transaction, delivered by senders.

A sender is anything with a ``channel`` name and ``send(message) -> None`` (raise to fail). The
in-app inbox is the built-in channel: delivering marks the row sent and the patient app shows it.
SMS or WeChat senders plug in with :func:`dispatch_pending` without touching the callers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from manbing.db.models import Message
from manbing.domain.errors import NotFound
from manbing.domain.organisations import Permission
from manbing.services import access
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

IN_APP = "in_app"
PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_ATTEMPTS = 5


class Sender(Protocol):
    channel: str

    def send(self, message: Message) -> None: ...


class InAppSender:
    """The built-in channel: the message row *is* the inbox entry; nothing leaves the platform."""

    channel = IN_APP

    def send(self, message: Message) -> None:
        return None


DEFAULT_SENDERS: Mapping[str, Sender] = {IN_APP: InAppSender()}


def enqueue(
    session: Session,
    *,
    resident_id: uuid.UUID,
    title: str,
    body: str,
    source_type: str,
    source_id: str,
    at: datetime,
    channel: str = IN_APP,
) -> Message:
    """Queue a message in the caller's transaction; once per (channel, source)."""
    item = Outgoing(resident_id, title, body, source_type, source_id)
    return enqueue_many(session, [item], at=at, channel=channel)[0]


@dataclass(frozen=True)
class Outgoing:
    resident_id: uuid.UUID
    title: str
    body: str
    source_type: str
    source_id: str


def enqueue_many(
    session: Session, items: Sequence[Outgoing], *, at: datetime, channel: str = IN_APP
) -> list[Message]:
    """:func:`enqueue` for many messages with one query and one flush (same order as ``items``)."""
    if not items:
        return []
    existing = {
        (m.source_type, m.source_id): m
        for m in session.scalars(
            select(Message).where(
                Message.channel == channel,
                tuple_(Message.source_type, Message.source_id).in_(
                    [(i.source_type, i.source_id) for i in items]
                ),
            )
        )
    }
    queued: list[Message] = []
    for item in items:
        key = (item.source_type, item.source_id)
        message = existing.get(key)
        if message is None:
            message = Message(
                id=uuid.uuid4(),
                resident_id=item.resident_id,
                channel=channel,
                title=item.title[:200],
                body=item.body[:2000],
                source_type=item.source_type,
                source_id=item.source_id,
                status=PENDING,
                attempts=0,
                created_at=at,
            )
            session.add(message)
            existing[key] = message
        queued.append(message)
    session.flush()
    return queued


def dispatch_pending(
    uow: UnitOfWork, clock: Clock, senders: Mapping[str, Sender] = DEFAULT_SENDERS, limit: int = 500
) -> int:
    """Deliver queued messages through their channel's sender; return how many were sent."""
    sent = 0
    with uow:
        session = uow.session
        pending = session.scalars(
            select(Message)
            .where(Message.status == PENDING)
            .order_by(Message.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for message in pending:
            sender = senders.get(message.channel)
            message.attempts += 1
            if sender is None:
                message.last_error = f"no sender for channel {message.channel}"
            else:
                try:
                    sender.send(message)
                except Exception as exc:  # a sender's failure must not stop the others
                    message.last_error = str(exc)[:500]
                else:
                    message.status = SENT
                    message.sent_at = clock.now()
                    message.last_error = None
                    sent += 1
            if message.status == PENDING and message.attempts >= MAX_ATTEMPTS:
                message.status = FAILED
        uow.commit()
    return sent


@dataclass(frozen=True)
class InboxItem:
    id: uuid.UUID
    title: str
    body: str
    sent_at: datetime | None
    read: bool


def inbox(
    uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID, limit: int = 50
) -> list[InboxItem]:
    """The resident's delivered in-app messages, newest first."""
    access.require(actor, Permission.READ_RESIDENTS)
    with uow:
        session = uow.session
        access.get_resident(session, actor, resident_id)
        rows = session.scalars(
            select(Message)
            .where(
                Message.resident_id == resident_id,
                Message.channel == IN_APP,
                Message.status == SENT,
            )
            .order_by(Message.created_at.desc())
            .limit(limit)
        ).all()
        return [InboxItem(m.id, m.title, m.body, m.sent_at, m.read_at is not None) for m in rows]


def mark_read(uow: UnitOfWork, actor: Actor, message_id: uuid.UUID, clock: Clock) -> None:
    with uow:
        session = uow.session
        message = session.get(Message, message_id)
        if message is None:
            raise NotFound("未找到该消息", "message not found")
        access.get_resident(session, actor, message.resident_id)
        if message.read_at is None:
            message.read_at = clock.now()
        uow.commit()
