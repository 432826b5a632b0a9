"""Sign-in, language switch and the start page with resident search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from manbing.domain.errors import DomainError
from manbing.domain.organisations import Role
from manbing.services import auth, residents
from manbing.web.deps import (
    SESSION_LOCALE,
    SESSION_USER,
    ContainerDep,
    OptionalActorDep,
    check_csrf,
)
from manbing.web.i18n import SUPPORTED
from manbing.web.ui.render import render

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, actor: OptionalActorDep) -> Response:
    if actor is not None:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", {"error": None, "username": ""})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    container: ContainerDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    try:
        actor = auth.authenticate(container.uow(), username, password, container.clock)
    except DomainError as exc:
        return render(request, "login.html", {"error": exc.message, "username": username}, 401)
    locale = request.session.get(SESSION_LOCALE)
    request.session.clear()
    request.session[SESSION_USER] = str(actor.user_id)
    if locale:
        request.session[SESSION_LOCALE] = locale
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(request, csrf_token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{code}")
def switch_language(code: str, request: Request) -> Response:
    if code in SUPPORTED:
        request.session[SESSION_LOCALE] = code
    target = request.headers.get("referer") or "/"
    return RedirectResponse(
        target if target.startswith(str(request.base_url)) else "/", status_code=303
    )


@router.get("/residents", response_class=HTMLResponse)
def home(
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    q: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    if actor.role is Role.PATIENT:
        return RedirectResponse("/me", status_code=303)
    found: list[residents.ResidentView] = []
    error = None
    if q:
        try:
            found = residents.search(container.uow(), actor, q, container.clock)
        except DomainError as exc:
            error = exc.message
    return render(request, "home.html", {"actor": actor, "q": q, "results": found, "error": error})
