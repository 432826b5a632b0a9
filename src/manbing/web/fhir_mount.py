"""Mounts the transport-agnostic FHIR router at ``/fhir`` (the only FastAPI-aware FHIR code)."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from manbing.fhir.auth import OAuthError, Scopes, actor_for_token, issue_token
from manbing.fhir.errors import FhirError, outcome
from manbing.fhir.router import (
    FHIR_JSON,
    FhirContext,
    FhirRequest,
    FhirResponse,
    error_response,
    handle,
)
from manbing.fhir.router import (
    recover_exports as _recover_exports,
)
from manbing.services.actor import Actor
from manbing.web.container import Container
from manbing.web.deps import SESSION_CSRF, get_container, optional_actor

log = logging.getLogger(__name__)
router = APIRouter(prefix="/fhir", include_in_schema=False)
CONTENT_TYPE = FHIR_JSON
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def is_fhir_path(path: str) -> bool:
    return path == "/fhir" or path.startswith("/fhir/")


def outcome_body(code: str, diagnostics: str) -> dict[str, Any]:
    """An OperationOutcome for a FHIR request refused before it reached the router."""
    return outcome(code, diagnostics)


def error_for(status: int, code: str, diagnostics: str) -> Response:
    return _to_response(error_response(FhirError(status, code, diagnostics)))


def _to_response(result: FhirResponse) -> Response:
    content: bytes | str | None = result.content
    if content is None and result.resource is not None:
        content = json.dumps(result.resource, ensure_ascii=False)
    return Response(
        content=content,
        status_code=result.status,
        headers=result.headers,
        media_type=result.content_type if content is not None else None,
    )


async def _endpoint(request: Request, path: str = "") -> Response:
    container = get_container(request)
    body = await request.body()
    scopes: Scopes | None = None
    actor: Actor | None
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        try:
            actor, scopes = await run_in_threadpool(
                actor_for_token,
                container.uow(),
                container.settings.secret_key,
                authorization[7:].strip(),
            )
        except FhirError as exc:
            response = _to_response(error_response(exc))
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
    else:
        actor = await run_in_threadpool(optional_actor, request, container)
    if actor is not None and scopes is None and request.method in _UNSAFE:
        expected = request.session.get(SESSION_CSRF)
        sent = request.headers.get("x-csrf-token")
        if not expected or not sent or not secrets.compare_digest(str(expected), sent):
            return _to_response(
                error_response(FhirError(403, "security", "CSRF token missing or wrong"))
            )
    fhir_request = FhirRequest(
        method=request.method,
        path=path,
        query=list(request.query_params.multi_items()),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body or None,
    )
    context = FhirContext(
        uow=container.uow,
        clock=container.clock,
        actor=actor,
        base_url=str(request.base_url).rstrip("/") + "/fhir",
        export_dir=container.settings.export_dir / "fhir",
        scopes=scopes,
    )
    result = await run_in_threadpool(handle, fhir_request, context)
    return _to_response(result)


async def _token(request: Request) -> Response:
    """OAuth2 token endpoint (client credentials; client id and secret in the form or Basic)."""
    container = get_container(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(basic[6:].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        client_id, _, secret = decoded.partition(":")
        form.setdefault("client_id", unquote(client_id))
        form.setdefault("client_secret", unquote(secret))
    try:
        body = await run_in_threadpool(
            issue_token, container.uow(), container.settings.secret_key, form
        )
    except OAuthError as exc:
        return JSONResponse(exc.body, status_code=exc.status, headers={"Cache-Control": "no-store"})
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


router.add_api_route("/auth/token", _token, methods=["POST"])
router.add_api_route("", _endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
router.add_api_route("/{path:path}", _endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])


def recover_exports(container: Container) -> None:
    """On start-up: export jobs a stopped server left running are marked failed with the reason."""
    stopped = _recover_exports(container.uow, container.clock)
    if stopped:
        log.warning("%d FHIR export job(s) were running when the server stopped", stopped)
