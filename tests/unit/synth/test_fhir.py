"""The FHIR output validates against the R4B models and carries the agreed codes."""

from __future__ import annotations

import json
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner

from manbing.cli.synth import fhir_mappers
from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.synth.config import SynthConfig
from manbing.synth.generator import generate
from manbing.synth.writers.fhir import FhirWriter

MODELS = {
    "Patient": Patient,
    "Organization": Organization,
    "Practitioner": Practitioner,
    "Condition": Condition,
    "Encounter": Encounter,
    "Observation": Observation,
    "MedicationStatement": MedicationStatement,
}
CONFIG = SynthConfig(residents=3_000, seed=3, chunk_size=3_000)


def test_every_ndjson_resource_validates_with_r4b(tmp_path: Path) -> None:
    writer = FhirWriter(tmp_path, fhir_mappers())
    for batch in generate(CONFIG):
        writer.write(batch)
    writer.close()
    assert {p.stem for p in tmp_path.glob("*.ndjson")} == set(MODELS)
    for kind, model in MODELS.items():
        lines = (tmp_path / f"{kind}.ndjson").read_text(encoding="utf-8").splitlines()
        assert lines, kind
        for line in lines[:1500]:
            model.model_validate(json.loads(line))


def test_blood_pressure_is_a_panel_with_systolic_and_diastolic_components(tmp_path: Path) -> None:
    writer = FhirWriter(tmp_path, fhir_mappers())
    for batch in generate(CONFIG):
        writer.write(batch)
    writer.close()
    bp = [
        json.loads(x)
        for x in (tmp_path / "Observation.ndjson").read_text(encoding="utf-8").splitlines()
    ]
    bp = [o for o in bp if o["code"]["coding"][0]["code"] == "85354-9"]
    assert bp
    codes = [c["code"]["coding"][0]["code"] for c in bp[0]["component"]]
    assert codes == ["8480-6", "8462-4"]
    assert bp[0]["component"][0]["valueQuantity"]["code"] == "mm[Hg]"
    patients = [
        json.loads(x)
        for x in (tmp_path / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    ]
    assert any(i["system"] == NATIONAL_ID_SYSTEM for p in patients for i in p["identifier"])
    conditions = [
        json.loads(x)
        for x in (tmp_path / "Condition.ndjson").read_text(encoding="utf-8").splitlines()
    ]
    pairs = {
        (c["code"]["coding"][0]["code"], c["code"]["coding"][1]["code"][:3]) for c in conditions
    }
    assert ("38341003", "I10") in pairs and ("44054006", "E11") in pairs


def test_transaction_bundles_validate(tmp_path: Path) -> None:
    writer = FhirWriter(tmp_path, fhir_mappers(), bundle=True, bundle_size=50)
    for batch in generate(SynthConfig(residents=1_000, seed=3, chunk_size=1_000)):
        writer.write(batch)
    writer.close()
    files = sorted(tmp_path.glob("bundle-*.json"))
    assert len(files) >= 20
    for path in files[:3]:
        bundle = Bundle.model_validate_json(path.read_text(encoding="utf-8"))
        assert bundle.type == "transaction" and bundle.entry
