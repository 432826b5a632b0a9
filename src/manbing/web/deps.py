"""Request dependencies: the container, the signed-in actor and CSRF checks."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from manbing.services import auth
from manbing.services.actor import Actor
from manbing.web.container import Container

SESSION_USER = "uid"
SESSION_CSRF = "csrf"
SESSION_LOCALE = "locale"


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def optional_actor(request: Request, container: ContainerDep) -> Actor | None:
    raw = request.session.get(SESSION_USER)
    if not raw:
        return None
    try:
        user_id = uuid.UUID(str(raw))
    except ValueError:
        request.session.clear()
        return None
    actor = auth.load_actor(container.uow(), user_id)
    if actor is None:
        request.session.clear()
    return actor


def current_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise HTTPException(status_code=401, detail="not signed in")
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]
OptionalActorDep = Annotated[Actor | None, Depends(optional_actor)]


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return str(token)


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get(SESSION_CSRF)
    if not expected or not submitted or not secrets.compare_digest(str(expected), submitted):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong")


def api_csrf(request: Request, x_csrf_token: Annotated[str | None, Header()] = None) -> None:
    """Unsafe API calls authenticated by the session cookie must echo the CSRF token."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf(request, x_csrf_token)


CsrfDep = Depends(api_csrf)
