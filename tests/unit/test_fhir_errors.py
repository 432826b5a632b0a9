"""Database refusals as OperationOutcome statuses, told without the SQL statement."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, ProgrammingError

from manbing.domain.errors import InvalidInput
from manbing.fhir.errors import as_fhir_error

STATEMENT = "INSERT INTO resident_identifiers (system, value) VALUES (%(system)s, %(value)s)"
PARAMS = {"system": "urn:oid:2.16.156.10011.1.3", "value": "330108196104050215"}


class _PgError(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (
            IntegrityError(STATEMENT, PARAMS, _PgError("duplicate key value", "23505")),
            409,
            "unique values",
        ),
        (
            IntegrityError(
                STATEMENT,
                PARAMS,
                Exception("UNIQUE constraint failed: resident_identifiers.system"),
            ),
            409,
            "unique values",
        ),
        (
            IntegrityError(STATEMENT, PARAMS, _PgError("violates foreign key", "23503")),
            409,
            "does not exist",
        ),
        (
            IntegrityError(STATEMENT, PARAMS, Exception("FOREIGN KEY constraint failed")),
            409,
            "does not exist",
        ),
        (
            IntegrityError(STATEMENT, PARAMS, _PgError("violates check", "23514")),
            409,
            "breaks a rule",
        ),
        (DataError(STATEMENT, PARAMS, _PgError("value too long", "22001")), 400, "too long"),
        (OperationalError(STATEMENT, PARAMS, Exception("database is locked")), 503, "again"),
        (ProgrammingError(STATEMENT, PARAMS, Exception("syntax error")), 500, "internal error"),
    ],
)
def test_database_errors_map_to_a_status_and_never_show_the_statement(
    error: Exception, status: int, words: str
) -> None:
    mapped = as_fhir_error(error, prefix="Bundle.entry[3]")
    assert mapped.status == status
    assert words in mapped.diagnostics
    assert mapped.expression == "Bundle.entry[3]"
    for leaked in ("INSERT", "resident_identifiers", PARAMS["value"], "duplicate key"):
        assert leaked not in mapped.diagnostics, mapped.diagnostics


@pytest.mark.parametrize(
    "fault",
    [
        TypeError('can only concatenate str (not "NoneType") to str'),
        ValueError("invalid literal for int() with base 10: '²'"),
        KeyError("R4.FooType"),
        AttributeError("'str' object has no attribute 'get'"),
        OverflowError("Python int too large to convert to SQLite INTEGER"),
    ],
)
def test_any_other_exception_is_a_server_fault_told_without_its_text(fault: Exception) -> None:
    # A ValueError, TypeError or KeyError was a 400 carrying the exception's text: a fault of
    # the server looked like bad input, and the client read Python internals.
    mapped = as_fhir_error(fault, prefix="Bundle.entry[1]")
    assert (mapped.status, mapped.code, mapped.diagnostics) == (500, "exception", "internal error")
    assert mapped.expression == "Bundle.entry[1]"


def test_a_refusal_names_its_element_once() -> None:
    already = as_fhir_error(InvalidInput("date", "时间格式不正确", "date: not a FHIR dateTime"))
    assert already.diagnostics == "date: not a FHIR dateTime (时间格式不正确)"
    plain = as_fhir_error(InvalidInput("gender", "性别不正确", "unknown gender"))
    assert plain.diagnostics == "gender: unknown gender (性别不正确)"
    assert (plain.status, plain.expression) == (422, "gender")
