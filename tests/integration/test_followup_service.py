"""Recording follow-ups: classification, next task, referral task, idempotency, all-or-nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manbing.db.models import FollowUp, Observation, WorklistTask
from manbing.domain.errors import InvalidInput, NotFound
from manbing.domain.followup_form import FormType
from manbing.domain.organisations import Role
from manbing.domain.programmes import Programme
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.services import followups
from tests.conftest import TODAY
from tests.integration.helpers_clinic import enrolled_patient
from tests.personas import actor_at, other_district_station


@pytest.fixture
def doctor(district):
    return actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])


def _count(session_factory, model, *where):
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_a_controlled_visit_is_class_1_and_opens_the_next_visit_in_three_months(
    district, uow, clock, doctor
):
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock)
    result = followups.record(
        uow,
        doctor,
        followups.FollowUpInput(resident_id=rid, visit_date=TODAY, sbp=128, dbp=78),
        clock,
    )
    assert result.created and result.classification == "1" and not result.refer
    assert result.next_visit_date == TODAY.replace(year=2027, month=2)
    with district.session_factory() as s:
        task = s.scalars(select(WorklistTask).where(WorklistTask.resident_id == rid)).one()
        assert task.kind is TaskKind.FOLLOW_UP_DUE and task.due_date == result.next_visit_date
        bp = s.scalars(select(Observation).where(Observation.resident_id == rid)).one()
        assert (bp.value, bp.value2, bp.follow_up_id) == (128, 78, result.id)


def test_sbp_185_is_an_urgent_referral_with_a_two_week_task_and_closes_the_due_task(
    district, uow, clock, doctor
):
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock)
    first = followups.record(
        uow,
        doctor,
        followups.FollowUpInput(
            resident_id=rid, visit_date=TODAY - timedelta(days=100), sbp=150, dbp=88
        ),
        clock,
    )
    result = followups.record(
        uow,
        doctor,
        followups.FollowUpInput(resident_id=rid, visit_date=TODAY, sbp=185, dbp=95),
        clock,
    )
    assert result.refer and result.urgent
    assert "收缩压≥180mmHg" in result.reasons_zh
    assert "连续两次随访控制不满意" in result.reasons_zh
    assert result.next_visit_date == TODAY + timedelta(days=14)
    with district.session_factory() as s:
        rows = s.scalars(select(WorklistTask).where(WorklistTask.resident_id == rid)).all()
        by_source = {t.source_id: t for t in rows}
        assert by_source[str(first.id)].status is TaskStatus.DONE
        post = by_source[str(result.id)]
        assert post.kind is TaskKind.POST_REFERRAL_FOLLOW_UP and post.status is TaskStatus.OPEN
        assert post.due_date == TODAY + timedelta(days=14) and post.detail["urgent"] is True


def test_a_double_submitted_form_stores_one_follow_up(district, uow, clock, doctor):
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock)
    data = followups.FollowUpInput(
        resident_id=rid,
        visit_date=TODAY,
        sbp=185,
        dbp=95,
        idempotency_key="form-0001-abcdef",
        medications=(followups.MedicationInput("氨氯地平", 1, 5, "mg"),),
    )
    first = followups.record(uow, doctor, data, clock)
    again = followups.record(uow, doctor, data, clock)
    assert first.created and not again.created
    assert again.id == first.id and again.urgent and again.reasons_zh == first.reasons_zh
    assert _count(district.session_factory, FollowUp, FollowUp.resident_id == rid) == 1
    assert _count(district.session_factory, Observation, Observation.resident_id == rid) == 1


def test_an_implausible_value_is_refused_in_chinese_and_nothing_is_saved(
    district, uow, clock, doctor
):
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock)
    with pytest.raises(InvalidInput) as err:
        followups.record(
            uow,
            doctor,
            followups.FollowUpInput(
                resident_id=rid,
                visit_date=TODAY,
                sbp=140,
                dbp=85,
                weight_kg=900,
                medications=(followups.MedicationInput("氨氯地平"),),
            ),
            clock,
        )
    assert err.value.field == "weight_kg" and "体重" in err.value.message
    assert _count(district.session_factory, FollowUp, FollowUp.resident_id == rid) == 0
    assert _count(district.session_factory, Observation, Observation.resident_id == rid) == 0


def test_a_patient_in_both_programmes_gets_the_combined_form_and_needs_glucose(
    district, uow, clock, doctor
):
    rid = enrolled_patient(
        uow, doctor, district.orgs["xixing-1"], clock, Programme.HYPERTENSION, Programme.T2DM
    )
    typed = followups.FollowUpInput(resident_id=rid, visit_date=TODAY, sbp=130, dbp=80)
    preview = followups.preview(uow, doctor, typed, clock)
    assert preview.form is FormType.COMBINED and preview.decision is None
    assert preview.error is not None and preview.error.field == "fasting_glucose"
    full = followups.preview(
        uow,
        doctor,
        followups.FollowUpInput(
            resident_id=rid, visit_date=TODAY, sbp=130, dbp=80, fasting_glucose=17.0
        ),
        clock,
    )
    assert full.decision is not None and full.decision.urgent
    assert "血糖≥16.7mmol/L" in full.decision.reasons_zh
    assert _count(district.session_factory, FollowUp, FollowUp.resident_id == rid) == 0


def test_a_doctor_of_another_district_cannot_record_or_preview(district, uow, clock, doctor):
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock)
    outsider = actor_at(
        district.session_factory,
        Role.FAMILY_DOCTOR,
        other_district_station(district.session_factory),
    )
    data = followups.FollowUpInput(resident_id=rid, visit_date=TODAY, sbp=130, dbp=80)
    with pytest.raises(NotFound):
        followups.record(uow, outsider, data, clock)
    with pytest.raises(NotFound):
        followups.preview(uow, outsider, data, clock)
