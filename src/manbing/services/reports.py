"""Stored indicator results: writing them after a computation, reading them for dashboards.

The dashboards never run the indicator engine: they read ``indicator_results`` (numerator and
denominator per indicator × unit × period), so they open instantly. Units are organisations,
family-doctor teams and administrative divisions; an actor sees a unit when it lies inside
their scope (``services.access``).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, insert, select, tuple_

from manbing.db.models import Division, IndicatorResult, Organization, Resident, Team
from manbing.domain.audit import AuditAction
from manbing.domain.errors import Forbidden, InvalidInput, NotFound
from manbing.domain.indicators import BY_CODE as INDICATORS
from manbing.domain.organisations import Permission, Scope, division_prefix
from manbing.services import access, audit
from manbing.services import residents as residents_service
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.residents import ResidentView
from manbing.services.unit_of_work import UnitOfWork

ALL = "*"


@dataclass(frozen=True, slots=True)
class ResultRow:
    indicator: str
    unit_kind: str
    unit_id: str
    period: str
    period_start: date
    period_end: date
    sex: str
    age_band: str
    numerator: int
    denominator: int | None
    value: float | None


def store(uow: UnitOfWork, rows: Sequence[ResultRow], *, engine: str, now: datetime) -> int:
    """Replace the stored results of the (indicator, period) pairs present in ``rows``."""
    with uow:
        s = uow.session
        pairs = {(r.indicator, r.period) for r in rows}
        for indicator, period in pairs:
            s.execute(
                delete(IndicatorResult).where(
                    IndicatorResult.indicator == indicator, IndicatorResult.period == period
                )
            )
        payload = [
            {
                "id": uuid.uuid4(),
                "indicator": r.indicator,
                "unit_kind": r.unit_kind,
                "unit_id": r.unit_id,
                "period": r.period,
                "period_start": r.period_start,
                "period_end": r.period_end,
                "sex": r.sex,
                "age_band": r.age_band,
                "numerator": r.numerator,
                "denominator": r.denominator,
                "value": r.value,
                "engine": engine,
                "computed_at": now,
            }
            for r in rows
        ]
        for start in range(0, len(payload), 5000):
            s.execute(insert(IndicatorResult), payload[start : start + 5000])
        uow.commit()
    return len(rows)


@dataclass(frozen=True, slots=True)
class Unit:
    kind: str
    id: str
    name: str
    level: str  # province / city / district / commission / centre / station / team …


@dataclass(frozen=True, slots=True)
class Number:
    indicator: str
    numerator: int
    denominator: int | None
    value: float | None


@dataclass
class Dashboard:
    unit: Unit
    period: str
    periods: list[str]
    numbers: dict[str, Number]
    children: list[tuple[Unit, dict[str, Number]]] = field(default_factory=list)
    trends: dict[str, list[tuple[str, float | None]]] = field(default_factory=dict)
    by_sex: dict[str, dict[str, Number]] = field(default_factory=dict)
    by_age: dict[str, dict[str, Number]] = field(default_factory=dict)
    parent: Unit | None = None


def _division_level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "district"


def _in_scope_division(actor: Actor, code: str) -> bool:
    if actor.scope is Scope.DIVISION and actor.division_code:
        return code.startswith(division_prefix(actor.division_code))
    return False


def resolve_unit(uow: UnitOfWork, actor: Actor, kind: str, unit_id: str) -> Unit:
    """The unit if the actor may see its numbers; ``NotFound`` otherwise (no existence leak)."""
    access.require(actor, Permission.READ_INDICATORS)
    s = uow.session
    if kind == "division":
        division = s.get(Division, unit_id)
        if division is None or not _in_scope_division(actor, unit_id):
            raise NotFound("未找到该地区或无权访问", "region not found or out of scope")
        return Unit("division", unit_id, division.name, _division_level(unit_id))
    try:
        key = uuid.UUID(unit_id)
    except ValueError as exc:
        raise NotFound("未找到该机构或无权访问", "unit not found or out of scope") from exc
    if kind == "org":
        org = access.require_org_in_scope(s, actor, key)
        return Unit("org", unit_id, org.name, org.type.value)
    if kind == "team":
        team = s.get(Team, key)
        if team is None:
            raise NotFound("未找到该团队或无权访问", "team not found or out of scope")
        access.require_org_in_scope(s, actor, team.organization_id)
        return Unit("team", unit_id, team.name, "team")
    raise InvalidInput("unit_kind", "未知的统计单位类型", f"unknown unit kind {kind!r}")


def home_unit(uow: UnitOfWork, actor: Actor) -> Unit:
    """Where an actor's dashboard opens: their division (analysts, managers) or organisation."""
    access.require(actor, Permission.READ_INDICATORS)
    if actor.scope is Scope.DIVISION and actor.division_code:
        code = actor.division_code[:6]
        return resolve_unit(uow, actor, "division", code)
    if actor.organization_id is None:
        raise Forbidden("您没有所属机构", "the account has no organisation")
    return resolve_unit(uow, actor, "org", str(actor.organization_id))


