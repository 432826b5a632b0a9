import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.china_par import (
    AscvdRiskCategory,
    ChinaParInput,
    categorize_risk_percent,
    china_par_risk,
    china_par_sum,
    round_percent,
)
from manbing.domain.rules.units import ConcentrationUnit
from manbing.domain.values import Sex

M, F = Sex.MALE, Sex.FEMALE


def paper_example(sex: Sex, age: int) -> ChinaParInput:
    """Supplement worked example: SBP 130 untreated, TC 210, HDL 55, waist 80, diabetic, urban,
    north, non-smoker, no family history."""
    return ChinaParInput(sex, age, 130, False, 210, 55, 80, False, True, True, True, False)


@pytest.mark.parametrize(("sex", "expected_sum"), [(M, 142.04), (F, 119.22)])
def test_it_reproduces_the_paper_worked_example_sum(sex: Sex, expected_sum: float) -> None:
    assert china_par_sum(paper_example(sex, 60)) == pytest.approx(expected_sum, abs=0.02)


@pytest.mark.parametrize(
    ("sex", "age", "table_2_percent"),
    [
        (M, 40, 2.2), (M, 50, 5.4), (M, 60, 11.0), (M, 70, 19.6),
        (F, 40, 2.4), (F, 50, 5.4), (F, 60, 10.1), (F, 70, 17.1),
    ],
)  # fmt: skip
def test_it_matches_the_paper_table_2_within_0_3_points(
    sex: Sex, age: int, table_2_percent: float
) -> None:
    assert china_par_risk(paper_example(sex, age)).percent == pytest.approx(
        table_2_percent, abs=0.3
    )


def test_it_matches_the_2019_guideline_example_4_7_percent_low_risk() -> None:
    inp = ChinaParInput(
        M,
        40,
        145,
        False,
        5.2,
        1.3,
        80,
        False,
        False,
        True,
        True,
        True,
        ConcentrationUnit.MMOL_PER_L,
    )
    result = china_par_risk(inp)
    assert result.percent == pytest.approx(4.7, abs=0.3)
    assert result.percent_display == 4.7
    assert result.category is AscvdRiskCategory.LOW
    assert result.category.label_zh == "低危"


CALCULATOR_ROWS = [
    # sex age sbp trt tc hdl waist smk dm north urban fh official%
    (M, 40, 135, 0, 150, 22, 90, 0, 0, 1, 0, 1, 5.3),
    (M, 47, 180, 0, 220, 30, 125, 0, 0, 1, 0, 0, 14.0),
    (M, 48, 160, 0, 200, 60, 85, 0, 0, 0, 0, 0, 4.6),
    (M, 55, 115, 1, 220, 50, 115, 0, 0, 0, 1, 0, 3.0),
    (M, 70, 160, 1, 300, 30, 110, 1, 1, 0, 1, 1, 20.9),
    (F, 41, 125, 1, 380, 30, 90, 1, 0, 1, 0, 1, 4.8),
    (F, 52, 145, 1, 120, 60, 90, 0, 1, 1, 0, 0, 12.5),
    (F, 40, 160, 1, 300, 30, 100, 1, 1, 1, 0, 1, 22.3),
]


def _row_input(row: tuple[object, ...]) -> ChinaParInput:
    sex, age, sbp, trt, tc, hdl, waist, smk, dm, north, urban, fh, _ = row
    assert isinstance(sex, Sex) and isinstance(age, int)
    flags = [bool(x) for x in (smk, dm, north, urban, fh)]
    return ChinaParInput(sex, age, float(sbp), bool(trt), float(tc), float(hdl), float(waist),  # type: ignore[arg-type]
                         *flags)  # fmt: skip


@pytest.mark.parametrize("row", CALCULATOR_ROWS)
def test_it_matches_official_calculator_rows_within_0_1_points(row: tuple[object, ...]) -> None:
    official = row[-1]
    result = china_par_risk(_row_input(row))
    assert result.percent == pytest.approx(official, abs=0.1)
    assert result.percent_display == official


def test_urban_and_family_history_do_not_change_womens_risk() -> None:
    base = _row_input(CALCULATOR_ROWS[5])
    other = dataclasses.replace(base, urban=not base.urban, family_history=not base.family_history)
    assert china_par_risk(other).risk == china_par_risk(base).risk


