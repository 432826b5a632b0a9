"""Referral counts and rates, and three-highs co-management, on a hand-built population."""

from __future__ import annotations

from datetime import date

import pytest

from manbing.analytics.compute import compute
from manbing.analytics.engine import open_duckdb
from manbing.analytics.periods import parse_period
from tests.hand_population import Population
from tests.unit.analytics.test_indicators import one


def test_referrals_and_three_highs(tmp_path_factory: pytest.TempPathFactory) -> None:
    p = Population()
    s1 = p.s1
    for key in ("R1", "R2", "R3"):
        p.resident(key, date(1960, 1, 1), "M", s1)
        p.enrol(key, "hypertension", s1)
        p.visit(key, "hypertension", date(2026, 8, 1), sbp=130, dbp=80)
    p.referral("R1", date(2026, 8, 2))  # counts
    p.referral("R2", date(2026, 8, 2), status="cancelled")  # cancelled: no
    p.referral("R3", date(2026, 8, 2), direction="down")  # downward: no
    p.referral("R1", date(2026, 6, 30))  # before the period: no
    p.resident("R4", date(1960, 1, 1), "F", s1)
    for programme in ("hypertension", "t2dm", "dyslipidaemia"):
        p.enrol("R4", programme, s1)
    p.resident("R5", date(1960, 1, 1), "F", s1)
    p.enrol("R5", "t2dm", s1)
    p.resident("R6", date(1960, 1, 1), "F", s1)  # no programme
    wh = open_duckdb(p.write(tmp_path_factory.mktemp("ref")))
    results = compute(
        wh,
        parse_period("2026Q3"),
        codes=["referrals_up", "htn_referral_rate", "three_highs_co_management"],
    )
    wh.close()
    assert one(results, "referrals_up").numerator == 1
    rate = one(results, "htn_referral_rate")
    assert (rate.numerator, rate.denominator) == (1, 3)  # R1 of the managed R1 R2 R3
    three = one(results, "three_highs_co_management")
    assert (three.numerator, three.denominator) == (1, 5)  # R4 of R1–R5
