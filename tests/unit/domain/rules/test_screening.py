from datetime import date

import pytest

from manbing.domain.rules.screening import (
    HypertensionRiskFactor,
    ScreeningProfile,
    bp_screening_interval_months,
    hypertension_risk_factors,
    is_bp_screening_due,
    is_diabetes_screening_due,
    needs_bp_recheck,
    next_bp_screening_date,
)
from manbing.domain.values import Sex

R = HypertensionRiskFactor
PLAIN = ScreeningProfile(age=40, sex=Sex.MALE, sbp=118, dbp=76, bmi=22.0, waist_cm=80)


def _with(**kw: object) -> ScreeningProfile:
    fields = {f: getattr(PLAIN, f) for f in PLAIN.__slots__}  # type: ignore[attr-defined]
    fields.update(kw)
    return ScreeningProfile(**fields)


@pytest.mark.parametrize(
    ("kw", "factor"),
    [
        ({"sbp": 129}, None), ({"sbp": 130}, R.HIGH_NORMAL_BP), ({"sbp": 139}, R.HIGH_NORMAL_BP),
        ({"sbp": 140}, None), ({"dbp": 84}, None), ({"dbp": 85}, R.HIGH_NORMAL_BP),
        ({"bmi": 23.9}, None), ({"bmi": 24.0}, R.OVERWEIGHT_OR_OBESITY),
        ({"waist_cm": 89.9}, None), ({"waist_cm": 90}, R.OVERWEIGHT_OR_OBESITY),
        ({"sex": Sex.FEMALE, "waist_cm": 84.9}, None),
        ({"sex": Sex.FEMALE, "waist_cm": 85}, R.OVERWEIGHT_OR_OBESITY),
        ({"family_history_hypertension": True}, R.FAMILY_HISTORY),
        ({"high_salt_diet": True}, R.HIGH_SALT_DIET),
        ({"daily_spirits_ml": 99}, None), ({"daily_spirits_ml": 100}, R.EXCESSIVE_DRINKING),
        ({"age": 54}, None), ({"age": 55}, R.AGE_55_PLUS),
    ],
)  # fmt: skip
def test_it_finds_each_risk_factor_at_its_boundary(kw: dict[str, object], factor: R | None) -> None:
    expected = frozenset() if factor is None else frozenset({factor})
    assert hypertension_risk_factors(_with(**kw)) == expected


def test_the_screening_interval_is_6_months_with_a_risk_factor_and_12_without() -> None:
    assert bp_screening_interval_months(PLAIN) == 12
    assert bp_screening_interval_months(_with(high_salt_diet=True)) == 6
    assert bp_screening_interval_months(_with(age=34)) is None
    assert bp_screening_interval_months(_with(age=35)) == 12


def test_bp_screening_is_due_yearly_from_the_last_measurement() -> None:
    last = date(2023, 8, 31)
    assert next_bp_screening_date(PLAIN, last, date(2024, 1, 1)) == date(2024, 8, 31)
    assert not is_bp_screening_due(PLAIN, last, date(2024, 8, 30))
    assert is_bp_screening_due(PLAIN, last, date(2024, 8, 31))
    assert next_bp_screening_date(_with(age=55), last, date(2024, 1, 1)) == date(2024, 2, 29)
    assert is_bp_screening_due(PLAIN, None, date(2024, 1, 1))
    assert not is_bp_screening_due(_with(age=30), None, date(2024, 1, 1))


@pytest.mark.parametrize(
    ("sbp", "dbp", "recheck"), [(139, 89, False), (140, 70, True), (120, 90, True)]
)
def test_a_screening_reading_of_140_or_90_is_rechecked(sbp: int, dbp: int, recheck: bool) -> None:
    assert needs_bp_recheck(sbp, dbp) is recheck


def test_high_risk_people_measure_fasting_glucose_yearly() -> None:
    assert is_diabetes_screening_due(True, None, date(2024, 1, 1))
    assert not is_diabetes_screening_due(True, date(2023, 5, 1), date(2024, 4, 30))
    assert is_diabetes_screening_due(True, date(2023, 5, 1), date(2024, 5, 1))
    assert not is_diabetes_screening_due(False, None, date(2024, 1, 1))