def _children(uow: UnitOfWork, actor: Actor, unit: Unit) -> list[Unit]:
    s = uow.session
    found: list[Unit] = []
    if unit.kind == "division":
        if unit.level != "district":
            for div in s.scalars(
                select(Division).where(Division.parent_code == unit.id).order_by(Division.code)
            ):
                found.append(Unit("division", div.code, div.name, _division_level(div.code)))
            return found
        orgs = s.scalars(
            select(Organization)
            .where(Organization.division_code.startswith(unit.id, autoescape=True))
            .order_by(Organization.code)
        ).all()
        primary = {o.id for o in orgs if o.type.is_primary_care}
        for org in orgs:
            if org.id in primary and org.parent_id not in primary:
                found.append(Unit("org", str(org.id), org.name, org.type.value))
        return found
    if unit.kind == "org":
        key = uuid.UUID(unit.id)
        for org in s.scalars(
            select(Organization)
            .where(Organization.parent_id == key, access.org_filter(actor))
            .order_by(Organization.code)
        ):
            found.append(Unit("org", str(org.id), org.name, org.type.value))
        for team in s.scalars(select(Team).where(Team.organization_id == key).order_by(Team.name)):
            found.append(Unit("team", str(team.id), team.name, "team"))
    return found


def _parent(uow: UnitOfWork, actor: Actor, unit: Unit) -> Unit | None:
    s = uow.session
    candidate: tuple[str, str] | None = None
    if unit.kind == "division":
        division = s.get(Division, unit.id)
        if division is not None and division.parent_code:
            candidate = ("division", division.parent_code)
    elif unit.kind == "org":
        org = s.get(Organization, uuid.UUID(unit.id))
        if org is not None:
            candidate = (
                ("org", str(org.parent_id))
                if org.parent_id
                else ("division", org.division_code[:6])
            )
    elif unit.kind == "team":
        team = s.get(Team, uuid.UUID(unit.id))
        if team is not None:
            candidate = ("org", str(team.organization_id))
    if candidate is None:
        return None
    try:
        return resolve_unit(uow, actor, *candidate)
    except (NotFound, Forbidden):
        return None


def _numbers(rows: Iterable[IndicatorResult]) -> dict[str, Number]:
    return {r.indicator: Number(r.indicator, r.numerator, r.denominator, r.value) for r in rows}


def stored_periods(uow: UnitOfWork) -> list[str]:
    return list(
        uow.session.scalars(
            select(IndicatorResult.period).distinct().order_by(IndicatorResult.period)
        )
    )


def dashboard(
    uow: UnitOfWork, actor: Actor, kind: str | None, unit_id: str | None, period: str | None
) -> Dashboard:
    """The numbers of one unit and period, its children (drill-down and ranking), its trend
    over the stored periods of the same length and its breakdowns by sex and age band."""
    with uow:
        unit = (
            resolve_unit(uow, actor, kind, unit_id) if kind and unit_id else home_unit(uow, actor)
        )
        s = uow.session
        periods = stored_periods(uow)
        if period is None:
            quarters = [p for p in periods if "Q" in p]
            period = (quarters or periods or [""])[-1]
        rows = s.scalars(
            select(IndicatorResult).where(
                IndicatorResult.unit_kind == unit.kind,
                IndicatorResult.unit_id == unit.id,
                IndicatorResult.period == period,
            )
        ).all()
        board = Dashboard(
            unit=unit,
            period=period,
            periods=periods,
            numbers=_numbers(r for r in rows if r.sex == ALL and r.age_band == ALL),
        )
        for r in rows:
            if r.sex != ALL and r.age_band == ALL:
                board.by_sex.setdefault(r.sex, {})[r.indicator] = Number(
                    r.indicator, r.numerator, r.denominator, r.value
                )
            if r.age_band != ALL and r.sex == ALL:
                board.by_age.setdefault(r.age_band, {})[r.indicator] = Number(
                    r.indicator, r.numerator, r.denominator, r.value
                )
        children = _children(uow, actor, unit)
        if children:
            child_rows = s.scalars(
                select(IndicatorResult).where(
                    tuple_(IndicatorResult.unit_kind, IndicatorResult.unit_id).in_(
                        [(c.kind, c.id) for c in children]
                    ),
                    IndicatorResult.period == period,
                    IndicatorResult.sex == ALL,
                    IndicatorResult.age_band == ALL,
                )
            ).all()
            by_unit: dict[tuple[str, str], list[IndicatorResult]] = {}
            for r in child_rows:
                by_unit.setdefault((r.unit_kind, r.unit_id), []).append(r)
            board.children = [(c, _numbers(by_unit.get((c.kind, c.id), []))) for c in children]
        same_kind = [p for p in periods if _period_kind(p) == _period_kind(period)]
        trend_rows = s.scalars(
            select(IndicatorResult)
            .where(
                IndicatorResult.unit_kind == unit.kind,
                IndicatorResult.unit_id == unit.id,
                IndicatorResult.period.in_(same_kind),
                IndicatorResult.sex == ALL,
                IndicatorResult.age_band == ALL,
            )
            .order_by(IndicatorResult.period_start)
        ).all()
        for r in trend_rows:
            board.trends.setdefault(r.indicator, []).append((r.period, r.value))
        board.parent = _parent(uow, actor, unit)
    return board


