"""The residents on record at the period's end, one row each, with what the population-wide
indicators read of them: the base of the health-management rates (hypertension, diabetes,
elderly), the contract rates, three-highs co-management, suspected duplicates and health-record
coverage. Those eight indicators are summed in one pass over this base (``compute``).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators.base import Params, d, people
from manbing.analytics.indicators.duplicates import duplicate_ids
from manbing.analytics.indicators.patients import managed_ids
from manbing.analytics.periods import Period
from manbing.domain.contracts import ContractStatus
from manbing.domain.programmes import EnrolmentStatus, Programme


def first_team(wh: Warehouse, period: Period) -> ir.Table:
    """Residents with a contract in force at the period's end (``kid``) and their smallest
    team among those contracts (``kteam``)."""
    c = wh.table("contracts")
    signed = c.filter(
        c.start_date <= d(period.end),
        c.end_date >= d(period.end),
        c.status != ContractStatus.TERMINATED.value,
    )
    return signed.group_by(kid=signed.resident_id).aggregate(kteam=signed.team_id.min())


def active_programmes(wh: Warehouse, period: Period) -> ir.Table:
    """Residents with an active enrolment begun by the period's end in hypertension, type 2
    diabetes or dyslipidaemia (``aid``), and in which of them (``a_htn``, ``a_t2dm``,
    ``a_lip``)."""
    e = wh.table("enrolments")
    wanted = (Programme.HYPERTENSION, Programme.T2DM, Programme.DYSLIPIDAEMIA)
    e = e.filter(
        e.programme.isin([p.value for p in wanted]),
        e.enrolled_on <= d(period.end),
        e.status == EnrolmentStatus.ACTIVE.value,
    )
    return e.group_by(aid=e.resident_id).aggregate(
        a_htn=(e.programme == Programme.HYPERTENSION.value).any(),
        a_t2dm=(e.programme == Programme.T2DM.value).any(),
        a_lip=(e.programme == Programme.DYSLIPIDAEMIA.value).any(),
    )


def health_checked(wh: Warehouse, period: Period) -> ir.Table:
    """Residents with a health check in the period (``cid``)."""
    h = wh.table("health_checks")
    h = h.filter(h.check_date >= d(period.start), h.check_date <= d(period.end))
    return h.select(cid="resident_id").distinct()


def on_record_people(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Base: residents on record at the period's end (``base.people``) with their contract team
    (``team_id``) and flags: managed for hypertension / diabetes in the period, health-checked
    in it, contracted, actively enrolled per programme, suspected duplicate."""
    r = people(wh, period)
    sides: list[ir.Table] = [
        managed_ids(wh, Programme.HYPERTENSION, period).rename(htn_mid="mid"),
        managed_ids(wh, Programme.T2DM, period).rename(t2dm_mid="mid"),
        health_checked(wh, period),
        first_team(wh, period),
        active_programmes(wh, period),
        duplicate_ids(wh, period),
    ]
    for side in sides:
        key = side.columns[0]
        r = r.left_join(side, r.id == side[key])
    no = ibis.literal(False)
    return r.select(
        resident_id=r.id,
        org_id=r.org_id,
        team_id=r.kteam,
        sex=r.sex,
        age=r.age,
        severe_mental_disorder=r.severe_mental_disorder,
        pregnant=r.pregnant,
        disability=r.disability,
        managed_htn=r.htn_mid.notnull(),
        managed_t2dm=r.t2dm_mid.notnull(),
        checked=r.cid.notnull(),
        contracted=r.kid.notnull(),
        active_htn=r.a_htn.fill_null(no),
        active_t2dm=r.a_t2dm.fill_null(no),
        active_lip=r.a_lip.fill_null(no),
        duplicate=r.dup_id.notnull(),
    )
