"""WHO HEARTS / Simple / HEARTS360 indicators for hypertension, beside the national ones.

Source: /work/shared/reference/peers.md b1–b2 (simple-server reporting_patient_states; HEARTS360
README). Windows are calendar months counted back from the month of the period's end (M):
the 3-month window is M−2..M, the 12-month window M−11..M. A visit is a completed follow-up;
BP comes from follow-ups. Patients are hypertension enrolments alive at the period's end.

- LTFU: registered ≥12 months before M and no visit in the 12-month window.
- Adjusted patients (denominator of the four outcomes): registered ≥3 months before M, not LTFU.
- Missed visit: no visit in the 3-month window; visited, no BP: a visit but no BP in it;
  controlled: latest BP in the window <140/90; uncontrolled: ≥140 or ≥90.
- Quarterly cohort: registered in the quarter before the period's quarter; controlled at the
  latest visit in the period's quarter.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis.expr.types as ir

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators.base import (
    ENDED_ENROLMENT,
    Indicator,
    Over,
    Params,
    d,
    define,
    define_over,
    enrolled,
    frame,
    latest_per_resident,
    resident_rows,
)
from manbing.analytics.periods import Period, quarter_of
from manbing.domain.followup_form import FormType, VisitOutcome
from manbing.domain.programmes import Programme
from manbing.domain.residents import ResidentStatus
from manbing.domain.rules.blood_pressure import HYPERTENSION_DBP, HYPERTENSION_SBP
from manbing.domain.rules.dates import add_months

FORMS = [FormType.HYPERTENSION.value, FormType.COMBINED.value]
DONE = VisitOutcome.DONE.value


def window_start(period: Period, months: int) -> date:
    """First day of the month ``months − 1`` months before the month of the period's end."""
    first = period.end.replace(day=1)
    return add_months(first, -(months - 1))


def _cohort(wh: Warehouse, period: Period) -> ir.Table:
    """HTN patients alive and enrolled at the period's end, with visit facts per window."""
    e = enrolled(wh, Programme.HYPERTENSION, period)
    r = resident_rows(wh)
    dead = r.filter(r.status == ResidentStatus.DEAD.value, r.status_date <= d(period.end)).select(
        dead_id="id"
    )
    e = e.left_join(dead, e.resident_id == dead.dead_id)
    e = e.filter(e.dead_id.isnull()).drop("dead_id")
    en = wh.table("enrolments")
    ended = en.filter(
        en.programme == Programme.HYPERTENSION.value,
        en.status.isin(list(ENDED_ENROLMENT)),
        en.status_date <= d(period.end),
    ).select(ended_id="resident_id")
    e = e.left_join(ended, e.resident_id == ended.ended_id)
    e = e.filter(e.ended_id.isnull()).drop("ended_id")
    w3, w12 = d(window_start(period, 3)), d(window_start(period, 12))
    f = wh.table("follow_ups")
    f = f.filter(f.form.isin(FORMS), f.outcome == DONE, f.visit_date <= d(period.end))
    visits = f.group_by("resident_id").aggregate(
        last_visit=f.visit_date.max(),
    )
    bp = f.filter(f.sbp.notnull(), f.dbp.notnull(), f.visit_date >= w3)
    last_bp = latest_per_resident(bp).select(bp_id="resident_id", bp_sbp="sbp", bp_dbp="dbp")
    visits = visits.rename(v_id="resident_id")
    j = e.left_join(visits, e.resident_id == visits.v_id)
    j = j.left_join(last_bp, j.resident_id == last_bp.bp_id)
    visited3 = j.last_visit.notnull() & (j.last_visit >= w3)
    visited12 = j.last_visit.notnull() & (j.last_visit >= w12)
    ltfu = (j.enrolled_on < w12) & ~visited12
    adjusted = (j.enrolled_on < w3) & ~ltfu
    has_bp = j.bp_id.notnull()
    controlled = has_bp & (j.bp_sbp < HYPERTENSION_SBP) & (j.bp_dbp < HYPERTENSION_DBP)
    return j.mutate(
        ltfu=ltfu,
        adjusted=adjusted,
        visited3=visited3,
        has_bp=has_bp,
        controlled=controlled,
    )


