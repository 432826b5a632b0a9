"""Refuse NUL characters in any request, before they reach a route.

PostgreSQL text and JSON columns cannot hold U+0000, so a NUL in a query string, a form or a JSON
body would otherwise fail deep in the database. No field of the platform needs one: the request
is answered 422 with a clear message and nothing is read or written.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from manbing.web import fhir_mount

_BODY_MARKERS = (b"\x00", b"\\u0000", b"%00")
_MAX_BUFFER = 64 * 1024 * 1024
# uploads of binary files (xlsx workbooks hold NUL bytes): the legacy importer refuses a NUL
# inside a cell itself (services/legacy_import.py), and its other fields are checked there
BINARY_UPLOADS = ("/import/preview", "/import/run", "/api/v1/imports/")


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if b"\x00" in query or b"%00" in query or b"%00" in scope.get("raw_path", b""):
            await _refuse(scope, send)
            return
        if scope.get("path", "").startswith(BINARY_UPLOADS):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        more = True
        while more:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > _MAX_BUFFER:
                break
        if any(marker in body for marker in _BODY_MARKERS):
            await _refuse(scope, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, send: Send) -> None:
    content_type = b"application/json"
    status = 422
    message: dict[str, object] = {
        "error": {
            "message": "输入中含有不允许的空字符（NUL）",
            "message_en": "the request contains a NUL character",
        }
    }
    if fhir_mount.is_fhir_path(scope.get("path", "")):  # a FHIR client reads OperationOutcome
        content_type, status = fhir_mount.CONTENT_TYPE.encode(), 400
        message = fhir_mount.outcome_body(
            "invalid",
            "the request contains a NUL character (U+0000), which no FHIR value may hold "
            "(输入中含有不允许的空字符（NUL）)",
        )
    payload = json.dumps(message, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
