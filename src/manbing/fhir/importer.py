"""``manbing fhir import``: transaction/batch/collection Bundles, single resources and NDJSON.

Each transaction or batch Bundle is loaded in its own database transaction; loose resources (single
JSON files, collection/searchset Bundles, NDJSON lines) are loaded together afterwards. Source
references (``fullUrl``s and ``Type/id``) are mapped to the stored ids across the whole run, so an
Observation file may refer to a Patient loaded from another file. Residents are matched, not
duplicated: national ID first, then any other identifier, then (without identifiers) name and
birth date. Entries of unsupported types are counted as skipped; invalid entries are rejected with
their reason and leave nothing stored (each entry runs in a savepoint, see ``bundle``), and the
rest of the file still loads.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from manbing.fhir import bundle as bundle_ops
from manbing.fhir.codec.common import StructureError, load_json
from manbing.fhir.errors import as_fhir_error
from manbing.fhir.store import IMPORTED_TYPES, Store
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RejectedEntry:
    source: str
    resource_type: str
    reason: str


@dataclass
class ImportReport:
    files: int = 0
    created: Counter[str] = field(default_factory=Counter)
    matched: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: list[RejectedEntry] = field(default_factory=list)

    def add(
        self, result: bundle_ops.BundleResult, source: str, entries: list[dict[str, Any]]
    ) -> None:
        self.created.update(result.created)
        self.matched.update(result.matched)
        self.updated.update(result.updated)
        self.skipped.update(result.skipped)
        for item in result.rejected:
            where = f"{source}#entry[{item.index}]" if len(entries) > 1 else source
            self.rejected.append(RejectedEntry(where, item.resource_type, item.reason))


@dataclass
class _Unit:
    source: str
    entries: list[dict[str, Any]]
    transactional: bool  # a transaction/batch Bundle loaded on its own


def files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in (".json", ".ndjson") and p.is_file())


NUL_REASON = "the file holds a NUL character (U+0000), which cannot be stored; nothing was loaded"


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _has_nul(text: str, parsed: Any) -> bool:
    """A NUL decoded from a ``\\u0000`` escape (raw NUL bytes are refused before parsing).

    PostgreSQL text and JSON columns cannot hold U+0000: the whole file (or NDJSON line) is refused.
    The text test is a cheap filter; the walk rules out an escaped backslash before ``u0000``.
    """
    return "\\u0000" in text and _holds_nul(parsed)


def _units(path: Path, report: ImportReport) -> Iterator[_Unit]:
    loose: list[dict[str, Any]] = []
    for file in files_under(path):
        report.files += 1
        source = str(file)
        try:
            if file.suffix == ".ndjson":
                for n, line in enumerate(file.read_text("utf-8").splitlines(), 1):
                    if not line.strip():
                        continue
                    if "\x00" in line:
                        report.rejected.append(RejectedEntry(f"{source}:{n}", "?", NUL_REASON))
                        continue
                    resource = load_json(line)
                    if _has_nul(line, resource):
                        report.rejected.append(RejectedEntry(f"{source}:{n}", "?", NUL_REASON))
                        continue
                    loose.append({"resource": resource, "source": f"{source}:{n}"})
                continue
            text = file.read_text("utf-8")
            if "\x00" in text:
                report.rejected.append(RejectedEntry(source, "?", NUL_REASON))
                continue
            data = load_json(text)
        except (OSError, ValueError, StructureError) as exc:
            report.rejected.append(RejectedEntry(source, "?", f"unreadable file: {exc}"))
            continue
        if _has_nul(text, data):
            report.rejected.append(RejectedEntry(source, "?", NUL_REASON))
            continue
        if not isinstance(data, dict):
            report.rejected.append(RejectedEntry(source, "?", "not a FHIR resource"))
        elif data.get("resourceType") == "Bundle" and data.get("type") in ("transaction", "batch"):
            yield _Unit(source, list(data.get("entry") or []), True)
        elif data.get("resourceType") == "Bundle":
            loose += [
                {"resource": e.get("resource"), "source": f"{source}#entry[{n}]"}
                for n, e in enumerate(data.get("entry") or [])
            ]
        else:
            loose.append({"resource": data, "source": source})
    if loose:
        yield _Unit("", loose, False)


def _supported(
    entries: list[dict[str, Any]], report: ImportReport, source: str
) -> list[dict[str, Any]]:
    kept = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            report.rejected.append(RejectedEntry(f"{source}#entry[{n}]", "-", "not an object"))
            continue
        resource = entry.get("resource")
        rtype = resource.get("resourceType", "?") if isinstance(resource, dict) else None
        method = str((entry.get("request") or {}).get("method", "POST")).upper()
        where = entry.get("source") or f"{source}#entry[{n}]"
        if rtype is None or method not in ("POST", "PUT"):
            report.rejected.append(
                RejectedEntry(where, rtype or "-", f"{method} entries are not imported")
            )
        elif rtype not in IMPORTED_TYPES:
            report.skipped[rtype] += 1
        else:
            kept.append(entry)
    return kept


CHUNK = 25  # transaction Bundles loaded per database transaction (retried one by one on failure)


def _record(report: ImportReport, unit: _Unit, entries: list[dict[str, Any]], result: Any) -> None:
    if unit.transactional:
        report.add(result, unit.source, entries)
        return
    sources = [str(e.get("source") or unit.source) for e in entries]
    report.created.update(result.created)
    report.matched.update(result.matched)
    report.updated.update(result.updated)
    report.skipped.update(result.skipped)
    for item in result.rejected:
        report.rejected.append(RejectedEntry(sources[item.index], item.resource_type, item.reason))


def import_path(
    uow_factory: Callable[[], UnitOfWork],
    actor: Actor,
    clock: Clock,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    ids: dict[str, str] = {}

    def load(chunk: list[tuple[_Unit, list[dict[str, Any]]]]) -> None:
        nonlocal ids
        staged = dict(ids)
        results = []
        with uow_factory() as uow:
            store = Store(uow.session, actor, clock, bulk=True)
            try:
                for _unit, entries in chunk:
                    results.append(
                        bundle_ops.process(
                            store, {"entry": entries}, bundle_ops.Mode.IMPORT, ids=staged
                        )
                    )
                store.flush_audit()
                uow.commit()
            except Exception as exc:  # a failure outside one entry
                if len(chunk) > 1:
                    uow.session.rollback()
                    for one in chunk:  # find the culprit: load each Bundle on its own
                        load([one])
                    return
                unit, entries = chunk[0]
                source = unit.source or str(entries[0].get("source"))
                reason = as_fhir_error(exc).diagnostics if isinstance(exc, DBAPIError) else str(exc)
                report.rejected.append(RejectedEntry(source, "Bundle", reason))
                return
        ids = staged
        for (unit, entries), result in zip(chunk, results, strict=True):
            _record(report, unit, entries, result)

    chunk: list[tuple[_Unit, list[dict[str, Any]]]] = []
    for unit in list(_units(path, report)):
        entries = _supported(unit.entries, report, unit.source)
        if entries:
            if not unit.transactional:
                if chunk:
                    load(chunk)
                    chunk = []
                load([(unit, entries)])
            else:
                chunk.append((unit, entries))
                if len(chunk) >= CHUNK:
                    load(chunk)
                    chunk = []
        if progress:
            progress(len(unit.entries))
    if chunk:
        load(chunk)
    return report


def count_entries(path: Path) -> int:
    """How many entries or lines the files hold (the progress bar's length)."""
    total = 0
    for file in files_under(path):
        try:
            if file.suffix == ".ndjson":
                total += sum(1 for line in file.read_text("utf-8").splitlines() if line.strip())
                continue
            data = json.loads(file.read_text("utf-8"))
        except (OSError, ValueError, RecursionError):  # import_path reports the file
            continue
        is_bundle = isinstance(data, dict) and data.get("resourceType") == "Bundle"
        total += len(data.get("entry") or []) if is_bundle else 1
    return total
