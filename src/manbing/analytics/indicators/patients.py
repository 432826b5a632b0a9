"""The patients of a programme in a period, one row each, with their visit facts: the base of
the national management indicators (``chronic``), the referral rate and the census management
rates, and the source of the managed patients of the population-wide rates (``people``).

Source: 国家基本公共卫生服务规范（第三版，2017）高血压/2型糖尿病患者健康管理服务规范 §1.4 工作指标
(see /work/shared/reference/clinical.md §1.4, docs/clinical-rules.md choices 8, 9, 11).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from manbing.analytics.engine import Warehouse
from manbing.analytics.indicators.base import d, enrolled, followups_in, latest_per_resident
from manbing.analytics.periods import Period
from manbing.domain.followup_form import FormType, VisitOutcome
from manbing.domain.programmes import Programme
from manbing.domain.rules.management import DAYS_PER_QUARTER, FOLLOWUPS_PER_YEAR

FORMS = {
    Programme.HYPERTENSION: (FormType.HYPERTENSION.value, FormType.COMBINED.value),
    Programme.T2DM: (FormType.DIABETES.value, FormType.COMBINED.value),
}
DONE = VisitOutcome.DONE.value


def _visit_stats(wh: Warehouse, programme: Programme, period: Period) -> tuple[ir.Table, ir.Table]:
    """Per patient: completed visit days in the period and the latest record's values."""
    f = followups_in(wh, FORMS[programme], period)
    last = latest_per_resident(f)
    latest = last.select(
        resident_id=last.resident_id,
        last_date=last.visit_date,
        last_outcome=last.outcome,
        last_sbp=last.sbp,
        last_dbp=last.dbp,
        last_fpg=last.fasting_glucose,
    )
    done = f.filter(f.outcome == DONE).select("resident_id", "visit_date").distinct()
    return latest, done


def patients(wh: Warehouse, programme: Programme, period: Period) -> ir.Table:
    """Enrolled patients with their completed visit days in the enrolled part of the period,
    the required number of visits and their latest record of the period."""
    return wh.shared(("patients", programme, period), lambda: _patients_expr(wh, programme, period))


def _patients_expr(wh: Warehouse, programme: Programme, period: Period) -> ir.Table:
    e = enrolled(wh, programme, period)
    latest, done = _visit_stats(wh, programme, period)
    start = ibis.greatest(e.enrolled_on, d(period.start))
    e = e.mutate(from_date=start)
    j = e.left_join(done, e.resident_id == done.resident_id)
    in_part = j.visit_date.notnull() & (j.visit_date >= j.from_date)
    counts = j.group_by(
        ["resident_id", "org_id", "team_id", "sex", "birth_date", "age", "from_date"]
    ).aggregate(
        visits=j.visit_date.notnull().ifelse(1, 0).sum(),
        visits_enrolled=in_part.ifelse(1, 0).sum(),
    )
    days = (d(period.end).delta(counts.from_date, unit="day") + 1).cast("float64")
    required = ibis.greatest(
        ibis.literal(1),
        ibis.least(
            ibis.literal(FOLLOWUPS_PER_YEAR), (days / DAYS_PER_QUARTER).ceil().cast("int64")
        ),
    )
    counts = counts.mutate(required=required)
    k = counts.left_join(latest, counts.resident_id == latest.resident_id)
    return k.select(
        "resident_id",
        "org_id",
        "team_id",
        "sex",
        "birth_date",
        "age",
        "visits",
        "visits_enrolled",
        "required",
        "last_date",
        "last_outcome",
        "last_sbp",
        "last_dbp",
        "last_fpg",
    )


def managed_ids(wh: Warehouse, programme: Programme, period: Period) -> ir.Table:
    """Patients of the programme managed in the period (≥ 1 completed follow-up): ``mid``."""
    p = patients(wh, programme, period)
    return p.filter(p.visits >= 1).select(mid="resident_id")
