"""FHIR R4 output: NDJSON per resource type, or transaction Bundles per N patients.

The row → resource mappers live in ``manbing.fhir.mappers``; ``manbing.synth`` and
``manbing.fhir`` are independent layers, so the caller (the CLI) passes them in.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from manbing.synth.generator import Batch

Mapper = Callable[[Mapping[str, Any]], dict[str, Any]]
PatientMapper = Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], dict[str, Any]]


@dataclass(frozen=True)
class FhirMappers:
    patient: PatientMapper
    organization: Mapper
    practitioner: Mapper
    condition: Mapper  # from an enrolments row
    encounter: Mapper  # from a follow_ups row
    observation: Mapper
    medication_statement: Mapper


def resources(batch: Batch, m: FhirMappers) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(patient id or None, resource) for every mapped row of a batch."""
    t = batch.tables
    if "organizations" in t:
        for row in t["organizations"].to_pylist():
            yield None, m.organization(row)
    if "practitioners" in t:
        for row in t["practitioners"].to_pylist():
            yield None, m.practitioner(row)
    if "residents" in t:
        idents: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for ident in t["resident_identifiers"].to_pylist():
            idents[ident["resident_id"]].append(ident)
        for row in t["residents"].to_pylist():
            yield row["id"], m.patient(row, idents.get(row["id"], []))
    clinical = (
        ("enrolments", m.condition),
        ("follow_ups", m.encounter),
        ("observations", m.observation),
        ("medication_statements", m.medication_statement),
    )
    for name, mapper in clinical:
        if name in t:
            for row in t[name].to_pylist():
                yield row["resident_id"], mapper(row)


class FhirWriter:
    def __init__(
        self,
        directory: Path,
        mappers: FhirMappers,
        *,
        bundle: bool = False,
        bundle_size: int = 100,
        replace: bool = False,
    ) -> None:
        if directory.exists() and any(directory.iterdir()):
            if not replace:
                raise FileExistsError(f"{directory} is not empty: pass --replace to overwrite it")
            shutil.rmtree(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.mappers = mappers
        self.bundle = bundle
        self.bundle_size = bundle_size
        self.rows: dict[str, int] = {}
        self._files: dict[str, TextIO] = {}
        self._bundles = 0

    def write(self, batch: Batch) -> None:
        if not self.bundle:
            for _patient, res in resources(batch, self.mappers):
                self._ndjson(res)
            return
        shared: list[dict[str, Any]] = []
        by_patient: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for patient, res in resources(batch, self.mappers):
            (by_patient[patient] if patient else shared).append(res)
            self.rows[res["resourceType"]] = self.rows.get(res["resourceType"], 0) + 1
        if shared:
            self._write_bundle(shared)
        patients = list(by_patient)
        for start in range(0, len(patients), self.bundle_size):
            self._write_bundle(
                [r for p in patients[start : start + self.bundle_size] for r in by_patient[p]]
            )

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files = {}

    def _ndjson(self, res: dict[str, Any]) -> None:
        kind = res["resourceType"]
        f = self._files.get(kind)
        if f is None:
            f = self._files[kind] = (self.directory / f"{kind}.ndjson").open("w", encoding="utf-8")
        f.write(json.dumps(res, ensure_ascii=False, separators=(",", ":")))
        f.write("\n")
        self.rows[kind] = self.rows.get(kind, 0) + 1

    def _write_bundle(self, entries: list[dict[str, Any]]) -> None:
        self._bundles += 1
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": f"urn:uuid:{r['id']}",
                    "resource": r,
                    "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
                }
                for r in entries
            ],
        }
        path = self.directory / f"bundle-{self._bundles:06d}.json"
        path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
