"""Hypertension and type 2 diabetes under the national basic public health service.

Source: 国家基本公共卫生服务规范（第三版，2017）高血压/2型糖尿病患者健康管理服务规范 §1.4 工作指标
(see /work/shared/reference/clinical.md §1.4, docs/clinical-rules.md choices 8, 9, 11).
Managed (年内已管理) = at least one completed follow-up in the period; managed to the standard =
completed visit days in the enrolled part of the period ≥ ``management.required_followups``;
control = the latest follow-up record of the period is completed and on target (a record of a
lost patient counts as not controlled).
"""

from __future__ import annotations

import ibis.expr.types as ir

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators.base import (
    Indicator,
    Over,
    Params,
    age_at,
    bp_controlled,
    define_over,
    referred_up,
)
from manbing.analytics.indicators.patients import DONE, patients
from manbing.analytics.indicators.people import on_record_people
from manbing.analytics.periods import Period
from manbing.domain.programmes import Programme
from manbing.domain.rules.glucose import FPG_CONTROL_BELOW


def hypertension_patients(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Base: the hypertension patients of the period (``patients.patients``) and whether they
    were referred up in it (``ref_id``, for the referral rate)."""
    p = patients(wh, Programme.HYPERTENSION, period)
    referred = referred_up(wh, period)
    return p.left_join(referred, p.resident_id == referred.ref_id)


def diabetes_patients(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Base: the type 2 diabetes patients of the period (``patients.patients``)."""
    return patients(wh, Programme.T2DM, period)


BASES = {Programme.HYPERTENSION: hypertension_patients, Programme.T2DM: diabetes_patients}


def _managed(t: ir.Table, params: Params) -> ir.BooleanValue:
    return t.visits >= 1


def _to_standard(t: ir.Table, params: Params) -> ir.BooleanValue:
    return (t.visits >= 1) & (t.visits_enrolled >= t.required)


def _bp_controlled(t: ir.Table, params: Params) -> ir.BooleanValue:
    age_at_visit = age_at(t.birth_date, t.last_date)
    controlled = (t.last_outcome == DONE) & bp_controlled(
        t.last_sbp, t.last_dbp, age_at_visit, params.bp_profile
    )
    return (t.visits >= 1) & controlled.fill_null(False)


def _fpg_controlled(t: ir.Table, params: Params) -> ir.BooleanValue:
    controlled = (t.last_outcome == DONE) & t.last_fpg.notnull() & (t.last_fpg < FPG_CONTROL_BELOW)
    return (t.visits >= 1) & controlled.fill_null(False)


def prevalence(code: str, params: Params) -> float | None:
    return {
        "htn_health_management_rate": params.hypertension_prevalence,
        "t2dm_health_management_rate": params.diabetes_prevalence,
    }.get(code)


def _estimated_rate(programme: Programme) -> Over:
    """健康管理率: managed patients / (adult residents × prevalence). Over the residents on
    record (``people.on_record_people``): the adults are the members (den), the managed
    patients among them the numerator; the prevalence is applied to the denominator when the
    counts are aggregated (see ``compute``)."""
    column = "managed_htn" if programme is Programme.HYPERTENSION else "managed_t2dm"

    def adult(t: ir.Table, params: Params) -> ir.BooleanValue:
        return t.age >= params.prevalence_min_age

    def managed(t: ir.Table, params: Params) -> ir.BooleanValue:
        return t[column]

    return Over(on_record_people, managed, member=adult, team=False)


def _programme_indicators(programme: Programme, prefix: str, control: str) -> list[Indicator]:
    base = BASES[programme]
    controlled = _bp_controlled if programme is Programme.HYPERTENSION else _fpg_controlled
    return [
        define_over(f"{prefix}_managed", Over(base, _managed)),
        define_over(f"{prefix}_standard_rate", Over(base, _to_standard, _managed)),
        define_over(f"{prefix}_{control}", Over(base, controlled, _managed)),
        define_over(f"{prefix}_health_management_rate", _estimated_rate(programme)),
    ]


INDICATORS: tuple[Indicator, ...] = (
    *_programme_indicators(Programme.HYPERTENSION, "htn", "bp_control_rate"),
    *_programme_indicators(Programme.T2DM, "t2dm", "fpg_control_rate"),
)
