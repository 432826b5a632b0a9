import pytest

from manbing.domain.rules.blood_pressure import (
    BpCategory,
    BpTarget,
    BpTargetProfile,
    bp_target,
    classify_bp,
    is_bp_controlled,
    is_home_bp_hypertensive,
    is_urgent_bp,
)

C = BpCategory


@pytest.mark.parametrize(
    ("sbp", "dbp", "expected"),
    [
        (119, 79, C.NORMAL),
        (120, 79, C.HIGH_NORMAL),
        (119, 80, C.HIGH_NORMAL),
        (139, 89, C.HIGH_NORMAL),
        (140, 89, C.GRADE_1),
        (139, 90, C.GRADE_1),
        (159, 99, C.GRADE_1),
        (160, 99, C.GRADE_2),
        (159, 100, C.GRADE_2),
        (179, 109, C.GRADE_2),
        (180, 109, C.GRADE_3),
        (179, 110, C.GRADE_3),
        (125, 105, C.GRADE_2),
        (185, 70, C.GRADE_3),
    ],
)
def test_it_classifies_office_bp_at_each_boundary(sbp: int, dbp: int, expected: BpCategory) -> None:
    assert classify_bp(sbp, dbp).category is expected


def test_it_marks_grade_3_at_180_systolic() -> None:
    assert classify_bp(180, 85).category is C.GRADE_3


def test_it_uses_the_higher_grade_when_sbp_and_dbp_disagree() -> None:
    assert classify_bp(145, 112).category is C.GRADE_3
    assert classify_bp(165, 92).category is C.GRADE_2


@pytest.mark.parametrize(
    ("sbp", "dbp", "isolated"),
    [(140, 89, True), (140, 90, False), (139, 70, False), (185, 85, True)],
)
def test_it_flags_isolated_systolic_hypertension(sbp: int, dbp: int, isolated: bool) -> None:
    assert classify_bp(sbp, dbp).isolated_systolic is isolated


def test_isolated_systolic_is_graded_by_sbp_and_labelled_in_chinese() -> None:
    result = classify_bp(165, 85)
    assert result.category is C.GRADE_2
    assert result.label_zh == "单纯收缩期高血压（2级高血压（中度））"


@pytest.mark.parametrize(
    ("sbp", "dbp", "hypertensive"),
    [(134, 84, False), (135, 84, True), (134, 85, True)],
)
def test_it_uses_135_85_for_home_readings(sbp: int, dbp: int, hypertensive: bool) -> None:
    assert is_home_bp_hypertensive(sbp, dbp) is hypertensive


@pytest.mark.parametrize(
    ("sbp", "dbp", "urgent"),
    [(179, 109, False), (180, 90, True), (150, 110, True), (None, 110, True), (None, None, False)],
)
def test_it_flags_urgent_bp_at_180_or_110(sbp: int | None, dbp: int | None, urgent: bool) -> None:
    assert is_urgent_bp(sbp, dbp) is urgent


@pytest.mark.parametrize(
    ("age", "profile", "target"),
    [
        (64, BpTargetProfile.SERVICE_STANDARD_2017, BpTarget(140, 90)),
        (65, BpTargetProfile.SERVICE_STANDARD_2017, BpTarget(150, 90)),
        (79, BpTargetProfile.PRIMARY_CARE_2025, BpTarget(130, 80)),
        (80, BpTargetProfile.PRIMARY_CARE_2025, BpTarget(150, 90)),
    ],
)
def test_it_picks_the_target_by_age_and_profile(
    age: int, profile: BpTargetProfile, target: BpTarget
) -> None:
    assert bp_target(age, profile) == target


@pytest.mark.parametrize(
    ("sbp", "dbp", "age", "controlled"),
    [
        (139, 89, 64, True),
        (140, 89, 64, False),
        (139, 90, 64, False),
        (149, 89, 65, True),
        (150, 89, 65, False),
        (149, 90, 65, False),
    ],
)
def test_service_standard_control_is_below_140_90_or_150_90_from_65(
    sbp: int, dbp: int, age: int, controlled: bool
) -> None:
    assert is_bp_controlled(sbp, dbp, age) is controlled


@pytest.mark.parametrize(
    ("sbp", "dbp", "age", "controlled"),
    [(129, 79, 60, True), (130, 79, 60, False), (129, 80, 60, False), (149, 89, 80, True)],
)
def test_primary_care_2025_control_is_below_130_80_under_80(
    sbp: int, dbp: int, age: int, controlled: bool
) -> None:
    assert is_bp_controlled(sbp, dbp, age, BpTargetProfile.PRIMARY_CARE_2025) is controlled
