"""FHIR failures as OperationOutcome, with the HTTP status each one deserves."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

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
        said = exc.message_en  # many messages name their element already
        said = said if said.startswith(f"{exc.field}:") else f"{exc.field}: {said}"
        return FhirError(422, "invalid", f"{said} ({exc.message})", where(exc.field))
    if isinstance(exc, NotFound):
        return FhirError(404, "not-found", f"{exc.message_en} ({exc.message})", where(None))
    if isinstance(exc, Forbidden):
        return FhirError(403, "forbidden", f"{exc.message_en} ({exc.message})", where(None))
    if isinstance(exc, Conflict):
        return FhirError(409, "conflict", f"{exc.message_en} ({exc.message})", where(None))
    if isinstance(exc, DomainError):
        return FhirError(400, "processing", exc.message_en, where(None))
    if isinstance(exc, DBAPIError):
        return _database_error(exc, where(None))
    # Anything else is a fault of the server, whatever its type: bad input is refused above as
    # a StructureError, InvalidInput or FhirError naming the element (a ValueError or TypeError
    # here was mapped to 400 and hid such faults, with the exception's text as the diagnostics).
    return FhirError(500, "exception", "internal error", where(None))


# SQLSTATE classes of PostgreSQL, and the opening words of SQLite's messages, per constraint kind
_INTEGRITY: tuple[tuple[str, str, str], ...] = (
    (
        "23505",
        "UNIQUE constraint failed",
        "a stored record already holds one of its unique values (an identifier, code or key) "
        "(与已有记录冲突：标识、编码或键已被占用)",
    ),
    (
        "23503",
        "FOREIGN KEY constraint failed",
        "it refers to a record that does not exist (引用的记录不存在)",
    ),
    ("23502", "NOT NULL constraint failed", "a required value is missing (缺少必填的值)"),
)


def _database_error(exc: DBAPIError, expression: str | None) -> FhirError:
    """A database refusal, told without the SQL statement or its parameters."""
    if isinstance(exc, IntegrityError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        text = str(exc.orig)
        reason = next(
            (
                message
                for state, prefix, message in _INTEGRITY
                if sqlstate == state or text.startswith(prefix)
            ),
            "it breaks a rule of the stored data (违反数据约束)",
        )
        return FhirError(
            409,
            "conflict",
            f"the database refused the write: {reason}; nothing of it was stored",
            expression,
        )
    if isinstance(exc, DataError):
        return FhirError(
            400,
            "invalid",
            "the database refused a value of the write: too long, out of range or malformed "
            "(数据库拒绝了某个值：过长、超出范围或格式不正确); nothing of it was stored",
            expression,
        )
    if isinstance(exc, OperationalError):
        return FhirError(
            503,
            "transient",
            "the database could not complete the write now (busy or unavailable); send it again "
            "(数据库暂时无法完成写入，请重试)",
            expression,
        )
    return FhirError(500, "exception", "internal error", expression)
