"""Reading posted form fields, with Chinese messages naming the field when a value is wrong."""

from __future__ import annotations

from datetime import date

from starlette.datastructures import FormData

from manbing.domain.errors import InvalidInput
from manbing.domain.numbers import NotFinite, parse_decimal


def text(form: FormData, name: str) -> str:
    """The stripped text of a field; ``""`` when absent or not text."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional_number(form: FormData, name: str, label: str) -> float | None:
    raw = text(form, name)
    if not raw:
        return None
    try:  # full-width digits are read; "1_000", "nan", "inf", "1e999" are not (domain.numbers)
        return parse_decimal(raw)
    except NotFinite:
        raise InvalidInput(
            name, f"{label}应为有效数字", f"{name} must be a finite number"
        ) from None
    except ValueError:
        raise InvalidInput(name, f"{label}应为数字", f"{name} must be a number") from None


def required_number(form: FormData, name: str, label: str) -> float:
    value = optional_number(form, name, label)
    if value is None:
        raise InvalidInput(name, f"请填写{label}", f"{name} is required")
    return value


def required_int(form: FormData, name: str, label: str) -> int:
    value = required_number(form, name, label)
    if value != int(value):
        raise InvalidInput(name, f"{label}应为整数", f"{name} must be an integer")
    return int(value)


def optional_date(form: FormData, name: str, label: str) -> date | None:
    raw = text(form, name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(name, f"{label}格式应为YYYY-MM-DD", f"{name} must be a date") from None