@pytest.mark.parametrize(
    ("percent", "category"),
    [(4.9, AscvdRiskCategory.LOW), (5.0, AscvdRiskCategory.MEDIUM),
     (9.9, AscvdRiskCategory.MEDIUM), (10.0, AscvdRiskCategory.HIGH)],
)  # fmt: skip
def test_it_categorises_at_5_and_10_percent(percent: float, category: AscvdRiskCategory) -> None:
    assert categorize_risk_percent(percent) is category


def test_it_rounds_half_up_for_display() -> None:
    assert round_percent(4.95) == 5.0
    assert round_percent(4.949) == 4.9
    assert round_percent(0.25) == 0.3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"age": 19}, "age"), ({"age": 86}, "age"), ({"sbp": 69}, "sbp"), ({"sbp": 201}, "sbp"),
        ({"waist_cm": 49}, "waist_cm"), ({"waist_cm": 131}, "waist_cm"),
        ({"tc": 79}, "tc"), ({"tc": 401}, "tc"), ({"hdl": 19}, "hdl"), ({"hdl": 131}, "hdl"),
        ({"sex": Sex.UNKNOWN}, "sex"),
        ({"tc": 11.5, "hdl": 1.0, "lipid_unit": ConcentrationUnit.MMOL_PER_L}, "tc"),
        ({"tc": 5.0, "hdl": 0.4, "lipid_unit": ConcentrationUnit.MMOL_PER_L}, "hdl"),
    ],
)  # fmt: skip
def test_it_refuses_inputs_outside_the_calculator_ranges(
    change: dict[str, object], field: str
) -> None:
    inp = dataclasses.replace(paper_example(M, 60), **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as err:
        china_par_risk(inp)
    assert err.value.field == field


def test_it_accepts_the_range_ends() -> None:
    for change in ({"age": 20, "sbp": 70, "tc": 80, "hdl": 20, "waist_cm": 50},
                   {"age": 85, "sbp": 200, "tc": 400, "hdl": 130, "waist_cm": 130}):  # fmt: skip
        china_par_risk(dataclasses.replace(paper_example(F, 60), **change))  # type: ignore[arg-type]


sexes = st.sampled_from([M, F])
ages = st.integers(20, 85)
sbps = st.integers(70, 200)
booleans = st.booleans()


def _person(sex: Sex, age: int, sbp: int, treated: bool, smoker: bool, fh: bool) -> ChinaParInput:
    return ChinaParInput(sex, age, sbp, treated, 190, 45, 85, smoker, False, True, True, fh)


@given(sexes, ages, sbps, sbps, booleans, booleans, booleans)
def test_risk_never_falls_as_sbp_rises(
    sex: Sex, age: int, sbp_a: int, sbp_b: int, treated: bool, smoker: bool, fh: bool
) -> None:
    low, high = sorted((sbp_a, sbp_b))
    risk_low = china_par_risk(_person(sex, age, low, treated, smoker, fh)).risk
    risk_high = china_par_risk(_person(sex, age, high, treated, smoker, fh)).risk
    assert risk_high >= risk_low


@given(sexes, ages, ages, sbps, booleans)
def test_risk_never_falls_with_age_without_the_mens_smoking_and_family_history_terms(
    sex: Sex, age_a: int, age_b: int, sbp: int, treated: bool
) -> None:
    # For men the ln(age)×smoking and ln(age)×family-history terms make the age slope negative
    # at high SBP (see docs/clinical-rules.md); the property holds for everyone else.
    young, old = sorted((age_a, age_b))
    smoker = fh = sex is F
    risk_young = china_par_risk(_person(sex, young, sbp, treated, smoker, fh)).risk
    risk_old = china_par_risk(_person(sex, old, sbp, treated, smoker, fh)).risk
    assert risk_old >= risk_young


def test_the_mens_model_is_not_monotone_in_age_for_smokers_with_family_history_at_high_sbp() -> (
    None
):
    younger = china_par_risk(_person(M, 60, 190, False, True, True)).risk
    older = china_par_risk(_person(M, 70, 190, False, True, True)).risk
    assert older < younger


@given(sexes, st.integers(20, 67), sbps, booleans, booleans)
def test_smoking_never_lowers_risk_below_68(
    sex: Sex, age: int, sbp: int, treated: bool, fh: bool
) -> None:
    smoker = china_par_risk(_person(sex, age, sbp, treated, True, fh)).risk
    non_smoker = china_par_risk(_person(sex, age, sbp, treated, False, fh)).risk
    assert smoker > non_smoker


def test_the_mens_smoking_term_turns_negative_from_68() -> None:
    assert (
        china_par_risk(_person(M, 70, 140, False, True, False)).risk
        < china_par_risk(_person(M, 70, 140, False, False, False)).risk
    )
