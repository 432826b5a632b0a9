"""The follow-up schedule stored on each resident stays equal to what the visits and enrolments
say (domain.rules.follow_up_due_on) after every writer: visits, rescheduling, enrolments, bulk."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from manbing.db.models import Enrolment, FollowUp, Resident
from manbing.domain.organisations import Role
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.domain.rules import follow_up_due_on
from manbing.services import enrolments, follow_up_schedule, followups, worklist
from tests.conftest import TODAY
from tests.integration.helpers_clinic import enrolled_patient
from tests.personas import actor_at


def expected_schedules(session) -> dict[object, tuple[object, object, object]]:
    """Every resident's schedule computed from scratch in Python."""
    latest: dict[object, FollowUp] = {}
    for f in session.scalars(select(FollowUp)):
        kept = latest.get(f.resident_id)
        if kept is None or (f.visit_date, f.created_at) > (kept.visit_date, kept.created_at):
            latest[f.resident_id] = f
    enrolled: dict[object, object] = {}
    for e in session.scalars(select(Enrolment)):
        if e.status is EnrolmentStatus.ACTIVE and e.programme in (
            Programme.HYPERTENSION,
            Programme.T2DM,
        ):
            enrolled[e.resident_id] = min(e.enrolled_on, enrolled.get(e.resident_id, e.enrolled_on))
    out = {}
    for rid in session.scalars(select(Resident.id)):
        last = latest.get(rid)
        due = (
            follow_up_due_on(
                last.visit_date if last else None,
                last.next_visit_date if last else None,
                enrolled[rid],
            )
            if rid in enrolled
            else None
        )
        out[rid] = (due, last.id if last else None, last.classification if last else None)
    return out


def stored_schedules(session) -> dict[object, tuple[object, object, object]]:
    rows = session.execute(
        select(
            Resident.id,
            Resident.follow_up_due_on,
            Resident.last_follow_up_id,
            Resident.last_follow_up_class,
        )
    )
    return {r.id: (r.follow_up_due_on, r.last_follow_up_id, r.last_follow_up_class) for r in rows}


def assert_schedules_right(session_factory) -> None:
    with session_factory() as s:
        expected, stored = expected_schedules(s), stored_schedules(s)
    wrong = {k: (stored[k], v) for k, v in expected.items() if stored[k] != v}
    assert not wrong, wrong


@pytest.fixture
def doctor(district):
    return actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])


def _schedule(session_factory, rid):
    with session_factory() as s:
        return stored_schedules(s)[rid]


def test_the_schedule_follows_visits_rescheduling_and_enrolments(district, uow, clock, doctor):
    sf = district.session_factory
    assert_schedules_right(sf)  # the generated district
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock)
    assert _schedule(sf, rid) == (TODAY, None, None)  # first visit due at enrolment
    first = followups.record(
        uow,
        doctor,
        followups.FollowUpInput(resident_id=rid, visit_date=TODAY, sbp=128, dbp=78),
        clock,
    )
    assert _schedule(sf, rid) == (first.next_visit_date, first.id, "1")
    older = followups.record(  # a visit typed in late does not replace the latest
        uow,
        doctor,
        followups.FollowUpInput(
            resident_id=rid, visit_date=TODAY - timedelta(days=40), sbp=160, dbp=90
        ),
        clock,
    )
    assert older.created and _schedule(sf, rid)[1] == first.id
    with uow:
        followups.reschedule_next_visit(
            uow.session, doctor, first.id, TODAY + timedelta(days=20), clock
        )
        uow.commit()
    assert _schedule(sf, rid)[0] == TODAY + timedelta(days=20)
    enrolments.enrol(uow, doctor, rid, Programme.T2DM, clock)
    assert_schedules_right(sf)
    with sf() as s:
        ids = s.scalars(select(Enrolment.id).where(Enrolment.resident_id == rid)).all()
    for enrolment_id in ids:  # out of both programmes: nothing is due any more
        enrolments.change_status(uow, doctor, enrolment_id, EnrolmentStatus.LOST, clock)
    assert _schedule(sf, rid) == (None, first.id, "1")
    enrolments.enrol(uow, doctor, rid, Programme.HYPERTENSION, clock)  # re-enrolled
    assert _schedule(sf, rid)[0] == TODAY + timedelta(days=20)
    assert_schedules_right(sf)


def test_a_patient_leaves_the_due_list_once_visited_and_returns_when_uncontrolled(
    district, uow, clock, doctor
):
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock)
    due = {d.resident_id for d in worklist.build(uow, doctor, clock).due}
    assert rid in due
    followups.record(
        uow,
        doctor,
        followups.FollowUpInput(resident_id=rid, visit_date=TODAY, sbp=128, dbp=78),
        clock,
    )
    work = worklist.build(uow, doctor, clock)
    assert rid not in {d.resident_id for d in work.due + work.uncontrolled}
    followups.record(
        uow,
        doctor,
        followups.FollowUpInput(resident_id=rid, visit_date=TODAY, sbp=165, dbp=96),
        clock,
    )
    work = worklist.build(uow, doctor, clock)
    assert rid in {d.resident_id for d in work.uncontrolled}
    [item] = [d for d in work.uncontrolled if d.resident_id == rid]
    assert (item.last_sbp, item.classification, item.last_visit) == (165, "2", TODAY)


def test_the_bulk_refresh_computes_the_same_schedule(district, uow, clock, doctor):
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock, Programme.T2DM)
    followups.record(
        uow,
        doctor,
        followups.FollowUpInput(
            resident_id=rid, visit_date=TODAY, sbp=150, dbp=95, fasting_glucose=7.5
        ),
        clock,
    )
    sf = district.session_factory
    with sf() as s:
        before = stored_schedules(s)
        s.execute(
            update(Resident).values(
                follow_up_due_on=None, last_follow_up_id=None, last_follow_up_class=None
            )
        )
        follow_up_schedule.refresh_all(s)
        s.commit()
        assert stored_schedules(s) == before
    assert_schedules_right(sf)
