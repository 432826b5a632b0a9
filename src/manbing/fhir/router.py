"""The transport-agnostic FHIR router: ``handle(FhirRequest, FhirContext) -> FhirResponse``.

No web framework here (see medplum's fhirrouter): an adapter turns its requests into
``FhirRequest`` and writes the ``FhirResponse`` back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from manbing.fhir import bundle as bundle_ops
from manbing.fhir import export, history
from manbing.fhir.auth import Scopes
from manbing.fhir.capability import capability_statement
from manbing.fhir.codec.common import instant, load_json
from manbing.fhir.errors import FhirError, as_fhir_error, outcome
from manbing.fhir.store import EVERYTHING_COUNT, SUPPORTED_TYPES, Store
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class FhirRequest:
    method: str
    path: str  # relative to the FHIR base, e.g. "Patient/123"
    query: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes | None = None


@dataclass
class FhirResponse:
    status: int
    resource: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None  # a non-JSON body (NDJSON export files)
    content_type: str = FHIR_JSON


@dataclass(frozen=True)
class FhirContext:
    uow: Callable[[], UnitOfWork]
    clock: Clock
    actor: Actor | None
    base_url: str
    export_dir: Path | None = None
    scopes: Scopes | None = None  # a system client's token scopes; None for a signed-in user


def recover_exports(uow: Callable[[], UnitOfWork], clock: Clock) -> int:
    """At start-up: mark the export jobs a stopped server left running as failed."""
    return export.recover(uow, clock)


def error_response(error: FhirError) -> FhirResponse:
    return FhirResponse(
        error.status, outcome(error.code, error.diagnostics, expression=error.expression)
    )


def handle(request: FhirRequest, context: FhirContext) -> FhirResponse:
    try:
        return _dispatch(request, context)
    except Exception as exc:
        error = as_fhir_error(exc)
        if error.status >= 500:
            log.exception("FHIR request failed")
        return error_response(error)


def _json_body(request: FhirRequest) -> Any:
    if not request.body:
        raise FhirError(400, "required", "the request has no body")
    try:
        return load_json(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FhirError(400, "structure", f"the body is not valid JSON: {exc}") from exc


def _dispatch(request: FhirRequest, context: FhirContext) -> FhirResponse:
    method = request.method.upper()
    parts = [p for p in request.path.strip("/").split("/") if p]
    if parts == ["metadata"]:
        if method != "GET":
            raise FhirError(405, "not-supported", "metadata is read-only")
        return FhirResponse(
            200, capability_statement(context.base_url, "0.1.0", instant(context.clock.now()))
        )
    if context.actor is None:
        raise FhirError(401, "login", "authentication required")
    actor = context.actor
    if (parts and parts[0].startswith("$")) or parts[-1:] == ["$export"]:
        return _operation(request, context, actor, parts)
    if len(parts) == 3 and parts[0] == "Patient" and parts[2] == "$everything":
        return _everything(context, actor, parts[1])
    if parts == ["_history"] or (len(parts) == 2 and parts[1] == "_history"):
        if method != "GET":
            raise FhirError(405, "not-supported", f"{method} is not supported on {request.path!r}")
        rtype_or_all = parts[0] if len(parts) == 2 else None
        if rtype_or_all is not None and rtype_or_all not in SUPPORTED_TYPES:
            raise FhirError(
                404, "not-supported", f"resource type {rtype_or_all!r} is not supported"
            )
        return _type_history(request, context, actor, rtype_or_all)
    if not parts:
        if method != "POST":
            raise FhirError(405, "not-supported", f"{method} on the base is not supported")
        return _bundle(request, context, actor)
    rtype = parts[0]
    if rtype not in SUPPORTED_TYPES:
        raise FhirError(404, "not-supported", f"resource type {rtype!r} is not supported")
    if len(parts) == 1:
        if method == "GET":
            return _search(request, context, actor, rtype)
        if method == "POST":
            return _create(request, context, actor, rtype)
    elif len(parts) == 2:
        if method == "GET":
            with context.uow() as uow:
                resource = Store(uow.session, actor, context.clock, context.scopes).read(
                    rtype, parts[1]
                )
                uow.commit()
            return FhirResponse(200, resource, _version_headers(resource))
        if method == "PUT":
            body = _json_body(request)
            with context.uow() as uow:
                written = Store(uow.session, actor, context.clock, context.scopes).update(
                    rtype, parts[1], body, request.headers.get("if-match")
                )
                uow.commit()
            return FhirResponse(200, written.resource, _version_headers(written.resource))
    elif len(parts) in (3, 4) and parts[2] == "_history" and method == "GET":
        return _history(context, actor, rtype, parts[1], parts[3] if len(parts) == 4 else None)
    else:
        raise FhirError(404, "not-found", f"no such endpoint {request.path!r}")
    raise FhirError(405, "not-supported", f"{method} is not supported on {request.path!r}")


def _history(
    context: FhirContext, actor: Actor, rtype: str, raw_id: str, version: str | None
) -> FhirResponse:
    """vread (``[type]/[id]/_history/[vid]``) or the instance history (``[type]/[id]/_history``)."""
    with context.uow() as uow:
        store = Store(uow.session, actor, context.clock, context.scopes)
        if version is not None:
            resource = store.vread(rtype, raw_id, version)
            uow.commit()
            return FhirResponse(200, resource, _version_headers(resource))
        found = store.history(rtype, raw_id)
        uow.commit()
    entries = [_history_entry(context.base_url, rtype, raw_id, resource) for resource in found]
    bundle = {"resourceType": "Bundle", "type": "history", "total": len(entries), "entry": entries}
    return FhirResponse(200, bundle)


def _history_entry(base_url: str, rtype: str, raw_id: str, resource: dict[str, Any]) -> Any:
    vid = (resource.get("meta") or {}).get("versionId", "1")
    response: dict[str, str] = {
        "status": "201 Created" if vid == "1" else "200 OK",
        "etag": f'W/"{vid}"',
    }
    if resource["meta"].get("lastUpdated"):
        response["lastModified"] = resource["meta"]["lastUpdated"]
    return {
        "fullUrl": f"{base_url}/{rtype}/{raw_id}/_history/{vid}",
        "resource": resource,
        "request": {"method": "POST" if vid == "1" else "PUT", "url": f"{rtype}/{raw_id}"},
        "response": response,
    }


def _type_history(
    request: FhirRequest, context: FhirContext, actor: Actor, rtype: str | None
) -> FhirResponse:
    """``[type]/_history`` or ``_history``: the stored versions in the caller's scope."""
    query = history.parse(request.query)
    with context.uow() as uow:
        store = Store(uow.session, actor, context.clock, context.scopes)
        found = history.page(store, rtype, query)
        uow.commit()
    kept = [(k, v) for k, v in request.query if k not in ("_offset", "_count")]
    kept.append(("_count", str(query.count)))
    path = f"{context.base_url}/{rtype}/_history" if rtype else f"{context.base_url}/_history"

    def link(relation: str, at: int) -> dict[str, str]:
        return {"relation": relation, "url": f"{path}?{urlencode([*kept, ('_offset', str(at))])}"}

    links = [link("self", query.offset)]
    if query.count and query.offset + query.count < found.total:
        links.append(link("next", query.offset + query.count))
    if query.offset > 0:
        links.append(link("previous", max(0, query.offset - query.count)))
    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "total": found.total,
        "link": links,
        "entry": [
            _history_entry(context.base_url, t, i, resource) for t, i, resource in found.versions
        ],
    }
    return FhirResponse(200, bundle)


