"""Run the indicator definitions for a period and aggregate them over the whole tree.

Units: every organisation (its own patients and everything below it, by the ``path`` of the
organisation tree: province commission → city → district → centre → station), every family-
doctor team, and the administrative divisions (province, city, district) of the managing
organisations. Each unit gets the totals and breakdowns by sex and by age band (``*`` = all).
All rate and count indicators are aggregated in one pass; premature mortality in a second.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators import ALL, Indicator, Kind, Params
from manbing.analytics.indicators.chronic import prevalence
from manbing.analytics.periods import Period
from manbing.domain.errors import InvalidInput
from manbing.domain.rules.mortality import AGE_BANDS, BAND_WIDTH, premature_ncd_mortality

ALL_VALUES = "*"
BREAKDOWN_BANDS: tuple[tuple[int, str], ...] = (
    (0, "0-34"),
    (35, "35-44"),
    (45, "45-54"),
    (55, "55-64"),
    (65, "65-74"),
    (75, "75+"),
)


@dataclass(frozen=True, slots=True)
class Result:
    indicator: str
    unit_kind: str  # org / team / division
    unit_id: str
    period: Period
    sex: str
    age_band: str
    numerator: int
    denominator: int | None
    value: float | None


def _division_units(code: str) -> list[str]:
    """Province, city and district codes of a (6- or 12-digit) division code."""
    units = {code[:2] + "0000", code[:4] + "00", code[:6]}
    return sorted(units)


def units_table(wh: Warehouse) -> pa.Table:
    """(org_id, unit_kind, unit_id) for every organisation and each unit containing it."""
    orgs = wh.table("organizations").select("id", "path", "division_code").to_pyarrow()
    rows: dict[str, list[str]] = {"org_id": [], "unit_kind": [], "unit_id": []}
    for org_id, path, division in zip(
        orgs.column("id").to_pylist(),
        orgs.column("path").to_pylist(),
        orgs.column("division_code").to_pylist(),
        strict=True,
    ):
        ancestors = [str(uuid.UUID(h)) for h in path.strip("/").split("/") if h]
        for a in ancestors or [org_id]:
            rows["org_id"].append(org_id)
            rows["unit_kind"].append("org")
            rows["unit_id"].append(a)
        for code in _division_units(division):
            rows["org_id"].append(org_id)
            rows["unit_kind"].append("division")
            rows["unit_id"].append(code)
    return pa.table(rows)


def _band(age: ir.IntegerValue) -> ir.StringValue:
    label: ir.StringValue = ibis.literal(BREAKDOWN_BANDS[0][1])
    for start, name in BREAKDOWN_BANDS[1:]:
        label = (age >= start).ifelse(name, label)
    return label


def _leaves(frames: ir.Table, extra: dict[str, ir.Value] | None = None) -> ir.Table:
    """Sum the 0/1 flags per (organisation, team, sex, age band): sums are additive, so the
    tree roll-up then works on a few thousand rows instead of one row per person and unit."""
    keyed = frames.mutate(band=_band(frames.age), **(extra or {}))
    keys = ["indicator", "org_id", "team_id", "sex", "band", *(extra or {})]
    return keyed.group_by(keys).aggregate(num=keyed.num.sum(), den=keyed.den.sum())


def _expand(leaves: ir.Table, units: ir.Table, extra: tuple[str, ...] = ()) -> ir.Table:
    """One row per (leaf, unit containing it): organisations, divisions and the team."""
    j = leaves.join(units, leaves.org_id == units.u_org)
    by_org = j.select("indicator", "unit_kind", "unit_id", "sex", "band", *extra, "num", "den")
    teams = leaves.filter(leaves.team_id.notnull())
    by_team = teams.select(
        "indicator",
        unit_kind=ibis.literal("team"),
        unit_id=teams.team_id,
        sex=teams.sex,
        band=teams.band,
        **{name: teams[name] for name in extra},
        num=teams.num,
        den=teams.den,
    )
    return by_org.union(by_team)


def _aggregate(expanded: ir.Table, extra: tuple[str, ...] = ()) -> ir.Table:
    """Totals, by sex and by age band in one query (``*`` marks the collapsed dimension)."""
    star = ibis.literal(ALL_VALUES)
    base = expanded
    total = base.mutate(sex=star, band=star)
    by_sex = base.mutate(band=star)
    by_band = base.mutate(sex=star)
    stacked = total.union(by_sex).union(by_band)
    return stacked.group_by(["indicator", "unit_kind", "unit_id", "sex", "band", *extra]).aggregate(
        numerator=stacked.num.sum(), denominator=stacked.den.sum()
    )


def _frames(wh: Warehouse, indicators: list[Indicator], period: Period, params: Params) -> ir.Table:
    parts = [i.frame(wh, period, params).mutate(indicator=ibis.literal(i.code)) for i in indicators]
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


def compute(
    wh: Warehouse,
    period: Period,
    params: Params | None = None,
    codes: list[str] | None = None,
) -> list[Result]:
    params = params or Params()
    chosen = [i for i in ALL if codes is None or i.code in codes]
    if codes:
        unknown = set(codes) - {i.code for i in ALL}
        if unknown:
            raise InvalidInput(
                "indicator",
                f"未知指标：{', '.join(sorted(unknown))}",
                f"unknown indicators: {sorted(unknown)}",
            )
    units = ibis.memtable(units_table(wh)).rename(u_org="org_id")
    results: list[Result] = []
    regular = [i for i in chosen if i.kind is not Kind.PROBABILITY]
    if regular:
        agg = _aggregate(_expand(_leaves(_frames(wh, regular, period, params)), units))
        table = wh.backend.to_pyarrow(agg)
        kinds = {i.code: i.kind for i in regular}
        for row in table.to_pylist():
            num, den = int(row["numerator"] or 0), int(row["denominator"] or 0)
            share = prevalence(row["indicator"], params)
            denominator: int | None = round(den * share) if share is not None else den
            kind = kinds[row["indicator"]]
            if kind is Kind.COUNT:
                value: float | None = float(num)
            else:
                value = num / denominator if denominator else None
            results.append(
                Result(
                    row["indicator"],
                    row["unit_kind"],
                    row["unit_id"],
                    period,
                    row["sex"],
                    row["band"],
                    num,
                    denominator,
                    value,
                )
            )
    for ind in chosen:
        if ind.kind is Kind.PROBABILITY:
            results.extend(_mortality(wh, ind, period, params, units))
    return results


def _mortality(
    wh: Warehouse, ind: Indicator, period: Period, params: Params, units: ir.Table
) -> list[Result]:
    f = ind.frame(wh, period, params).mutate(indicator=ibis.literal(ind.code))
    leaves = _leaves(f, {"mband": (f.age - f.age % BAND_WIDTH).cast("int64")})
    agg = _aggregate(_expand(leaves, units, ("mband",)), ("mband",))
    agg = agg.filter(agg.band == ALL_VALUES)
    rows = wh.backend.to_pyarrow(agg).to_pylist()
    grouped: dict[tuple[str, str, str], tuple[dict[int, float], dict[int, float]]] = defaultdict(
        lambda: ({}, {})
    )
    for row in rows:
        deaths, population = grouped[(row["unit_kind"], row["unit_id"], row["sex"])]
        deaths[row["mband"]] = float(row["numerator"] or 0)
        population[row["mband"]] = float(row["denominator"] or 0)
    out = []
    for (kind, unit, sex), (deaths, population) in grouped.items():
        value = None
        if all(population.get(b, 0) > 0 for b in AGE_BANDS) and all(
            deaths.get(b, 0) <= population[b] for b in AGE_BANDS
        ):
            value = premature_ncd_mortality(deaths, population).probability
        out.append(
            Result(
                ind.code,
                kind,
                unit,
                period,
                sex,
                ALL_VALUES,
                int(sum(deaths.values())),
                int(sum(population.values())),
                value,
            )
        )
    return out
