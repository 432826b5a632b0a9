import dataclasses

import pytest

from manbing.domain.rules.lipids import (
    LipidRiskInput,
    LipidRiskLevel,
    is_ldl_at_target,
    ldl_target,
    stratify_lipid_risk,
)
from manbing.domain.values import Sex

Lv = LipidRiskLevel
# 40-year-old man, non-smoker, HDL 1.2: no risk factors; LDL 2.0 / TC 3.5 = first column
BASE = LipidRiskInput(Sex.MALE, 40, ldl_c=2.0, tc=3.5, hdl_c=1.2, hypertension=False, smoker=False)


def _r(**kw: object) -> LipidRiskLevel:
    return stratify_lipid_risk(dataclasses.replace(BASE, **kw))  # type: ignore[arg-type]


def test_ascvd_is_very_high_and_extreme_with_serious_events() -> None:
    assert _r(has_ascvd=True) is Lv.VERY_HIGH
    assert _r(has_ascvd=True, serious_ascvd_events=2) is Lv.EXTREME
    assert _r(has_ascvd=True, serious_ascvd_events=1, extreme_risk_factors=1) is Lv.VERY_HIGH
    assert _r(has_ascvd=True, serious_ascvd_events=1, extreme_risk_factors=2) is Lv.EXTREME
    assert Lv.EXTREME.label_zh == "超高危"


@pytest.mark.parametrize(
    ("kw", "level"),
    [
        ({"ldl_c": 4.8, "tc": 7.1}, Lv.LOW), ({"ldl_c": 4.9}, Lv.HIGH), ({"tc": 7.2}, Lv.HIGH),
        ({"ckd_stage_3_4": True}, Lv.HIGH),
        ({"diabetes": True, "age": 39}, Lv.LOW), ({"diabetes": True, "age": 40}, Lv.HIGH),
        ({"diabetes": True, "ldl_c": 1.7, "tc": 3.0}, Lv.LOW),
    ],
)  # fmt: skip
def test_it_assigns_high_risk_directly_at_the_thresholds(kw: dict[str, object], level: Lv) -> None:
    assert _r(**kw) is level


@pytest.mark.parametrize(
    ("hypertension", "factors", "column", "level"),
    [
        (False, 1, 2, Lv.LOW), (False, 2, 1, Lv.LOW), (False, 2, 2, Lv.MEDIUM),
        (False, 3, 0, Lv.LOW), (False, 3, 1, Lv.MEDIUM),
        (True, 0, 2, Lv.LOW), (True, 1, 0, Lv.LOW), (True, 1, 1, Lv.MEDIUM),
        (True, 2, 0, Lv.MEDIUM), (True, 2, 1, Lv.HIGH), (True, 3, 0, Lv.HIGH),
    ],
)  # fmt: skip
def test_it_reads_the_grid_by_hypertension_factors_and_ldl_column(
    hypertension: bool, factors: int, column: int, level: Lv
) -> None:
    ldl = (2.0, 3.0, 4.0)[column]
    tc = (3.5, 4.5, 6.0)[column]
    # factors: age ≥45, then smoking, then low HDL; age 60 keeps the lifetime check out of play
    kw: dict[str, object] = {"age": 60 if factors >= 1 else 40, "smoker": factors >= 2,
                             "hdl_c": 0.9 if factors >= 3 else 1.2}  # fmt: skip
    assert _r(hypertension=hypertension, ldl_c=ldl, tc=tc, **kw) is level


@pytest.mark.parametrize(
    ("ldl", "tc", "level"),
    [(3.3, 5.1, Lv.LOW), (3.4, 5.1, Lv.MEDIUM), (3.3, 5.2, Lv.MEDIUM), (2.5, 4.0, Lv.LOW)],
)
def test_the_higher_of_the_ldl_and_tc_columns_wins(ldl: float, tc: float, level: Lv) -> None:
    # no hypertension, 2 factors (age, smoking): 低危 in the first two columns, 中危 in the third
    assert _r(age=60, smoker=True, ldl_c=ldl, tc=tc) is level


def test_medium_risk_under_55_with_two_lifetime_factors_is_upgraded_to_high() -> None:
    medium = {"hypertension": True, "age": 50, "ldl_c": 3.0, "tc": 4.5}
    assert _r(**medium) is Lv.MEDIUM
    assert _r(**medium, sbp=160, bmi=28.0) is Lv.HIGH
    assert _r(**medium, sbp=159, bmi=28.0) is Lv.MEDIUM
    assert _r(**{**medium, "age": 55}, sbp=160, bmi=28.0) is Lv.MEDIUM


@pytest.mark.parametrize(
    ("level", "ldl_below", "non_hdl_below"),
    [(Lv.LOW, 3.4, 4.2), (Lv.MEDIUM, 3.4, 4.2), (Lv.HIGH, 2.6, 3.4),
     (Lv.VERY_HIGH, 1.8, 2.6), (Lv.EXTREME, 1.4, 2.2)],
)  # fmt: skip
def test_ldl_targets_follow_the_2023_guideline(
    level: Lv, ldl_below: float, non_hdl_below: float
) -> None:
    target = ldl_target(level)
    assert (target.ldl_below, target.non_hdl_below) == (ldl_below, non_hdl_below)


def test_ldl_at_target_needs_both_the_level_and_a_50_percent_fall_when_very_high() -> None:
    assert is_ldl_at_target(2.5, Lv.HIGH) and not is_ldl_at_target(2.6, Lv.HIGH)
    assert is_ldl_at_target(1.7, Lv.VERY_HIGH, baseline_ldl_c=3.4)
    assert not is_ldl_at_target(1.7, Lv.VERY_HIGH, baseline_ldl_c=3.0)
