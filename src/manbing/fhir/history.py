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

The order is total — (time desc, type, id, version desc) — so ``_count``/``_offset`` pages give
each entry once even when many share a timestamp. The server deletes no resources through FHIR,
so there are no DELETE entries; a resident merged into another leaves the scope (``Store.base``)
and drops out of the history.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Uuid, cast, exists, func, select, type_coerce
from sqlalchemy.orm import Session

from manbing.db.models import FhirResourceVersion
from manbing.domain.errors import InvalidInput
from manbing.domain.organisations import Permission
from manbing.fhir import versions
from manbing.fhir.codec.common import bounded, parse_datetime
from manbing.fhir.errors import FhirError
from manbing.fhir.store import DEFAULT_COUNT, IGNORED_PARAMS, MAX_COUNT, WRITABLE_TYPES, Store
from manbing.services import access

PARAMS = ("_since", "_count", "_offset")
_CHUNK = 500  # ids per IN (...) look-up


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


@dataclass(frozen=True, order=True)
class _Entry:
    """One history entry's place: newest first, then type, id and version (a total order)."""

    newest_first: float  # minus the POSIX time, so that ``sorted`` puts the newest first
    resource_type: str
    resource_id: str
    minus_version: int
    stored: bool  # a stored version (else the current state, rendered as a read renders it)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _stored_entries(store: Store, rtype: str, since: datetime | None) -> list[_Entry]:
    """The versions stored by FHIR writes of the resources of ``rtype`` in scope."""
    version = FhirResourceVersion
    where = [
        version.resource_type == rtype,
        exists(
            store.scoped_ids(rtype).where(store.id_column(rtype) == _resource_uuid(store.session))
        ),
    ]
    if since is not None:
        where.append(version.recorded_at >= since)
    rows = store.session.execute(
        select(version.resource_id, version.version_id, version.recorded_at).where(*where)
    )
    return [_Entry(-_aware(at).timestamp(), rtype, rid, -vid, True) for rid, vid, at in rows]


def _current_entries(store: Store, rtype: str, since: datetime | None) -> list[_Entry]:
    """The resources of ``rtype`` in scope whose current state changed in the window.

    Changed means the column behind ``meta.lastUpdated`` and ``_lastUpdated`` search is at or
    after ``since`` (SQL). Each is listed as its current version, as a read reports it — unless
    that state is the latest stored version (a FHIR write, listed by ``_stored_entries``); that is
    decided by the versions' fingerprints, as ``versions.stamp`` does, for the resources that have
    stored versions only.
    """
    id_column, updated = store.id_column(rtype), store.last_updated_column(rtype)
    stmt = store.scoped_ids(rtype).add_columns(updated).where(updated.is_not(None))
    if since is not None:
        stmt = stmt.where(updated >= since)
    changed = {str(rid): _aware(at) for rid, at in store.session.execute(stmt)}
    latest: dict[str, versions.Stored] = {}
    ids = list(changed)
    for start in range(0, len(ids), _CHUNK):
        latest.update(versions.latest(store.session, rtype, ids[start : start + _CHUNK]))
    entries: list[_Entry] = []
    versioned = [rid for rid in ids if rid in latest]
    for start in range(0, len(versioned), _CHUNK):
        chunk = [uuid.UUID(rid) for rid in versioned[start : start + _CHUNK]]
        for row in store.session.scalars(store.base(rtype).where(id_column.in_(chunk))):
            resource = store.render(rtype, row)
            stored = latest[resource["id"]]
            if versions.state(rtype, resource) != stored.state:
                entries.append(
                    _Entry(
                        -changed[resource["id"]].timestamp(),
                        rtype,
                        resource["id"],
                        -(stored.version_id + 1),
                        False,
                    )
                )
    entries += [
        _Entry(-at.timestamp(), rtype, rid, -1, False)
        for rid, at in changed.items()
        if rid not in latest
    ]
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
    """One page of the history: stored versions and changed current states, newest first."""
    types = readable_types(store, resource_type)
    entries: list[_Entry] = []
    for rtype in types:
        stored = _stored_entries(store, rtype, query.since)
        current = _current_entries(store, rtype, query.since)
        # a current state reported as version n + 1 is not stored; never list a version twice
        known = {(e.resource_id, e.minus_version) for e in stored}
        entries += stored
        entries += [e for e in current if (e.resource_id, e.minus_version) not in known]
    entries.sort()
    found = _render(store, entries[query.offset : query.offset + query.count])
    store.audit_history(resource_type, len(found))
    return Page(len(entries), found)
