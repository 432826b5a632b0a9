"""Rates over the census population on a hand-built district (period 2026Q3, census 2025).

Census of 330108 for 2025 (the latest year not after 2026; the 2027 figures are ignored):

    M 0–14 300, M 15–19 100, M 20–64 1000, M 65+ 200, F 0–17 250, F 18–64 920, F 65+ 250

Total 3 020. Adults ≥ 18: M 15–19 contributes 2 of its 5 years (40), so 40 + 1000 + 200 = 1 240
men and 920 + 250 = 1 170 women. Estimated patients, rounded per cell:

    hypertension 27.5 %: 11 + 275 + 55 (men, 341) + 253 + 68.75→69 (women, 322) = 663
    diabetes 11.9 %: 4.76→5 + 119 + 23.8→24 (men, 148) + 109.48→109 + 29.75→30 (women, 139) = 287
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from manbing.analytics.compute import Result, compute
from manbing.analytics.engine import open_duckdb
from manbing.analytics.periods import parse_period
from tests.hand_population import Population
from tests.unit.analytics.test_indicators import one

CODES = ["ehr_coverage_rate", "htn_patient_management_rate", "t2dm_patient_management_rate"]


def _population() -> Population:
    p = Population()
    s1, s2 = p.s1, p.s2
    for sex, age_from, age_to, people in (
        ("M", 0, 14, 300),
        ("M", 15, 19, 100),
        ("M", 20, 64, 1000),
        ("M", 65, None, 200),
        ("F", 0, 17, 250),
        ("F", 18, 64, 920),
        ("F", 65, None, 250),
    ):
        p.census(2025, sex, age_from, age_to, people)
        p.census(2027, sex, age_from, age_to, people * 10)  # after the period: ignored
    htn = "hypertension"
    # Managed hypertensive adults: two men, one woman.
    for key, sex, station in (("A", "M", s1), ("B", "M", s2), ("C", "F", s1)):
        p.resident(key, date(1960, 1, 1), sex, station)
        p.enrol(key, htn, station)
        p.visit(key, htn, date(2026, 8, 1), sbp=130, dbp=80)
    # Enrolled but not visited in the period: not managed.
    p.resident("D", date(1960, 1, 1), "F", s1)
    p.enrol("D", htn, s1)
    p.visit("D", htn, date(2026, 5, 1), sbp=130, dbp=80)
    # A managed 16-year-old: not among the adults of the estimate.
    p.resident("E", date(2010, 1, 1), "M", s1)
    p.enrol("E", htn, s1)
    p.visit("E", htn, date(2026, 8, 1), sbp=130, dbp=80)
    # One managed diabetic woman.
    p.resident("F", date(1970, 1, 1), "F", s2)
    p.enrol("F", "t2dm", s2)
    p.visit("F", "diabetes", date(2026, 9, 1), fpg=6.5)
    # Records: A–F and G are on file; H died and I moved away before the period's end.
    p.resident("G", date(2000, 1, 1), "F", s2)
    p.resident("H", date(1940, 1, 1), "M", s2, status="dead", status_date=date(2026, 3, 1))
    p.resident("I", date(1990, 1, 1), "M", s2, status="moved_away", status_date=date(2026, 9, 1))
    return p


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Result]]:
    wh = open_duckdb(_population().write(tmp_path_factory.mktemp("census")))
    yield compute(wh, parse_period("2026Q3"), codes=CODES)
    wh.close()


def _pair(r: Result) -> tuple[int, int | None]:
    return r.numerator, r.denominator


def test_record_coverage_counts_records_on_file_over_the_census(results: list[Result]) -> None:
    r = one(results, "ehr_coverage_rate")
    assert _pair(r) == (7, 3020)  # A–G
    assert r.value == pytest.approx(7 / 3020)
    assert _pair(one(results, "ehr_coverage_rate", sex="M")) == (3, 1600)  # A B E
    # A cell counts in the band of its first year (5-year census groups align with the bands):
    # 0-34 holds 0–14, 15–19, 20–64, 0–17 and 18–64 (2 570); E and G are under 35.
    assert _pair(one(results, "ehr_coverage_rate", band="0-34")) == (2, 2570)
    # A–D are 66; the open 65+ cells (450) count in 65-74.
    assert _pair(one(results, "ehr_coverage_rate", band="65-74")) == (4, 450)


def test_management_rates_divide_managed_adults_by_estimated_patients(
    results: list[Result],
) -> None:
    htn = one(results, "htn_patient_management_rate")
    assert _pair(htn) == (3, 663)  # A B C; D has no visit in Q3, E is 16
    assert htn.value == pytest.approx(3 / 663)
    assert _pair(one(results, "htn_patient_management_rate", sex="M")) == (2, 341)
    assert _pair(one(results, "htn_patient_management_rate", sex="F")) == (1, 322)
    assert _pair(one(results, "t2dm_patient_management_rate")) == (1, 287)
    assert _pair(one(results, "t2dm_patient_management_rate", sex="F")) == (1, 139)


def test_the_census_belongs_to_the_district_not_to_its_centres(
    results: list[Result],
) -> None:
    commission = [
        r
        for r in results
        if r.indicator == "ehr_coverage_rate"
        and r.unit_kind == "org"
        and r.sex == "*"
        and r.age_band == "*"
    ]
    with_census = [r for r in commission if r.denominator]
    without = [r for r in commission if not r.denominator]
    assert [_pair(r) for r in with_census] == [(7, 3020)]  # the commission
    assert len(without) == 3 and all(r.value is None for r in without)  # centre, S1, S2
