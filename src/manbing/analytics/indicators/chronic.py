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
    Kind,
    Params,
    age_at,
    bp_controlled,
    d,
    enrolled,
    followups_in,
    frame,
    residents,
)
from manbing.analytics.periods import Period
from manbing.domain.followup_form import FormType, VisitOutcome
from manbing.domain.programmes import Programme
from manbing.domain.rules.glucose import FPG_CONTROL_BELOW
from manbing.domain.rules.management import DAYS_PER_QUARTER, FOLLOWUPS_PER_YEAR

SOURCE = "国家基本公共卫生服务规范（第三版，2017）§1.4 工作指标"
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
            group_by=f.resident_id, order_by=[ibis.desc(f.visit_date), ibis.desc(f.created_at)]
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
        r = residents(wh, period)
        r = r.mutate(age=age_at(r.birth_date, d(period.end)))
        r = r.filter(r.age >= params.prevalence_min_age)
        j = r.left_join(managed, r.id == managed.mid)
        j = j.select(
            resident_id=j.id,
            org_id=j.managing_org_id,
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


_PERIOD_NOTE = "统计期内（月、季、年或任意日期范围）; 年度指标取自然年"

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "htn_managed",
        "hypertension",
        "高血压患者管理人数",
        "Hypertension patients managed",
        "在管高血压患者中统计期内有≥1次完成随访者",
        "统计期内在管（已登记）高血压患者",
        _PERIOD_NOTE,
        SOURCE,
        Kind.COUNT,
        _managed_count(Programme.HYPERTENSION),
    ),
    Indicator(
        "htn_standard_rate",
        "hypertension",
        "高血压患者规范管理率",
        "Hypertension managed to the standard",
        "已管理患者中，登记后统计期内完成随访天数 ≥ max(1, min(4, ⌈在管天数/91.25⌉)) 者",
        "统计期内已管理（≥1次完成随访）的高血压患者",
        _PERIOD_NOTE,
        SOURCE,
        Kind.RATE,
        _standard_rate(Programme.HYPERTENSION),
    ),
    Indicator(
        "htn_bp_control_rate",
        "hypertension",
        "管理人群血压控制率",
        "BP control in managed patients",
        "统计期内最近一次随访记录为完成随访且血压达标（<140/90，随访时≥65岁 <150/90）；失访记为未控制",
        "统计期内已管理的高血压患者",
        _PERIOD_NOTE,
        SOURCE,
        Kind.RATE,
        _bp_control,
    ),
    Indicator(
        "htn_health_management_rate",
        "hypertension",
        "高血压患者健康管理率",
        "Hypertension health-management rate",
        "统计期内已管理的高血压患者",
        "辖区≥18岁常住居民数 × 高血压患病率（默认27.5%，可配置）",
        _PERIOD_NOTE,
        "国家基本公共卫生服务规范（第二版）; 中国居民营养与慢性病状况报告（2020年）",
        Kind.RATE,
        _estimated_rate(Programme.HYPERTENSION),
    ),
    Indicator(
        "t2dm_managed",
        "t2dm",
        "2型糖尿病患者管理人数",
        "T2DM patients managed",
        "在管2型糖尿病患者中统计期内有≥1次完成随访者",
        "统计期内在管（已登记）2型糖尿病患者",
        _PERIOD_NOTE,
        SOURCE,
        Kind.COUNT,
        _managed_count(Programme.T2DM),
    ),
    Indicator(
        "t2dm_standard_rate",
        "t2dm",
        "2型糖尿病患者规范管理率",
        "T2DM managed to the standard",
        "已管理患者中，登记后统计期内完成随访天数 ≥ max(1, min(4, ⌈在管天数/91.25⌉)) 者",
        "统计期内已管理的2型糖尿病患者",
        _PERIOD_NOTE,
        SOURCE,
        Kind.RATE,
        _standard_rate(Programme.T2DM),
    ),
    Indicator(
        "t2dm_fpg_control_rate",
        "t2dm",
        "管理人群血糖控制率",
        "Fasting-glucose control in managed patients",
        "统计期内最近一次随访记录为完成随访且空腹血糖 <7.0 mmol/L；失访或未测记为未控制",
        "统计期内已管理的2型糖尿病患者",
        _PERIOD_NOTE,
        SOURCE,
        Kind.RATE,
        _fpg_control,
    ),
    Indicator(
        "t2dm_health_management_rate",
        "t2dm",
        "2型糖尿病患者健康管理率",
        "T2DM health-management rate",
        "统计期内已管理的2型糖尿病患者",
        "辖区≥18岁常住居民数 × 糖尿病患病率（默认11.9%，可配置）",
        _PERIOD_NOTE,
        "国家基本公共卫生服务规范（第二版）; 中国居民营养与慢性病状况报告（2020年）",
        Kind.RATE,
        _estimated_rate(Programme.T2DM),
    ),
)
