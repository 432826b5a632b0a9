"""Mounts the transport-agnostic FHIR router at ``/fhir`` (the only FastAPI-aware FHIR code)."""

from __future__ import annotations

import json
import secrets

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from manbing.fhir.errors import FhirError
from manbing.fhir.router import (
    FhirContext,
    FhirRequest,
    FhirResponse,
    error_response,
    handle,
)
from manbing.web.deps import SESSION_CSRF, get_container, optional_actor

router = APIRouter(prefix="/fhir", include_in_schema=False)
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


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
    actor = await run_in_threadpool(optional_actor, request, container)
    if actor is not None and request.method in _UNSAFE:
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
    )
    result = await run_in_threadpool(handle, fhir_request, context)
    return _to_response(result)


router.add_api_route("", _endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
router.add_api_route("/{path:path}", _endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
