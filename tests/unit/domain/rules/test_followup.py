from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.blood_pressure import BpTargetProfile, bp_target
from manbing.domain.rules.danger_signs import DangerSign
from manbing.domain.rules.followup import (
    FollowupClass,
    FollowupVisit,
    Programme,
    ReferralReason,
    classify_followup,
    referral_followup_date,
)

HTN = frozenset({Programme.HYPERTENSION})
DM = frozenset({Programme.DIABETES})
BOTH = HTN | DM
DAY = date(2024, 3, 10)


def htn(sbp: float = 130, dbp: float = 80, **kw: object) -> FollowupVisit:
    return FollowupVisit(visit_date=DAY, age=kw.pop("age", 55), programmes=HTN,  # type: ignore[arg-type]
                         sbp=sbp, dbp=dbp, **kw)  # type: ignore[arg-type]  # fmt: skip


def dm(fpg: float = 6.0, **kw: object) -> FollowupVisit:
    return FollowupVisit(visit_date=DAY, age=55, programmes=DM, fasting_glucose=fpg, **kw)  # type: ignore[arg-type]


def test_a_controlled_visit_is_satisfied_and_returns_in_3_months() -> None:
    d = classify_followup(htn(139, 89))
    assert d.classification is FollowupClass.SATISFIED
    assert d.classification.label_zh == "控制满意"
    assert d.next_visit_date == date(2024, 6, 10)
    assert not d.refer and not d.urgent and d.reasons == ()


def test_the_3_month_visit_clamps_to_the_month_end() -> None:
    visit = FollowupVisit(date(2023, 11, 30), 55, HTN, sbp=120, dbp=70)
    assert classify_followup(visit).next_visit_date == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("sbp", "dbp", "age", "expected"),
    [
        (139, 89, 64, FollowupClass.SATISFIED),
        (140, 89, 64, FollowupClass.UNSATISFIED),
        (139, 90, 64, FollowupClass.UNSATISFIED),
        (149, 89, 65, FollowupClass.SATISFIED),
        (150, 89, 65, FollowupClass.UNSATISFIED),
    ],
)
def test_it_classifies_bp_control_at_the_service_standard_boundaries(
    sbp: int, dbp: int, age: int, expected: FollowupClass
) -> None:
    assert classify_followup(htn(sbp, dbp, age=age)).classification is expected


def test_the_2025_profile_uses_130_80() -> None:
    visit = htn(130, 75, bp_profile=BpTargetProfile.PRIMARY_CARE_2025)
    assert classify_followup(visit).classification is FollowupClass.UNSATISFIED


@pytest.mark.parametrize(
    ("fpg", "expected"), [(6.9, FollowupClass.SATISFIED), (7.0, FollowupClass.UNSATISFIED)]
)
def test_it_classifies_diabetes_control_at_7_mmol(fpg: float, expected: FollowupClass) -> None:
    assert classify_followup(dm(fpg)).classification is expected


def test_a_first_uncontrolled_visit_rechecks_in_2_weeks_without_referral() -> None:
    d = classify_followup(htn(150, 95))
    assert d.classification is FollowupClass.UNSATISFIED
    assert d.next_visit_date == DAY + timedelta(days=14)
    assert not d.refer


def test_two_consecutive_uncontrolled_visits_are_referred() -> None:
    d = classify_followup(htn(150, 95, previous_classification=FollowupClass.UNSATISFIED))
    assert d.refer and not d.urgent
    assert d.reasons_zh == ["连续两次随访控制不满意"]
    assert d.reason_codes == ["two_consecutive_uncontrolled"]
    assert d.next_visit_date == DAY + timedelta(days=14)


def test_a_controlled_visit_after_an_uncontrolled_one_is_not_referred() -> None:
    d = classify_followup(htn(130, 80, previous_classification=FollowupClass.UNSATISFIED))
    assert not d.refer


def test_an_adverse_reaction_outranks_poor_control() -> None:
    d = classify_followup(htn(150, 95, adverse_reaction=True))
    assert d.classification is FollowupClass.ADVERSE_REACTION
    assert d.next_visit_date == DAY + timedelta(days=14)
    assert not d.refer


def test_a_second_consecutive_adverse_reaction_is_referred() -> None:
    d = classify_followup(
        htn(130, 80, adverse_reaction=True, previous_classification=FollowupClass.ADVERSE_REACTION)
    )
    assert d.refer
    assert d.reasons == (ReferralReason.PERSISTENT_ADVERSE_REACTION,)


def test_a_complication_is_the_most_severe_class_and_is_referred() -> None:
    d = classify_followup(htn(150, 95, adverse_reaction=True, new_or_worse_complication=True))
    assert d.classification is FollowupClass.COMPLICATION
    assert d.classification.value == "4"
    assert d.refer and not d.urgent
    assert "出现新的并发症或原有并发症加重" in d.reasons_zh


@pytest.mark.parametrize(
    ("sbp", "dbp", "reasons"),
    [
        (179, 109, []),
        (180, 100, ["收缩压≥180mmHg"]),
        (170, 110, ["舒张压≥110mmHg"]),
        (185, 115, ["收缩压≥180mmHg", "舒张压≥110mmHg"]),
    ],
)
def test_it_refers_urgently_at_180_or_110(sbp: int, dbp: int, reasons: list[str]) -> None:
    d = classify_followup(htn(sbp, dbp))
    assert d.urgent is bool(reasons)
    assert d.refer is bool(reasons)
    assert d.reasons_zh == reasons


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"fpg": 16.7}, "glucose_high"),
        ({"fpg": 3.9}, "glucose_low"),
        ({"random_glucose": 17.0}, "glucose_high"),
        ({"heart_rate": 101}, "tachycardia"),
        ({"temperature_c": 39.1}, "fever"),
    ],
)
def test_diabetes_danger_values_trigger_urgent_referral(kw: dict[str, float], code: str) -> None:
    d = classify_followup(dm(**kw))  # type: ignore[arg-type]
    assert d.urgent and d.refer
    assert d.reason_codes == [code]


