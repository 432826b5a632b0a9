import dataclasses

import pytest

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.cdrs import CdrsInput, cdrs_score
from manbing.domain.values import Sex

M, F = Sex.MALE, Sex.FEMALE


@pytest.mark.parametrize(
    ("inp", "score", "high_risk"),
    [
        (CdrsInput(M, 31, 30.5, 96, 145, False), 28, True),
        (CdrsInput(F, 45, 23.0, 78, 128, True), 27, True),
        (CdrsInput(M, 58, 26.0, 88, 135, False), 33, True),
        (CdrsInput(F, 40, 24.0, 70, 120, False), 20, False),
        (CdrsInput(F, 22, 20, 65, 105, False), 0, False),
        (CdrsInput(M, 70, 31, 100, 165, True), 51, True),
    ],
)
def test_it_scores_the_reference_vectors_exactly(
    inp: CdrsInput, score: int, high_risk: bool
) -> None:
    result = cdrs_score(inp)
    assert result.score == score
    assert result.high_risk is high_risk


BASE = CdrsInput(F, 20, 18.0, 60, 100, False)  # scores 0 on every item


@pytest.mark.parametrize(
    ("age", "points"),
    [(20, 0), (24, 0), (25, 4), (34, 4), (35, 8), (39, 8), (40, 11), (44, 11), (45, 12),
     (49, 12), (50, 13), (54, 13), (55, 15), (59, 15), (60, 16), (64, 16), (65, 18), (74, 18)],
)  # fmt: skip
def test_it_scores_each_age_band_edge(age: int, points: int) -> None:
    assert cdrs_score(dataclasses.replace(BASE, age=age)).score == points


@pytest.mark.parametrize(
    ("bmi", "points"), [(21.9, 0), (22.0, 1), (23.9, 1), (24.0, 3), (29.9, 3), (30.0, 5)]
)
def test_it_scores_each_bmi_band_edge(bmi: float, points: int) -> None:
    assert cdrs_score(dataclasses.replace(BASE, bmi=bmi)).score == points


@pytest.mark.parametrize(
    ("sex", "waist", "points"),
    [(M, 74.9, 2), (M, 75.0, 5), (M, 79.9, 5), (M, 80.0, 7), (M, 84.9, 7), (M, 85.0, 9),
     (M, 89.9, 9), (M, 90.0, 10), (M, 94.9, 10), (M, 95.0, 12),
     (F, 69.9, 0), (F, 70.0, 3), (F, 74.9, 3), (F, 75.0, 5), (F, 79.9, 5), (F, 80.0, 7),
     (F, 84.9, 7), (F, 85.0, 8), (F, 89.9, 8), (F, 90.0, 10)],
)  # fmt: skip
def test_it_scores_each_waist_band_edge_by_sex(sex: Sex, waist: float, points: int) -> None:
    # men's totals include the 2 points for male sex
    assert cdrs_score(dataclasses.replace(BASE, sex=sex, waist_cm=waist)).score == points


@pytest.mark.parametrize(
    ("sbp", "points"),
    [(109, 0), (110, 1), (119, 1), (120, 3), (129, 3), (130, 6), (139, 6), (140, 7), (149, 7),
     (150, 8), (159, 8), (160, 10)],
)  # fmt: skip
def test_it_scores_each_sbp_band_edge(sbp: int, points: int) -> None:
    assert cdrs_score(dataclasses.replace(BASE, sbp=sbp)).score == points


def test_family_history_adds_6_points() -> None:
    assert cdrs_score(dataclasses.replace(BASE, family_history_diabetes=True)).score == 6


@pytest.mark.parametrize(("age", "high"), [(55, False), (60, True)])
def test_it_marks_high_risk_from_25_points(age: int, high: bool) -> None:
    # woman, BMI 24 (3), waist 75 (5), no FH: age 55 → 15+3+5 = 23... + SBP 110 (1) = 24; 60 → 25
    result = cdrs_score(CdrsInput(F, age, 24.0, 75, 110, False))
    assert result.score == (24 if age == 55 else 25)
    assert result.high_risk is high


@pytest.mark.parametrize(
    ("change", "field"),
    [({"age": 19}, "age"), ({"age": 75}, "age"), ({"bmi": 5.0}, "bmi"),
     ({"waist_cm": 300}, "waist_cm"), ({"sbp": 400}, "sbp"), ({"sex": Sex.UNKNOWN}, "sex")],
)  # fmt: skip
def test_it_refuses_out_of_range_inputs_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        cdrs_score(dataclasses.replace(BASE, **change))  # type: ignore[arg-type]
    assert err.value.field == field
