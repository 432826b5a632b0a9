"""Writing and verifying the hash-chained audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from manbing.db import durability
from manbing.db.models import AuditEvent
from manbing.db.session import begin_sqlite_write
from manbing.domain.audit import GENESIS, AuditAction, ChainBreak, event_hash, verify_chain
from manbing.services.actor import Actor

_CHAIN_LOCK = 0x6D616E62  # "manb"
# read access: a transaction that recorded only these may commit without waiting for the WAL
# flush (docs/adr/0009-audit-read-commits.md); any other write keeps its commit durable
_READ_ACCESS = frozenset({AuditAction.READ, AuditAction.SEARCH})


def _content(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "occurred_at": event.occurred_at.isoformat(),
        "actor_user_id": str(event.actor_user_id) if event.actor_user_id else None,
        "actor_role": event.actor_role,
        "organization_id": str(event.organization_id) if event.organization_id else None,
        "action": event.action.value,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "resident_id": str(event.resident_id) if event.resident_id else None,
        "detail": event.detail,
    }


def record(
    session: Session,
    actor: Actor | None,
    action: AuditAction,
    entity_type: str,
    *,
    at: datetime,
    entity_id: str | uuid.UUID | None = None,
    resident_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction.

    Writers are serialised before the head is read, so the chain never forks: by an advisory
    lock on PostgreSQL, by the database's write lock (``BEGIN IMMEDIATE``) on SQLite.
    """
    return record_many(
        session, actor, action, entity_type, at=at, items=[(entity_id, resident_id, detail)]
    )[0]


AuditItem = tuple[str | uuid.UUID | None, uuid.UUID | None, dict[str, Any] | None]
"""(entity id, resident id, detail) of one event of a :func:`record_many` batch."""


def record_many(
    session: Session,
    actor: Actor | None,
    action: AuditAction,
    entity_type: str,
    *,
    at: datetime,
    items: Sequence[AuditItem],
) -> list[AuditEvent]:
    """Append several events of one kind in order, locking and reading the head once."""
    if not items:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        if action in _READ_ACCESS:
            durability.relax(connection)
        else:
            durability.require_durable(connection)
        # one chain: writers take a transaction-scoped lock before reading the head
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    else:  # SQLite: the write lock, before the head is read (else two writers fork the chain)
        begin_sqlite_write(connection)
    head = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).scalar_one_or_none()
    events: list[AuditEvent] = []
    for entity_id, resident_id, detail in items:
        event = AuditEvent(
            id=uuid.uuid4(),
            occurred_at=at.astimezone(UTC),
            actor_user_id=actor.user_id if actor else None,
            actor_role=actor.role.value if actor else None,
            organization_id=actor.organization_id if actor else None,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id) if entity_id is not None else None,
            resident_id=resident_id,
            detail=detail or {},
            prev_hash=head or GENESIS,
        )
        event.hash = event_hash(event.prev_hash, _content(event))
        head = event.hash
        session.add(event)
        session.flush()  # one INSERT at a time: ``seq`` must follow the chain's order
        events.append(event)
    return events


def verify(session: Session) -> ChainBreak | None:
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000)
    return verify_chain((str(e.id), e.prev_hash, e.hash, _content(e)) for e in events)
