"""The generated district matches the published figures it was built from (clinical.md §7)."""

from __future__ import annotations

import math

import duckdb
import pytest

from tests.unit.synth.metrics import fpg_control, htn_management

LAST_FULL_YEAR = 2025  # the default end date is 2026-09-30

HTN_BANDS = [
    (18, 24, 0.040),
    (25, 34, 0.061),
    (35, 44, 0.150),
    (45, 54, 0.30),
    (55, 64, 0.45),
    (65, 200, 0.55),
]


def _within(observed: float, expected: float, n: int, floor: float = 0.01) -> bool:
    se = math.sqrt(expected * (1 - expected) / n)
    return abs(observed - expected) <= max(3.5 * se, floor)


@pytest.mark.parametrize(("low", "high", "expected"), HTN_BANDS)
def test_hypertension_prevalence_by_age_band_matches_the_survey(
    con: duckdb.DuckDBPyConnection, low: int, high: int, expected: float
) -> None:
    n, rate = con.execute(
        "select count(*), avg(has_hypertension::int) from truth where age between ? and ?",
        [low, high],
    ).fetchone()  # type: ignore[misc]
    assert _within(rate, expected, n), (low, high, rate)


@pytest.mark.parametrize(
    ("column", "where", "expected", "tolerance"),
    [
        ("has_t2dm", "age >= 18", 0.124, 0.015),
        ("has_dyslipidaemia", "age >= 18", 0.356, 0.02),
        ("has_copd", "age >= 40", 0.137, 0.02),
        ("has_stroke", "age >= 40", 0.02, 0.008),
        ("aware_hypertension", "has_hypertension", 0.50, 0.04),
        ("aware_t2dm", "has_t2dm", 0.367, 0.04),
    ],
)
def test_adult_prevalence_and_awareness_match_the_surveys(
    con: duckdb.DuckDBPyConnection, column: str, where: str, expected: float, tolerance: float
) -> None:
    rate = con.execute(f"select avg({column}::int) from truth where {where}").fetchone()[0]  # type: ignore[index]
    assert abs(rate - expected) <= tolerance, rate


def test_conditions_cluster_in_the_same_patients(con: duckdb.DuckDBPyConnection) -> None:
    dm_in_htn, dm_without = con.execute(
        "select avg(has_t2dm::int) filter (where has_hypertension), avg(has_t2dm::int) filter (where not has_hypertension) from truth where age >= 45"
    ).fetchone()  # type: ignore[misc]
    assert dm_in_htn > 1.3 * dm_without


def test_age_pyramid_looks_like_an_eastern_city(con: duckdb.DuckDBPyConnection) -> None:
    children, elderly = con.execute(
        "select avg((age < 15)::int), avg((age >= 65)::int) from truth"
    ).fetchone()  # type: ignore[misc]
    assert 0.11 <= children <= 0.15 and 0.12 <= elderly <= 0.16


def test_managed_hypertension_control_and_standard_management_are_in_the_published_range(
    con: duckdb.DuckDBPyConnection,
) -> None:
    m = htn_management(con, LAST_FULL_YEAR)
    assert m["managed"] > 2_000
    assert 0.50 <= m["controlled"] <= 0.65, m
    assert 0.45 <= m["standard"] <= 0.70, m
    assert 0.03 <= m["lost"] <= 0.08, m


