"""Rates over the census population (常住人口, ``domain.census``): health-record coverage and the
patient management rates against estimated patients.

Definitions (shared reference clinical.md §1.4, "Indicator formulas"):

- 电子健康档案建档率 = residents with an electronic record / resident population (the
  national service standard, 3rd edition 2017, 居民健康档案管理服务规范 工作指标). Every record of
  this platform is electronic; a record counts while on file at the period's end (not merged,
  dead or moved away).
- 高血压/2型糖尿病患者管理率 (the 2nd edition's 健康管理率, still reported by many provinces) =
  patients under management in the period / estimated patients in the catchment, where
  estimated patients = adult resident population × local prevalence. The adults are those
  ≥ ``Params.prevalence_min_age`` (18) and the prevalences those of ``Params`` (27.5 % and
  11.9 %, 中国居民营养与慢性病状况报告 2020). The service standard's target population is the
  residents ≥ 35; a region that estimates patients from the ≥ 35 population sets
  ``prevalence_min_age=35`` with its ≥ 35 prevalence (docs/clinical-rules.md).

The census cells join the frame as rows carrying their population (or their estimated patients)
in ``den`` and nothing in ``num``; they attach to the division's top organisation (shortest
path) so they count for it, the organisations above it and the district, city and province.
A period uses, per division, the latest census year not after the year of its end.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators.base import (
    FrameFn,
    Indicator,
    Over,
    Params,
    define_over,
    smallest_id,
)
from manbing.analytics.indicators.chronic import BASES
from manbing.analytics.indicators.people import on_record_people
from manbing.analytics.periods import Period
from manbing.domain.census import OPEN_GROUP_YEARS
from manbing.domain.programmes import Programme


def census_cells(wh: Warehouse, period: Period) -> ir.Table:
    """The census cells valid for the period, with the organisation they attach to.
    Columns: org_id, sex, age_from, age_to, population."""
    c = wh.table("census_populations")
    c = c.filter(c.year <= period.end.year)
    c = c.mutate(latest=c.year.max().over(group_by=c.division_code))
    c = c.filter(c.year == c.latest)
    o = wh.table("organizations")
    o = o.mutate(depth=o.path.length())
    o = o.mutate(top=o.depth.min().over(group_by=o.division_code))
    tops = o.filter(o.depth == o.top).select(t_org="id", t_division="division_code")
    tops = tops.group_by("t_division").aggregate(t_org=smallest_id(tops.t_org, wh.engine))
    j = c.join(tops, c.division_code == tops.t_division)
    return j.select(
        org_id=j.t_org,
        sex=j.sex,
        age_from=j.age_from,
        age_to=j.age_to,
        population=j.population,
    )


def adult_share(
    age_from: ir.IntegerValue, age_to: ir.IntegerValue, min_age: int
) -> ir.FloatingValue:
    """``domain.census.share_at_or_above`` as an expression."""
    last = age_to.fill_null(age_from + (OPEN_GROUP_YEARS - 1))
    inside = (last - min_age + 1).cast("float64") / (last - age_from + 1).cast("float64")
    share = (age_from >= min_age).ifelse(1.0, (last < min_age).ifelse(0.0, inside))
    return share.cast("float64")


def _census_frame(cells: ir.Table, den: ir.IntegerValue, age: ir.IntegerValue) -> ir.Table:
    t = cells.mutate(
        resident_id=ibis.null("string"), team_id=ibis.null("string"), age=age, den_value=den
    )
    return t.select(
        resident_id=t.resident_id,
        org_id=t.org_id.cast("string"),
        team_id=t.team_id,
        sex=t.sex.cast("string"),
        age=t.age.cast("int64"),
        num=ibis.literal(0).cast("int64"),
        den=t.den_value.cast("int64"),
    )


def _record_cells(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """The census population: the denominator of the record coverage."""
    cells = census_cells(wh, period)
    return _census_frame(cells, cells.population, cells.age_from)


def _estimated_cells(prevalence: str) -> FrameFn:
    def build(wh: Warehouse, period: Period, params: Params) -> ir.Table:
        """The estimated patients per census cell: its adults × the prevalence."""
        cells = census_cells(wh, period)
        share = adult_share(cells.age_from, cells.age_to, params.prevalence_min_age)
        estimated = (cells.population.cast("float64") * share * getattr(params, prevalence)).round()
        age = ibis.greatest(cells.age_from, ibis.literal(params.prevalence_min_age))
        return _census_frame(cells, estimated.cast("int64"), age)

    return build


def _yes(t: ir.Table, params: Params) -> ir.BooleanValue:
    return ibis.literal(True)


def _no(t: ir.Table, params: Params) -> ir.BooleanValue:
    return ibis.literal(False)


def _managed_adult(t: ir.Table, params: Params) -> ir.BooleanValue:
    return (t.visits >= 1) & (t.age >= params.prevalence_min_age)


# Every record on file counts in the numerator; the census population is the denominator.
_RECORDS = Over(on_record_people, _yes, _no, team=False)


def _managed_patients(programme: Programme) -> Over:
    """The managed adult patients of the programme: the numerator only."""
    return Over(BASES[programme], _yes, _no, member=_managed_adult)


INDICATORS: tuple[Indicator, ...] = (
    define_over("ehr_coverage_rate", _RECORDS, _record_cells),
    define_over(
        "htn_patient_management_rate",
        _managed_patients(Programme.HYPERTENSION),
        _estimated_cells("hypertension_prevalence"),
    ),
    define_over(
        "t2dm_patient_management_rate",
        _managed_patients(Programme.T2DM),
        _estimated_cells("diabetes_prevalence"),
    ),
)
