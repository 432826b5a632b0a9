"""Data-quality indicators: are the forms complete, the values plausible, the readings honest,
the records unique?

- Completeness: completed hypertension/diabetes follow-up forms of the period with every core
  field of the national form filled (BP, heart rate, next visit date, classification; and
  fasting glucose on diabetes and combined forms).
- Implausible values: forms with a value outside ``domain.rules.plausibility`` bounds (or SBP
  not above DBP) — rows imported around the service layer's checks.
- Digit preference: office SBP readings ending in 0 (about 10 % expected without preference;
  WHO STEPS and Simple's data-quality checks watch this share).
- Suspected duplicates: residents on record with a suspected duplicate on record (the rule is
  in ``duplicates``), counted over the residents on record (``people``).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators.base import (
    Indicator,
    Over,
    Params,
    age_at,
    d,
    define_over,
    resident_rows,
)
from manbing.analytics.indicators.people import on_record_people
from manbing.analytics.periods import Period
from manbing.domain.followup_form import FormType, VisitOutcome
from manbing.domain.rules.plausibility import (
    DBP_RANGE,
    GLUCOSE_MMOL_RANGE,
    HBA1C_PERCENT_RANGE,
    HEART_RATE_RANGE,
    SBP_RANGE,
)

DIGIT_BASE = 10


def forms(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Base: the completed forms of the period with the patient's sex and age, by the
    organisation that recorded them."""
    f = wh.table("follow_ups").select(
        "resident_id",
        "organization_id",
        "form",
        "outcome",
        "visit_date",
        "sbp",
        "dbp",
        "heart_rate",
        "next_visit_date",
        "classification",
        "fasting_glucose",
        "hba1c",
    )
    f = f.filter(
        f.outcome == VisitOutcome.DONE.value,
        f.visit_date >= d(period.start),
        f.visit_date <= d(period.end),
    )
    r = resident_rows(wh).select(r_id="id", sex="sex", birth_date="birth_date")
    j = f.join(r, f.resident_id == r.r_id)
    return j.mutate(
        org_id=j.organization_id,
        team_id=ibis.null("string"),
        age=age_at(j.birth_date, d(period.end)),
    )


def _complete(f: ir.Table, params: Params) -> ir.BooleanValue:
    core = (
        f.sbp.notnull()
        & f.dbp.notnull()
        & f.heart_rate.notnull()
        & f.next_visit_date.notnull()
        & f.classification.notnull()
    )
    glucose_needed = f.form.isin([FormType.DIABETES.value, FormType.COMBINED.value])
    return core & (~glucose_needed | f.fasting_glucose.notnull())


def _outside(value: ir.NumericValue, bounds: tuple[float, float]) -> ir.BooleanValue:
    return value.notnull() & ((value < bounds[0]) | (value > bounds[1]))


def _implausible(f: ir.Table, params: Params) -> ir.BooleanValue:
    bad = (
        _outside(f.sbp, SBP_RANGE)
        | _outside(f.dbp, DBP_RANGE)
        | (f.sbp.notnull() & f.dbp.notnull() & (f.sbp <= f.dbp))
        | _outside(f.heart_rate, HEART_RATE_RANGE)
        | _outside(f.fasting_glucose, GLUCOSE_MMOL_RANGE)
        | _outside(f.hba1c, HBA1C_PERCENT_RANGE)
    )
    return bad.fill_null(False)


def _with_sbp(f: ir.Table, params: Params) -> ir.BooleanValue:
    return f.sbp.notnull()


def _round_sbp(f: ir.Table, params: Params) -> ir.BooleanValue:
    return (f.sbp % DIGIT_BASE) == 0


def _duplicate(t: ir.Table, params: Params) -> ir.BooleanValue:
    """A resident on record with a suspected duplicate on record (``duplicates``)."""
    return t.duplicate


INDICATORS: tuple[Indicator, ...] = (
    define_over("dq_followup_completeness", Over(forms, _complete, team=False)),
    define_over("dq_implausible_values", Over(forms, _implausible, team=False)),
    define_over("dq_digit_preference", Over(forms, _round_sbp, member=_with_sbp, team=False)),
    define_over("dq_suspected_duplicates", Over(on_record_people, _duplicate, team=False)),
)