@pytest.mark.parametrize(
    "kw", [{"fpg": 16.6}, {"fpg": 4.0}, {"heart_rate": 100}, {"temperature_c": 39.0}]
)
def test_diabetes_values_just_inside_the_limits_are_not_urgent(kw: dict[str, float]) -> None:
    assert not classify_followup(dm(**kw)).urgent  # type: ignore[arg-type]


def test_a_ticked_danger_sign_refers_urgently_with_its_chinese_label() -> None:
    d = classify_followup(htn(130, 80, danger_signs=frozenset({DangerSign.ALTERED_CONSCIOUSNESS})))
    assert d.urgent and d.refer
    assert d.reasons_zh == ["意识或行为改变"]
    assert d.reasons_en == ["altered consciousness or behaviour"]


def test_a_combined_visit_is_uncontrolled_if_either_bp_or_glucose_is_off_target() -> None:
    good = FollowupVisit(DAY, 55, BOTH, sbp=130, dbp=80, fasting_glucose=6.0)
    assert classify_followup(good).classification is FollowupClass.SATISFIED
    bad_glucose = FollowupVisit(DAY, 55, BOTH, sbp=130, dbp=80, fasting_glucose=7.0)
    assert classify_followup(bad_glucose).classification is FollowupClass.UNSATISFIED
    bad_bp = FollowupVisit(DAY, 55, BOTH, sbp=140, dbp=80, fasting_glucose=6.0)
    assert classify_followup(bad_bp).classification is FollowupClass.UNSATISFIED


@pytest.mark.parametrize(
    ("visit", "field"),
    [
        (FollowupVisit(DAY, 55, HTN), "sbp"),
        (FollowupVisit(DAY, 55, DM), "fasting_glucose"),
        (FollowupVisit(DAY, 55, frozenset(), sbp=120, dbp=80), "programmes"),
        (FollowupVisit(DAY, 55, HTN, sbp=400, dbp=80), "sbp"),
        (FollowupVisit(DAY, 55, HTN, sbp=80, dbp=90), "sbp"),
        (FollowupVisit(DAY, 55, DM, fasting_glucose=60), "fasting_glucose"),
        (FollowupVisit(DAY, 55, DM, fasting_glucose=6, random_glucose=0.1), "random_glucose"),
    ],
)
def test_it_refuses_missing_or_implausible_readings(visit: FollowupVisit, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        classify_followup(visit)
    assert err.value.field == field


def test_a_referral_is_followed_up_within_2_weeks() -> None:
    assert referral_followup_date(date(2024, 12, 25)) == date(2025, 1, 8)


visit_dates = st.dates(date(2000, 1, 1), date(2099, 12, 31))
ages = st.integers(35, 100)
sbps = st.integers(90, 300)
dbps = st.integers(40, 89)
fpgs = st.floats(4.0, 30.0)
profiles = st.sampled_from(list(BpTargetProfile))
previous = st.sampled_from([None, *FollowupClass])


@given(visit_dates, ages, sbps, dbps, profiles, previous, st.booleans(), st.booleans())
def test_never_satisfied_when_bp_is_at_or_above_target(
    day: date, age: int, sbp: int, dbp: int, profile: BpTargetProfile,
    prev: FollowupClass | None, adr: bool, comp: bool,
) -> None:  # fmt: skip
    visit = FollowupVisit(day, age, HTN, sbp=sbp, dbp=dbp, bp_profile=profile,
                          previous_classification=prev, adverse_reaction=adr,
                          new_or_worse_complication=comp)  # fmt: skip
    decision = classify_followup(visit)
    target = bp_target(age, profile)
    if sbp >= target.sbp_below or dbp >= target.dbp_below:
        assert decision.classification is not FollowupClass.SATISFIED
    assert decision.next_visit_date > day


@given(visit_dates, st.floats(7.0, 30.0), previous, st.booleans())
def test_never_satisfied_when_fasting_glucose_is_7_or_more(
    day: date, fpg: float, prev: FollowupClass | None, both: bool
) -> None:
    visit = FollowupVisit(day, 60, BOTH if both else DM, sbp=120, dbp=70, fasting_glucose=fpg,
                          previous_classification=prev)  # fmt: skip
    assert classify_followup(visit).classification is not FollowupClass.SATISFIED


@given(visit_dates, ages, sbps, dbps, fpgs, previous, st.booleans(), st.booleans())
def test_the_next_visit_is_always_after_the_visit(
    day: date, age: int, sbp: int, dbp: int, fpg: float,
    prev: FollowupClass | None, adr: bool, comp: bool,
) -> None:  # fmt: skip
    visit = FollowupVisit(day, age, BOTH, sbp=sbp, dbp=dbp, fasting_glucose=fpg,
                          previous_classification=prev, adverse_reaction=adr,
                          new_or_worse_complication=comp)  # fmt: skip
    decision = classify_followup(visit)
    assert decision.next_visit_date > day
    assert decision.next_visit_date <= day + timedelta(days=92)