def cohort(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Base: the cohort (``_cohort``) with the next-visit date of each patient's latest visit
    (``due``, for the overdue patients) and the period's end (``as_of``)."""
    c = _cohort(wh, period)
    f = wh.table("follow_ups")
    f = f.filter(f.form.isin(FORMS), f.outcome == DONE, f.visit_date <= d(period.end))
    # The latest visit's date is the cohort's ``last_visit`` (same follow-ups): rank only the
    # records of that day instead of every patient's whole history.
    last = c.filter(c.last_visit.notnull()).select(l_id="resident_id", l_date="last_visit")
    f = f.join(last, [f.resident_id == last.l_id, f.visit_date == last.l_date])
    due = latest_per_resident(f).select(o_id="resident_id", due="next_visit_date")
    j = c.left_join(due, c.resident_id == due.o_id)
    return j.mutate(as_of=d(period.end))


def _adjusted(t: ir.Table, params: Params) -> ir.BooleanValue:
    return t.adjusted


def _outcome(which: str) -> Over:
    def num(c: ir.Table, params: Params) -> ir.BooleanValue:
        found = {
            "controlled": c.visited3 & c.controlled,
            "uncontrolled": c.visited3 & c.has_bp & ~c.controlled,
            "missed_visit": ~c.visited3,
            "visited_no_bp": c.visited3 & ~c.has_bp,
        }[which]
        return c.adjusted & found.fill_null(False)

    return Over(cohort, num, _adjusted)


def _ltfu(t: ir.Table, params: Params) -> ir.BooleanValue:
    return t.ltfu


def _under_care(t: ir.Table, params: Params) -> ir.BooleanValue:
    return ~t.ltfu


def _overdue(t: ir.Table, params: Params) -> ir.BooleanValue:
    """Under-care patients (not LTFU) whose latest follow-up's next-visit date is before the
    period's end (``management.is_overdue``: as_of > due) — no visit since, by construction."""
    overdue = t.due.notnull() & (t.as_of > t.due)
    return ~t.ltfu & overdue.fill_null(False)


def _quarterly_cohort(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    quarter = quarter_of(period.end)
    previous = quarter_of(quarter.start - timedelta(days=1))
    e = enrolled(wh, Programme.HYPERTENSION, quarter)
    e = e.filter(e.enrolled_on >= d(previous.start), e.enrolled_on <= d(previous.end))
    f = wh.table("follow_ups")
    f = f.filter(
        f.form.isin(FORMS),
        f.outcome == DONE,
        f.visit_date >= d(quarter.start),
        f.visit_date <= d(quarter.end),
    )
    latest = latest_per_resident(f).select(l_id="resident_id", l_sbp="sbp", l_dbp="dbp")
    j = e.left_join(latest, e.resident_id == latest.l_id)
    controlled = (
        j.l_sbp.notnull()
        & j.l_dbp.notnull()
        & (j.l_sbp < HYPERTENSION_SBP)
        & (j.l_dbp < HYPERTENSION_DBP)
    )
    return frame(j, controlled.fill_null(False))


def registered(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Base: the hypertension patients of the period (``base.enrolled``), whether they
    registered in it (``new``) and were seen in it (``seen``: a completed follow-up)."""
    e = enrolled(wh, Programme.HYPERTENSION, period)
    f = wh.table("follow_ups")
    seen = (
        f.filter(
            f.form.isin(FORMS),
            f.outcome == DONE,
            f.visit_date >= d(period.start),
            f.visit_date <= d(period.end),
        )
        .select(s_id="resident_id")
        .distinct()
    )
    j = e.left_join(seen, e.resident_id == seen.s_id)
    return j.mutate(new=j.enrolled_on >= d(period.start), seen=j.s_id.notnull())


def _new(t: ir.Table, params: Params) -> ir.BooleanValue:
    return t.new


def _seen(t: ir.Table, params: Params) -> ir.BooleanValue:
    return t.seen


INDICATORS: tuple[Indicator, ...] = (
    define_over("hearts_bp_controlled", _outcome("controlled")),
    define_over("hearts_bp_uncontrolled", _outcome("uncontrolled")),
    define_over("hearts_missed_visit", _outcome("missed_visit")),
    define_over("hearts_visited_no_bp", _outcome("visited_no_bp")),
    define_over("hearts_ltfu_12m", Over(cohort, _ltfu)),
    define("hearts_quarterly_cohort_controlled", _quarterly_cohort),
    define_over("hearts_registrations", Over(registered, _new)),
    define_over("hearts_followups", Over(registered, _seen)),
    define_over("hearts_overdue", Over(cohort, _overdue, _under_care)),
)
