"""The residents on record at the period's end, one row each, with what the population-wide
indicators read of them: the base of the health-management rates (hypertension, diabetes,
elderly), the contract rates, three-highs co-management, suspected duplicates and health-record
coverage. Those eight indicators are summed in one pass over this base (``compute``).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators.base import Params, d, nullable, people, smallest_id
from manbing.analytics.indicators.duplicates import duplicate_ids
from manbing.analytics.indicators.patients import managed_ids
from manbing.analytics.periods import Period
from manbing.domain.contracts import ContractStatus
from manbing.domain.programmes import EnrolmentStatus, Programme

FLAGS = (
    "managed_htn",
    "managed_t2dm",
    "checked",
    "contracted",
    "active_htn",
    "active_t2dm",
    "active_lip",
    "duplicate",
)


def _facts(source: ir.Table, rid: ir.Value, team: ir.Value, **flags: ir.BooleanValue) -> ir.Table:
    """Rows of one source in the shape of every other: resident, team, the eight flags."""
    no = ibis.literal(False)
    columns = {"fid": rid, "fteam": team, **{name: flags.get(name, no) for name in FLAGS}}
    return source.select(**{name: nullable(value) for name, value in columns.items()})


def resident_facts(wh: Warehouse, period: Period) -> ir.Table:
    """Per resident with any (``fid``): managed for hypertension / type 2 diabetes in the
    period, health-checked in it, with a contract in force at its end and the smallest team
    among those contracts (``fteam``), actively enrolled (by its end) in hypertension, type 2
    diabetes or dyslipidaemia, suspected duplicate. One grouping of the stacked sources, so
    that the residents are joined once, not once per source."""
    end = d(period.end)
    htn = managed_ids(wh, Programme.HYPERTENSION, period)
    t2dm = managed_ids(wh, Programme.T2DM, period)
    h = wh.table("health_checks")
    h = h.filter(h.check_date >= d(period.start), h.check_date <= end)
    c = wh.table("contracts")
    c = c.filter(
        c.start_date <= end, c.end_date >= end, c.status != ContractStatus.TERMINATED.value
    )
    e = wh.table("enrolments")
    wanted = (Programme.HYPERTENSION, Programme.T2DM, Programme.DYSLIPIDAEMIA)
    e = e.filter(
        e.programme.isin([p.value for p in wanted]),
        e.enrolled_on <= end,
        e.status == EnrolmentStatus.ACTIVE.value,
    )
    dup = duplicate_ids(wh, period)
    yes = ibis.literal(True)
    none = ibis.null(c.team_id.type().copy(nullable=True))
    stacked = ibis.union(
        _facts(htn, htn.mid, none, managed_htn=yes),
        _facts(t2dm, t2dm.mid, none, managed_t2dm=yes),
        _facts(h, h.resident_id, none, checked=yes),
        _facts(c, c.resident_id, c.team_id, contracted=yes),
        _facts(
            e,
            e.resident_id,
            none,
            active_htn=e.programme == Programme.HYPERTENSION.value,
            active_t2dm=e.programme == Programme.T2DM.value,
            active_lip=e.programme == Programme.DYSLIPIDAEMIA.value,
        ),
        _facts(dup, dup.dup_id, none, duplicate=yes),
        distinct=False,
    )
    return stacked.group_by("fid").aggregate(
        fteam=smallest_id(stacked.fteam, wh.engine),
        **{name: stacked[name].any() for name in FLAGS},
    )


def on_record_people(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """Base: residents on record at the period's end (``base.people``) with their contract team
    (``team_id``: the smallest team among the contracts in force at its end) and the flags of
    ``resident_facts``."""
    r = people(wh, period)
    f = resident_facts(wh, period)
    j = r.left_join(f, r.id == f.fid)
    no = ibis.literal(False)
    return j.select(
        resident_id=j.id,
        org_id=j.org_id,
        team_id=j.fteam,
        sex=j.sex,
        age=j.age,
        severe_mental_disorder=j.severe_mental_disorder,
        pregnant=j.pregnant,
        disability=j.disability,
        **{name: j[name].fill_null(no) for name in FLAGS},
    )
