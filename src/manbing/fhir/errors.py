"""FHIR failures as OperationOutcome, with the HTTP status each one deserves."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from manbing.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from manbing.fhir.codec.common import StructureError


class FhirError(Exception):
    def __init__(
        self, status: int, code: str, diagnostics: str, expression: str | None = None
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression


def outcome(
    code: str, diagnostics: str, *, severity: str = "error", expression: str | None = None
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def as_fhir_error(exc: Exception, *, prefix: str | None = None) -> FhirError:
    """Map any failure raised while handling a request to a ``FhirError``."""

    def where(expr: str | None) -> str | None:
        if prefix and expr:
            return f"{prefix}.{expr}"
        return prefix or expr

    if isinstance(exc, FhirError):
        if prefix:
            return FhirError(exc.status, exc.code, exc.diagnostics, where(exc.expression))
        return exc
    if isinstance(exc, StructureError):
        return FhirError(400, "structure", str(exc), where(exc.expression))
    if isinstance(exc, ValidationError):
        return FhirError(400, "structure", str(exc).splitlines()[0], where(None))
    if isinstance(exc, InvalidInput):
        return FhirError(
            422, "invalid", f"{exc.field}: {exc.message_en} ({exc.message})", where(exc.field)
        )
    if isinstance(exc, NotFound):
        return FhirError(404, "not-found", f"{exc.message_en} ({exc.message})", where(None))
    if isinstance(exc, Forbidden):
        return FhirError(403, "forbidden", f"{exc.message_en} ({exc.message})", where(None))
    if isinstance(exc, Conflict):
        return FhirError(409, "conflict", f"{exc.message_en} ({exc.message})", where(None))
    if isinstance(exc, DomainError):
        return FhirError(400, "processing", exc.message_en, where(None))
    if isinstance(exc, (ValueError, TypeError, KeyError)):
        return FhirError(400, "invalid", f"{type(exc).__name__}: {exc}", where(None))
    return FhirError(500, "exception", "internal error", where(None))
