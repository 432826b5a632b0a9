"""Domain exceptions. They carry no HTTP codes: each entry point maps them once at its edge."""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every rule violation raised by the domain and service layers."""

    def __init__(self, message: str, message_en: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en or message


class InvalidInput(DomainError):
    """A value that breaks a rule; ``field`` names the offending input."""

    def __init__(self, field: str, message: str, message_en: str | None = None) -> None:
        super().__init__(message, message_en)
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message_en}"


class NotFound(DomainError):
    """The record does not exist, or the user may not know that it exists."""


class Forbidden(DomainError):
    """The user is known but lacks the right for this action."""


class Unauthenticated(DomainError):
    """The credentials were wrong or missing."""


class Conflict(DomainError):
    """The action clashes with stored state (a duplicate, a stale version)."""
