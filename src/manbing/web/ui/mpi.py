"""疑似重复档案: the master patient index's work list for centre managers (docs/mpi.md).

Each pair is shown side by side with the reasons; "merge into A/B" and "not a duplicate" post
with the CSRF token. With htmx the answer replaces the pair's card; without it the page is
rendered again.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from manbing.domain.errors import DomainError, InvalidInput
from manbing.services import mpi
from manbing.services.actor import Actor
from manbing.web.deps import ContainerDep, OptionalActorDep, check_csrf
from manbing.web.errors import status_for
from manbing.web.ui import forms
from manbing.web.ui.render import render

router = APIRouter(include_in_schema=False)
PAGE_LIMIT = 100


def _login() -> Response:
    return RedirectResponse("/login", status_code=303)


def _page_context(actor: Actor, container: ContainerDep, org: str, **extra: Any) -> dict[str, Any]:
    pairs = mpi.find_candidates(
        container.uow(), actor, container.clock, org_code=org or None, limit=PAGE_LIMIT
    )
    return {"actor": actor, "pairs": pairs, "org": org, "error": None, "done": None, **extra}


@router.get("/mpi", response_class=HTMLResponse)
def candidates_page(
    request: Request, actor: OptionalActorDep, container: ContainerDep, org: str = ""
) -> Response:
    if actor is None:
        return _login()
    org = org.strip()[:40]
    return render(request, "mpi.html", _page_context(actor, container, org))


def _ids(form: Any, first: str, second: str) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        return uuid.UUID(forms.text(form, first)), uuid.UUID(forms.text(form, second))
    except ValueError:
        raise InvalidInput(first, "档案编号格式不正确", "resident id is not a UUID") from None


def _answer(
    request: Request,
    actor: Actor,
    container: ContainerDep,
    pair_id: str,
    *,
    done: dict[str, Any] | None = None,
    error: DomainError | None = None,
) -> Response:
    status = status_for(error) if error is not None else 200
    if request.headers.get("hx-request") == "true":
        context = {"actor": actor, "pair_id": pair_id, "done": done, "error": error}
        return render(request, "_mpi_result.html", context, status_code=status)
    context = _page_context(actor, container, "", done=done, error=error)
    return render(request, "mpi.html", context, status_code=status)


@router.post("/mpi/merge", response_class=HTMLResponse)
async def merge_submit(
    request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token"))
    pair_id = forms.text(form, "pair_id")[:80]
    try:
        survivor, duplicate = _ids(form, "survivor_id", "duplicate_id")
        result = mpi.merge(container.uow(), actor, survivor, duplicate, container.clock)
    except DomainError as exc:
        return _answer(request, actor, container, pair_id, error=exc)
    done = {"kind": "merged", "survivor": result.survivor_id, "duplicate": result.duplicate_id}
    return _answer(request, actor, container, pair_id, done=done)


@router.post("/mpi/not-duplicate", response_class=HTMLResponse)
async def not_duplicate_submit(
    request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token"))
    pair_id = forms.text(form, "pair_id")[:80]
    try:
        a, b = _ids(form, "a_id", "b_id")
        mpi.mark_not_duplicate(
            container.uow(), actor, a, b, container.clock, forms.text(form, "note") or None
        )
    except DomainError as exc:
        return _answer(request, actor, container, pair_id, error=exc)
    return _answer(request, actor, container, pair_id, done={"kind": "not_duplicate"})
