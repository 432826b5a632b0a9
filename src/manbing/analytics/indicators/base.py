"""What every indicator definition is made of, and the ibis building blocks they share.

An indicator's ``frame`` returns one row per person of its denominator (or of its count) with
the columns of ``FRAME_COLUMNS``: who (``resident_id``), where (``org_id`` — the managing
organisation, ``team_id``), breakdown attributes (``sex``, ``age`` at the period's end) and
``num`` / ``den`` as 0/1. The same frame is aggregated over the organisation tree and is the
line list behind each number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from manbing.analytics.engine import EngineName, Warehouse
from manbing.analytics.periods import Period
from manbing.domain.indicators import BY_CODE as CATALOGUE
from manbing.domain.indicators import IndicatorInfo, Kind
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.domain.referrals import Direction, ReferralStatus
from manbing.domain.residents import ResidentStatus
from manbing.domain.rules.blood_pressure import BpTargetProfile, bp_target

FRAME_COLUMNS = ("resident_id", "org_id", "team_id", "sex", "age", "num", "den")
ENDED_ENROLMENT = tuple(
    s.value
    for s in (
        EnrolmentStatus.DEAD,
        EnrolmentStatus.TRANSFERRED,
        EnrolmentStatus.CANCELLED,
        EnrolmentStatus.LOST,
    )
)


@dataclass(frozen=True, slots=True)
class Params:
    """Settings an indicator may depend on (configurable, with documented defaults)."""

    bp_profile: BpTargetProfile = BpTargetProfile.SERVICE_STANDARD_2017
    # Estimated prevalence among residents aged ≥ ``prevalence_min_age`` (中国居民营养与慢性病
    # 状况报告（2020年）: hypertension 27.5 %, diabetes 11.9 % of adults ≥18).
    hypertension_prevalence: float = 0.275
    diabetes_prevalence: float = 0.119
    prevalence_min_age: int = 18


FrameFn = Callable[[Warehouse, Period, Params], ir.Table]
# A per-person table several indicators are read off (see ``Over``).
BaseFn = Callable[[Warehouse, Period, Params], ir.Table]
FlagFn = Callable[[ir.Table, Params], ir.BooleanValue]


def _always(t: ir.Table, params: Params) -> ir.BooleanValue:
    return ibis.literal(True)


@dataclass(frozen=True, slots=True)
class Over:
    """An indicator read off a shared per-person table (``base``): the rows it counts
    (``member``), its numerator and its denominator (every member when ``den`` is None), and
    whether the base's ``team_id`` is the indicator's team (else it has none).

    ``compute`` sums every indicator over the same base in one grouping — one pass over the
    base however many indicators it serves — and the indicator's frame (its line list) is the
    base filtered to the members: both come from this one definition."""

    base: BaseFn
    num: FlagFn
    den: FlagFn | None = None
    member: FlagFn = _always
    team: bool = True


@dataclass(frozen=True, slots=True)
class Indicator:
    """An indicator of the catalogue (``domain.indicators``) with its computation: a frame
    function, or a reading ``over`` a shared base (its frame derived from it) with an optional
    ``extra`` frame unioned to it (the census cells of the population-based rates)."""

    info: IndicatorInfo
    frame: FrameFn = field(repr=False)
    over: Over | None = field(default=None, repr=False)
    extra: FrameFn | None = field(default=None, repr=False)

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def kind(self) -> Kind:
        return self.info.kind


def define(code: str, frame: FrameFn) -> Indicator:
    return Indicator(CATALOGUE[code], frame)


def over_frame(over: Over, wh: Warehouse, period: Period, params: Params) -> ir.Table:
    """The frame of a reading over a base: its members, their flags as 0/1."""
    t = over.base(wh, period, params)
    t = t.filter(over.member(t, params))
    if not over.team:
        t = t.mutate(team_id=ibis.null("string"))
    return frame(t, over.num(t, params), over.den(t, params) if over.den is not None else None)


def define_over(code: str, over: Over, extra: FrameFn | None = None) -> Indicator:
    def build(wh: Warehouse, period: Period, params: Params) -> ir.Table:
        f = over_frame(over, wh, period, params)
        return f if extra is None else f.union(extra(wh, period, params))

    return Indicator(CATALOGUE[code], build, over, extra)


def smallest_id(column: ir.Column, engine: EngineName) -> ir.Scalar:
    """The smallest identifier of a group in the order of its canonical (lowercase) text, the
    rule on every engine. DuckDB orders UUIDs as that text (tested), and Spark and the Parquet
    hold the text, so ``min`` is it. PostgreSQL 15 has no ``min(uuid)``: there the minimum of
    the text is taken, cast back (with fixed hyphens and hex digits, the usual collations order
    that text as bytes)."""
    if engine is EngineName.POSTGRES and column.type().is_uuid():
        return column.cast("string").min().cast("uuid")
    result: ir.Scalar = column.min()
    return result


def nullable(value: ir.Value) -> ir.Value:
    """``value`` typed as nullable: set operations need equal types, and PostgreSQL read in
    place reports its NOT NULL columns as such (the warehouse's are all nullable)."""
    kind = value.type()
    return value if kind.nullable else value.cast(kind.copy(nullable=True))


def d(day: date) -> ir.DateScalar:
    return ibis.literal(day, type="date")


def age_at(birth: ir.DateValue, on: ir.DateValue) -> ir.IntegerValue:
    """Completed years on ``on`` (the same rule as ``domain.residents.age_on``)."""
    before_birthday = (on.month() < birth.month()) | (
        (on.month() == birth.month()) & (on.day() < birth.day())
    )
    return (on.year() - birth.year() - before_birthday.ifelse(1, 0)).cast("int64")


def bp_controlled(
    sbp: ir.NumericValue, dbp: ir.NumericValue, age: ir.IntegerValue, profile: BpTargetProfile
) -> ir.BooleanValue:
    """SBP and DBP below the target of ``domain.rules.blood_pressure.bp_target`` for the age."""
    # The rule is a step function of age: find its steps instead of retyping them.
    steps: list[tuple[int, int, int]] = []
    for years in range(0, 131):
        target = bp_target(years, profile)
        if not steps or (steps[-1][1], steps[-1][2]) != (target.sbp_below, target.dbp_below):
            steps.append((years, target.sbp_below, target.dbp_below))
    sbp_below: ir.NumericValue = ibis.literal(steps[0][1])
    dbp_below: ir.NumericValue = ibis.literal(steps[0][2])
    for from_age, s, dia in steps[1:]:
        sbp_below = (age >= from_age).ifelse(s, sbp_below)
        dbp_below = (age >= from_age).ifelse(dia, dbp_below)
    return sbp.notnull() & dbp.notnull() & (sbp < sbp_below) & (dbp < dbp_below)


# The resident columns the indicators read (``resident_rows``): the residents table is the
# largest they read, so each read selects only these.
RESIDENT_COLUMNS = (
    "id",
    "name",
    "sex",
    "birth_date",
    "managing_org_id",
    "status",
    "status_date",
    "registered_on",
    "death_cause_icd10",
    "severe_mental_disorder",
    "pregnant",
    "disability",
)


@ibis.udf.scalar.builtin(name="hash")  # type: ignore[untyped-decorator]
def _duckdb_hash(value: str) -> dt.uint64:
    """DuckDB's own 64-bit ``hash`` (ibis's ``hash()`` converts it through a bit string)."""


def twin_key(r: ir.Table, value: ir.StringValue, engine: EngineName) -> ir.IntegerValue:
    """A blocking key for the suspected-duplicates rule: the engine's hash of ``value`` (64-bit
    on DuckDB and PostgreSQL, 32-bit on Spark) combined with those of the sex and birth date.
    Records with the same sex, birth date and value have the same key; NULL when ``value`` is
    (the engines' own hashes of NULL differ). Only compared for equality and sorted, so its
    type is the engine's: unsigned on DuckDB."""
    if engine is EngineName.DUCKDB:
        # Shifted so that birth dates before 1970 stay positive.
        days = (r.birth_date.epoch_days().cast("int64") + 1_000_000).cast("uint64")
        duck: ir.IntegerValue = _duckdb_hash(value) ^ _duckdb_hash(r.sex) ^ days
        return value.isnull().ifelse(ibis.null("uint64"), duck)
    block = r.sex.hash() ^ r.birth_date.epoch_days().cast("int64")
    key: ir.IntegerValue = value.isnull().ifelse(ibis.null("int64"), value.hash() ^ block)
    return key.cast("int64")


def resident_rows(wh: Warehouse) -> ir.Table:
    """The warehouse's residents, ``RESIDENT_COLUMNS`` only. Not materialised: each base reads
    the columns it needs from the warehouse (a Parquet scan of a few columns costs less than
    holding 12 million rows in memory)."""
    return wh.table("residents").select(*RESIDENT_COLUMNS)


def residents(wh: Warehouse, period: Period) -> ir.Table:
    """Residents on record at the period's end: registered by then, not merged, and neither dead
    nor moved away before it."""
    return on_record(resident_rows(wh), period)


def on_record(r: ir.Table, period: Period) -> ir.Table:
    """The rows of a residents table (any column selection holding ``registered_on``,
    ``status`` and ``status_date``) on record at the period's end."""
    gone = r.status.isin([ResidentStatus.DEAD.value, ResidentStatus.MOVED_AWAY.value]) & (
        r.status_date.notnull() & (r.status_date <= d(period.end))
    )
    return r.filter(
        r.registered_on <= d(period.end),
        r.status != ResidentStatus.MERGED.value,
        ~gone,
    )


def people(wh: Warehouse, period: Period) -> ir.Table:
    """Residents on record at the period's end with their age then and their managing
    organisation (``org_id``), only the columns the population-wide indicators read."""
    r = residents(wh, period)
    return r.select(
        "id",
        "sex",
        "severe_mental_disorder",
        "pregnant",
        "disability",
        org_id=r.managing_org_id,
        age=age_at(r.birth_date, d(period.end)),
    )


def enrolled(wh: Warehouse, programme: Programme, period: Period) -> ir.Table:
    """Patients of a programme during the period: enrolled by its end and not ended before its
    start. Columns: resident_id, org_id, team_id, enrolled_on, sex, birth_date, age (shared by
    the national and HEARTS indicators: materialised once per run)."""
    return wh.shared(("enrolled", programme, period), lambda: _enrolled(wh, programme, period))


def _enrolled(wh: Warehouse, programme: Programme, period: Period) -> ir.Table:
    e = wh.table("enrolments")
    e = e.filter(
        e.programme == programme.value,
        e.enrolled_on <= d(period.end),
        ~(e.status.isin(list(ENDED_ENROLMENT)) & (e.status_date < d(period.start))),
    )
    r = resident_rows(wh)
    r = r.filter(r.status != ResidentStatus.MERGED.value)
    joined = e.join(r, e.resident_id == r.id)
    return joined.select(
        resident_id=joined.resident_id,
        org_id=joined.managing_org_id,
        team_id=joined.team_id,
        enrolled_on=joined.enrolled_on,
        sex=joined.sex,
        birth_date=joined.birth_date,
        age=age_at(joined.birth_date, d(period.end)),
    )


def followups_in(wh: Warehouse, forms: tuple[str, ...], period: Period) -> ir.Table:
    f = wh.table("follow_ups")
    return f.filter(
        f.form.isin(list(forms)),
        f.visit_date >= d(period.start),
        f.visit_date <= d(period.end),
    )


def latest_per_resident(f: ir.Table) -> ir.Table:
    """Each resident's latest record of ``f`` (follow-ups): latest visit date, then latest
    entry time, then the greater record id, so that two records of one moment always resolve
    the same way on every engine."""
    ranked = f.mutate(
        rn=ibis.row_number().over(
            group_by=f.resident_id,
            order_by=[
                ibis.desc(f.visit_date),
                ibis.desc(f.created_at),
                ibis.desc(f.id.cast("string")),
            ],
        )
    )
    return ranked.filter(ranked.rn == 0).drop("rn")


def up_referrals(wh: Warehouse, period: Period) -> ir.Table:
    """Upward referrals (上转) requested in the period, not cancelled."""
    f = wh.table("referrals")
    return f.filter(
        f.direction == Direction.UP.value,
        f.status != ReferralStatus.CANCELLED.value,
        f.created_at.date() >= d(period.start),
        f.created_at.date() <= d(period.end),
    )


def referred_up(wh: Warehouse, period: Period) -> ir.Table:
    """Residents referred up in the period (``ref_id``, distinct)."""
    return up_referrals(wh, period).select(ref_id="resident_id").distinct()


def frame(t: ir.Table, num: ir.BooleanValue, den: ir.BooleanValue | None = None) -> ir.Table:
    """Shape a per-person table into the frame columns."""
    return t.select(
        resident_id=t.resident_id.cast("string"),
        org_id=t.org_id.cast("string"),
        team_id=t.team_id.cast("string"),
        sex=t.sex.cast("string"),
        age=t.age.cast("int64"),
        num=num.ifelse(1, 0).cast("int64"),
        den=(den.ifelse(1, 0) if den is not None else ibis.literal(1)).cast("int64"),
    )