def _version_headers(resource: Mapping[str, Any]) -> dict[str, str]:
    meta = resource.get("meta") or {}
    headers = {}
    if meta.get("versionId"):
        headers["ETag"] = f'W/"{meta["versionId"]}"'
    if meta.get("lastUpdated"):
        headers["Last-Modified"] = str(meta["lastUpdated"])
    return headers


def _create(request: FhirRequest, context: FhirContext, actor: Actor, rtype: str) -> FhirResponse:
    body = _json_body(request)
    if_none_exist = request.headers.get("if-none-exist")
    with context.uow() as uow:
        store = Store(uow.session, actor, context.clock, context.scopes)
        if if_none_exist:
            found = store.find_ids(
                rtype, parse_qsl(if_none_exist.lstrip("?"), keep_blank_values=True)
            )
            if len(found) > 1:
                raise FhirError(412, "multiple-matches", "If-None-Exist matches several resources")
            if found:
                resource = store.read(rtype, found[0], audited=False)
                uow.commit()
                return FhirResponse(200, resource, _version_headers(resource))
        written = store.create(rtype, body)
        uow.commit()
    headers = _version_headers(written.resource)
    version = written.resource["meta"]["versionId"]
    headers["Location"] = f"{context.base_url}/{rtype}/{written.id}/_history/{version}"
    return FhirResponse(201, written.resource, headers)


