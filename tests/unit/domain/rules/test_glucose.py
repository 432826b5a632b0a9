import pytest

from manbing.domain.rules.glucose import (
    DiabetesCriterion,
    GlucoseMetabolism,
    classify_glucose_metabolism,
    diabetes_criteria_met,
    is_fpg_controlled,
    is_hba1c_controlled,
    is_urgent_glucose,
)

G = GlucoseMetabolism


@pytest.mark.parametrize(
    ("fpg", "ogtt_2h", "expected"),
    [
        (6.0, None, G.NORMAL),
        (6.1, None, G.IFG),
        (6.9, None, G.IFG),
        (7.0, None, G.DIABETES),
        (5.5, 7.7, G.NORMAL),
        (5.5, 7.8, G.IGT),
        (5.5, 11.0, G.IGT),
        (5.5, 11.1, G.DIABETES),
        (6.5, 9.0, G.IFG_AND_IGT),
    ],
)
def test_it_classifies_glucose_metabolism_at_each_boundary(
    fpg: float, ogtt_2h: float | None, expected: GlucoseMetabolism
) -> None:
    assert classify_glucose_metabolism(fpg, ogtt_2h) is expected


def test_it_lists_each_diagnostic_criterion_met() -> None:
    assert diabetes_criteria_met(fpg=6.9, ogtt_2h=11.0, hba1c=6.4) == ()
    assert diabetes_criteria_met(fpg=7.0, ogtt_2h=11.1, hba1c=6.5) == (
        DiabetesCriterion.FPG,
        DiabetesCriterion.OGTT_2H,
        DiabetesCriterion.HBA1C,
    )


def test_random_glucose_counts_only_with_typical_symptoms() -> None:
    assert diabetes_criteria_met(random_glucose=11.1) == ()
    assert diabetes_criteria_met(random_glucose=11.0, typical_symptoms=True) == ()
    assert diabetes_criteria_met(random_glucose=11.1, typical_symptoms=True) == (
        DiabetesCriterion.RANDOM_WITH_SYMPTOMS,
    )


@pytest.mark.parametrize(("fpg", "controlled"), [(6.9, True), (6.99, True), (7.0, False)])
def test_fasting_glucose_is_controlled_below_7(fpg: float, controlled: bool) -> None:
    assert is_fpg_controlled(fpg) is controlled


@pytest.mark.parametrize(("hba1c", "controlled"), [(6.9, True), (7.0, False)])
def test_hba1c_is_controlled_below_7_percent(hba1c: float, controlled: bool) -> None:
    assert is_hba1c_controlled(hba1c) is controlled


@pytest.mark.parametrize(
    ("glucose", "urgent"), [(16.6, False), (16.7, True), (4.0, False), (3.9, True), (2.0, True)]
)
def test_it_flags_urgent_glucose_at_16_7_and_3_9(glucose: float, urgent: bool) -> None:
    assert is_urgent_glucose(glucose) is urgent
