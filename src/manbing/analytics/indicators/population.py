"""Population indicators: elderly health management, family-doctor contracts, premature NCD
mortality."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators.base import (
    Indicator,
    Params,
    age_at,
    d,
    define,
    frame,
    people,
    resident_rows,
)
from manbing.analytics.periods import Period
from manbing.domain.contracts import ContractStatus
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.domain.referrals import Direction, ReferralStatus
from manbing.domain.residents import ResidentStatus
from manbing.domain.rules.mortality import AGE_BANDS, BAND_WIDTH, NCD_ICD10_RANGES

ELDERLY_AGE = 65  # 老年人健康管理: residents aged 65 and over (key population "elderly_65")
CHILD_MAX_AGE = 6


_people = people


def _elderly(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    r = _people(wh, period)
    r = r.filter(r.age >= ELDERLY_AGE)
    h = wh.table("health_checks")
    checked = (
        h.filter(h.check_date >= d(period.start), h.check_date <= d(period.end))
        .select(cid="resident_id")
        .distinct()
    )
    j = r.left_join(checked, r.id == checked.cid)
    j = j.mutate(resident_id=j.id, team_id=ibis.null("string"))
    return frame(j, j.cid.notnull())


def _first_team(wh: Warehouse, period: Period) -> ir.Table:
    """Residents with a contract in force at the period's end and their (first) team."""

    def build() -> ir.Table:
        c = wh.table("contracts")
        signed = c.filter(
            c.start_date <= d(period.end),
            c.end_date >= d(period.end),
            c.status != ContractStatus.TERMINATED.value,
        )
        # Contracts in force at the period's end; a resident's smallest team among them.
        return signed.group_by(kid=signed.resident_id).aggregate(kteam=signed.team_id.min())

    return wh.shared(("first_team", period), build)


def _contract_frame(wh: Warehouse, period: Period, key_only: bool) -> ir.Table:
    r = _people(wh, period)
    if key_only:
        e = wh.table("enrolments")
        chronic = (
            e.filter(
                e.programme.isin([Programme.HYPERTENSION.value, Programme.T2DM.value]),
                e.enrolled_on <= d(period.end),
                e.status == EnrolmentStatus.ACTIVE.value,
            )
            .select(eid="resident_id")
            .distinct()
        )
        r = r.left_join(chronic, r.id == chronic.eid)
        key = (
            (r.age >= ELDERLY_AGE)
            | (r.age <= CHILD_MAX_AGE)
            | r.eid.notnull()
            | r.severe_mental_disorder
            | r.pregnant
            | r.disability
        )
        r = r.filter(key)
    first_team = _first_team(wh, period)
    j = r.left_join(first_team, r.id == first_team.kid)
    j = j.mutate(resident_id=j.id, team_id=j.kteam)
    return frame(j, j.kid.notnull())


def _contract_rate(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    return _contract_frame(wh, period, key_only=False)


def _contract_key_rate(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    return _contract_frame(wh, period, key_only=True)


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
    r = r.filter(r.status != ResidentStatus.MERGED.value, r.registered_on <= d(mid))
    age = died_in.ifelse(age_at(r.birth_date, r.status_date), age_at(r.birth_date, d(mid)))
    r = r.mutate(age=age, org_id=r.managing_org_id, team_id=ibis.null("string"), resident_id=r.id)
    lo, hi = AGE_BANDS[0], AGE_BANDS[-1] + BAND_WIDTH
    r = r.filter(r.age >= lo, r.age < hi, alive_mid | died_in)
    num = died_in & r.death_cause_icd10.notnull() & ncd_death(r.death_cause_icd10)
    return frame(r, num.fill_null(False), alive_mid)


INDICATORS: tuple[Indicator, ...] = (
    define("elderly_health_management_rate", _elderly),
    define("contract_rate", _contract_rate),
    define("contract_rate_key_populations", _contract_key_rate),
    define("premature_ncd_mortality", mortality_frame),
)


def _referrals_up(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Upward referrals (上转) requested in the period, by the referring organisation."""
    f = wh.table("referrals")
    f = f.filter(
        f.direction == Direction.UP.value,
        f.status != ReferralStatus.CANCELLED.value,
        f.created_at.date() >= d(period.start),
        f.created_at.date() <= d(period.end),
    )
    r = resident_rows(wh).select(r_id="id", sex="sex", birth_date="birth_date")
    j = f.join(r, f.resident_id == r.r_id)
    j = j.mutate(
        org_id=j.from_org_id, team_id=ibis.null("string"), age=age_at(j.birth_date, d(period.end))
    )
    return frame(j, ibis.literal(True))


def _active_in(wh: Warehouse, programme: Programme, period: Period) -> ir.Table:
    e = wh.table("enrolments")
    return (
        e.filter(
            e.programme == programme.value,
            e.enrolled_on <= d(period.end),
            e.status == EnrolmentStatus.ACTIVE.value,
        )
        .select(rid="resident_id")
        .distinct()
    )


def _three_highs(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """三高共管: residents under management for hypertension, diabetes and dyslipidaemia."""
    r = _people(wh, period)
    for name, programme in (
        ("htn", Programme.HYPERTENSION),
        ("dm", Programme.T2DM),
        ("lip", Programme.DYSLIPIDAEMIA),
    ):
        t = _active_in(wh, programme, period).rename(**{f"{name}_id": "rid"})
        r = r.left_join(t, r.id == t[f"{name}_id"])
    htn, dm, lip = r.htn_id.notnull(), r.dm_id.notnull(), r.lip_id.notnull()
    r = r.mutate(
        resident_id=r.id,
        team_id=ibis.null("string"),
        any3=htn | dm | lip,
        all3=htn & dm & lip,
    )
    r = r.filter(r.any3)
    return frame(r, r.all3)


def _referral_rate(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Managed hypertension patients referred up in the period / managed patients."""
    from manbing.analytics.indicators.chronic import _patients

    p = _patients(wh, Programme.HYPERTENSION, period)
    f = wh.table("referrals")
    referred = (
        f.filter(
            f.direction == Direction.UP.value,
            f.status != ReferralStatus.CANCELLED.value,
            f.created_at.date() >= d(period.start),
            f.created_at.date() <= d(period.end),
        )
        .select(ref_id="resident_id")
        .distinct()
    )
    j = p.left_join(referred, p.resident_id == referred.ref_id)
    managed = j.visits >= 1
    return frame(j, managed & j.ref_id.notnull(), managed)


INDICATORS = (
    *INDICATORS,
    define("referrals_up", _referrals_up),
    define("htn_referral_rate", _referral_rate),
    define("three_highs_co_management", _three_highs),
)