def _search(request: FhirRequest, context: FhirContext, actor: Actor, rtype: str) -> FhirResponse:
    params = list(request.query)
    with context.uow() as uow:
        result = Store(uow.session, actor, context.clock, context.scopes).search(rtype, params)
        uow.commit()
    count = next((int(v) for k, v in params if k == "_count" and v.isdigit()), 50)
    offset = next((int(v) for k, v in params if k == "_offset" and v.isdigit()), 0)
    kept = [(k, v) for k, v in params if k not in ("_offset",)]
    if not any(k == "_count" for k, _ in kept):
        kept.append(("_count", str(count)))

    def link(relation: str, at: int) -> dict[str, str]:
        query = urlencode([*kept, ("_offset", str(at))])
        return {"relation": relation, "url": f"{context.base_url}/{rtype}?{query}"}

    links = [link("self", offset)]
    if count and offset + count < result.total:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    entries = [
        {
            "fullUrl": f"{context.base_url}/{rtype}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in result.resources
    ]
    entries += [
        {
            "fullUrl": f"{context.base_url}/Patient/{r['id']}",
            "resource": r,
            "search": {"mode": "include"},
        }
        for r in result.included
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": result.total,
        "link": links,
        "entry": entries,
    }
    return FhirResponse(200, bundle)


def _bundle(request: FhirRequest, context: FhirContext, actor: Actor) -> FhirResponse:
    body = bundle_ops.validate_bundle(_json_body(request), ("transaction", "batch"))
    mode = bundle_ops.Mode(body["type"])
    with context.uow() as uow:
        store = Store(uow.session, actor, context.clock, context.scopes)
        result = bundle_ops.process(store, body, mode, context.base_url)
        uow.commit()
    return FhirResponse(
        200,
        {
            "resourceType": "Bundle",
            "type": f"{mode.value}-response",
            "entry": result.responses,
        },
    )


def _export_dir(context: FhirContext) -> Path:
    if context.export_dir is None:
        raise FhirError(501, "not-supported", "bulk export is not configured")
    return context.export_dir


def _operation(
    request: FhirRequest, context: FhirContext, actor: Actor, parts: list[str]
) -> FhirResponse:
    method = request.method.upper()
    folder = _export_dir(context)
    if parts[0] == "$export-status" and len(parts) == 2:
        if method == "DELETE":
            export.delete(context.uow, folder, actor, parts[1])
            return FhirResponse(202, None)
        manifest = export.status(context.uow, actor, parts[1], context.clock)
        if manifest is None:
            return FhirResponse(202, None, {"X-Progress": "in progress", "Retry-After": "1"})
        return FhirResponse(200, manifest, content_type="application/json")
    if parts[0] == "$export-file" and len(parts) == 3 and method == "GET":
        data = export.file(context.uow, folder, actor, parts[1], parts[2])
        return FhirResponse(200, None, content=data, content_type="application/fhir+ndjson")
    if parts[-1] == "$export" and method == "GET":
        if parts == ["$export"]:
            level, group = "system", None
        elif parts == ["Patient", "$export"]:
            level, group = "patient", None
        elif len(parts) == 3 and parts[0] == "Group":
            level, group = "group", parts[1]
        else:
            raise FhirError(404, "not-found", f"no such operation {request.path!r}")
        if "respond-async" not in request.headers.get("prefer", ""):
            raise FhirError(400, "invalid", "$export needs the header Prefer: respond-async")
        url = f"{context.base_url}/{request.path.strip('/')}"
        job = export.kick_off(
            context.uow,
            context.clock,
            actor,
            folder,
            level,
            list(request.query),
            group,
            url,
            context.scopes,
        )
        location = f"{context.base_url}/$export-status/{job}"
        accepted = outcome(
            "informational", f"export job accepted; poll {location}", severity="information"
        )
        accepted["issue"][0]["location"] = [location]  # for clients that cannot read headers
        return FhirResponse(202, accepted, {"Content-Location": location})
    raise FhirError(404, "not-found", f"no such operation {request.path!r}")


def _everything(context: FhirContext, actor: Actor, patient_id: str) -> FhirResponse:
    with context.uow() as uow:
        store = Store(uow.session, actor, context.clock, context.scopes)
        patient = store.read("Patient", patient_id)
        found = [patient]
        org = patient["managingOrganization"]["reference"].split("/")[-1]
        try:
            found.append(store.read("Organization", org))
        except Exception:  # an organisation outside the actor's scope is left out
            log.debug("organisation %s not in scope", org)
        for rtype in ("Condition", "Observation"):
            result = store.search(rtype, [("patient", patient_id)], limit=EVERYTHING_COUNT)
            found += result.resources
        uow.commit()
    entries = [
        {"fullUrl": f"{context.base_url}/{r['resourceType']}/{r['id']}", "resource": r}
        for r in found
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "entry": entries,
    }
    return FhirResponse(200, bundle)
