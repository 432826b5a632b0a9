"""Transaction and batch Bundles at POST /fhir: urn:uuid references, all or nothing."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import Condition, Observation, Resident
from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.domain.identity import check_character
from tests.e2e.conftest import login

PATIENT_URL = "urn:uuid:" + str(uuid.UUID(int=1))


def _bundle(kind: str = "transaction", id_number: str = "33010819600315003X") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": "urn:uuid:" + str(uuid.UUID(int=2)),
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
                    "subject": {"reference": PATIENT_URL},
                    "effectiveDateTime": "2026-10-01T09:00:00+08:00",
                    "valueQuantity": {"value": 7.4, "unit": "%", "code": "%"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
            {
                "fullUrl": PATIENT_URL,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": id_number}],
                    "name": [{"text": "李秀英"}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:" + str(uuid.UUID(int=3)),
                "resource": {
                    "resourceType": "Condition",
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
                    "subject": {"reference": PATIENT_URL},
                    "onsetDateTime": "2019-05-01",
                },
                "request": {"method": "POST", "url": "Condition"},
            },
        ],
    }


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Resident)) or 0,
            session.scalar(select(func.count()).select_from(Observation)) or 0,
            session.scalar(select(func.count()).select_from(Condition)) or 0,
        )


def test_a_transaction_resolves_urn_uuid_references_between_its_entries(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    csrf = login(client)
    response = client.post("/fhir", json=_bundle(), headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["201 Created"] * 3
    patient_id = body["entry"][1]["resource"]["id"]
    assert body["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{patient_id}"
    assert body["entry"][2]["resource"]["code"]["coding"][1] == {
        "system": "http://hl7.org/fhir/sid/icd-10",
        "code": "E11",
    }
    hba1c = client.get("/fhir/Observation", params={"patient": patient_id}).json()
    assert hba1c["entry"][0]["resource"]["valueQuantity"]["value"] == 7.4


def test_a_failing_entry_rolls_back_the_whole_transaction(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    csrf = login(client)
    bundle = _bundle()
    bundle["entry"][2]["resource"]["subject"] = {"reference": "urn:uuid:" + str(uuid.uuid4())}
    before = _counts(app_db)
    response = client.post("/fhir", json=bundle, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"][0].startswith("Bundle.entry[2]")
    assert _counts(app_db) == before


def test_a_batch_keeps_the_good_entries_and_reports_the_bad_one(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    csrf = login(client)
    bundle = _bundle("batch")
    bundle["entry"][0]["resource"]["valueQuantity"]["value"] = 70  # HbA1c 70 % is implausible
    before = _counts(app_db)
    response = client.post("/fhir", json=bundle, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    assert entries[0]["response"]["status"] == "422"
    assert entries[0]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert [e["response"]["status"] for e in entries[1:]] == ["201 Created"] * 2
    residents, observations, conditions = _counts(app_db)
    assert (residents, observations, conditions) == (before[0] + 1, before[1], before[2] + 1)


HAND_WRITTEN: list[tuple[str, Any]] = [
    ("not a bundle", {"resourceType": "Patient"}),
    ("collection", {**_bundle(), "type": "collection"}),
    ("entry not a list", {**_bundle(), "entry": {"a": 1}}),
    ("reference to nothing", "bad-ref"),
    ("wrong type", "wrong-type"),
    ("missing status", "missing-status"),
    ("invalid id number", _bundle(id_number="330108196003150031")),
    ("unsupported type", "claim"),
    ("reference of wrong type", "wrong-ref-type"),
]


def _hand_written(name: str) -> dict[str, Any]:
    bundle = _bundle()
    if name == "bad-ref":
        bundle["entry"][0]["resource"]["subject"] = {"reference": "Patient/does-not-exist"}
    elif name == "wrong-type":
        bundle["entry"][0]["resource"]["valueQuantity"] = "7.4 %"
    elif name == "missing-status":
        del bundle["entry"][0]["resource"]["status"]
    elif name == "claim":
        bundle["entry"].append(
            {"resource": {"resourceType": "Basic"}, "request": {"method": "POST", "url": "Basic"}}
        )
    elif name == "wrong-ref-type":
        bundle["entry"][2]["resource"]["subject"] = {"reference": "Organization/1"}
    return bundle


def test_hand_written_malformed_bundles_return_operation_outcome_and_write_nothing(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    csrf = login(client)
    before = _counts(app_db)
    for name, payload in HAND_WRITTEN:
        body = _hand_written(payload) if isinstance(payload, str) else payload
        response = client.post("/fhir", json=body, headers={"X-CSRF-Token": csrf})
        assert 400 <= response.status_code < 500, (name, response.text)
        assert response.json()["resourceType"] == "OperationOutcome", name
    assert _counts(app_db) == before


def _wrong_check(first17: str) -> str:
    right = check_character(first17)
    return first17 + ("0" if right != "0" else "1")


_MUTATIONS = st.one_of(
    st.tuples(
        st.just("id"),
        st.from_regex(r"330108(19[5-9][0-9])(0[1-9])(1[0-9])[0-9]{3}", fullmatch=True),
    ),
    st.tuples(st.just("dangling"), st.uuids().map(str)),
    st.tuples(
        st.just("drop"),
        st.sampled_from(["status", "code", "subject", "effectiveDateTime", "valueQuantity"]),
    ),
    st.tuples(
        st.just("type"),
        st.sampled_from(["status", "effectiveDateTime", "valueQuantity", "code", "subject"]),
    ),
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    mutation=_MUTATIONS,
    junk=st.one_of(st.integers(), st.lists(st.integers(), min_size=1), st.just(True)),
)
def test_generated_malformed_transactions_return_operation_outcome_and_write_nothing(
    client: TestClient, app_db: sessionmaker[Session], mutation: tuple[str, str], junk: Any
) -> None:
    csrf = login(client)
    before = _counts(app_db)
    kind, detail = mutation
    bundle = _bundle(id_number=_wrong_check(detail) if kind == "id" else "33010819600315003X")
    observation = bundle["entry"][0]["resource"]
    if kind == "dangling":
        observation["subject"] = {"reference": f"urn:uuid:{detail}"}
    elif kind == "drop":
        del observation[detail]
    elif kind == "type":
        observation[detail] = copy.deepcopy(junk)
    response = client.post("/fhir", json=bundle, headers={"X-CSRF-Token": csrf})
    assert 400 <= response.status_code < 500, (mutation, response.text)
    assert response.json()["resourceType"] == "OperationOutcome"
    assert _counts(app_db) == before