def _period_kind(label: str) -> str:
    if "Q" in label:
        return "quarter"
    if ".." in label:
        return "range"
    if len(label) == 7:
        return "month"
    return "year"


def to_xlsx(board: Dashboard, names: dict[str, str]) -> bytes:
    """The dashboard as an Excel workbook: the unit's numbers, then its children."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "指标"
    sheet.append(["单位", board.unit.name, "统计期", board.period])
    sheet.append(["指标代码", "指标", "分子", "分母", "值"])
    for code, name in names.items():
        n = board.numbers.get(code)
        if n is not None:
            sheet.append([code, name, n.numerator, n.denominator, n.value])
    if board.children:
        child_sheet = book.create_sheet("下级单位")
        codes = list(names)
        child_sheet.append(["单位", *[names[c] for c in codes]])
        for unit, numbers in board.children:
            child_sheet.append(
                [unit.name, *[numbers[c].value if c in numbers else None for c in codes]]
            )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


LineListSource = Callable[[str, str, str, str, str], list[str]]
"""(indicator, period, unit_kind, unit_id, which) → resident ids; ``which`` is num or den."""

LIST_LIMIT = 500


@dataclass(frozen=True, slots=True)
class LineList:
    unit: Unit
    indicator: str
    period: str
    which: str
    total: int
    residents: list[ResidentView]


def line_list(
    uow: UnitOfWork,
    actor: Actor,
    source: LineListSource | None,
    *,
    kind: str,
    unit_id: str,
    period: str,
    indicator: str,
    which: str,
    clock: Clock,
) -> LineList:
    """The residents behind a number, for users allowed to see patients (masked for analysts);
    only residents inside the actor's scope are listed, and the read is audited."""
    if which not in ("num", "den"):
        raise InvalidInput("which", "参数 which 应为 num 或 den", "which must be num or den")
    if indicator not in INDICATORS:
        raise InvalidInput("indicator", "未知指标", f"unknown indicator {indicator!r}")
    if which == "den" and not INDICATORS[indicator].listable_denominator:
        raise InvalidInput(
            "which",
            "该指标的分母是常住人口数（人口普查），没有居民名单",
            "the denominator is a census population count: there is no list of residents",
        )
    access.require(actor, Permission.READ_RESIDENTS)
    if source is None:
        raise NotFound(
            "明细名单需要数据仓库（请先运行 manbing warehouse extract）",
            "line lists need the warehouse (run manbing warehouse extract)",
        )
    with uow:
        unit = resolve_unit(uow, actor, kind, unit_id)
        ids = [uuid.UUID(i) for i in source(indicator, period, unit.kind, unit.id, which)]
        s = uow.session
        found = (
            s.scalars(
                select(Resident)
                .where(Resident.id.in_(ids[:LIST_LIMIT]), access.resident_filter(actor))
                .order_by(Resident.record_number)
            ).all()
            if ids
            else []
        )
        today = clock.today()
        views = [residents_service.view(r, actor, today) for r in found]
        audit.record(
            s,
            actor,
            AuditAction.SEARCH,
            "indicator_line_list",
            at=clock.now(),
            detail={
                "indicator": indicator,
                "period": period,
                "unit": f"{unit.kind}:{unit.id}",
                "which": which,
                "count": len(views),
            },
        )
        uow.commit()
    return LineList(unit, indicator, period, which, len(ids), views)


@dataclass(frozen=True, slots=True)
class Report:
    """A unit's numbers for one period, as printed: the dashboard plus when and how the stored
    results were computed."""

    board: Dashboard
    period_start: date | None
    period_end: date | None
    computed_at: datetime | None
    engines: list[str]


def report(
    uow: UnitOfWork,
    actor: Actor,
    kind: str | None,
    unit_id: str | None,
    period: str | None,
    now: datetime,
) -> Report:
    """The printable report of a unit (scope-checked like the dashboard); the export is
    audited."""
    board = dashboard(uow, actor, kind, unit_id, period)
    with uow:
        s = uow.session
        rows = s.execute(
            select(
                IndicatorResult.period_start,
                IndicatorResult.period_end,
                IndicatorResult.computed_at,
                IndicatorResult.engine,
            ).where(
                IndicatorResult.unit_kind == board.unit.kind,
                IndicatorResult.unit_id == board.unit.id,
                IndicatorResult.period == board.period,
                IndicatorResult.sex == ALL,
                IndicatorResult.age_band == ALL,
            )
        ).all()
        audit.record(
            s,
            actor,
            AuditAction.EXPORT,
            "indicator_report",
            at=now,
            entity_id=f"{board.unit.kind}:{board.unit.id}",
            detail={"period": board.period},
        )
        uow.commit()
    return Report(
        board=board,
        period_start=min((r[0] for r in rows), default=None),
        period_end=max((r[1] for r in rows), default=None),
        computed_at=max((r[2] for r in rows), default=None),
        engines=sorted({r[3] for r in rows}),
    )
