"""HEARTS and data-quality indicators on a hand-built population (period 2026Q3: month M is
September, the 3-month window starts 2026-07-01, the 12-month window 2025-10-01)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from manbing.analytics.compute import Result, compute
from manbing.analytics.engine import open_duckdb
from manbing.analytics.periods import parse_period
from tests.hand_population import Population
from tests.unit.analytics.test_indicators import one

BORN = date(1976, 1, 1)


def _population() -> Population:
    p = Population()
    s1 = p.s1
    htn = "hypertension"

    def patient(key: str, enrolled: date = date(2020, 1, 1), **kw: object) -> None:
        p.resident(key, BORN, "M", s1, **kw)  # type: ignore[arg-type]
        p.enrol(key, htn, s1, enrolled)

    patient("H1")
    p.visit(
        "H1",
        htn,
        date(2026, 8, 10),
        sbp=135,
        dbp=85,
        heart_rate=70,
        next_visit_date=date(2026, 11, 10),
        classification="1",
    )
    patient("H2")
    p.visit("H2", htn, date(2026, 9, 1), sbp=150, dbp=85, next_visit_date=date(2026, 9, 15))
    patient("H3")
    p.visit("H3", htn, date(2026, 5, 1), sbp=120, dbp=80, next_visit_date=date(2026, 8, 1))
    patient("H4")
    p.visit("H4", htn, date(2026, 6, 20), sbp=120, dbp=80)
    p.visit("H4", htn, date(2026, 7, 15), next_visit_date=date(2026, 10, 15))  # no BP
    patient("H5")
    p.visit("H5", htn, date(2025, 9, 15), sbp=120, dbp=80)  # before the 12-month window
    patient("H6", date(2026, 8, 1))  # registered < 3 months ago
    p.visit(
        "H6",
        htn,
        date(2026, 8, 5),
        sbp=120,
        dbp=80,
        heart_rate=300,
        next_visit_date=date(2026, 11, 5),
    )
    patient("H7", date(2026, 5, 1))  # Q2 cohort
    p.visit("H7", htn, date(2026, 8, 20), sbp=130, dbp=80, next_visit_date=date(2026, 11, 20))
    patient("H8", date(2026, 6, 1))  # Q2 cohort
    p.visit("H8", htn, date(2026, 8, 20), sbp=150, dbp=95, next_visit_date=date(2026, 9, 3))
    patient("H9", date(2026, 4, 15))  # Q2 cohort, never visited
    patient("H10", status="dead", status_date=date(2026, 9, 1))
    p.visit("H10", htn, date(2026, 8, 1), sbp=120, dbp=80)
    p.resident("D1", date(1980, 2, 2), "F", s1, name="王芳")
    p.resident("D2", date(1980, 2, 2), "F", p.s2, name="王芳")
    # A second system's copy of 张伟明 with the last character misspelt, same address: suspected.
    p.resident("N1", date(1970, 3, 3), "M", s1, name="张伟明", address="文一路1号", phone="1")
    p.resident("N2", date(1970, 3, 3), "M", p.s2, name="张伟民", address="文一路1号")
    # One character dropped, same phone, different address: suspected.
    p.resident("P1", date(1971, 4, 4), "F", s1, name="李秀英", address="甲", phone="139")
    p.resident("P2", date(1971, 4, 4), "F", s1, name="李秀", address="乙", phone="139")
    # Names one edit apart, same address, but born on another day: not suspected.
    p.resident("B1", date(1972, 5, 5), "M", s1, name="陈刚", address="丙")
    p.resident("B2", date(1972, 5, 6), "M", s1, name="陈钢", address="丙")
    # Same birth date, sex and address but names two edits apart: not suspected.
    p.resident("E1", date(1973, 6, 6), "F", s1, name="周丽", address="丁")
    p.resident("E2", date(1973, 6, 6), "F", s1, name="吴芳", address="丁")
    return p


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Result]]:
    wh = open_duckdb(_population().write(tmp_path_factory.mktemp("hearts")))
    yield compute(wh, parse_period("2026Q3"))
    wh.close()


def _pair(results: list[Result], code: str) -> tuple[int, int | None]:
    r = one(results, code)
    return r.numerator, r.denominator


def test_the_four_three_month_outcomes_partition_the_adjusted_patients(
    results: list[Result],
) -> None:
    # Adjusted: registered before July, alive, not LTFU: H1 H2 H3 H4 H7 H8 H9 (H5 is LTFU,
    # H6 registered in August, H10 died).
    assert _pair(results, "hearts_bp_controlled") == (2, 7)  # H1 135/85, H7 130/80
    assert _pair(results, "hearts_bp_uncontrolled") == (2, 7)  # H2 150/85, H8 150/95
    assert _pair(results, "hearts_missed_visit") == (2, 7)  # H3 (May), H9 (never)
    assert _pair(results, "hearts_visited_no_bp") == (1, 7)  # H4: July visit without BP


def test_twelve_month_ltfu_counts_registered_patients_without_a_visit_in_a_year(
    results: list[Result],
) -> None:
    assert _pair(results, "hearts_ltfu_12m") == (1, 9)  # H5, among H1–H9


def test_the_quarterly_cohort_is_last_quarters_registrations_controlled_this_quarter(
    results: list[Result],
) -> None:
    assert _pair(results, "hearts_quarterly_cohort_controlled") == (1, 3)  # H7 of H7 H8 H9


def test_registrations_follow_ups_and_overdue(results: list[Result]) -> None:
    assert one(results, "hearts_registrations").numerator == 1  # H6
    # H1 H2 H4 H6 H7 H8, and H10 who was visited in August before dying.
    assert one(results, "hearts_followups").numerator == 7
    # Next visit before 30 Sep: H2 (15 Sep), H3 (1 Aug), H8 (3 Sep); H5 (LTFU) is left out.
    assert _pair(results, "hearts_overdue") == (3, 8)


def test_data_quality_indicators(results: list[Result]) -> None:
    # Completed forms in Q3: H1 H2 H4 H6 H7 H8 (H10 is dead but the form was filled: 7).
    assert _pair(results, "dq_followup_completeness") == (1, 7)  # only H1's form is complete
    assert _pair(results, "dq_implausible_values") == (1, 7)  # H6: heart rate 300
    # SBP readings: 135 150 120 130 150 120(H10) → five end in 0.
    assert _pair(results, "dq_digit_preference") == (5, 6)
    # Residents on record: H1–H9, D1, D2, N1, N2, P1, P2, B1, B2, E1, E2 = 19. D1 and D2 share
    # name, sex and birth date; N1/N2 (same address) and P1/P2 (same phone) are one edit apart.
    assert _pair(results, "dq_suspected_duplicates") == (6, 19)
