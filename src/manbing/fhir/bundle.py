"""Transaction and batch Bundles (and the lenient import mode) over one ``Store``.

Entries run in FHIR's order (POST, then PUT, then GET), creates of Organization, Practitioner and
Patient first, and every ``urn:uuid`` (or absolute) ``fullUrl`` is replaced by ``Type/id`` in later
entries' references. A transaction stops at the first failure: the caller rolls back everything.
In a batch (and the import mode) each entry runs in a savepoint of its own: a failing entry gets
its error response and leaves nothing behind (no rows, no reference mapping, no counts), and the
others are kept.
"""

from __future__ import annotations

import copy
import logging
from collections import ChainMap, Counter
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.exc import DBAPIError

from manbing.domain.errors import DomainError
from manbing.fhir import source_keys
from manbing.fhir.codec.common import StructureError, validate_structure
from manbing.fhir.codec.observation import UnsupportedCode
from manbing.fhir.errors import FhirError, as_fhir_error, outcome
from manbing.fhir.store import SUPPORTED_TYPES, WRITABLE_TYPES, Store

log = logging.getLogger(__name__)
_CREATE_ORDER = {"Organization": 0, "Practitioner": 1, "Patient": 2}
# what fails one entry of a batch or import (anything else is a fault of the server)
_ENTRY_ERRORS = (
    DomainError,
    FhirError,
    StructureError,
    ValueError,
    TypeError,
    KeyError,
    DBAPIError,
)
_METHOD_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


class Mode(StrEnum):
    TRANSACTION = "transaction"
    BATCH = "batch"
    IMPORT = "import"


@dataclass
class Rejected:
    index: int
    resource_type: str
    reason: str