def test_fasting_glucose_control_of_managed_diabetics_is_in_range(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert 0.45 <= fpg_control(con, LAST_FULL_YEAR) <= 0.60


def test_follow_up_classification_agrees_with_the_recorded_values(
    con: duckdb.DuckDBPyConnection,
) -> None:
    wrong = con.execute(
        """
        select count(*) from follow_ups f join residents r on r.id = f.resident_id
        where f.outcome = 'done' and f.classification in ('1', '2') and f.classification <> (
            case when (f.form <> 'diabetes' and (f.dbp >= 90 or f.sbp >= case when (strftime(f.visit_date, '%Y%m%d')::int - strftime(r.birth_date, '%Y%m%d')::int) // 10000 >= 65 then 150 else 140 end))
                   or (f.form <> 'hypertension' and f.fasting_glucose >= 7.0) then '2' else '1' end)
        """
    ).fetchone()[0]  # type: ignore[index]
    assert wrong == 0
    bad_next = con.execute(
        "select count(*) from follow_ups where outcome = 'done' and next_visit_date - visit_date <> case when classification = '1' then 91 else 14 end"
    ).fetchone()[0]  # type: ignore[index]
    assert bad_next == 0


def test_elderly_get_annual_health_checks(con: duckdb.DuckDBPyConnection) -> None:
    rate = con.execute(
        """
        select avg((exists (select 1 from health_checks h where h.resident_id = r.id and year(h.check_date) = 2025))::int)
        from residents r where date_diff('year', r.birth_date, date '2025-01-01') >= 66 and r.status = 'active'
          and r.id not in (select resident_id from resident_identifiers where system like 'urn:manbing:source:%')
        """
    ).fetchone()[0]  # type: ignore[index]
    assert 0.60 <= rate <= 0.72


def test_contract_coverage_meets_the_targets(con: duckdb.DuckDBPyConnection) -> None:
    overall, key = con.execute(
        """
        with r as (select t.resident_id, t.age, t.enrolled_hypertension or t.enrolled_t2dm or t.age >= 65 as key,
                   exists (select 1 from contracts c where c.resident_id = t.resident_id and c.status = 'active') as signed
                   from truth t join residents x on x.id = t.resident_id where x.status = 'active')
        select avg(signed::int), avg(signed::int) filter (where key) from r
        """
    ).fetchone()  # type: ignore[misc]
    assert 0.35 <= overall <= 0.45 and 0.60 <= key <= 0.75, (overall, key)


def test_deaths_give_a_believable_crude_rate_and_premature_mortality(
    con: duckdb.DuckDBPyConnection,
) -> None:
    deaths = con.execute(
        "select count(*) from residents where status = 'dead' and year(status_date) = 2025"
    ).fetchone()[0]  # type: ignore[index]
    population = con.execute("select count(*) from truth").fetchone()[0]  # type: ignore[index]
    assert 0.004 <= deaths / population <= 0.008
    # WHO 40q30 over the whole window (3 years of deaths, person-years ≈ 3 × population).
    bands = con.execute(
        """
        select floor(date_diff('day', birth_date, date '2025-04-01') / 365.25 / 5) * 5 as band,
               count(*) filter (where status = 'dead' and regexp_matches(death_cause_icd10, '^(I|C|E1[0-4]|J[3-9])')) as d,
               count(*) as p
        from residents where id not in (select resident_id from resident_identifiers where system like 'urn:manbing:source:%')
        group by 1 having band between 30 and 65
        """
    ).fetchall()
    survive = 1.0
    for _band, d, p in bands:
        m = d / (3 * p)
        survive *= 1 - 5 * m / (1 + 2.5 * m)
    assert 0.08 <= 1 - survive <= 0.16, 1 - survive
    cvd_share = con.execute(
        "select avg(starts_with(death_cause_icd10, 'I')::int) from residents where status = 'dead'"
    ).fetchone()[0]  # type: ignore[index]
    assert 0.38 <= cvd_share <= 0.52


def test_a_tenth_of_followed_patients_use_a_home_device(con: duckdb.DuckDBPyConnection) -> None:
    share = con.execute(
        "select (select count(*) from devices) / (select count(distinct resident_id) from follow_ups)"
    ).fetchone()[0]  # type: ignore[index]
    assert 0.07 <= share <= 0.12
    weekly_or_daily = con.execute(
        "select count(*) from observations where source = 'home_device'"
    ).fetchone()[0]  # type: ignore[index]
    assert weekly_or_daily > 20 * share * 1000
