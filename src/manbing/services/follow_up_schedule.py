"""Each resident's follow-up schedule, stored on the resident for the worklist.

``residents.follow_up_due_on`` (when the next hypertension/diabetes follow-up is due, by
``domain.rules.follow_up_due_on``; None outside both programmes), ``last_follow_up_id`` and
``last_follow_up_class`` (the latest visit) are derived data. Every writer of follow-ups or
enrolments calls :func:`refresh` for the residents it touched, in its own transaction; bulk
loads call :func:`refresh_all`. The worklist then reads one page of due patients through an index
instead of looking up the latest visit of every managed patient.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from manbing.db.models import Enrolment, FollowUp, Resident
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.domain.rules import follow_up_due_on

MANAGED = (Programme.HYPERTENSION, Programme.T2DM)


def refresh(session: Session, resident_ids: Iterable[uuid.UUID]) -> None:
    """Recompute the schedule of these residents from their visits and enrolments."""
    session.flush()
    for resident_id in sorted(set(resident_ids)):
        latest = session.execute(
            select(
                FollowUp.id, FollowUp.visit_date, FollowUp.next_visit_date, FollowUp.classification
            )
            .where(FollowUp.resident_id == resident_id)
            # the id breaks a tie of one moment, as the indicators do (docs/indicators.md)
            .order_by(FollowUp.visit_date.desc(), FollowUp.created_at.desc(), FollowUp.id.desc())
            .limit(1)
        ).first()
        enrolled_on = session.scalar(
            select(func.min(Enrolment.enrolled_on)).where(
                Enrolment.resident_id == resident_id,
                Enrolment.status == EnrolmentStatus.ACTIVE,
                Enrolment.programme.in_(MANAGED),
            )
        )
        due = (
            follow_up_due_on(
                latest.visit_date if latest else None,
                latest.next_visit_date if latest else None,
                enrolled_on,
            )
            if enrolled_on is not None
            else None
        )
        session.execute(
            update(Resident)
            .where(Resident.id == resident_id)
            # derived data: neither a new version of the record nor a change of its timestamp
            .values(
                follow_up_due_on=due,
                last_follow_up_id=latest.id if latest else None,
                last_follow_up_class=latest.classification if latest else None,
                updated_at=Resident.updated_at,
            )
            .execution_options(synchronize_session="fetch")
        )


def refresh_all(session: Session) -> None:
    """Recompute every resident's schedule in set-based statements (after a bulk load).

    The same rule as :func:`refresh` (``domain.rules.follow_up_due_on``), in SQL; migration
    0014 backfilled the columns with the PostgreSQL statement.
    """
    session.flush()
    active, programmes = EnrolmentStatus.ACTIVE.value, ", ".join(f"'{p.value}'" for p in MANAGED)

    def managed(alias: str = "") -> str:
        return f"{alias}status = '{active}' AND {alias}programme IN ({programmes})"

    if session.get_bind().dialect.name == "postgresql":
        statement = f"""
            UPDATE residents r SET
                follow_up_due_on = CASE WHEN m.resident_id IS NOT NULL
                                        THEN COALESCE(l.due_on, m.enrolled_on) END,
                last_follow_up_id = l.id,
                last_follow_up_class = l.classification
            FROM (SELECT DISTINCT ON (resident_id) resident_id, id, classification,
                         COALESCE(next_visit_date, visit_date) AS due_on
                  FROM follow_ups ORDER BY resident_id, visit_date DESC, created_at DESC, id DESC) l
            FULL JOIN (SELECT resident_id, MIN(enrolled_on) AS enrolled_on FROM enrolments
                       WHERE {managed()} GROUP BY resident_id) m ON m.resident_id = l.resident_id
            WHERE r.id = COALESCE(l.resident_id, m.resident_id)"""
    else:
        latest = """(SELECT {col} FROM follow_ups f WHERE f.resident_id = residents.id
                     ORDER BY f.visit_date DESC, f.created_at DESC, f.id DESC LIMIT 1)"""
        enrolled = f"FROM enrolments e WHERE e.resident_id = residents.id AND {managed('e.')}"
        statement = f"""
            UPDATE residents SET
                last_follow_up_id = {latest.format(col="f.id")},
                last_follow_up_class = {latest.format(col="f.classification")},
                follow_up_due_on = CASE WHEN EXISTS (SELECT 1 {enrolled}) THEN COALESCE(
                    {latest.format(col="COALESCE(f.next_visit_date, f.visit_date)")},
                    (SELECT MIN(e.enrolled_on) {enrolled})) END"""
    session.execute(text(statement))
    session.expire_all()
