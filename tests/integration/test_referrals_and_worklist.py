"""Two-way referral end to end in the services, and what the worklist shows at each step."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from manbing.db.models import Referral, WorklistTask
from manbing.domain.errors import Forbidden, InvalidInput, NotFound
from manbing.domain.organisations import Role
from manbing.domain.referrals import Direction, ReferralStatus, Urgency
from manbing.domain.rules import add_months
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.services import followups, referrals, worklist
from tests.conftest import TODAY
from tests.integration.helpers_clinic import enrolled_patient
from tests.personas import actor_at


@pytest.fixture
def doctor(district):
    return actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])


@pytest.fixture
def specialist(district):
    return actor_at(district.session_factory, Role.HOSPITAL_SPECIALIST, district.orgs["hospital"])


def test_an_urgent_referral_is_returned_with_a_plan_and_the_doctor_sees_it(
    district, uow, clock, doctor, specialist
):
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock, name="转诊测试")
    visit = followups.record(
        uow,
        doctor,
        followups.FollowUpInput(resident_id=rid, visit_date=TODAY, sbp=185, dbp=96),
        clock,
    )
    sent = referrals.create_up(
        uow,
        doctor,
        referrals.NewReferral(
            resident_id=rid,
            to_org_id=district.orgs["hospital"],
            urgency=Urgency.URGENT,
            reasons=tuple(visit.reasons_zh),
            to_department="心血管内科",
            follow_up_id=visit.id,
        ),
        clock,
    )
    work = worklist.build(uow, doctor, clock)
    assert [r.id for r in work.referrals_sent] == [sent.id]
    assert any(t.resident_id == rid for t in work.post_referral)
    assert [r.id for r in referrals.inbox(uow, specialist)] == [sent.id]

    returned = referrals.return_with_plan(
        uow, specialist, sent.id, "氨氯地平加量至10mg，两周后社区复查血压", clock
    )
    assert returned.status is ReferralStatus.RETURNED
    assert referrals.inbox(uow, specialist) == []
    work = worklist.build(uow, doctor, clock)
    assert [r.plan for r in work.referrals_returned] == ["氨氯地平加量至10mg，两周后社区复查血压"]
    assert work.counts["referrals_returned"] == 1 and work.referrals_sent == []
    with district.session_factory() as s:
        down = s.scalars(select(Referral).where(Referral.parent_id == sent.id)).one()
        assert down.direction is Direction.DOWN and down.to_org_id == district.orgs["xixing-1"]
        [result_task] = s.scalars(
            select(WorklistTask).where(WorklistTask.kind == TaskKind.REFERRAL_RESULT)
        ).all()
        post = s.scalars(
            select(WorklistTask).where(WorklistTask.kind == TaskKind.POST_REFERRAL_FOLLOW_UP)
        ).all()
        assert len(post) == 1 and post[0].due_date == TODAY + timedelta(days=14)

    closed = referrals.acknowledge(uow, doctor, sent.id, clock)
    assert closed.status is ReferralStatus.CLOSED
    with district.session_factory() as s:
        assert s.get(WorklistTask, result_task.id).status is TaskStatus.DONE
    assert worklist.build(uow, doctor, clock).referrals_returned == []


def test_a_referral_without_a_follow_up_opens_its_own_two_week_task(district, uow, clock, doctor):
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock)
    sent = referrals.create_up(
        uow,
        doctor,
        referrals.NewReferral(
            resident_id=rid, to_org_id=district.orgs["hospital"], urgency=Urgency.URGENT,
            reason_text="胸痛待查",
        ),
        clock,
    )  # fmt: skip
    with district.session_factory() as s:
        task = s.scalars(select(WorklistTask).where(WorklistTask.source_id == str(sent.id))).one()
        assert task.kind is TaskKind.POST_REFERRAL_FOLLOW_UP and task.priority == 3


def test_referral_rules_refuse_bad_targets_other_hospitals_and_wrong_roles(
    district, uow, clock, doctor, specialist
):
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock)
    with pytest.raises(InvalidInput) as err:
        referrals.create_up(
            uow, doctor,
            referrals.NewReferral(resident_id=rid, to_org_id=district.orgs["changhe"],
                                  urgency=Urgency.ROUTINE, reason_text="x"),
            clock,
        )  # fmt: skip
    assert err.value.field == "to_org_id"
    with pytest.raises(InvalidInput):
        referrals.create_up(
            uow, doctor,
            referrals.NewReferral(resident_id=rid, to_org_id=district.orgs["hospital"],
                                  urgency=Urgency.ROUTINE),
            clock,
        )  # fmt: skip
    sent = referrals.create_up(
        uow, doctor,
        referrals.NewReferral(resident_id=rid, to_org_id=district.orgs["hospital"],
                              urgency=Urgency.ROUTINE, reason_text="血压控制不佳"),
        clock,
    )  # fmt: skip
    with pytest.raises(Forbidden):
        referrals.return_with_plan(uow, doctor, sent.id, "plan", clock)
    cdc_doctor = actor_at(district.session_factory, Role.HOSPITAL_SPECIALIST, district.orgs["cdc"])
    with pytest.raises(NotFound):
        referrals.accept(uow, cdc_doctor, sent.id, clock)
    with pytest.raises(InvalidInput):
        referrals.return_with_plan(uow, specialist, sent.id, "   ", clock)
    with pytest.raises(Forbidden):
        worklist.build(uow, specialist, clock)


def test_the_worklist_sorts_overdue_patients_by_days_or_by_risk(district, uow, clock, doctor):
    late = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock, name="逾期甲")
    risky = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock, name="高危乙")
    followups.record(uow, doctor, followups.FollowUpInput(
        resident_id=late, visit_date=TODAY - timedelta(days=200), sbp=128, dbp=78), clock)  # fmt: skip
    followups.record(uow, doctor, followups.FollowUpInput(
        resident_id=risky, visit_date=TODAY - timedelta(days=20), sbp=172, dbp=96), clock)  # fmt: skip
    by_days = [d.resident_id for d in worklist.build(uow, doctor, clock).due]
    by_risk = [
        d.resident_id for d in worklist.build(uow, doctor, clock, sort=worklist.DueSort.RISK).due
    ]
    assert by_days.index(late) < by_days.index(risky)
    assert by_risk.index(risky) < by_risk.index(late)
    work = worklist.build(uow, doctor, clock)
    item = next(d for d in work.due if d.resident_id == late)
    due = add_months(TODAY - timedelta(days=200), 3)
    assert (item.due_date, item.days_overdue) == (due, (TODAY - due).days)
    assert any(d.resident_id == risky for d in work.uncontrolled)
    assert all(d.resident_id != late for d in work.uncontrolled)
