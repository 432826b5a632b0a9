"""The patient web app (mobile-first, Chinese) under /me, and the doctor's home-monitoring page."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from manbing.domain.dtx import LESSONS_BY_CODE
from manbing.domain.errors import DomainError, NotFound
from manbing.domain.ingestion import GlucoseContext
from manbing.domain.observations import ObservationKind
from manbing.domain.organisations import Role
from manbing.services import devices, dtx, messages
from manbing.services.actor import Actor
from manbing.web.deps import ContainerDep, OptionalActorDep, check_csrf
from manbing.web.ui.render import render

router = APIRouter(include_in_schema=False)


def _patient(actor: Actor | None) -> Actor | RedirectResponse:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    if actor.role is not Role.PATIENT or actor.resident_id is None:
        raise NotFound("此页面仅供患者使用", "this page is for patients")
    return actor


def _chart(view: dtx.ProgrammeView, glucose: bool) -> dict[str, object]:
    """Inline-SVG polylines (300×120) for the last 30 days."""
    points = [p for p in view.readings if (p.kind is not ObservationKind.BLOOD_PRESSURE) is glucose]
    if not points:
        return {"lines": [], "count": 0}
    t0 = points[0].measured_at.timestamp()
    span = max(points[-1].measured_at.timestamp() - t0, 1.0)
    values = [p.value for p in points] + [p.value2 for p in points if p.value2 is not None]
    low, high = min(values) * 0.9, max(values) * 1.05

    def xy(t: float, v: float) -> str:
        return f"{10 + 280 * (t - t0) / span:.1f},{110 - 100 * (v - low) / (high - low or 1):.1f}"

    first = " ".join(xy(p.measured_at.timestamp(), p.value) for p in points)
    lines = [{"points": first, "class": "sbp" if not glucose else "glu"}]
    if not glucose:
        second = " ".join(
            xy(p.measured_at.timestamp(), p.value2) for p in points if p.value2 is not None
        )
        lines.append({"points": second, "class": "dbp"})
    last = points[-1]
    return {"lines": lines, "count": len(points), "last": last, "low": low, "high": high}


@router.get("/me", response_class=HTMLResponse)
def today(request: Request, actor: OptionalActorDep, container: ContainerDep) -> Response:
    who = _patient(actor)
    if isinstance(who, RedirectResponse):
        return who
    assert who.resident_id is not None
    view = dtx.programme_view(container.uow(), who, who.resident_id, container.clock)
    inbox = messages.inbox(container.uow(), who, who.resident_id, limit=20)
    return render(
        request,
        "me/today.html",
        {
            "actor": who,
            "view": view,
            "unread": sum(1 for m in inbox if not m.read),
            "bp_per_day": view.schedule.get("bp", 0) // 7,
            "glucose_per_day": view.schedule.get("glucose", 0) // 7,
            "tab": "today",
        },
    )


@router.post("/me/doses")
def confirm_dose(
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    medicine: Annotated[str, Form(max_length=100)],
    dose_index: Annotated[int, Form(ge=0, le=10)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    who = _patient(actor)
    if isinstance(who, RedirectResponse):
        return who
    assert who.resident_id is not None
    dtx.confirm_dose(container.uow(), who, who.resident_id, medicine, dose_index, container.clock)
    return RedirectResponse("/me", status_code=303)


@router.get("/me/readings", response_class=HTMLResponse)
def readings_page(
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    error: str | None = None,
    saved: int = 0,
) -> Response:
    who = _patient(actor)
    if isinstance(who, RedirectResponse):
        return who
    assert who.resident_id is not None
    view = dtx.programme_view(container.uow(), who, who.resident_id, container.clock)
    return render(
        request,
        "me/readings.html",
        {
            "actor": who,
            "view": view,
            "bp_chart": _chart(view, glucose=False),
            "glucose_chart": _chart(view, glucose=True),
            "error": error,
            "saved": saved,
            "tab": "readings",
            "recent": list(reversed(view.readings))[:10],
        },
    )


@router.post("/me/readings", response_class=HTMLResponse)
def record_reading(
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    kind: Annotated[str, Form(max_length=10)] = "bp",
    sbp: Annotated[float | None, Form()] = None,
    dbp: Annotated[float | None, Form()] = None,
    glucose: Annotated[float | None, Form()] = None,
    context: Annotated[GlucoseContext, Form()] = GlucoseContext.FASTING,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    who = _patient(actor)
    if isinstance(who, RedirectResponse):
        return who
    assert who.resident_id is not None
    try:
        if kind == "glucose":
            if glucose is None:
                raise NotFound("请填写血糖值", "glucose is required")
            dtx.record_manual_reading(
                container.uow(),
                who,
                who.resident_id,
                container.clock,
                glucose=glucose,
                context=context,
            )
        else:
            dtx.record_manual_reading(
                container.uow(), who, who.resident_id, container.clock, sbp=sbp, dbp=dbp
            )
    except DomainError as exc:
        return readings_page(request, actor, container, error=exc.message)
    messages.dispatch_pending(container.uow(), container.clock)
    return RedirectResponse("/me/readings?saved=1", status_code=303)


@router.get("/me/lessons", response_class=HTMLResponse)
def lessons(request: Request, actor: OptionalActorDep, container: ContainerDep) -> Response:
    who = _patient(actor)
    if isinstance(who, RedirectResponse):
        return who
    assert who.resident_id is not None
    view = dtx.programme_view(container.uow(), who, who.resident_id, container.clock)
    return render(request, "me/lessons.html", {"actor": who, "view": view, "tab": "lessons"})


@router.get("/me/lessons/{code}", response_class=HTMLResponse)
def lesson(
    code: str, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    who = _patient(actor)
    if isinstance(who, RedirectResponse):
        return who
    assert who.resident_id is not None
    view = dtx.programme_view(container.uow(), who, who.resident_id, container.clock)
    found = next((lv for lv in view.lessons if lv.lesson.code == code), None)
    if found is None or code not in LESSONS_BY_CODE:
        raise NotFound("未找到该课程", "lesson not assigned")
    return render(request, "me/lesson.html", {"actor": who, "item": found, "tab": "lessons"})


@router.post("/me/lessons/{code}/complete")
def complete(
    code: str,
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    who = _patient(actor)
    if isinstance(who, RedirectResponse):
        return who
    assert who.resident_id is not None
    dtx.complete_lesson(container.uow(), who, who.resident_id, code, container.clock)
    return RedirectResponse("/me/lessons", status_code=303)


@router.get("/me/messages", response_class=HTMLResponse)
def inbox(request: Request, actor: OptionalActorDep, container: ContainerDep) -> Response:
    who = _patient(actor)
    if isinstance(who, RedirectResponse):
        return who
    assert who.resident_id is not None
    items = messages.inbox(container.uow(), who, who.resident_id)
    for item in items:
        if not item.read:
            messages.mark_read(container.uow(), who, item.id, container.clock)
    return render(request, "me/messages.html", {"actor": who, "items": items, "tab": "messages"})


@router.get("/residents/{resident_id}/home", response_class=HTMLResponse)
def doctor_home_view(
    resident_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    """The doctor's view of home monitoring: 7-day home BP average, adherence, recent readings."""
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    home = devices.home_view(container.uow(), actor, resident_id, container.clock)
    view = dtx.programme_view(container.uow(), actor, resident_id, container.clock)
    return render(
        request,
        "resident_home.html",
        {"actor": actor, "home": home, "view": view, "tz": container.settings.timezone},
    )
