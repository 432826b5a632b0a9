import uuid
from datetime import date

import pytest
from sqlalchemy import select

from manbing.db.models import FollowUp, MedicationStatement, Message, WorklistTask
from manbing.domain.dtx import DtxProgramme, Payer
from manbing.domain.errors import InvalidInput, NotFound
from manbing.domain.followup_form import SaltIntake
from manbing.domain.organisations import Role
from manbing.domain.tasks import TaskKind
from manbing.services import dtx
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
    dtx.enrol(uow, doctor, resident_id, DtxProgramme.HYPERTENSION, clock)
    assert dtx.review_adherence(uow, clock) == 1
    assert dtx.review_adherence(uow, clock) == 0
    with district.session_factory() as s:
        task = s.scalars(
            select(WorklistTask).where(WorklistTask.kind == TaskKind.DTX_ESCALATION)
        ).one()
        assert task.organization_id == org and "测量完成率0%" in task.title


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
