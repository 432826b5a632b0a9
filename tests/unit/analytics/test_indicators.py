"""Each indicator on the hand-built population of ``tests/hand_population.py`` (2026Q3).

Residents on record on 2026-09-30: A B C D E F (station S1) and P Q R Y (station S2) = 10;
G, Z, W and V died before the period's end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from manbing.analytics.compute import Result, compute
from manbing.analytics.engine import Warehouse, open_duckdb
from manbing.analytics.indicators import Params
from manbing.analytics.periods import parse_period
from tests.hand_population import Population, standard_population

Q3 = parse_period("2026Q3")


@pytest.fixture(scope="module")
def population() -> Population:
    return standard_population()


@pytest.fixture(scope="module")
def warehouse(
    population: Population, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    wh = open_duckdb(population.write(tmp_path_factory.mktemp("wh")))
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def results(warehouse: Warehouse) -> list[Result]:
    return compute(warehouse, Q3)


def one(
    results: list[Result],
    indicator: str,
    unit: tuple[str, str] = ("division", "330108"),
    sex: str = "*",
    band: str = "*",
) -> Result:
    found = [
        r
        for r in results
        if r.indicator == indicator
        and (r.unit_kind, r.unit_id) == unit
        and r.sex == sex
        and r.age_band == band
    ]
    assert len(found) == 1, found
    return found[0]


def test_managed_hypertension_patients_are_those_with_a_completed_visit_in_the_period(
    results: list[Result],
) -> None:
    # A B C D E visited; F's only visit is on 2026-06-30; G's enrolment ended in May.
    r = one(results, "htn_managed")
    assert (r.numerator, r.denominator) == (5, 6)


def test_standard_management_needs_one_visit_day_per_started_quarter_of_enrolment(
    results: list[Result],
) -> None:
    # 92 days ⇒ 2 visit days: A (2) and C (hypertension + combined form) qualify, B and D
    # (one completed visit) do not; E was enrolled on 1 Sep (30 days ⇒ 1 visit) and qualifies.
    r = one(results, "htn_standard_rate")
    assert (r.numerator, r.denominator) == (3, 5)
    assert r.value == pytest.approx(0.6)


def test_bp_control_reads_the_latest_record_with_the_age_at_that_visit(
    results: list[Result],
) -> None:
    # A 145/85 at 76 (<150/90) yes; B 138/88 yes; C 145/85 at 64 (<140/90) no;
    # D's latest record is "lost" so not controlled; E 120/70 yes.
    r = one(results, "htn_bp_control_rate")
    assert (r.numerator, r.denominator) == (3, 5)


def test_fasting_glucose_control_is_strictly_below_seven_and_missing_is_not_controlled(
    results: list[Result],
) -> None:
    # Latest FPG: P 6.9 yes, Q 7.0 no, R not measured no.
    assert (
        one(results, "t2dm_fpg_control_rate").numerator,
        one(results, "t2dm_fpg_control_rate").denominator,
    ) == (1, 3)
    # Each has two visit days in the quarter: all managed to the standard.
    r = one(results, "t2dm_standard_rate")
    assert (r.numerator, r.denominator) == (3, 3)
    assert one(results, "t2dm_managed").numerator == 3


def test_health_management_rate_divides_by_adults_times_prevalence(warehouse: Warehouse) -> None:
    # 10 adults × 50 % = 5 estimated patients; 5 managed.
    found = compute(
        warehouse, Q3, Params(hypertension_prevalence=0.5), ["htn_health_management_rate"]
    )
    r = one(found, "htn_health_management_rate")
    assert (r.numerator, r.denominator, r.value) == (5, 5, 1.0)


def test_default_prevalence_rounds_the_estimated_patients(results: list[Result]) -> None:
    # 10 × 27.5 % = 2.75 → 3; 10 × 11.9 % = 1.19 → 1.
    assert one(results, "htn_health_management_rate").denominator == 3
    assert one(results, "t2dm_health_management_rate").denominator == 1


def test_elderly_health_management_counts_checks_in_the_period(results: list[Result]) -> None:
    # ≥65 on 2026-09-30: A (76), C (65 since 20 Sep), D (66); only A's check is in the quarter.
    r = one(results, "elderly_health_management_rate")
    assert (r.numerator, r.denominator) == (1, 3)


def test_contract_rate_counts_contracts_covering_the_period_end(results: list[Result]) -> None:
    # A and P hold a contract on 2026-09-30; B's expired, C's was terminated.
    assert (one(results, "contract_rate").numerator, one(results, "contract_rate").denominator) == (
        2,
        10,
    )
    # Key populations: everyone but Y (30, no programme, no flag).
    r = one(results, "contract_rate_key_populations")
    assert (r.numerator, r.denominator) == (2, 9)


def test_premature_mortality_counts_four_cause_deaths_between_30_and_70(
    results: list[Result],
) -> None:
    # Z (I21.9 at 60) counts; W (S72.0) is not an NCD; V died at 76. Mid-period population
    # 30–69: B C D E F P Q R Y. Band 50–54 is empty, so 40q30 cannot be computed.
    r = one(results, "premature_ncd_mortality")
    assert (r.numerator, r.denominator, r.value) == (1, 9, None)


def test_units_follow_the_organisation_tree_and_teams(
    population: Population, results: list[Result]
) -> None:
    division = one(results, "htn_managed")
    commission = one(results, "htn_managed", ("org", population.commission[0]))
    assert (commission.numerator, commission.denominator) == (
        division.numerator,
        division.denominator,
    )
    assert one(results, "contract_rate", ("org", population.s1[0])).denominator == 6
    team = one(results, "htn_managed", ("team", population.team))
    assert (team.numerator, team.denominator) == (2, 2)  # A and B are on team T
    assert not [
        r for r in results if r.indicator == "htn_managed" and r.unit_id == population.s2[0]
    ]


def test_breakdowns_by_sex_and_age_band(results: list[Result]) -> None:
    assert one(results, "htn_managed", sex="M").numerator == 2  # A C
    assert (
        one(results, "htn_managed", sex="F").numerator,
        one(results, "htn_managed", sex="F").denominator,
    ) == (3, 4)
    assert one(results, "htn_bp_control_rate", band="65-74").numerator == 0  # C D
    assert one(results, "htn_bp_control_rate", band="65-74").denominator == 2
    assert one(results, "htn_bp_control_rate", band="75+").numerator == 1  # A


@pytest.mark.parametrize("reverse", [False, True])
def test_two_latest_records_of_one_moment_resolve_by_record_id(
    reverse: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Same visit date and same entry time (e.g. a batch import): the latest record is the one
    with the greater id, whatever the order the rows are stored in."""
    from datetime import date

    p = Population()
    p.resident("T", date(1970, 1, 1), "F", p.s1)
    p.enrol("T", "hypertension", p.s1)
    p.visit("T", "hypertension", date(2026, 9, 1), sbp=130, dbp=80)
    p.visit("T", "hypertension", date(2026, 9, 1), outcome="lost")
    rows = p.rows["follow_ups"]
    if reverse:
        rows.reverse()
    wh = open_duckdb(p.write(tmp_path_factory.mktemp("tie")))
    try:
        r = one(compute(wh, Q3), "htn_bp_control_rate")
    finally:
        wh.close()
    latest = max(rows, key=lambda row: row["id"])
    assert (r.numerator, r.denominator) == (1 if latest["outcome"] == "done" else 0, 1)
