"""Data-quality indicators: are the forms complete, the values plausible, the readings honest,
the records unique?

- Completeness: completed hypertension/diabetes follow-up forms of the period with every core
  field of the national form filled (BP, heart rate, next visit date, classification; and
  fasting glucose on diabetes and combined forms).
- Implausible values: forms with a value outside ``domain.rules.plausibility`` bounds (or SBP
  not above DBP) — rows imported around the service layer's checks.
- Digit preference: office SBP readings ending in 0 (about 10 % expected without preference;
  WHO STEPS and Simple's data-quality checks watch this share).
- Suspected duplicates: residents on record sharing sex and birth date with another record and
  either the same name, or a name one edit away (a typing or homophone error in another source
  system) with the same address or phone. Near-duplicates are only compared inside the small
  blocks of the same sex, birth date and address (or phone), never across the whole register.
  Addresses and phones are compared by their hash (``base.twin_key``); the blocks are found by
  grouping 64-bit keys, and names are compared, exactly, only among the few per cent of
  residents whose key another resident holds.
"""

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
    on_record,
    resident_rows,
    residents,
    twin_key,
)
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


def _forms(wh: Warehouse, period: Period) -> ir.Table:
    """Completed forms of the period with the patient's sex and age (shared by three
    indicators: materialised once per run, only the columns they read)."""
    return wh.shared(("dq_forms", period), lambda: _forms_expr(wh, period))


def _forms_expr(wh: Warehouse, period: Period) -> ir.Table:
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


def _completeness(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    f = _forms(wh, period)
    core = (
        f.sbp.notnull()
        & f.dbp.notnull()
        & f.heart_rate.notnull()
        & f.next_visit_date.notnull()
        & f.classification.notnull()
    )
    glucose_needed = f.form.isin([FormType.DIABETES.value, FormType.COMBINED.value])
    complete = core & (~glucose_needed | f.fasting_glucose.notnull())
    return frame(f, complete)


def _outside(value: ir.NumericValue, bounds: tuple[float, float]) -> ir.BooleanValue:
    return value.notnull() & ((value < bounds[0]) | (value > bounds[1]))


def _implausible(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    f = _forms(wh, period)
    bad = (
        _outside(f.sbp, SBP_RANGE)
        | _outside(f.dbp, DBP_RANGE)
        | (f.sbp.notnull() & f.dbp.notnull() & (f.sbp <= f.dbp))
        | _outside(f.heart_rate, HEART_RATE_RANGE)
        | _outside(f.fasting_glucose, GLUCOSE_MMOL_RANGE)
        | _outside(f.hba1c, HBA1C_PERCENT_RANGE)
    )
    return frame(f, bad.fill_null(False))


def _digit_preference(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    f = _forms(wh, period)
    f = f.filter(f.sbp.notnull())
    return frame(f, (f.sbp % DIGIT_BASE) == 0)


# A misspelt name: one character changed, dropped or added at one of the first NAME_POSITIONS
# characters (Chinese names have 2–4; longer names are compared exactly beyond that).
NAME_POSITIONS = 8


def one_edit_apart(a: ir.StringValue, b: ir.StringValue) -> ir.BooleanValue:
    """Whether ``b`` is ``a`` with one character changed, dropped or added (in characters: the
    engines' own ``levenshtein`` differ, DuckDB counting UTF-8 bytes and Spark characters)."""
    la, lb = a.length(), b.length()
    found: ir.BooleanValue = ibis.literal(False)
    for i in range(NAME_POSITIONS):
        head = a.substr(0, i) == b.substr(0, i)
        changed = (la == lb) & (la > i) & head & (a.substr(i + 1) == b.substr(i + 1))
        dropped = (la == lb + 1) & (la > i) & head & (a.substr(i + 1) == b.substr(i))
        added = (lb == la + 1) & (lb > i) & head & (a.substr(i) == b.substr(i + 1))
        found = found | changed | dropped | added
    return found.fill_null(False)


def _keys_held_twice(rows: ir.Table, key: str) -> ir.Column:
    """The values of an integer key that two or more warehouse residents hold (on record or
    not: a superset of the keys shared on record, narrowed when the pairs are checked)."""
    keyed = rows.filter(rows[key].notnull()).select(k=rows[key])
    # Sorted, a key held twice is next to its twin: a sort of 8-byte keys costs about half a
    # hash aggregation over as many distinct keys.
    w = ibis.window(order_by=keyed.k)
    near = keyed.mutate(before=keyed.k.lag().over(w), after=keyed.k.lead().over(w))
    twice = near.filter((near.k == near.before) | (near.k == near.after))
    return twice.select("k").distinct().k


def _candidates(wh: Warehouse, period: Period) -> ir.Table:
    """Residents on record whose name key, address key or phone key another resident holds:
    the only ones a pair can include (a few per cent of the register; materialised once)."""

    def build() -> ir.Table:
        all_rows = resident_rows(wh)
        rows = all_rows.mutate(name_key=twin_key(all_rows, all_rows.name))
        on = on_record(
            rows.select(
                "id", "name", "sex", "birth_date", "name_key", "address_key", "phone_key",
                "status", "status_date", "registered_on",
            ),
            period,
        )  # fmt: skip
        keys = rows.select("name_key", "address_key", "phone_key")
        held = (
            on.name_key.isin(_keys_held_twice(keys, "name_key"))
            | on.address_key.isin(_keys_held_twice(keys, "address_key"))
            | on.phone_key.isin(_keys_held_twice(keys, "phone_key"))
        )
        return on.filter(held.fill_null(False)).select(
            "id", "name", "sex", "birth_date", "name_key", "address_key", "phone_key"
        )

    return wh.shared(("dup_candidates", period), build)


def _pairs(c: ir.Table, key: str, near: bool) -> ir.Table:
    """Ids of candidates with another candidate of the same ``key``, sex and birth date whose
    name is the same, or (``near``) one edit away."""
    a = c.filter(c[key].notnull()).select(
        a_id="id", a_name="name", a_sex="sex", a_birth="birth_date", a_key=key
    )
    b = a.rename(b_id="a_id", b_name="a_name", b_sex="a_sex", b_birth="a_birth", b_key="a_key")
    j = a.join(
        b,
        [a.a_key == b.b_key, a.a_sex == b.b_sex, a.a_birth == b.b_birth, a.a_id != b.b_id],
    )
    same = j.a_name == j.b_name
    return j.filter(same | one_edit_apart(j.a_name, j.b_name) if near else same).select(
        dup_id=j.a_id
    )


def _duplicates(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    c = _candidates(wh, period)
    found = (
        _pairs(c, "name_key", near=False)
        .union(_pairs(c, "address_key", near=True))
        .union(_pairs(c, "phone_key", near=True))
        .distinct()
    )
    r = residents(wh, period)
    j = r.left_join(found, r.id == found.dup_id)
    j = j.mutate(
        resident_id=j.id,
        org_id=j.managing_org_id,
        team_id=ibis.null("string"),
        age=age_at(j.birth_date, d(period.end)),
    )
    return frame(j, j.dup_id.notnull())


INDICATORS: tuple[Indicator, ...] = (
    define("dq_followup_completeness", _completeness),
    define("dq_implausible_values", _implausible),
    define("dq_digit_preference", _digit_preference),
    define("dq_suspected_duplicates", _duplicates),
)
