import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from manbing.db.models import FollowUp, MedicationStatement, Message, WorklistTask
from manbing.domain.dtx import DtxProgramme, Payer
from manbing.domain.errors import InvalidInput, NotFound
from manbing.domain.followup_form import SaltIntake
from manbing.domain.organisations import Role
from manbing.domain.tasks import TaskKind
from manbing.services import dtx
from manbing.services.clock import FixedClock
from manbing.services.schedule import parse_every, run_every
from tests.personas import actor_at


def _followed_up(district):
    with district.session_factory() as s:
        return s.scalars(
            select(FollowUp.resident_id).where(
                FollowUp.resident_id.in_(district.resident_ids["xixing-1"])
            )
        ).first()


def _record(session_factory, resident_id, org_id):
    with session_factory() as s:
        followup = s.scalars(
            select(FollowUp)
            .where(FollowUp.resident_id == resident_id)
            .order_by(FollowUp.visit_date.desc())
        ).first()
        if followup is not None:
            followup.salt_intake = SaltIntake.HEAVY
            followup.salt_intake_target = SaltIntake.LIGHT
            followup.visit_date = date(2026, 11, 20)
            followup.next_visit_date = date(2026, 12, 20)
        s.add(
            MedicationStatement(
                id=uuid.uuid4(),
                resident_id=resident_id,
                name="氨氯地平",
                times_per_day=1,
                active=True,
            )
        )
        s.commit()
        return followup is not None


def test_enrolment_builds_a_plan_from_the_record_and_assigns_lessons_by_rule(district, uow, clock):
    org = district.orgs["xixing-1"]
    resident_id = _followed_up(district)
    assert resident_id is not None
    assert _record(district.session_factory, resident_id, org)
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, org)
    first = dtx.enrol(uow, doctor, resident_id, DtxProgramme.HYPERTENSION, clock)
    assert dtx.enrol(uow, doctor, resident_id, DtxProgramme.HYPERTENSION, clock) == first
    view = dtx.programme_view(uow, doctor, resident_id, clock)
    assert view.schedule == {"bp": 14}
    assert {"name": "氨氯地平", "times_per_day": 1} in view.reminders
    codes = {lv.lesson.code for lv in view.lessons}
    assert {"bp_basics", "home_bp"} <= codes
    assert "salt" in codes
    assert view.next_appointment == date(2026, 12, 20)
    assert any("摄盐目标" in g for g in view.goals)
    outsider = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["changhe-1"])
    with pytest.raises(NotFound):
        dtx.enrol(uow, outsider, resident_id, DtxProgramme.HYPERTENSION, clock)


def test_a_patient_records_readings_confirms_doses_and_completes_lessons_for_their_own_record(
    district, uow, clock
):
    org = district.orgs["xixing-1"]
    resident_id = district.resident_ids["xixing-1"][0]
    _record(district.session_factory, resident_id, org)
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, org)
    dtx.enrol(uow, doctor, resident_id, DtxProgramme.HYPERTENSION, clock)
    patient = actor_at(district.session_factory, Role.PATIENT, org, resident_id=resident_id)
    dtx.record_manual_reading(uow, patient, resident_id, clock, sbp=132, dbp=82)
    dtx.record_manual_reading(uow, patient, resident_id, clock, sbp=185, dbp=100)
    dtx.confirm_dose(uow, patient, resident_id, "氨氯地平", 0, clock)
    dtx.confirm_dose(uow, patient, resident_id, "氨氯地平", 0, clock)
    dtx.complete_lesson(uow, patient, resident_id, "home_bp", clock)
    view = dtx.programme_view(uow, doctor, resident_id, clock)
    assert (view.adherence.measurements_done, view.adherence.measurements_planned) == (2, 14)
    assert (view.adherence.doses_confirmed, view.adherence.doses_planned) == (1, 7)
    assert [lv.completed for lv in view.lessons if lv.lesson.code == "home_bp"] == [True]
    with district.session_factory() as s:
        urgent = s.scalars(
            select(WorklistTask).where(WorklistTask.kind == TaskKind.URGENT_ALERT)
        ).all()
        assert len(urgent) == 1 and urgent[0].resident_id == resident_id
        assert s.scalars(select(Message).where(Message.resident_id == resident_id)).one()
    with pytest.raises(InvalidInput):
        dtx.record_manual_reading(uow, patient, resident_id, clock, sbp=80, dbp=90)
    other = district.resident_ids["xixing-1"][1]
    with pytest.raises(NotFound):
        dtx.record_manual_reading(uow, patient, other, clock, sbp=120, dbp=80)