@dataclass
class BundleResult:
    responses: list[dict[str, Any]]
    created: Counter[str] = field(default_factory=Counter)
    matched: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def _rewrite(node: Any, ids: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite(v, ids) for k, v in node.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in ids:
            out["reference"] = ids[ref]
        return out
    if isinstance(node, list):
        return [_rewrite(v, ids) for v in node]
    return node


def _unresolved(node: Any) -> str | None:
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref.startswith("urn:uuid:"):
            return ref
        for value in node.values():
            found = _unresolved(value)
            if found:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _unresolved(value)
            if found:
                return found
    return None


def _sort_key(item: tuple[int, dict[str, Any]]) -> tuple[int, int, int]:
    index, entry = item
    request = entry.get("request")
    method = str(request.get("method", "")).upper() if isinstance(request, dict) else ""
    rtype = _type_of(entry)
    return _METHOD_ORDER.get(method, 9), _CREATE_ORDER.get(rtype, 3), index


def validate_bundle(body: Any, modes: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise FhirError(400, "structure", "the body must be a Bundle", "resourceType")
    if body.get("type") not in modes:
        raise FhirError(
            400, "invalid", f"Bundle.type must be one of {', '.join(modes)}", "Bundle.type"
        )
    # The envelope only: each entry's resource is checked when its entry runs, so a malformed
    # resource fails its own entry of a batch (and, named by its entry, a whole transaction).
    entries = body.get("entry")
    envelope = body
    if isinstance(entries, list):
        envelope = {
            **body,
            "entry": [
                {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                for e in entries
            ],
        }
    try:
        validate_structure(envelope, "Bundle")
    except StructureError as exc:
        where = f"Bundle.{exc.expression}" if exc.expression else "Bundle"
        raise FhirError(400, "structure", str(exc), where) from exc
    return body


def process(
    store: Store,
    bundle: dict[str, Any],
    mode: Mode,
    base_url: str = "",
    ids: dict[str, str] | None = None,
) -> BundleResult:
    """Run the entries; ``ids`` maps source references (fullUrl, ``Type/id``) to stored ones."""
    entries = bundle.get("entry") or []
    responses: list[dict[str, Any]] = [{} for _ in entries]
    result = BundleResult(responses)
    ids = {} if ids is None else ids
    ordered = sorted(enumerate(entries), key=_sort_key)
    if mode is Mode.TRANSACTION:
        for index, entry in ordered:
            try:
                responses[index] = _entry(store, entry, ids, mode, result, base_url)
            except Exception as exc:
                raise as_fhir_error(exc, prefix=f"Bundle.entry[{index}]") from exc
        return result
    for start in range(0, len(ordered), GROUP):
        group = ordered[start : start + GROUP]
        if not _group(store, group, ids, mode, result, base_url):
            for index, entry in group:
                _alone(store, index, entry, ids, mode, result, base_url)
    return result


# Batch and import entries run GROUP at a time in one savepoint: one savepoint and one flush per
# entry would halve the import rate. An entry failing before it wrote anything (the common case:
# a bad or unsupported resource) is simply answered; if one fails after writing, or the group's
# rows fail to flush, the group is rolled back and run again one entry per savepoint.
GROUP = 50


class _Replay(Exception):
    """An entry of the group failed after writing: run the group one entry at a time."""


def _group(
    store: Store,
    group: list[tuple[int, dict[str, Any]]],
    ids: dict[str, str],
    mode: Mode,
    result: BundleResult,
    base_url: str,
) -> bool:
    """The group in one savepoint; False (and nothing of it kept) if it must be run again."""
    added: dict[str, str] = {}
    kept = BundleResult([])  # counts and rejections, merged only if the group is kept
    answers: dict[int, dict[str, Any]] = {}
    try:
        with store.savepoint():
            for index, entry in group:
                mark = store.mark()
                entry_ids: dict[str, str] = {}
                counts = BundleResult([])
                try:
                    response = _entry(
                        store, entry, ChainMap(entry_ids, added, ids), mode, counts, base_url
                    )
                except _ENTRY_ERRORS as exc:
                    if isinstance(exc, DBAPIError) or not store.untouched_since(mark):
                        raise _Replay from exc
                    answers[index] = _failure(kept, index, entry, mode, exc)
                    continue
                except Exception as exc:
                    raise as_fhir_error(exc, prefix=f"Bundle.entry[{index}]") from exc
                added.update(entry_ids)
                _add_counts(kept, counts)
                answers[index] = response
    except (_Replay, DBAPIError):  # DBAPIError: the group's rows failed to flush
        return False
    ids.update(added)
    _add_counts(result, kept)
    result.skipped.update(kept.skipped)
    result.rejected.extend(kept.rejected)
    for index, answer in answers.items():
        result.responses[index] = answer
    return True


def _alone(
    store: Store,
    index: int,
    entry: dict[str, Any],
    ids: dict[str, str],
    mode: Mode,
    result: BundleResult,
    base_url: str,
) -> None:
    """One entry in its own savepoint: kept whole, or (on failure) nothing of it but its answer."""
    added: dict[str, str] = {}  # the entry's reference mappings, kept only if it succeeds
    counts = BundleResult([])
    try:
        with store.savepoint():
            response = _entry(store, entry, ChainMap(added, ids), mode, counts, base_url)
    except _ENTRY_ERRORS as exc:
        if isinstance(exc, DBAPIError):
            _log_refusal(index, entry, exc)
        result.responses[index] = _failure(result, index, entry, mode, exc)
        return
    except Exception as exc:
        raise as_fhir_error(exc, prefix=f"Bundle.entry[{index}]") from exc
    ids.update(added)
    _add_counts(result, counts)
    result.responses[index] = response


def _add_counts(result: BundleResult, counts: BundleResult) -> None:
    result.created.update(counts.created)
    result.matched.update(counts.matched)
    result.updated.update(counts.updated)


def _failure(
    result: BundleResult, index: int, entry: dict[str, Any], mode: Mode, exc: Exception
) -> dict[str, Any]:
    """Count a failed entry (rejected, or skipped on import) and return its answer."""
    rtype = _type_of(entry)
    if isinstance(exc, UnsupportedCode) and mode is Mode.IMPORT:
        result.skipped[f"{rtype} (code not in catalogue)"] += 1
        return {}
    error = as_fhir_error(exc, prefix=f"Bundle.entry[{index}]")
    if error.status >= 500:  # a fault of the server, not of the entry: the operator must know
        log.error("Bundle.entry[%d] (%s) failed", index, rtype, exc_info=exc)
    result.rejected.append(Rejected(index, rtype, error.diagnostics))
    return {
        "response": {
            "status": str(error.status),
            "outcome": outcome(error.code, error.diagnostics, expression=error.expression),
        }
    }


def _type_of(entry: dict[str, Any]) -> str:
    resource = entry.get("resource")
    return str(resource.get("resourceType", "?")) if isinstance(resource, dict) else "?"


def _log_refusal(index: int, entry: dict[str, Any], exc: DBAPIError) -> None:
    """For the operator: which constraint, never the statement or its values (personal data)."""
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    log.warning(
        "Bundle.entry[%d] (%s) refused by the database: %s sqlstate=%s constraint=%s",
        index,
        _type_of(entry),
        type(orig).__name__,
        getattr(orig, "sqlstate", None),
        getattr(diag, "constraint_name", None),
    )


def _entry(
    store: Store,
    entry: dict[str, Any],
    ids: MutableMapping[str, str],
    mode: Mode,
    result: BundleResult,
    base_url: str,
) -> dict[str, Any]:
    request = entry.get("request")
    if not isinstance(request, dict) and mode is Mode.IMPORT:
        resource = entry.get("resource")
        rtype = resource.get("resourceType", "") if isinstance(resource, dict) else ""
        request = {"method": "POST", "url": str(rtype)}
    if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
        raise FhirError(
            400, "required", "every entry needs request.method and request.url", "request"
        )
    method = str(request["method"]).upper()
    url = str(request["url"]).lstrip("/")
    path, _, query = url.partition("?")
    full_url = entry.get("fullUrl")
    resource = entry.get("resource")
    if method in ("POST", "PUT"):
        if not isinstance(resource, dict):
            raise FhirError(400, "required", f"{method} entries need a resource", "resource")
        rtype = resource.get("resourceType")
        if rtype not in WRITABLE_TYPES:
            raise FhirError(
                422 if mode is Mode.IMPORT else 400,
                "not-supported",
                f"resource type {rtype!r} is not supported",
            )
        if path.split("/")[0] != rtype:
            raise FhirError(
                400, "invalid", f"request.url {url!r} does not match {rtype}", "request.url"
            )
        resource = _rewrite(copy.deepcopy(resource), ids)
        if mode is not Mode.IMPORT:
            dangling = _unresolved(resource)
            if dangling:
                raise FhirError(
                    400, "invalid", f"reference {dangling} matches no entry", "resource"
                )
    if method == "POST":
        assert isinstance(resource, dict)
        rtype = str(resource["resourceType"])
        existing = _existing(store, rtype, resource, request.get("ifNoneExist"), mode, full_url)
        if existing is not None:
            if isinstance(full_url, str):
                ids[full_url] = f"{rtype}/{existing}"
            if isinstance(resource.get("id"), str):
                ids[f"{rtype}/{resource['id']}"] = f"{rtype}/{existing}"
            result.matched[rtype] += 1
            return {"response": {"status": "200 OK", "location": f"{rtype}/{existing}"}}
        source_id = resource.get("id")
        key = source_keys.source_id(rtype, full_url, resource) if mode is Mode.IMPORT else None
        written = store.create(rtype, resource, matched=mode is Mode.IMPORT, source_id=key)
        if isinstance(full_url, str):
            ids[full_url] = f"{rtype}/{written.id}"
        if isinstance(source_id, str):
            ids[f"{rtype}/{source_id}"] = f"{rtype}/{written.id}"
        result.created[rtype] += 1
        return {
            "fullUrl": f"{base_url}/{rtype}/{written.id}",
            "resource": written.resource,
            "response": {
                "status": "201 Created",
                "location": f"{rtype}/{written.id}/_history/{written.resource['meta']['versionId']}",
            },
        }
    if method == "PUT":
        assert isinstance(resource, dict)
        rtype = str(resource["resourceType"])
        if query:
            found = store.find_ids(rtype, parse_qsl(query, keep_blank_values=True))
            if len(found) > 1:
                raise FhirError(412, "multiple-matches", f"{url} matches more than one resource")
            if not found and mode is Mode.IMPORT:
                existing = _existing(store, rtype, resource, None, mode, full_url)
                if existing is not None:  # the importer's identity matching finds the resident
                    if isinstance(full_url, str):
                        ids[full_url] = f"{rtype}/{existing}"
                    result.matched[rtype] += 1
                    return {"response": {"status": "200 OK", "location": f"{rtype}/{existing}"}}
            written = (
                store.update(rtype, found[0], {**resource, "id": found[0]})
                if found
                else store.create(rtype, resource)
            )
        else:
            parts = path.split("/")
            if len(parts) != 2:
                raise FhirError(400, "invalid", f"bad request.url {url!r}", "request.url")
            written = store.update(rtype, parts[1], resource, request.get("ifMatch"))
        (result.created if written.created else result.updated)[rtype] += 1
        if isinstance(full_url, str):
            ids[full_url] = f"{rtype}/{written.id}"
        return {
            "fullUrl": f"{base_url}/{rtype}/{written.id}",
            "resource": written.resource,
            "response": {"status": "201 Created" if written.created else "200 OK"},
        }
    if method == "GET":
        parts = path.split("/")
        if parts[0] not in SUPPORTED_TYPES:
            raise FhirError(404, "not-supported", f"resource type {parts[0]!r} is not supported")
        if len(parts) == 2 and not query:
            return {"resource": store.read(parts[0], parts[1]), "response": {"status": "200 OK"}}
        found_all = store.search(parts[0], parse_qsl(query, keep_blank_values=True))
        return {
            "resource": {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": found_all.total,
                "entry": [{"resource": r} for r in found_all.resources],
            },
            "response": {"status": "200 OK"},
        }
    raise FhirError(
        405, "not-supported", f"{method} is not supported in a Bundle", "request.method"
    )


def _existing(
    store: Store,
    rtype: str,
    resource: dict[str, Any],
    if_none_exist: Any,
    mode: Mode,
    full_url: Any = None,
) -> str | None:
    if isinstance(if_none_exist, str) and if_none_exist:
        found = store.find_ids(rtype, parse_qsl(if_none_exist.lstrip("?"), keep_blank_values=True))
        if len(found) > 1:
            raise FhirError(
                412, "multiple-matches", f"ifNoneExist {if_none_exist} matches more than one"
            )
        if found:
            return found[0]
    if mode is Mode.IMPORT:
        if rtype == "Patient":
            return store.match_patient(resource, by_name=True)
        if rtype == "Practitioner":
            return store.find_practitioner(resource)
        if rtype == "Organization":
            return store.find_organization(resource)
        key = source_keys.source_id(rtype, full_url, resource)
        if key:
            return store.find_by_source(rtype, key, resource)
    return None
