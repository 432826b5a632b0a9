"""Type and system ``_history``: the stored versions in the caller's scope, newest first.

Personas: the station's doctor, the centre above it, a doctor of another centre (who sees none
of the station's versions), a CDC analyst (masked: no Patient versions), a client whose token
reads Observations only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import update

from manbing.db.models import FhirResourceVersion
from manbing.domain.organisations import Role
from manbing.fhir.auth import Scopes
from manbing.fhir.router import FhirContext, FhirRequest, FhirResponse, handle
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import NOW, District
from tests.integration.fhir_helpers import BASE, Fhir, as_role, issue


def _patient(name: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"text": name}],
        "gender": "female",
        "birthDate": "1955-06-07",
    }


def _hba1c(patient: str, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-10-01T09:00:00+08:00",
        "valueQuantity": {"value": value, "unit": "%", "code": "%"},
    }


def _write_some(fhir: Fhir, name: str) -> tuple[str, str]:
    """A Patient (created, renamed) and an Observation (created, corrected): four versions."""
    created = fhir("POST", "Patient", _patient(name))
    assert created.status == 201 and created.resource is not None
    pid = created.resource["id"]
    renamed = fhir("PUT", f"Patient/{pid}", {**_patient(name + "兰"), "id": pid})
    assert renamed.status == 200, renamed.resource
    observed = fhir("POST", "Observation", _hba1c(pid, 7.1))
    assert observed.status == 201 and observed.resource is not None
    oid = observed.resource["id"]
    fixed = fhir("PUT", f"Observation/{oid}", {**_hba1c(pid, 7.4), "id": oid})
    assert fixed.status == 200, fixed.resource
    return pid, oid


def _listed(response: FhirResponse) -> list[tuple[str, str]]:
    assert response.status == 200, response.resource
    assert response.resource is not None and response.resource["type"] == "history"
    return [
        (e["request"]["url"], e["resource"]["meta"]["versionId"])
        for e in response.resource["entry"]
    ]


@pytest.fixture
def written(district: District) -> dict[str, tuple[str, str]]:
    return {
        "xixing-1": _write_some(as_role(district, Role.FAMILY_DOCTOR, "xixing-1"), "吴秀英"),
        "changhe-1": _write_some(as_role(district, Role.FAMILY_DOCTOR, "changhe-1"), "何丽萍"),
    }


def test_type_and_system_history_list_the_versions_in_scope_newest_first(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    pid, oid = written["xixing-1"]
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")

    assert _listed(doctor("GET", "Patient/_history")) == [
        (f"Patient/{pid}", "2"),
        (f"Patient/{pid}", "1"),
    ]
    assert _listed(doctor("GET", "Observation/_history")) == [
        (f"Observation/{oid}", "2"),
        (f"Observation/{oid}", "1"),
    ]
    everything = doctor("GET", "_history")
    assert sorted(_listed(everything)) == sorted(
        [(f"Patient/{pid}", v) for v in "12"] + [(f"Observation/{oid}", v) for v in "12"]
    )
    assert everything.resource is not None and everything.resource["total"] == 4
    first = everything.resource["entry"][-1]
    assert first["request"]["method"] == "POST" and first["response"]["status"] == "201 Created"
    assert first["fullUrl"].startswith(f"{BASE}/")

    # the centre above the station sees the station's versions too
    centre = as_role(district, Role.CENTRE_MANAGER, "xixing")
    assert set(_listed(doctor("GET", "_history"))) <= set(_listed(centre("GET", "_history")))


def test_a_doctor_of_another_centre_sees_none_of_the_other_centres_versions(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    theirs = set(written["xixing-1"])
    other = as_role(district, Role.FAMILY_DOCTOR, "changhe-1")
    for path in ("_history", "Patient/_history", "Observation/_history"):
        listed = _listed(other("GET", path))
        assert listed, path  # their own versions are there
        assert not [url for url, _ in listed if url.split("/")[1] in theirs], path


def test_since_keeps_the_versions_recorded_at_or_after_the_instant(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    pid, _oid = written["xixing-1"]
    with district.session_factory() as session:  # the first versions were written two days ago
        session.execute(
            update(FhirResourceVersion)
            .where(FhirResourceVersion.version_id == 1)
            .values(recorded_at=NOW - timedelta(days=2))
        )
        session.commit()
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")
    since = (NOW - timedelta(days=1)).isoformat()

    assert _listed(doctor("GET", "Patient/_history", query=[("_since", since)])) == [
        (f"Patient/{pid}", "2")
    ]
    recent = _listed(doctor("GET", "_history", query=[("_since", since)]))
    assert {v for _, v in recent} == {"2"} and len(recent) == 2


def test_count_pages_with_next_and_previous_links(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")
    seen: list[tuple[str, str]] = []
    query: list[tuple[str, str]] = [("_count", "3")]
    pages = 0
    while True:
        page = doctor("GET", "_history", query=query)
        seen += _listed(page)
        pages += 1
        assert page.resource is not None
        links = {link["relation"]: link["url"] for link in page.resource["link"]}
        assert links["self"].startswith(f"{BASE}/_history?")
        if pages > 1:
            assert "previous" in links
        if "next" not in links:
            break
        query = parse_qsl(urlsplit(links["next"]).query)
    assert pages == 2 and len(seen) == 4 and len(set(seen)) == 4
    assert seen == _listed(doctor("GET", "_history"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ([("_since", "yesterday")], "_since"),
        ([("_since", "2026-11-24")], "_since"),  # a date is not an instant
        ([("_since", "2026-13-40T00:00:00Z")], "_since"),
        ([("_count", "-1")], "_count"),
        ([("_count", "ten")], "_count"),
        ([("_count", "1" * 40)], "_count"),
        ([("_offset", "²")], "_offset"),
        ([("_at", "2026-11-24T00:00:00Z")], "_at"),
        ([("patient", "x")], "patient"),
    ],
)
def test_bad_history_parameters_are_400(
    district: District, query: list[tuple[str, str]], expected: str
) -> None:
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")
    for path in ("_history", "Observation/_history"):
        answer = doctor("GET", path, query=query)
        assert answer.status == 400, (path, query, answer.resource)
        assert expected in issue(answer)


def test_history_of_an_unknown_type_or_by_post_is_refused(district: District) -> None:
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")
    assert doctor("GET", "Medication/_history").status == 404
    assert doctor("POST", "_history", {"resourceType": "Bundle"}).status == 405
    assert doctor("DELETE", "Patient/_history").status == 405


def test_masked_roles_get_no_patient_versions(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    analyst = as_role(district, Role.CDC_ANALYST, "cdc")
    refused = analyst("GET", "Patient/_history")
    assert refused.status == 403 and "unmasked" in issue(refused)
    listed = _listed(analyst("GET", "_history"))
    assert listed and not [url for url, _ in listed if url.startswith("Patient/")]


def test_a_client_token_sees_the_types_its_scopes_read(
    district: District, written: dict[str, tuple[str, str]]
) -> None:
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")
    context = FhirContext(
        uow=lambda: UnitOfWork(district.session_factory),
        clock=FixedClock(NOW),
        actor=doctor.actor,
        base_url=BASE,
        scopes=Scopes.parse("system/Observation.read"),
    )

    def get(path: str) -> FhirResponse:
        return handle(FhirRequest("GET", path, [], {}, None), context)

    assert {url.split("/")[0] for url, _ in _listed(get("_history"))} == {"Observation"}
    assert get("Patient/_history").status == 403


def test_the_capability_statement_lists_type_and_system_history(district: District) -> None:
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")
    statement = doctor("GET", "metadata").resource
    assert statement is not None
    rest = statement["rest"][0]
    assert {"code": "history-system"} in rest["interaction"]
    for resource in rest["resource"]:
        assert {"code": "history-type"} in resource["interaction"], resource["type"]
