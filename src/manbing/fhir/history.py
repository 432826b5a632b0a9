"""Type and system history: ``GET [type]/_history`` and ``GET _history`` (FHIR R4 3.1.0.4).

They list the versions stored by FHIR writes (``fhir_resource_versions``, see versions.py) of the
resources the caller may read *now* — the same scope as a read or search (``Store.scoped_ids``,
built on ``services/access.py``) — newest first, with ``_since`` (versions recorded at or after
the instant) and ``_count``/``_offset`` paging. A change made outside FHIR (the web app, the
importer) stores no version, so it shows in the instance history and reads only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Uuid, and_, cast, exists, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from manbing.db.models import FhirResourceVersion
from manbing.domain.errors import InvalidInput
from manbing.domain.organisations import Permission
from manbing.fhir.codec.common import bounded, parse_datetime
from manbing.fhir.errors import FhirError
from manbing.fhir.store import DEFAULT_COUNT, IGNORED_PARAMS, MAX_COUNT, WRITABLE_TYPES, Store
from manbing.services import access

PARAMS = ("_since", "_count", "_offset")


@dataclass(frozen=True)
class Query:
    since: datetime | None = None
    count: int = DEFAULT_COUNT
    offset: int = 0


@dataclass(frozen=True)
class Page:
    total: int
    versions: list[tuple[str, str, dict[str, Any]]]  # (type, id, the version's JSON)


def parse(params: Sequence[tuple[str, str]]) -> Query:
    """The history parameters; anything else, or a bad value, is a 400."""
    since, count, offset = None, DEFAULT_COUNT, 0
    for name, value in params:
        if name in IGNORED_PARAMS:
            continue
        if name not in PARAMS:
            raise FhirError(
                400,
                "not-supported",
                f"unknown history parameter {name!r}: _since, _count and _offset are supported",
                name,
            )
        if name == "_since":
            if len(value) <= 10:  # an instant: a date alone is not one (FHIR R4 3.1.0.4)
                raise FhirError(400, "invalid", "_since must be an instant with a time", name)
            try:
                since = bounded(parse_datetime(value, name))
            except InvalidInput as exc:
                raise FhirError(
                    400, "invalid", f"_since is not an instant: {value!r}", name
                ) from exc
        else:
            number = _whole(value, name)
            if name == "_count":
                count = min(number, MAX_COUNT)
            else:
                offset = min(number, 10**9)
    return Query(since, count, offset)


def _whole(value: str, name: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise FhirError(400, "invalid", f"{name} must be a whole number, not {value!r}", name)
    return int(value)


def _resource_uuid(session: Session) -> ColumnElement[Any]:
    """``fhir_resource_versions.resource_id`` (the UUID as text) as the tables' ``Uuid``."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(FhirResourceVersion.resource_id, Uuid)
    return type_coerce(func.replace(FhirResourceVersion.resource_id, "-", ""), Uuid)


def readable_types(store: Store, resource_type: str | None) -> list[str]:
    """The types whose versions the caller sees: one (else 403), or all it may read."""
    access.require(store.actor, Permission.READ_RESIDENTS)
    if resource_type is not None:
        store.require_scope(resource_type, "read")
        store.require_history_access(resource_type)
        return [resource_type]
    kept = []
    for rtype in WRITABLE_TYPES:
        try:
            store.require_scope(rtype, "read")
            store.require_history_access(rtype)
        except FhirError:
            continue  # the system history leaves out what the caller may not read
        kept.append(rtype)
    return kept


def page(store: Store, resource_type: str | None, query: Query) -> Page:
    types = readable_types(store, resource_type)
    if not types:
        return Page(0, [])
    version = FhirResourceVersion
    as_uuid = _resource_uuid(store.session)
    in_scope = or_(
        *(
            and_(
                version.resource_type == rtype,
                exists(store.scoped_ids(rtype).where(store.id_column(rtype) == as_uuid)),
            )
            for rtype in types
        )
    )
    where = [in_scope]
    if query.since is not None:
        where.append(version.recorded_at >= query.since)
    total = store.session.scalar(select(func.count()).select_from(version).where(*where)) or 0
    rows = store.session.execute(
        select(version.resource_type, version.resource_id, version.resource)
        .where(*where)
        .order_by(version.recorded_at.desc(), version.version_id.desc(), version.id)
        .limit(query.count)
        .offset(query.offset)
    ).all()
    store.audit_history(resource_type, len(rows))
    return Page(int(total), [(t, i, dict(r)) for t, i, r in rows])
