"""Shared pieces of the codecs: URIs, references, dates and structural validation."""

from __future__ import annotations

import json
import math
import re
import types
import typing
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from manbing.domain.errors import InvalidInput

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_CN = "urn:oid:2.16.156.10011.2.3.3.11"  # ICD-10 国标版 (GB/T 14396)
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ORG_CODE_SYSTEM = "urn:manbing:organization-code"
ORG_TYPE_SYSTEM = "urn:manbing:organization-type"
LICENCE_SYSTEM = "urn:manbing:practitioner-licence"
SHANGHAI = ZoneInfo("Asia/Shanghai")

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}\Z")


class StructureError(Exception):
    """The payload is not a valid FHIR R4 resource of the expected type."""

    def __init__(self, message: str, expression: str | None = None) -> None:
        super().__init__(message)
        self.expression = expression


def validate_structure(resource: Any, resource_type: str) -> dict[str, Any]:
    """Check ``resource`` against the R4B model of ``resource_type``; return it as a dict.

    The codecs read the JSON as it came, so it must also have the JSON types FHIR's JSON format
    prescribes: the model alone lets through what it can coerce (an object given as a string of
    JSON, a boolean or a number given as a string) and ``null`` for any element.
    """
    from fhir.resources.R4B import get_fhir_model_class

    if not isinstance(resource, dict):
        raise StructureError("a resource must be a JSON object (资源应为 JSON 对象)")
    found = resource.get("resourceType")
    if found != resource_type:
        raise StructureError(
            f"expected resourceType {resource_type}, got {found!r} (资源类型不符)", "resourceType"
        )
    model = get_fhir_model_class(resource_type)
    # first the JSON types: the model fails with a bare TypeError or KeyError on a contained or
    # Bundle entry resource whose resourceType is not a resource's name
    wrong = _json_type_error(resource, model, ())
    if wrong is not None:
        path, message = wrong
        where = _fhirpath(path)
        raise StructureError(
            f"invalid {resource_type}: {where}: {message} (不符合 FHIR JSON 格式)", where
        )
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _fhirpath(first.get("loc", ()))
        raise StructureError(
            f"invalid {resource_type}: {where}: {first.get('msg')} (结构不符合 FHIR R4)",
            where or None,
        ) from exc
    return resource


def _fhirpath(loc: typing.Iterable[Any]) -> str:
    """A FHIRPath-like location (``name[0].text``) of a pydantic or JSON path."""
    out = ""
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else str(step)
    return out


# what an element holds in FHIR JSON: an object of a model, a resource, a list or a primitive
_Kind = tuple[str, Any]
_JSON_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _kind(annotation: Any) -> _Kind:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind(args[0]) if len(args) == 1 else ("any", None)
    if origin is list:
        return ("list", _kind(typing.get_args(annotation)[0]))
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if annotation is bool:
        return ("boolean", None)
    if annotation in (int, float, Decimal):
        return ("number", None)
    if annotation in (str, date, datetime, time):
        return ("string", None)
    klass = getattr(annotation, "get_model_klass", None)
    if klass is not None:
        if getattr(annotation, "__name__", "") == "ResourceType":
            return ("resource", None)
        return ("object", klass())
    return ("any", None)


def _resource_model(name: Any) -> Any:
    """The R4B model of the resource type ``name``, or None if it names none."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.resource import Resource

    if not isinstance(name, str) or not name:
        return None
    try:
        model = get_fhir_model_class(name)
    except (ValueError, KeyError):
        return None
    return model if issubclass(model, Resource) else None


@cache
def _fields(model: Any) -> dict[str, _Kind]:
    return {f.alias or n: _kind(f.annotation) for n, f in model.model_fields.items()}


def _json_type_error(
    node: dict[str, Any], model: Any, path: tuple[Any, ...]
) -> tuple[tuple[Any, ...], str] | None:
    """The first element of ``node`` whose JSON type is not the one FHIR's JSON format has."""
    fields = _fields(model)
    for key, value in node.items():
        kind = fields.get(key)
        if kind is None or key == "fhir_comments":
            continue  # resourceType, or a key the model refused already
        wrong = _value_error(value, kind, (*path, key), in_list=False)
        if wrong is not None:
            return wrong
    return None


