"""The demo patient gets a believable fortnight in the DTx programme, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from manbing.db.models import DoseConfirmation, Message, Observation, User, WorklistTask
from manbing.domain.observations import ObservationKind, ObservationSource
from manbing.domain.tasks import TaskKind
from manbing.services import auth, dtx
from manbing.services.demo_accounts import create_demo_accounts
from manbing.services.demo_patient import DAYS, prepare_demo_patient


def test_the_demo_patient_is_enrolled_with_a_plan_lessons_readings_and_a_message(
    district, uow, clock
):
    with district.session_factory() as session:
        create_demo_accounts(session)
        session.commit()
    assert prepare_demo_patient(uow, clock) is True
    with district.session_factory() as session:
        user = session.scalars(select(User).where(User.username == "patient")).one()
        patient = auth.actor_for(session, user)
        home = session.scalar(
            select(func.count())
            .select_from(Observation)
            .where(
                Observation.resident_id == user.resident_id,
                Observation.source == ObservationSource.HOME_DEVICE,
                Observation.kind == ObservationKind.BLOOD_PRESSURE,
            )
        )
        doses = session.scalar(
            select(func.count())
            .select_from(DoseConfirmation)
            .where(DoseConfirmation.resident_id == user.resident_id)
        )
        urgent = session.scalar(
            select(func.count())
            .select_from(WorklistTask)
            .where(WorklistTask.kind == TaskKind.URGENT_ALERT)
        )
    assert user.resident_id is not None
    # morning and evening over the fortnight, a few missed, none after "now" (10:00 today)
    assert 2 * DAYS * 0.7 <= home <= 2 * DAYS + 1
    assert urgent == 0  # believable, not alarming
    view = dtx.programme_view(uow, patient, user.resident_id, clock)
    assert view.programmes == ["hypertension"]
    assert view.schedule == {"bp": 14}
    assert view.lessons and any(lesson.completed for lesson in view.lessons)
    assert view.adherence.measurements_done > 0
    assert all(p.measured_at <= clock.now() for p in view.readings)
    assert min(p.measured_at for p in view.readings) <= clock.now() - timedelta(days=DAYS - 1)
    if view.reminders:
        assert doses and doses > 0
    with district.session_factory() as session:
        inbox = dtx_inbox(session, user.resident_id)
    assert "李医生" in inbox

    assert prepare_demo_patient(uow, clock) is False  # once: a re-run of the demo adds nothing


def dtx_inbox(session, resident_id) -> str:
    return " ".join(
        m.title for m in session.scalars(select(Message).where(Message.resident_id == resident_id))
    )


def test_without_demo_accounts_nothing_is_prepared(district, uow, clock):
    assert prepare_demo_patient(uow, clock) is False


def test_dose_times_stay_within_the_waking_day():
    from manbing.services.demo_patient import _dose_hour

    for doses in range(1, 7):
        hours = [_dose_hour(d, doses) for d in range(doses)]
        assert hours[0] == 8
        assert all(8 <= h <= 20 for h in hours)
        assert hours == sorted(set(hours))
