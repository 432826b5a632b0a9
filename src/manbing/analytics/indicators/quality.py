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


def _near_twins(r: ir.Table, contact: str) -> ir.Table:
    """Ids of residents with another record of the same sex, birth date and ``contact`` value
    whose name is the same or one edit away."""
    a = r.filter(r[contact].notnull()).select(
        a_id=r.id, a_sex=r.sex, a_birth=r.birth_date, a_key=r[contact], a_name=r.name
    )
    b = a.rename(b_id="a_id", b_sex="a_sex", b_birth="a_birth", b_key="a_key", b_name="a_name")
    j = a.join(
        b,
        [a.a_sex == b.b_sex, a.a_birth == b.b_birth, a.a_key == b.b_key, a.a_id != b.b_id],
    )
    j = j.filter((j.a_name == j.b_name) | one_edit_apart(j.a_name, j.b_name))
    return j.select(dup_id=j.a_id)


def _duplicates(wh: Warehouse, period: Period, params: Params) -> ir.Table:
    r = residents(wh, period).select("id", "name", "sex", "birth_date", "managing_org_id")
    # The contact columns are not in the shared narrow resident table: read them with the
    # same on-record rule straight from the warehouse (no join on id).
    raw = wh.table("residents")
    contacts = on_record(
        raw.select(
            "id", "name", "sex", "birth_date", "address", "phone",
            "status", "status_date", "registered_on",
        ),
        period,
    )  # fmt: skip
    near = _near_twins(contacts, "address").union(_near_twins(contacts, "phone")).distinct()
    # Exact twins: keys shared by two or more residents (name, sex and birth date are NOT
    # NULL), then a hash join back: cheaper than a window over every resident.
    groups = r.group_by(["name", "sex", "birth_date"]).aggregate(twins=r.id.count())
    shared = groups.filter(groups.twins > 1).select(
        t_name="name", t_sex="sex", t_birth="birth_date"
    )
    j = r.left_join(
        shared,
        [r.name == shared.t_name, r.sex == shared.t_sex, r.birth_date == shared.t_birth],
    )
    j = j.left_join(near, j.id == near.dup_id)
    j = j.mutate(
        resident_id=j.id,
        org_id=j.managing_org_id,
        team_id=ibis.null("string"),
        age=age_at(j.birth_date, d(period.end)),
    )
    return frame(j, j.t_name.notnull() | j.dup_id.notnull())


INDICATORS: tuple[Indicator, ...] = (
    define("dq_followup_completeness", _completeness),
    define("dq_implausible_values", _implausible),
    define("dq_digit_preference", _digit_preference),
    define("dq_suspected_duplicates", _duplicates),
)
