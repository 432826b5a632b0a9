"""Type and system history: ``GET [type]/_history`` and ``GET _history`` (FHIR R4 3.1.0.4).

They list every change of the resources the caller may read *now* — the same scope as a read or
search (``Store.scoped_ids``, built on ``services/access.py``) — newest first, with ``_since``
and ``_count``/``_offset`` paging, as the instance history lists them:

- the versions stored by FHIR writes (``fhir_resource_versions``, see versions.py), at the time
  they were recorded;
- the current state of each resource whose last-updated column (the one behind ``meta.lastUpdated``
  and ``_lastUpdated`` search, ``Store.last_updated_column``) is in the window, as a read reports
  it (version 1, or the next version after a change outside FHIR) — the clinic's services, the
  device gateway and the importers store no versions. A current state that *is* the latest stored
  version (same fingerprint) is listed once, as that version.

The order is total — (time desc, type, id, version desc; the type by its place in
``SUPPORTED_TYPES``, the same in SQL and Python) — so ``_count``/``_offset`` pages give
each entry once even when many share a timestamp. The server deletes no resources through FHIR,
so there are no DELETE entries; a resident merged into another leaves the scope (``Store.base``)
and drops out of the history.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Uuid,
    cast,
    exists,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from manbing.db.models import FhirResourceVersion
from manbing.domain.errors import InvalidInput
from manbing.domain.organisations import Permission
from manbing.fhir import versions
from manbing.fhir.codec.common import bounded, parse_datetime
from manbing.fhir.errors import FhirError
from manbing.fhir.store import (
    DEFAULT_COUNT,
    IGNORED_PARAMS,
    MAX_COUNT,
    SUPPORTED_TYPES,
    WRITABLE_TYPES,
    Store,
)
from manbing.services import access

PARAMS = ("_since", "_count", "_offset")
_CHUNK = 500  # ids per IN (...) look-up
_RANK = {rtype: index for index, rtype in enumerate(SUPPORTED_TYPES)}


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
    for rtype in WRITABLE_TYPES:  # not AuditEvent: each history listing adds audit events
        try:
            store.require_scope(rtype, "read")
            store.require_history_access(rtype)
        except FhirError:
            continue  # the system history leaves out what the caller may not read
        kept.append(rtype)
    return kept


@dataclass(frozen=True, order=True)
class _Entry:
    """One history entry's place: newest first, then type, id and version (a total order)."""

    newest_first: float  # minus the POSIX time, so that ``sorted`` puts the newest first
    type_rank: int  # the type's place in SUPPORTED_TYPES (an integer sorts alike in SQL)
    resource_type: str
    resource_id: str
    minus_version: int
    stored: bool  # a stored version (else the current state, rendered as a read renders it)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _stored_versions(store: Store, rtype: str, since: datetime | None) -> Select[Any]:
    """The versions stored by FHIR writes of the resources of ``rtype`` in scope (SQL)."""
    version = FhirResourceVersion
    as_uuid = _resource_uuid(store.session)
    stmt = select(
        version.recorded_at.label("at"),
        literal(_RANK[rtype]).label("rank"),
        cast(literal(rtype), String(40)).label("type"),
        as_uuid.label("id"),
        version.version_id.label("version"),
        literal(1).label("stored"),
    ).where(
        version.resource_type == rtype,
        exists(store.scoped_ids(rtype).where(store.id_column(rtype) == as_uuid)),
    )
    return stmt.where(version.recorded_at >= since) if since is not None else stmt


def _changed(store: Store, rtype: str, since: datetime | None) -> Select[Any]:
    """The ids and last-updated times of the resources of ``rtype`` in scope changed since."""
    updated = store.last_updated_column(rtype)
    stmt = store.scoped_ids(rtype).add_columns(updated).where(updated.is_not(None))
    return stmt.where(updated >= since) if since is not None else stmt


def _has_versions(store: Store, rtype: str) -> ColumnElement[bool]:
    version = FhirResourceVersion
    id_column = store.id_column(rtype)
    if store.session.get_bind().dialect.name == "postgresql":
        # the text of the row's id, so that the versions' (type, id, version) key is used
        same = version.resource_id == cast(id_column, String)
    else:
        same = _resource_uuid(store.session) == id_column
    return exists(select(version.id).where(version.resource_type == rtype, same))


def _never_versioned(store: Store, rtype: str, since: datetime | None) -> Select[Any]:
    """The changed resources with no stored version: each is at version 1, its current state."""
    id_column, updated = store.id_column(rtype), store.last_updated_column(rtype)
    return (
        _changed(store, rtype, since)
        .with_only_columns(
            updated.label("at"),
            literal(_RANK[rtype]).label("rank"),
            cast(literal(rtype), String(40)).label("type"),
            id_column.label("id"),
            literal(1).label("version"),
            literal(0).label("stored"),
        )
        .where(~_has_versions(store, rtype))
    )


