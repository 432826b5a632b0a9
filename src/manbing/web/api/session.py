"""Signing in and out over the API (the same session cookie the pages use)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from manbing.services import auth
from manbing.services.actor import Actor
from manbing.web.api.schemas import ERRORS, LoginIn, Me
from manbing.web.deps import SESSION_USER, ActorDep, ContainerDep, csrf_token

router = APIRouter(prefix="/api/v1/session", tags=["session"], responses=ERRORS)


def me(request: Request, actor: Actor) -> Me:
    return Me(
        user_id=actor.user_id,
        username=actor.username,
        display_name=actor.display_name,
        role=actor.role,
        role_label=actor.role.label_zh,
        organization_id=actor.organization_id,
        csrf_token=csrf_token(request),
    )


@router.post("", response_model=Me)
def login(body: LoginIn, request: Request, container: ContainerDep) -> Me:
    actor = auth.authenticate(container.uow(), body.username, body.password, container.clock)
    request.session.clear()
    request.session[SESSION_USER] = str(actor.user_id)
    return me(request, actor)


@router.get("", response_model=Me)
def current(request: Request, actor: ActorDep) -> Me:
    return me(request, actor)


@router.delete("", status_code=204)
def logout(request: Request) -> Response:
    request.session.clear()
    return Response(status_code=204)