def _value_error(
    value: Any, kind: _Kind, path: tuple[Any, ...], *, in_list: bool
) -> tuple[tuple[Any, ...], str] | None:
    name, inner = kind
    if value is None:
        # FHIR JSON has no nulls, but in the arrays that line primitives up with their extensions
        if in_list and name in ("string", "number", "boolean"):
            return None
        if in_list and name == "object" and inner.__name__ == "FHIRPrimitiveExtension":
            return None
        return path, "null is not allowed; leave the element out"
    if name == "any":
        return None
    if name == "list":
        if not isinstance(value, list):
            return path, f"an array is expected, not {_describe(value)}"
        for n, item in enumerate(value):
            wrong = _value_error(item, inner, (*path, n), in_list=True)
            if wrong is not None:
                return wrong
        return None
    if name in ("object", "resource"):
        if not isinstance(value, dict):
            return path, f"an object is expected, not {_describe(value)}"
        if name == "resource":
            inner = _resource_model(value.get("resourceType"))
            if inner is None:
                found = value.get("resourceType")
                return (*path, "resourceType"), f"{found!r} is not a FHIR resource type"
        return _json_type_error(value, inner, path)
    expected = {
        "boolean": isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "string": isinstance(value, str),
    }[name]
    if not expected:
        return path, f"a {name} is expected, not {_describe(value)}"
    if name == "number" and isinstance(value, float) and not math.isfinite(value):
        return path, "a finite number is expected"
    return None


def number(raw: Any, field: str) -> float:
    """A FHIR decimal or integer as a float, refused (naming the element) when none holds it."""
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(
            field, "数值无效或超出范围", f"{field}: {str(raw)[:40]} is not a usable number"
        ) from exc
    if not math.isfinite(value):
        raise InvalidInput(field, "数值无效或超出范围", f"{field}: {raw} is not a finite number")
    return value


def code_in(value: Any, allowed: tuple[str, ...], field: str) -> Any:
    """``value`` if it is one of a required binding's codes, else refused naming the element.

    The R4B model does not check required bindings, and a code the platform does not know would
    otherwise be read as some default (an unknown gender as unknown, a status as inactive).
    """
    if value is not None and value not in allowed:
        raise InvalidInput(
            field,
            f"{field} 的代码不正确，应为 {', '.join(allowed)} 之一",
            f"{field}: {str(value)[:40]!r} is not one of {', '.join(allowed)}",
        )
    return value


# How deep objects and arrays may nest in a request or import file: FHIR resources stay far
# shallower (a Bundle's contained extension values are under 20), and every reader here, from
# the JSON decoder to the R4B model, recurses once per level.
MAX_DEPTH = 64


def load_json(raw: str | bytes) -> Any:
    """``json.loads``, refusing JSON nested deeper than ``MAX_DEPTH`` (a StructureError).

    Invalid JSON raises ValueError, as ``json.loads`` does.
    """
    too_deep = StructureError(
        f"the JSON nests objects and arrays more than {MAX_DEPTH} deep (JSON 嵌套层数过多)"
    )
    try:
        value = json.loads(raw)
    except RecursionError as exc:  # the decoder's own limit, near 1000 levels
        raise too_deep from exc
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > MAX_DEPTH:
            raise too_deep
        stack.extend((child, depth + 1) for child in children)
    return value


def is_valid_id(value: str) -> bool:
    return bool(_ID.match(value))


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_datetime(raw: str, field: str) -> datetime:
    """A FHIR dateTime: a bare date or naive time is read as China Standard Time."""
    try:
        if len(raw) == 4:
            return datetime(int(raw), 1, 1, tzinfo=SHANGHAI)
        if len(raw) == 7:
            return datetime(int(raw[:4]), int(raw[5:7]), 1, tzinfo=SHANGHAI)
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(), SHANGHAI)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(field, "时间格式不正确", f"{field}: not a FHIR dateTime") from exc
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


# the instants a search or export bound is kept within: their UTC and China Standard Time forms,
# a day either side, are all dates Python (and the database drivers) can hold
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def bounded(value: datetime) -> datetime:
    """``value`` moved into [EARLIEST, LATEST]: nothing stored lies outside it anyway."""
    return max(EARLIEST, min(value, LATEST))


def parse_date(raw: str | None, field: str) -> date | None:
    """The calendar date as written (``2005-07-29T20:37:06+00:00`` → 2005-07-29)."""
    if not raw:
        return None
    parsed = parse_datetime(raw, field)
    return parsed.date()


def reference_id(reference: Any, expected_type: str, field: str) -> str:
    """The id in a ``Type/id`` reference (after urn:uuid resolution) of the expected type."""
    raw = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(raw, str) or not raw:
        raise InvalidInput(field, "缺少引用", f"{field}: a reference is required")
    parts = raw.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != expected_type or not is_valid_id(parts[-1]):
        raise InvalidInput(
            field, "引用无法解析", f"{field}: cannot resolve reference {raw!r} to a {expected_type}"
        )
    return parts[-1]


def codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) if isinstance(c, dict)]


def first_code(concept: Any, system: str | None = None) -> str | None:
    for coding in codings(concept):
        if system is None or coding.get("system") == system:
            code = coding.get("code")
            if isinstance(code, str):
                return code
    return None


def meta(version: int | str, last_updated: datetime) -> dict[str, Any]:
    return {"versionId": str(version), "lastUpdated": instant(last_updated)}
