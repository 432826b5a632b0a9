"""Hypertension and type 2 diabetes under the national basic public health service.

Source: 国家基本公共卫生服务规范（第三版，2017）高血压/2型糖尿病患者健康管理服务规范 §1.4 工作指标
(see /work/shared/reference/clinical.md §1.4, docs/clinical-rules.md choices 8, 9, 11).
Managed (年内已管理) = at least one completed follow-up in the period; managed to the standard =
completed visit days in the enrolled part of the period ≥ ``management.required_followups``;
control = the latest follow-up record of the period is completed and on target (a record of a
lost patient counts as not controlled).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators.base import (
    Indicator,
    Params,
    age_at,
    bp_controlled,
    d,
    define,
    enrolled,
    followups_in,
    frame,
    people,
)
from manbing.analytics.periods import Period
from manbing.domain.followup_form import FormType, VisitOutcome
from manbing.domain.programmes import Programme
from manbing.domain.rules.glucose import FPG_CONTROL_BELOW
from manbing.domain.rules.management import DAYS_PER_QUARTER, FOLLOWUPS_PER_YEAR

FORMS = {
    Programme.HYPERTENSION: (FormType.HYPERTENSION.value, FormType.COMBINED.value),
    Programme.T2DM: (FormType.DIABETES.value, FormType.COMBINED.value),
}
DONE = VisitOutcome.DONE.value


def _visit_stats(wh: Warehouse, programme: Programme, period: Period) -> tuple[ir.Table, ir.Table]:
    """Per patient: completed visit days in the period and the latest record's values."""
    f = followups_in(wh, FORMS[programme], period)
    ranked = f.mutate(
        rn=ibis.row_number().over(
            group_by=f.resident_id,
            order_by=[
                ibis.desc(f.visit_date),
                ibis.desc(f.created_at),
                ibis.desc(f.id.cast("string")),
            ],
        )
    )
    latest = ranked.filter(ranked.rn == 0).select(
        resident_id=ranked.resident_id,
        last_date=ranked.visit_date,
        last_outcome=ranked.outcome,
        last_sbp=ranked.sbp,
        last_dbp=ranked.dbp,
        last_fpg=ranked.fasting_glucose,
    )
    done = f.filter(f.outcome == DONE).select("resident_id", "visit_date").distinct()
    return latest, done


def _patients(wh: Warehouse, programme: Programme, period: Period) -> ir.Table:
    """Enrolled patients with their completed visit days in the enrolled part of the period,
    the required number of visits and their latest record of the period."""
    return wh.shared(("patients", programme, period), lambda: _patients_expr(wh, programme, period))


def _patients_expr(wh: Warehouse, programme: Programme, period: Period) -> ir.Table:
    e = enrolled(wh, programme, period)
    latest, done = _visit_stats(wh, programme, period)
    start = ibis.greatest(e.enrolled_on, d(period.start))
    e = e.mutate(from_date=start)
    j = e.left_join(done, e.resident_id == done.resident_id)
    in_part = j.visit_date.notnull() & (j.visit_date >= j.from_date)
    counts = j.group_by(
        ["resident_id", "org_id", "team_id", "sex", "birth_date", "age", "from_date"]
    ).aggregate(
        visits=j.visit_date.notnull().ifelse(1, 0).sum(),
        visits_enrolled=in_part.ifelse(1, 0).sum(),
    )
    days = (d(period.end).delta(counts.from_date, unit="day") + 1).cast("float64")
    required = ibis.greatest(
        ibis.literal(1),
        ibis.least(
            ibis.literal(FOLLOWUPS_PER_YEAR), (days / DAYS_PER_QUARTER).ceil().cast("int64")
        ),
    )
    counts = counts.mutate(required=required)
    k = counts.left_join(latest, counts.resident_id == latest.resident_id)
    return k.select(
        "resident_id",
        "org_id",
        "team_id",
        "sex",
        "birth_date",
        "age",
        "visits",
        "visits_enrolled",
        "required",
        "last_date",
        "last_outcome",
        "last_sbp",
        "last_dbp",
        "last_fpg",
    )


def _managed_count(programme: Programme):  # type: ignore[no-untyped-def]
    def build(wh: Warehouse, period: Period, params: Params) -> ir.Table:
        p = _patients(wh, programme, period)
        return frame(p, p.visits >= 1)

    return build


def _standard_rate(programme: Programme):  # type: ignore[no-untyped-def]
    def build(wh: Warehouse, period: Period, params: Params) -> ir.Table:
        p = _patients(wh, programme, period)
        managed = p.visits >= 1
        return frame(p, managed & (p.visits_enrolled >= p.required), managed)

    return build


def _bp_control(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    p = _patients(wh, Programme.HYPERTENSION, period)
    managed = p.visits >= 1
    age_at_visit = age_at(p.birth_date, p.last_date)
    controlled = (p.last_outcome == DONE) & bp_controlled(
        p.last_sbp, p.last_dbp, age_at_visit, params.bp_profile
    )
    return frame(p, managed & controlled.fill_null(False), managed)


def _fpg_control(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    p = _patients(wh, Programme.T2DM, period)
    managed = p.visits >= 1
    controlled = (p.last_outcome == DONE) & p.last_fpg.notnull() & (p.last_fpg < FPG_CONTROL_BELOW)
    return frame(p, managed & controlled.fill_null(False), managed)


def _estimated_rate(programme: Programme):  # type: ignore[no-untyped-def]
    """健康管理率: managed patients / (adult residents × prevalence). The frame holds the adult
    residents (den) and marks the managed patients (num); the prevalence is applied to the
    denominator when the counts are aggregated (see ``compute``)."""

    def build(wh: Warehouse, period: Period, params: Params) -> ir.Table:
        p = _patients(wh, programme, period)
        managed = p.filter(p.visits >= 1).select(mid="resident_id")
        r = people(wh, period)
        r = r.filter(r.age >= params.prevalence_min_age)
        j = r.left_join(managed, r.id == managed.mid)
        j = j.select(
            resident_id=j.id,
            org_id=j.org_id,
            team_id=ibis.null("string"),
            sex=j.sex,
            age=j.age,
            is_managed=j.mid.notnull(),
        )
        return frame(j, j.is_managed)

    return build


def prevalence(code: str, params: Params) -> float | None:
    return {
        "htn_health_management_rate": params.hypertension_prevalence,
        "t2dm_health_management_rate": params.diabetes_prevalence,
    }.get(code)


INDICATORS: tuple[Indicator, ...] = (
    define("htn_managed", _managed_count(Programme.HYPERTENSION)),
    define("htn_standard_rate", _standard_rate(Programme.HYPERTENSION)),
    define("htn_bp_control_rate", _bp_control),
    define("htn_health_management_rate", _estimated_rate(Programme.HYPERTENSION)),
    define("t2dm_managed", _managed_count(Programme.T2DM)),
    define("t2dm_standard_rate", _standard_rate(Programme.T2DM)),
    define("t2dm_fpg_control_rate", _fpg_control),
    define("t2dm_health_management_rate", _estimated_rate(Programme.T2DM)),
)
