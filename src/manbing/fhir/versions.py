"""Resource versions: ``meta.versionId``, vread, instance history and ``If-Match``.

Every create and update through the REST API stores the written JSON as a numbered version
(``fhir_resource_versions``). A resource with no stored version (made by the web app, the
synthetic district or the bulk importer) is at version 1: its current state. Each stored version
carries a fingerprint of the state it describes (the row's own version counter for Patient, a hash
of the JSON without ``meta`` otherwise); when the current state no longer matches the latest
stored version, it changed outside FHIR and is reported as the next version, which is stored at
the next FHIR write of the resource. Bulk import stores no versions (speed).
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import FhirResourceVersion
from manbing.fhir.codec.common import instant, parse_datetime

STREAM_BATCH = 2000


@dataclass(frozen=True)
class Stored:
    version_id: int
    state: str
    recorded_at: datetime


def state(resource_type: str, resource: dict[str, Any]) -> str:
    """The fingerprint of a rendered resource (computed before its meta is stamped)."""
    if resource_type == "Patient":
        return f"row:{resource['meta']['versionId']}"
    body = {k: v for k, v in resource.items() if k != "meta"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def latest(session: Session, resource_type: str, ids: Iterable[str]) -> dict[str, Stored]:
    """The latest stored version of each of ``ids`` that has one."""
    wanted = list(ids)
    found: dict[str, Stored] = {}
    if not wanted:
        return found
    rows = session.execute(
        select(
            FhirResourceVersion.resource_id,
            FhirResourceVersion.version_id,
            FhirResourceVersion.state,
            FhirResourceVersion.recorded_at,
        )
        .where(
            FhirResourceVersion.resource_type == resource_type,
            FhirResourceVersion.resource_id.in_(wanted),
        )
        .order_by(FhirResourceVersion.version_id)
    )
    for resource_id, version_id, fingerprint, recorded_at in rows:
        found[resource_id] = Stored(version_id, fingerprint, recorded_at)
    return found


def _apply(resource: dict[str, Any], fingerprint: str, stored: Stored | None) -> None:
    meta = resource.setdefault("meta", {})
    if stored is None:
        meta["versionId"] = "1"
    elif stored.state == fingerprint:
        meta["versionId"] = str(stored.version_id)
        meta["lastUpdated"] = instant(stored.recorded_at)
    else:
        meta["versionId"] = str(stored.version_id + 1)


def stamp(session: Session, resource_type: str, resources: list[dict[str, Any]]) -> None:
    """Set ``meta.versionId`` (and the version's ``lastUpdated``) on rendered resources."""
    if not resources:
        return
    fingerprints = [state(resource_type, r) for r in resources]
    stored = latest(session, resource_type, [r["id"] for r in resources])
    for resource, fingerprint in zip(resources, fingerprints, strict=True):
        _apply(resource, fingerprint, stored.get(resource["id"]))


def stamp_stream(
    session: Session, resource_type: str, resources: Iterator[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """``stamp`` for a bulk export stream: one look-up per batch, none for an unversioned type."""
    any_stored = session.scalar(
        select(FhirResourceVersion.id).where(FhirResourceVersion.resource_type == resource_type)
    )
    if any_stored is None:
        for resource in resources:
            resource["meta"]["versionId"] = "1"
            yield resource
        return
    batch: list[dict[str, Any]] = []
    for resource in resources:
        batch.append(resource)
        if len(batch) >= STREAM_BATCH:
            stamp(session, resource_type, batch)
            yield from batch
            batch = []
    stamp(session, resource_type, batch)
    yield from batch


def _store(
    session: Session,
    resource_type: str,
    resource: dict[str, Any],
    fingerprint: str,
    version_id: int,
    at: datetime,
) -> None:
    resource["meta"] = {**resource.get("meta", {}), "versionId": str(version_id)}
    resource["meta"]["lastUpdated"] = instant(at)
    session.add(
        FhirResourceVersion(
            id=uuid.uuid4(),
            resource_type=resource_type,
            resource_id=resource["id"],
            version_id=version_id,
            recorded_at=at,
            state=fingerprint,
            resource=copy.deepcopy(resource),
        )
    )


def keep_current(
    session: Session, resource_type: str, current: dict[str, Any], fingerprint: str, now: datetime
) -> None:
    """Before an update: store the current state if no stored version describes it yet."""
    stored = latest(session, resource_type, [current["id"]]).get(current["id"])
    if stored is not None and stored.state == fingerprint:
        return
    raw = (current.get("meta") or {}).get("lastUpdated")
    at = parse_datetime(raw, "meta.lastUpdated") if isinstance(raw, str) else now
    version_id = stored.version_id + 1 if stored else 1
    _store(session, resource_type, dict(current), fingerprint, version_id, at)
    session.flush()


def record(
    session: Session, resource_type: str, resource: dict[str, Any], at: datetime
) -> dict[str, Any]:
    """After a create or update: store the written state as the next version (not if unchanged)."""
    fingerprint = state(resource_type, resource)
    stored = latest(session, resource_type, [resource["id"]]).get(resource["id"])
    if stored is not None and stored.state == fingerprint:
        _apply(resource, fingerprint, stored)
        return resource
    version_id = stored.version_id + 1 if stored else 1
    _store(session, resource_type, resource, fingerprint, version_id, at)
    session.flush()
    return resource


def stored_version(
    session: Session, resource_type: str, resource_id: str, version_id: int
) -> dict[str, Any] | None:
    row = session.scalars(
        select(FhirResourceVersion).where(
            FhirResourceVersion.resource_type == resource_type,
            FhirResourceVersion.resource_id == resource_id,
            FhirResourceVersion.version_id == version_id,
        )
    ).first()
    return dict(row.resource) if row is not None else None


def history(session: Session, resource_type: str, resource_id: str) -> list[dict[str, Any]]:
    """Every stored version, newest first."""
    rows = session.scalars(
        select(FhirResourceVersion)
        .where(
            FhirResourceVersion.resource_type == resource_type,
            FhirResourceVersion.resource_id == resource_id,
        )
        .order_by(FhirResourceVersion.version_id.desc())
    ).all()
    return [dict(row.resource) for row in rows]
