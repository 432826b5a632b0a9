import pytest

from manbing.domain.dtx import (
    LESSONS_BY_CODE,
    DtxProgramme,
    Payer,
    RecordFacts,
    WeeklyAdherence,
    assign_lessons,
    escalation_reason,
    personal_plan,
    split_fee,
)
from manbing.domain.errors import InvalidInput
from manbing.domain.followup_form import SaltIntake

HTN = frozenset({DtxProgramme.HYPERTENSION})


def test_high_salt_in_the_record_assigns_the_salt_lesson_and_light_salt_does_not():
    heavy = [a.code for a in assign_lessons(RecordFacts(HTN, salt_intake=SaltIntake.HEAVY))]
    light = [a.code for a in assign_lessons(RecordFacts(HTN, salt_intake=SaltIntake.LIGHT))]
    assert "salt" in heavy and "salt" not in light
    assert {"bp_basics", "home_bp"} <= set(light)
    assert all(code in LESSONS_BY_CODE for code in heavy)


def test_smoking_overweight_and_too_little_exercise_each_bring_their_lesson():
    facts = RecordFacts(
        frozenset({DtxProgramme.DIABETES}),
        cigarettes_per_day=10,
        bmi=26.0,
        exercise_times_per_week=1,
        exercise_target=5,
    )
    codes = {a.code for a in assign_lessons(facts)}
    assert {"glucose_basics", "hypoglycaemia", "quit_smoking", "weight", "exercise"} <= codes


def test_the_plan_schedules_measurements_reminds_each_medicine_and_sets_goals_from_targets():
    facts = RecordFacts(
        HTN | {DtxProgramme.DIABETES},
        salt_target=SaltIntake.LIGHT,
        exercise_target=5,
        cigarettes_per_day=5,
        cigarettes_target=0,
        staple_food_target_g=250,
        medicines=(("氨氯地平", 1), ("二甲双胍", 2)),
    )
    plan = personal_plan(facts)
    assert plan.measurements_per_week == {"bp": 14, "glucose": 7}
    assert [r["times_per_day"] for r in plan.medication_reminders] == [1, 2]
    text = "".join(plan.goals_zh)
    assert "戒烟" in text and "每周5次" in text and "250克" in text and "摄盐" in text


def test_adherence_below_half_or_an_uncontrolled_home_average_escalates():
    good = WeeklyAdherence(14, 12, 7, 7)
    assert escalation_reason(good, False) is None
    low = WeeklyAdherence(14, 6, 7, 7)
    assert "测量完成率43%" in (escalation_reason(low, False) or "")
    assert "135/85" in (escalation_reason(good, True) or "")
    assert "服药" in (escalation_reason(WeeklyAdherence(14, 14, 14, 3), None) or "")


def test_a_price_is_split_between_payers_exactly_to_the_fen():
    split = split_fee(9_999, {Payer.GOVERNMENT: 50, Payer.COMPANY: 30, Payer.RESIDENT: 20})
    assert split == {Payer.GOVERNMENT: 4_999, Payer.COMPANY: 2_999, Payer.RESIDENT: 2_001}
    assert sum(split.values()) == 9_999
    with pytest.raises(InvalidInput):
        split_fee(100, {Payer.GOVERNMENT: 50, Payer.COMPANY: 30, Payer.RESIDENT: 30})