def test_low_weekly_adherence_escalates_to_the_doctor_once_per_week(district, uow, clock):
    org = district.orgs["xixing-1"]
    resident_id = district.resident_ids["xixing-1"][2]
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, org)
    dtx.enrol(uow, doctor, resident_id, DtxProgramme.HYPERTENSION, clock)  # Tue 24 Nov
    assert dtx.review_adherence(uow, clock) == 0  # the last completed week predates enrolment
    next_week = FixedClock(clock.now() + timedelta(days=7))  # reviews Mon 23 – Sun 29 Nov
    assert dtx.review_adherence(uow, next_week) == 1
    assert dtx.review_adherence(uow, next_week) == 0
    assert dtx.review_adherence(uow, FixedClock(clock.now() + timedelta(days=9))) == 0
    with district.session_factory() as s:
        task = s.scalars(
            select(WorklistTask).where(WorklistTask.kind == TaskKind.DTX_ESCALATION)
        ).one()
        assert task.organization_id == org and "测量完成率0%" in task.title
        assert task.source_id == f"{resident_id}:2026-W48"
        # judged from enrolment (Tue) to Sunday: 6 of 7 days of the 14-a-week schedule
        assert task.detail["week_start"] == "2026-11-24"
        assert task.detail["measurements_planned"] == 12
    assert dtx.review_adherence(uow, FixedClock(clock.now() + timedelta(days=14))) == 1


def test_the_scheduled_review_runs_unattended_and_never_escalates_a_week_twice(
    district, uow, clock
):
    org = district.orgs["xixing-1"]
    resident_id = district.resident_ids["xixing-1"][3]
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, org)
    dtx.enrol(uow, doctor, resident_id, DtxProgramme.HYPERTENSION, clock)
    later = FixedClock(clock.now() + timedelta(days=7))
    opened: list[int] = []
    runs = run_every(
        lambda: opened.append(dtx.review_adherence(uow, later)),
        timedelta(milliseconds=10),
        threading.Event(),
        name="dtx review",
        max_runs=3,
    )
    assert runs == 3 and opened == [1, 0, 0]


def test_a_failing_scheduled_run_is_logged_and_the_next_one_runs(caplog):
    calls: list[int] = []

    def job() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")

    stop = threading.Event()
    assert run_every(job, timedelta(milliseconds=1), stop, name="job", max_runs=2) == 2
    assert len(calls) == 2 and "job failed" in caplog.text


def test_the_schedule_interval_is_parsed_or_refused():
    assert parse_every("1h") == timedelta(hours=1)
    assert parse_every("30m") == timedelta(minutes=30)
    assert parse_every(" 2d ") == timedelta(days=2)
    for bad in ("", "0h", "1w", "h", "-1h", "1.5h"):
        with pytest.raises(InvalidInput):
            parse_every(bad)


def test_the_monthly_statement_splits_each_enrolment_between_the_payers(district, uow, clock):
    org = district.orgs["xixing-1"]
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, org)
    dtx.add_package(
        uow,
        doctor,
        code="htn-dtx",
        name="高血压数字疗法包",
        monthly_price_fen=3_000,
        government_percent=60,
        company_percent=30,
        resident_percent=10,
        company_name="滨江健康科技",
        clock=clock,
    )
    for resident_id in district.resident_ids["xixing-1"][:2]:
        dtx.enrol(
            uow, doctor, resident_id, DtxProgramme.HYPERTENSION, clock, package_code="htn-dtx"
        )
    manager = actor_at(district.session_factory, Role.CENTRE_MANAGER, district.orgs["xixing"])
    lines = {line.payer: line for line in dtx.monthly_statement(uow, manager, 2026, 11)}
    assert lines[Payer.GOVERNMENT].amount_fen == 3_600
    assert (
        lines[Payer.COMPANY].amount_fen == 1_800
        and lines[Payer.COMPANY].payer_name == "滨江健康科技"
    )
    assert lines[Payer.RESIDENT].amount_fen == 600 and lines[Payer.RESIDENT].enrolments == 2
    assert dtx.monthly_statement(uow, manager, 2026, 10) == []
    elsewhere = actor_at(district.session_factory, Role.CENTRE_MANAGER, district.orgs["changhe"])
    assert dtx.monthly_statement(uow, elsewhere, 2026, 11) == []
