"""Population indicators: elderly health management, family-doctor contracts, premature NCD
mortality, referrals and three-highs co-management."""

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
    define,
    define_over,
    frame,
    resident_rows,
    up_referrals,
)
from manbing.analytics.indicators.chronic import hypertension_patients
from manbing.analytics.indicators.people import on_record_people
from manbing.analytics.periods import Period
from manbing.domain.residents import ResidentStatus
from manbing.domain.rules.dates import add_months
from manbing.domain.rules.mortality import AGE_BANDS, BAND_WIDTH, NCD_ICD10_RANGES

ELDERLY_AGE = 65  # 老年人健康管理: residents aged 65 and over (key population "elderly_65")
CHILD_MAX_AGE = 6


def _elderly(t: ir.Table, params: Params) -> ir.BooleanValue:
    return t.age >= ELDERLY_AGE


def _checked(t: ir.Table, params: Params) -> ir.BooleanValue:
    return t.checked


def _contracted(t: ir.Table, params: Params) -> ir.BooleanValue:
    return t.contracted


def _key_population(t: ir.Table, params: Params) -> ir.BooleanValue:
    """Key populations of the contract service: the elderly, young children, hypertension and
    diabetes patients, people with a severe mental disorder, pregnant women, the disabled."""
    return (
        (t.age >= ELDERLY_AGE)
        | (t.age <= CHILD_MAX_AGE)
        | t.active_htn
        | t.active_t2dm
        | t.severe_mental_disorder
        | t.pregnant
        | t.disability
    )


def _any_of_three(t: ir.Table, params: Params) -> ir.BooleanValue:
    return t.active_htn | t.active_t2dm | t.active_lip


def _all_three(t: ir.Table, params: Params) -> ir.BooleanValue:
    """三高共管: under management for hypertension, diabetes and dyslipidaemia."""
    return t.active_htn & t.active_t2dm & t.active_lip


def ncd_death(icd10: ir.StringValue) -> ir.BooleanValue:
    """The ICD-10 ranges of ``domain.rules.mortality.NCD_ICD10_RANGES`` as an expression."""
    code = icd10.strip().upper()
    letter = code.substr(0, 1)
    category = code.substr(1, 2).try_cast("int64")
    found: ir.BooleanValue = ibis.literal(False)
    for chapter, first, last, _group in NCD_ICD10_RANGES:
        found = found | ((letter == chapter) & category.between(first, last))
    return found.fill_null(False)


def mortality_frame(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Residents aged 30–69 at the period's midpoint (the mid-period population, den) and the
    four-cause NCD deaths among them during the period (num), with ``age`` at death or at the
    midpoint. ``compute`` sums them by 5-year band and applies
    ``domain.rules.mortality.premature_ncd_mortality``."""
    r = resident_rows(wh)
    mid = period.start + (period.end - period.start) / 2
    died_in = (
        (r.status == ResidentStatus.DEAD.value)
        & (r.status_date >= d(period.start))
        & (r.status_date <= d(period.end))
    )
    alive_mid = ~(
        r.status.isin([ResidentStatus.DEAD.value, ResidentStatus.MOVED_AWAY.value])
        & (r.status_date < d(mid))
    )
    lo, hi = AGE_BANDS[0], AGE_BANDS[-1] + BAND_WIDTH
    # Only birth dates that can give an age of lo..hi at the midpoint or at a death in the
    # period (with a year's margin): the ages are then computed for about half the residents.
    born_after = add_months(period.start, -12 * (hi + 1))
    born_by = add_months(period.end, -12 * (lo - 1))
    r = r.filter(
        r.status != ResidentStatus.MERGED.value,
        r.registered_on <= d(mid),
        r.birth_date > d(born_after),
        r.birth_date <= d(born_by),
    )
    age = died_in.ifelse(age_at(r.birth_date, r.status_date), age_at(r.birth_date, d(mid)))
    r = r.mutate(age=age, org_id=r.managing_org_id, team_id=ibis.null("string"), resident_id=r.id)
    r = r.filter(r.age >= lo, r.age < hi, alive_mid | died_in)
    num = died_in & r.death_cause_icd10.notnull() & ncd_death(r.death_cause_icd10)
    return frame(r, num.fill_null(False), alive_mid)


INDICATORS: tuple[Indicator, ...] = (
    define_over(
        "elderly_health_management_rate",
        Over(on_record_people, _checked, member=_elderly, team=False),
    ),
    define_over("contract_rate", Over(on_record_people, _contracted)),
    define_over(
        "contract_rate_key_populations",
        Over(on_record_people, _contracted, member=_key_population),
    ),
    define("premature_ncd_mortality", mortality_frame),
)


def _referrals_up(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Upward referrals (上转) requested in the period, by the referring organisation."""
    f = up_referrals(wh, period)
    r = resident_rows(wh).select(r_id="id", sex="sex", birth_date="birth_date")
    j = f.join(r, f.resident_id == r.r_id)
    j = j.mutate(
        org_id=j.from_org_id, team_id=ibis.null("string"), age=age_at(j.birth_date, d(period.end))
    )
    return frame(j, ibis.literal(True))


def _referred(t: ir.Table, params: Params) -> ir.BooleanValue:
    """Managed hypertension patients referred up in the period (num of the referral rate)."""
    return (t.visits >= 1) & t.ref_id.notnull()


def _managed(t: ir.Table, params: Params) -> ir.BooleanValue:
    return t.visits >= 1


INDICATORS = (
    *INDICATORS,
    define("referrals_up", _referrals_up),
    define_over("htn_referral_rate", Over(hypertension_patients, _referred, _managed)),
    define_over(
        "three_highs_co_management",
        Over(on_record_people, _all_three, member=_any_of_three, team=False),
    ),
)
