"""Run the indicator definitions for a period and aggregate them over the whole tree.

Units: every organisation (its own patients and everything below it, by the ``path`` of the
organisation tree: province commission → city → district → centre → station), every family-
doctor team, and the administrative divisions (province, city, district) of the managing
organisations. Each unit gets the totals and breakdowns by sex and by age band (``*`` = all).

Two stages:

1. On the engine (DuckDB, Spark or PostgreSQL), each indicator's frame — one row per person —
   is summed per (managing organisation, team, sex, age band): its *leaves*, a few thousand rows
   at most. Indicators read off the same per-person base (``base.Over``: the residents on
   record, the patients of a programme, the HEARTS cohort, …) are summed together in one
   grouping over that base, so the set costs one pass per base, not one per indicator. The
   sub-expressions several bases share (patients per programme) are materialised once per run
   (``Warehouse.shared``).
2. In process (Arrow), the leaves of every indicator are joined with the units containing each
   organisation and summed per unit for the totals, the sexes and the age bands. Sums are
   additive, so this gives exactly the per-person aggregation over each unit, on a tiny table.

``compute_table`` returns the results as one Arrow table; ``compute`` as ``Result`` objects.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators import ALL, Indicator, Kind, Params
from manbing.analytics.indicators.base import BaseFn, Over
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
RESULT_SCHEMA = pa.schema(
    [
        ("indicator", pa.string()),
        ("unit_kind", pa.string()),
        ("unit_id", pa.string()),
        ("sex", pa.string()),
        ("age_band", pa.string()),
        ("numerator", pa.int64()),
        ("denominator", pa.int64()),
        ("value", pa.float64()),
    ]
)
_LEAF_KEYS = ("indicator", "org_id", "team_id", "sex", "band")

# Called after each indicator: (code, indicators done, indicators chosen, seconds it took).
Progress = Callable[[str, int, int, float], None]


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


@dataclass
class OutOfTime(Exception):
    """The time budget ran out before every indicator was computed."""

    done: list[str]
    remaining: list[str]
    seconds: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"time budget exhausted after {len(self.done)} of "
            f"{len(self.done) + len(self.remaining)} indicators; not computed: "
            f"{', '.join(self.remaining)}"
        )


def _division_units(code: str) -> list[str]:
    """Province, city and district codes of a (6- or 12-digit) division code."""
    units = {code[:2] + "0000", code[:4] + "00", code[:6]}
    return sorted(units)


def units_table(wh: Warehouse) -> pa.Table:
    """(org_id, unit_kind, unit_id) for every organisation and each unit containing it."""
    o = wh.table("organizations")
    orgs = o.select(o.id.cast("string").name("id"), "path", "division_code").to_pyarrow()
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


def leaves_expr(frame: ir.Table, code: str, extra: dict[str, ir.Value] | None = None) -> ir.Table:
    """Sum the 0/1 flags per (organisation, team, sex, age band): sums are additive, so the
    tree roll-up then works on a few thousand rows instead of one row per person and unit."""
    keyed = frame.mutate(band=_band(frame.age), **(extra or {}))
    keys = ["org_id", "team_id", "sex", "band", *(extra or {})]
    leaves = keyed.group_by(keys).aggregate(num=keyed.num.sum(), den=keyed.den.sum())
    return leaves.mutate(indicator=ibis.literal(code))


def _leaves(wh: Warehouse, expr: ir.Table, extra: tuple[str, ...] = ()) -> pa.Table:
    table = wh.backend.to_pyarrow(expr)
    columns = {
        "indicator": table.column("indicator").cast(pa.string()),
        "org_id": table.column("org_id").cast(pa.string()),
        "team_id": table.column("team_id").cast(pa.string()),
        "sex": table.column("sex").cast(pa.string()),
        "band": table.column("band").cast(pa.string()),
        **{name: table.column(name).cast(pa.int64()) for name in extra},
        "num": pc.fill_null(table.column("num").cast(pa.int64()), 0),
        "den": pc.fill_null(table.column("den").cast(pa.int64()), 0),
    }
    return pa.table(columns)


def _flag_sums(
    t: ir.Table, chosen: list[Indicator], params: Params
) -> tuple[dict[str, ir.Value], list[tuple[str, str, str]]]:
    """The sums to take over ``t`` and, per indicator, the names of its member, numerator and
    denominator sums: one sum per distinct flag (indicators often share their members or
    denominators)."""
    sums: dict[str, ir.Value] = {}
    names: dict[object, str] = {}

    def column(flag: ir.BooleanValue) -> str:
        total = flag.ifelse(1, 0).sum()
        if total.op() not in names:
            names[total.op()] = f"s{len(names)}"
            sums[names[total.op()]] = total
        return names[total.op()]

    columns: list[tuple[str, str, str]] = []
    for ind in chosen:
        over = _over(ind)
        # ``row_`` makes a constant flag a column, so that it sums per group.
        member = t.row_ & over.member(t, params).fill_null(False)
        den = member if over.den is None else member & over.den(t, params)
        columns.append((column(member), column(member & over.num(t, params)), column(den)))
    return sums, columns


def _fused_leaves(
    wh: Warehouse, base: BaseFn, chosen: list[Indicator], period: Period, params: Params
) -> list[pa.Table]:
    """The leaves of every indicator read off ``base``, from one pass over it: per indicator
    the count of its members, of its numerator and of its denominator per (org, sex, band) and,
    for the indicators with a team, per (team, sex, band). A group none of whose rows is a
    member is no leaf of that indicator, exactly as it is no row of its frame.

    Organisation leaves carry no team and team leaves no organisation (``rollup`` sums each
    into its own units): grouped by both, the contract teams of a city's residents would give
    ten times the leaves."""
    t = base(wh, period, params)
    t = t.mutate(band=_band(t.age), row_=ibis.literal(True))
    sums, columns = _flag_sums(t, chosen, params)
    grouped = t.group_by(["org_id", "sex", "band"]).aggregate(**sums)
    grouped = grouped.mutate(team_id=ibis.null(t.team_id.type()))
    if any(_over(ind).team for ind in chosen):
        teams = t.filter(t.team_id.notnull())
        team_sums, _ = _flag_sums(teams, chosen, params)
        by_team = teams.group_by(["team_id", "sex", "band"]).aggregate(**team_sums)
        by_team = by_team.mutate(org_id=ibis.null(t.org_id.type()))
        grouped = grouped.union(by_team.select(*grouped.columns))
    # Identifiers as text once summed (a few thousand rows): every engine fetches that.
    grouped = grouped.mutate(
        org_id=grouped.org_id.cast("string"), team_id=grouped.team_id.cast("string")
    )
    table = wh.backend.to_pyarrow(grouped)
    keys = {
        name: table.column(name).cast(pa.string()) for name in ("org_id", "team_id", "sex", "band")
    }
    is_org = pc.is_valid(keys["org_id"])
    out: list[pa.Table] = []
    for ind, names_of in zip(chosen, columns, strict=True):
        members, num, den = (
            pc.fill_null(table.column(source).cast(pa.int64()), 0) for source in names_of
        )
        keep = pc.greater(members, 0)
        if not _over(ind).team:
            keep = pc.and_(keep, is_org)
        leaves = pa.table({**keys, "num": num, "den": den}).filter(keep)
        n = leaves.num_rows
        out.append(
            pa.table(
                {
                    "indicator": pa.array([ind.code] * n, pa.string()),
                    **{name: leaves.column(name) for name in _LEAF_KEYS[1:]},
                    "num": leaves.column("num"),
                    "den": leaves.column("den"),
                }
            )
        )
    return out


def _over(ind: Indicator) -> Over:
    assert ind.over is not None
    return ind.over


def rollup(leaves: pa.Table, units: pa.Table, extra: tuple[str, ...] = ()) -> pa.Table:
    """Leaves → (indicator, unit_kind, unit_id, sex, band, *extra, num, den) for every unit
    containing each leaf (organisations and divisions via ``units``, and the leaf's team), with
    the totals, the by-sex and the by-band breakdowns (``*`` marks the collapsed dimension). A
    leaf without an organisation counts for its team only (``_fused_leaves`` gives the teams
    their own leaves).

    Runs on an in-process DuckDB over the Arrow tables whatever the engine of the leaves: the
    input is a few thousand rows per indicator."""
    more = "".join(f", {name}" for name in extra)
    keys = f"indicator, unit{more}"
    star = f"'{ALL_VALUES}'"
    # Totals, by sex and by band per organisation (and per team) first, then each of those rows
    # once per unit containing the organisation: the join multiplies a reduced table.
    sql = f"""
        WITH per_unit AS (
            SELECT indicator, org_id AS unit, FALSE AS is_team, sex, band{more}, num, den
            FROM leaves WHERE org_id IS NOT NULL
            UNION ALL
            SELECT indicator, team_id, TRUE, sex, band{more}, num, den
            FROM leaves WHERE team_id IS NOT NULL
        ), sets AS (
            SELECT {keys}, is_team,
                   CASE WHEN GROUPING(sex) = 1 THEN {star} ELSE sex END AS sex,
                   CASE WHEN GROUPING(band) = 1 THEN {star} ELSE band END AS band,
                   SUM(num) AS num, SUM(den) AS den
            FROM per_unit
            GROUP BY GROUPING SETS (({keys}, is_team), ({keys}, is_team, sex),
                                    ({keys}, is_team, band))
        ), expanded AS (
            SELECT s.indicator, u.unit_kind, u.unit_id, s.sex, s.band{more.replace(", ", ", s.")},
                   s.num, s.den
            FROM sets AS s JOIN units AS u ON s.unit = u.org_id
            WHERE NOT s.is_team
            UNION ALL
            SELECT indicator, 'team', unit, sex, band{more}, num, den FROM sets WHERE is_team
        )
        SELECT indicator, unit_kind, unit_id, sex, band{more},
               CAST(SUM(num) AS BIGINT) AS num, CAST(SUM(den) AS BIGINT) AS den
        FROM expanded
        GROUP BY indicator, unit_kind, unit_id, sex, band{more}
    """
    con = duckdb.connect()
    try:
        con.register("leaves", leaves)
        con.register("units", units)
        return con.execute(sql).to_arrow_table()
    finally:
        con.close()


def _values(rolled: pa.Table, kinds: dict[str, Kind], params: Params) -> pa.Table:
    """Apply the prevalence to estimated denominators and compute each value."""
    codes = sorted(kinds)
    index = pc.index_in(rolled.column("indicator"), value_set=pa.array(codes)).to_numpy(
        zero_copy_only=False
    )
    shares = np.array([prevalence(c, params) or np.nan for c in codes], dtype=np.float64)
    counts = np.array([kinds[c] is Kind.COUNT for c in codes], dtype=bool)
    num = rolled.column("num").to_numpy().astype(np.int64)
    den = rolled.column("den").to_numpy().astype(np.int64)
    share = shares[index]
    estimated = ~np.isnan(share)
    # Python's round(): half to even, as the per-row computation always did.
    den_out = np.where(estimated, np.round(den * np.nan_to_num(share)), den).astype(np.int64)
    is_count = counts[index]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = num / den_out
    value = np.where(is_count, num.astype(np.float64), rate)
    missing = ~is_count & (den_out == 0)
    return pa.table(
        {
            "indicator": rolled.column("indicator"),
            "unit_kind": rolled.column("unit_kind"),
            "unit_id": rolled.column("unit_id"),
            "sex": rolled.column("sex"),
            "age_band": rolled.column("band"),
            "numerator": pa.array(num, pa.int64()),
            "denominator": pa.array(den_out, pa.int64()),
            "value": pa.array(value, pa.float64(), mask=missing),
        },
        schema=RESULT_SCHEMA,
    )


def _chosen(codes: list[str] | None) -> list[Indicator]:
    if codes:
        unknown = set(codes) - {i.code for i in ALL}
        if unknown:
            raise InvalidInput(
                "indicator",
                f"未知指标：{', '.join(sorted(unknown))}",
                f"unknown indicators: {sorted(unknown)}",
            )
    return [i for i in ALL if codes is None or i.code in codes]


def compute_table(
    wh: Warehouse,
    period: Period,
    params: Params | None = None,
    codes: list[str] | None = None,
    *,
    progress: Progress | None = None,
    deadline: float | None = None,
) -> pa.Table:
    """Every chosen indicator at every unit, as an Arrow table (``RESULT_SCHEMA``).

    ``deadline`` is a ``time.monotonic()`` value: when it has passed before an indicator
    starts, ``OutOfTime`` says which indicators were done and which were not."""
    params = params or Params()
    chosen = _chosen(codes)
    units = units_table(wh)
    regular: list[pa.Table] = []
    parts: list[pa.Table] = []
    done: list[str] = []
    seconds: dict[str, float] = {}
    for step in _steps(chosen):
        if deadline is not None and time.monotonic() > deadline:
            remaining = [i.code for i in chosen if i.code not in done]
            raise OutOfTime(done, remaining, seconds)
        started = time.perf_counter()
        first = step[0]
        if first.kind is Kind.PROBABILITY:
            parts.append(_mortality(wh, first, period, params, units))
        elif first.over is not None:
            regular.extend(_fused_leaves(wh, first.over.base, step, period, params))
            for ind in step:
                if ind.extra is not None:
                    extra = leaves_expr(ind.extra(wh, period, params), ind.code)
                    regular.append(_leaves(wh, extra))
        else:
            regular.append(_leaves(wh, leaves_expr(first.frame(wh, period, params), first.code)))
        # A step's time is shared evenly by the indicators it computed together.
        share = (time.perf_counter() - started) / len(step)
        for ind in step:
            seconds[ind.code] = share
            done.append(ind.code)
            if progress is not None:
                progress(ind.code, len(done), len(chosen), share)
    if regular:
        kinds: dict[str, Kind] = {i.code: i.kind for i in chosen if i.kind is not Kind.PROBABILITY}
        parts.insert(0, _values(rollup(pa.concat_tables(regular), units), kinds, params))
    if not parts:
        return RESULT_SCHEMA.empty_table()
    return pa.concat_tables(parts)


def _steps(chosen: list[Indicator]) -> list[list[Indicator]]:
    """The chosen indicators in the order of their steps: the readings over one base together
    (at the place of the first of them), every other indicator alone."""
    steps: list[list[Indicator]] = []
    by_base: dict[BaseFn, list[Indicator]] = {}
    for ind in chosen:
        if ind.over is None or ind.kind is Kind.PROBABILITY:
            steps.append([ind])
        elif ind.over.base in by_base:
            by_base[ind.over.base].append(ind)
        else:
            by_base[ind.over.base] = [ind]
            steps.append(by_base[ind.over.base])
    return steps


def results_of(table: pa.Table, period: Period) -> list[Result]:
    """``Result`` objects from a ``compute_table`` table."""
    columns = [table.column(name).to_pylist() for name in RESULT_SCHEMA.names]
    return [
        Result(ind, kind, unit, period, sex, band, num, den, value)
        for ind, kind, unit, sex, band, num, den, value in zip(*columns, strict=True)
    ]


def compute(
    wh: Warehouse,
    period: Period,
    params: Params | None = None,
    codes: list[str] | None = None,
) -> list[Result]:
    return results_of(compute_table(wh, period, params, codes), period)


def _mortality(
    wh: Warehouse, ind: Indicator, period: Period, params: Params, units: pa.Table
) -> pa.Table:
    f = ind.frame(wh, period, params)
    expr = leaves_expr(f, ind.code, {"mband": (f.age - f.age % BAND_WIDTH).cast("int64")})
    rolled = rollup(_leaves(wh, expr, ("mband",)), units, ("mband",))
    rolled = rolled.filter(pc.equal(rolled.column("band"), ALL_VALUES))
    grouped: dict[tuple[str, str, str], tuple[dict[int, float], dict[int, float]]] = defaultdict(
        lambda: ({}, {})
    )
    for kind, unit, sex, mband, num, den in zip(
        *(rolled.column(c).to_pylist() for c in ("unit_kind", "unit_id", "sex", "mband")),
        rolled.column("num").to_pylist(),
        rolled.column("den").to_pylist(),
        strict=True,
    ):
        deaths, population = grouped[(kind, unit, sex)]
        deaths[mband] = float(num or 0)
        population[mband] = float(den or 0)
    rows: dict[str, list[object]] = {name: [] for name in RESULT_SCHEMA.names}
    for (kind, unit, sex), (deaths, population) in grouped.items():
        value = None
        if all(population.get(b, 0) > 0 for b in AGE_BANDS) and all(
            deaths.get(b, 0) <= population[b] for b in AGE_BANDS
        ):
            value = premature_ncd_mortality(deaths, population).probability
        for name, cell in zip(
            RESULT_SCHEMA.names,
            (
                ind.code,
                kind,
                unit,
                sex,
                ALL_VALUES,
                int(sum(deaths.values())),
                int(sum(population.values())),
                value,
            ),
            strict=True,
        ):
            rows[name].append(cell)
    return pa.table(rows, schema=RESULT_SCHEMA)