def _changed_after_versions(store: Store, rtype: str, since: datetime | None) -> list[_Entry]:
    """The changed resources with stored versions whose current state is not the latest one.

    Decided by the versions' fingerprints, as ``versions.stamp`` does: these rows are rendered
    (only resources written through FHIR have stored versions). Each is the next version.
    """
    id_column = store.id_column(rtype)
    changed = {
        str(rid): _aware(at)
        for rid, at in store.session.execute(
            _changed(store, rtype, since).where(_has_versions(store, rtype))
        )
    }
    ids = list(changed)
    entries: list[_Entry] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        latest = versions.latest(store.session, rtype, chunk)
        rows = store.session.scalars(
            store.base(rtype).where(id_column.in_([uuid.UUID(i) for i in chunk]))
        )
        for row in rows:
            resource = store.render(rtype, row)
            stored = latest.get(resource["id"])
            if stored is not None and versions.state(rtype, resource) != stored.state:
                at = changed[resource["id"]]
                entries.append(
                    _Entry(
                        -at.timestamp(),
                        _RANK[rtype],
                        rtype,
                        resource["id"],
                        -(stored.version_id + 1),
                        False,
                    )
                )
    return entries


def _render(store: Store, entries: list[_Entry]) -> list[tuple[str, str, dict[str, Any]]]:
    """The page's resources: stored versions as stored, current states as a read renders them."""
    rendered: dict[tuple[str, str, int], dict[str, Any]] = {}  # the current state: version 0
    by_type: dict[str, list[_Entry]] = {}
    for entry in entries:
        by_type.setdefault(entry.resource_type, []).append(entry)
    for rtype, wanted in by_type.items():
        current = [uuid.UUID(e.resource_id) for e in wanted if not e.stored]
        if current:
            resources = [
                store.render(rtype, row)
                for row in store.session.scalars(
                    store.base(rtype).where(store.id_column(rtype).in_(current))
                )
            ]
            versions.stamp(store.session, rtype, resources)
            for resource in resources:
                rendered[(rtype, resource["id"], 0)] = resource
        for e in wanted:
            if e.stored:
                found = versions.stored_version(
                    store.session, rtype, e.resource_id, -e.minus_version
                )
                if found is not None:
                    rendered[_key(e)] = found
    return [
        (e.resource_type, e.resource_id, rendered[_key(e)]) for e in entries if _key(e) in rendered
    ]


def _key(entry: _Entry) -> tuple[str, str, int]:
    return (entry.resource_type, entry.resource_id, -entry.minus_version if entry.stored else 0)


def page(store: Store, resource_type: str | None, query: Query) -> Page:
    """One page of the history: stored versions and changed current states, newest first.

    The stored versions and the resources never written through FHIR are one SQL query, ordered
    and paged by the database; the few resources changed after a FHIR write (found by comparing
    fingerprints) are merged into the page in Python. An entry's place in the whole listing is its
    index among the SQL rows plus the number of merged entries before it (and the other way
    round), so only ``count`` + (number merged) SQL rows are read for a page.
    """
    types = readable_types(store, resource_type)
    if not types:
        store.audit_history(resource_type, 0)
        return Page(0, [])
    merged = sorted(
        entry for rtype in types for entry in _changed_after_versions(store, rtype, query.since)
    )
    listing = union_all(
        *(_stored_versions(store, rtype, query.since) for rtype in types),
        *(_never_versioned(store, rtype, query.since) for rtype in types),
    ).subquery()
    in_sql = store.session.scalar(select(func.count()).select_from(listing)) or 0
    start = max(0, query.offset - len(merged))
    end = query.offset + query.count
    rows = store.session.execute(
        select(listing)
        .order_by(listing.c.at.desc(), listing.c.rank, listing.c.id, listing.c.version.desc())
        .offset(start)
        .limit(end - start)
    ).all()
    fetched = [
        _Entry(-_aware(at).timestamp(), rank, rtype, str(rid), -version, bool(stored))
        for at, rank, rtype, rid, version, stored in rows
    ]
    placed: list[tuple[int, _Entry]] = []
    for index, entry in enumerate(fetched):
        placed.append((start + index + bisect.bisect_left(merged, entry), entry))
    for index, entry in enumerate(merged):
        after = bisect.bisect_left(fetched, entry)
        placed.append((index + start + after, entry))
    page_entries = [e for at, e in sorted(placed) if query.offset <= at < end]
    found = _render(store, page_entries)
    store.audit_history(resource_type, len(found))
    return Page(int(in_sql) + len(merged), found)
