"""Indicator dashboards: a unit's numbers, drill-down, rankings, trends, breakdowns, export."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from manbing.domain.indicators import CATALOGUE, Kind
from manbing.domain.organisations import Permission
from manbing.services import reports
from manbing.services.actor import Actor
from manbing.web.container import Container
from manbing.web.deps import ContainerDep, OptionalActorDep
from manbing.web.ui.indicator_report import report_html
from manbing.web.ui.pdf import PdfUnavailable, html_to_pdf
from manbing.web.ui.render import locale_of, render

router = APIRouter(include_in_schema=False)

Unit = Annotated[str | None, Query(max_length=16, pattern=r"^(org|team|division)$")]
UnitId = Annotated[str | None, Query(max_length=40)]
PeriodQ = Annotated[str | None, Query(max_length=32)]


def _display(value: float | None, kind: Kind) -> str:
    if value is None:
        return "—"
    if kind is Kind.COUNT:
        return f"{value:.0f}"
    if kind is Kind.PROBABILITY:
        return f"{value * 100:.2f}%"
    return f"{value * 100:.1f}%"


@router.get("/indicators", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    kind: Unit = None,
    unit: UnitId = None,
    period: PeriodQ = None,
    rank: Annotated[str, Query(max_length=64)] = "htn_bp_control_rate",
) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    board = reports.dashboard(container.uow(), actor, kind, unit, period)
    english = locale_of(request) == "en"
    names = {i.code: (i.name_en if english else i.name_zh) for i in CATALOGUE}
    kinds = {i.code: i.kind for i in CATALOGUE}
    rank_kind = kinds.get(rank, Kind.RATE)
    ranked = sorted(
        board.children,
        key=lambda c: (
            (c[1][rank].value is None, -(c[1][rank].value or 0)) if rank in c[1] else (True, 0)
        ),
    )
    periods: list[str] = sorted({p for series in board.trends.values() for p, _ in series})
    trend = {
        "periods": periods,
        "series": [
            {
                "name": names[code],
                "data": [
                    None if v is None else round(v * 100, 2) for _, v in sorted(board.trends[code])
                ],
            }
            for code in board.trends
            if kinds.get(code) is Kind.RATE
        ],
    }
    outcomes = (
        "hearts_bp_controlled",
        "hearts_bp_uncontrolled",
        "hearts_visited_no_bp",
        "hearts_missed_visit",
    )
    cohort = {
        "periods": periods,
        "series": [
            {
                "name": names[code],
                "data": [
                    None
                    if dict(board.trends[code]).get(p) is None
                    else round((dict(board.trends[code])[p] or 0) * 100, 1)
                    for p in periods
                ],
            }
            for code in outcomes
            if code in board.trends
        ],
    }
    return render(
        request,
        "indicators.html",
        {
            "actor": actor,
            "board": board,
            "catalogue": CATALOGUE,
            "names": names,
            "display": _display,
            "rank": rank,
            "rank_kind": rank_kind,
            "ranked": ranked,
            "trend_json": json.dumps(trend, ensure_ascii=False),
            "cohort_json": json.dumps(cohort, ensure_ascii=False),
            "has_cohort": bool(cohort["series"]),
            "can_list": actor.can(Permission.READ_RESIDENTS),
        },
    )


@router.get("/indicators/export.xlsx")
def export_xlsx(
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    kind: Unit = None,
    unit: UnitId = None,
    period: PeriodQ = None,
) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    board = reports.dashboard(container.uow(), actor, kind, unit, period)
    english = locale_of(request) == "en"
    names = {i.code: (i.name_en if english else i.name_zh) for i in CATALOGUE}
    content = reports.to_xlsx(board, names)
    filename = f"indicators-{board.unit.kind}-{board.period}.xlsx"
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _report(
    request: Request,
    actor: Actor,
    container: Container,
    kind: str | None,
    unit: str | None,
    period: str | None,
    pdf: bool,
) -> Response:
    now = container.clock.now()
    found = reports.report(container.uow(), actor, kind, unit, period, now)
    locale = locale_of(request)
    zone = container.settings.timezone
    q = urlencode(
        {"kind": found.board.unit.kind, "unit": found.board.unit.id, "period": found.board.period}
    )
    pdf_url = "" if pdf else f"/indicators/report.pdf?{q}"
    html = report_html(found, locale=locale, zone=zone, generated_at=now, pdf_url=pdf_url)
    if not pdf:
        return HTMLResponse(html)
    try:
        content = html_to_pdf(html)
    except PdfUnavailable as exc:
        return HTMLResponse(f"PDF 暂不可用：{exc}", status_code=503)
    filename = f"indicators-{found.board.unit.kind}-{found.board.period}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/indicators/report", response_class=HTMLResponse)
def report_page(
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    kind: Unit = None,
    unit: UnitId = None,
    period: PeriodQ = None,
) -> Response:
    """The printable report (A4 HTML); the same page the PDF is printed from."""
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return _report(request, actor, container, kind, unit, period, pdf=False)


@router.get("/indicators/report.pdf")
def report_pdf(
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    kind: Unit = None,
    unit: UnitId = None,
    period: PeriodQ = None,
) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return _report(request, actor, container, kind, unit, period, pdf=True)


@router.get("/indicators/list", response_class=HTMLResponse)
def line_list_page(
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    kind: Annotated[str, Query(max_length=16, pattern=r"^(org|team|division)$")],
    unit: Annotated[str, Query(max_length=40)],
    period: Annotated[str, Query(max_length=32)],
    indicator: Annotated[str, Query(max_length=64)],
    which: Annotated[str, Query(pattern=r"^(num|den)$")] = "num",
) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    found = reports.line_list(
        container.uow(),
        actor,
        container.line_lists,
        kind=kind,
        unit_id=unit,
        period=period,
        indicator=indicator,
        which=which,
        clock=container.clock,
    )
    english = locale_of(request) == "en"
    info = next(i for i in CATALOGUE if i.code == indicator)
    return render(
        request,
        "indicator_list.html",
        {
            "actor": actor,
            "found": found,
            "title": info.name_en if english else info.name_zh,
            "definition": info.numerator if which == "num" else info.denominator,
            "limit": reports.LIST_LIMIT,
        },
    )
