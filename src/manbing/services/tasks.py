"""Worklist tasks: opened idempotently from what caused them, closed when done.

A task is unique on (kind, source_type, source_id): re-running the rule that opens it (a replayed
device reading, a double-submitted form) never creates a second task.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from manbing.db.models import WorklistTask
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.services.clock import Clock


@dataclass(frozen=True)
class TaskSpec:
    resident_id: uuid.UUID
    kind: TaskKind
    due_date: date
    organization_id: uuid.UUID
    title: str
    source_type: str
    source_id: str
    priority: int = 0
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def open_task(session: Session, spec: TaskSpec) -> WorklistTask:
    """Open the task in the caller's transaction, or return the one already opened for its source."""
    return open_tasks(session, [spec])[0]


def open_tasks(session: Session, specs: Sequence[TaskSpec]) -> list[WorklistTask]:
    """:func:`open_task` for many specs with one query and one flush (same order as ``specs``)."""
    if not specs:
        return []
    existing = {
        (t.kind, t.source_type, t.source_id): t
        for t in session.scalars(
            select(WorklistTask).where(
                tuple_(WorklistTask.kind, WorklistTask.source_type, WorklistTask.source_id).in_(
                    [(s.kind, s.source_type, s.source_id) for s in specs]
                )
            )
        )
    }
    tasks: list[WorklistTask] = []
    for spec in specs:
        key = (spec.kind, spec.source_type, spec.source_id)
        task = existing.get(key)
        if task is None:
            task = WorklistTask(
                id=uuid.uuid4(),
                resident_id=spec.resident_id,
                kind=spec.kind,
                status=TaskStatus.OPEN,
                due_date=spec.due_date,
                priority=spec.priority,
                organization_id=spec.organization_id,
                team_id=spec.team_id,
                assignee_id=spec.assignee_id,
                title=spec.title,
                detail=spec.detail,
                source_type=spec.source_type,
                source_id=spec.source_id,
            )
            session.add(task)
            existing[key] = task
        tasks.append(task)
    session.flush()
    return tasks


def close_open_tasks(
    session: Session, resident_id: uuid.UUID, kinds: tuple[TaskKind, ...], clock: Clock
) -> int:
    """Mark a resident's open tasks of these kinds done (e.g. a follow-up was recorded)."""
    tasks = session.scalars(
        select(WorklistTask).where(
            WorklistTask.resident_id == resident_id,
            WorklistTask.kind.in_(kinds),
            WorklistTask.status == TaskStatus.OPEN,
        )
    ).all()
    for task in tasks:
        task.status = TaskStatus.DONE
        task.completed_at = clock.now()
    return len(tasks)
