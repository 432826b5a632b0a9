"""FHIR R4 output: NDJSON per resource type, or transaction Bundles per N patients."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from manbing.fhir.mappers import (
    condition_from_enrolment,
    encounter_from_follow_up,
    medication_statement_from_row,
    observation_from_row,
    organization_from_row,
    patient_from_row,
    practitioner_from_row,
)
from manbing.synth.generator import Batch

Mapper = Callable[[Mapping[str, Any]], dict[str, Any]]
# table → (mapper, the column naming the patient the resource belongs to)
_CLINICAL: dict[str, tuple[Mapper, str]] = {
    "enrolments": (condition_from_enrolment, "resident_id"),
    "follow_ups": (encounter_from_follow_up, "resident_id"),
    "observations": (observation_from_row, "resident_id"),
    "medication_statements": (medication_statement_from_row, "resident_id"),
}


def resources(batch: Batch) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(patient id or None, resource) for every mapped row of a batch."""
    t = batch.tables
    if "organizations" in t:
        for row in t["organizations"].to_pylist():
            yield None, organization_from_row(row)
    if "practitioners" in t:
        for row in t["practitioners"].to_pylist():
            yield None, practitioner_from_row(row)
    if "residents" in t:
        idents: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for ident in t["resident_identifiers"].to_pylist():
            idents[ident["resident_id"]].append(ident)
        for row in t["residents"].to_pylist():
            yield row["id"], patient_from_row(row, idents.get(row["id"], ()))
    for name, (mapper, key) in _CLINICAL.items():
        if name in t:
            for row in t[name].to_pylist():
                yield row[key], mapper(row)


class FhirWriter:
    def __init__(
        self,
        directory: Path,
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
        self.bundle = bundle
        self.bundle_size = bundle_size
        self.rows: dict[str, int] = {}
        self._files: dict[str, TextIO] = {}
        self._bundles = 0

    def write(self, batch: Batch) -> None:
        if not self.bundle:
            for _patient, res in resources(batch):
                self._ndjson(res)
            return
        shared: list[dict[str, Any]] = []
        by_patient: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for patient, res in resources(batch):
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
