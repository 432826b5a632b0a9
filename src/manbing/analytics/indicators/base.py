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
import ibis.expr.types as ir

from manbing.analytics.engine import Warehouse
from manbing.analytics.periods import Period
from manbing.domain.indicators import BY_CODE as CATALOGUE
from manbing.domain.indicators import IndicatorInfo, Kind
from manbing.domain.programmes import EnrolmentStatus, Programme
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


@dataclass(frozen=True, slots=True)
class Indicator:
    """An indicator of the catalogue (``domain.indicators``) with its computation."""

    info: IndicatorInfo
    frame: FrameFn = field(repr=False)

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def kind(self) -> Kind:
        return self.info.kind


def define(code: str, frame: FrameFn) -> Indicator:
    return Indicator(CATALOGUE[code], frame)


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


# The resident columns the indicators read. The residents table is the largest the indicators
# read and nearly all of them do (the population-wide ones, and every join for sex and age):
# it is read from the warehouse once per run, only these columns (``Warehouse.shared``).
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


def twin_key(r: ir.Table, value: ir.StringValue) -> ir.IntegerValue:
    """A blocking key for the suspected-duplicates rule: the engine's hash of ``value`` (64-bit
    on DuckDB and PostgreSQL, 32-bit on Spark) combined with those of the sex and birth date.
    Records with the same sex, birth date and value have the same key; NULL when ``value`` is
    (the engines' own hashes of NULL differ)."""
    block = r.sex.hash() ^ r.birth_date.epoch_days().cast("int64")
    key: ir.IntegerValue = value.isnull().ifelse(ibis.null("int64"), value.hash() ^ block)
    return key.cast("int64")


def resident_rows(wh: Warehouse) -> ir.Table:
    """The warehouse's residents, ``RESIDENT_COLUMNS`` only, and the blocking keys of their
    address and phone (``address_key``, ``phone_key``, see ``twin_key``): the suspected-
    duplicates rule compares contacts by these keys, so the long address strings are read once
    per run and never held in memory."""

    def build() -> ir.Table:
        r = wh.table("residents")
        return r.select(
            *RESIDENT_COLUMNS,
            address_key=twin_key(r, r.address),
            phone_key=twin_key(r, r.phone),
        )

    return wh.shared("resident_rows", build)


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
    organisation (``org_id``): six population-wide indicators start from it, so it is
    materialised once per run, only the columns they read."""

    def build() -> ir.Table:
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

    return wh.shared(("people", period), build)


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
