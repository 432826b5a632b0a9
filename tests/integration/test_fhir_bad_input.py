"""Bad input at the FHIR router found by the fuzz test (tests/e2e/test_fhir_fuzz.py).

Each case failed with a 500 (or a 400 whose diagnostics were a bare Python exception); each must
be a 4xx OperationOutcome naming what is wrong, and leave every table as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from manbing.domain.organisations import Role
from manbing.fhir import importer
from manbing.fhir.router import FhirRequest, handle
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import NOW, District
from tests.integration.fhir_helpers import Fhir, as_role, every_count, issue


@pytest.fixture
def doctor(district: District) -> Fhir:
    return as_role(district, Role.FAMILY_DOCTOR, "xixing-1")


def _patient(text: str = "吴秀英", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"text": text}],
        "gender": "female",
        "birthDate": "1955-06-07",
    }
    body.update(changes)
    return body


def _expression(response: Any) -> list[str]:
    assert response.resource is not None
    return list(response.resource["issue"][0].get("expression", []))


@pytest.mark.parametrize("version", ["99999999999999999999", "2147483648", "²", "0", "-1"])
def test_a_version_id_no_version_can_have_is_not_found(
    district: District, doctor: Fhir, version: str
) -> None:
    created = doctor("POST", "Patient", _patient())
    assert created.resource is not None
    before = every_count(district.session_factory)
    found = doctor("GET", f"Patient/{created.resource['id']}/_history/{version}")
    # was 500 on SQLite (OverflowError), 400 "the database refused a value of the write" on
    # PostgreSQL, and 400 "ValueError: invalid literal for int()" for "²"
    assert found.status == 404, found.resource
    assert "has no version" in issue(found)
    assert every_count(district.session_factory) == before


def test_an_element_given_as_a_string_of_json_is_refused_naming_it(
    district: District, doctor: Fhir
) -> None:
    created = doctor("POST", "Patient", _patient())
    assert created.resource is not None
    pid = created.resource["id"]
    before = every_count(district.session_factory)
    refused = doctor("PUT", f"Patient/{pid}", _patient(id=pid, name=['{"text": "吴秀兰"}']))
    assert refused.status == 400, refused.resource  # was 500 (AttributeError)
    assert _expression(refused) == ["name[0]"]
    assert "an object is expected" in issue(refused)
    assert every_count(district.session_factory) == before


def test_a_value_beyond_any_float_is_refused_naming_it(district: District, doctor: Fhir) -> None:
    patient = district.resident_ids["xixing-1"][0]
    before = every_count(district.session_factory)
    refused = doctor(
        "POST",
        "Observation",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "1558-6"}]},
            "subject": {"reference": f"Patient/{patient}"},
            "effectiveDateTime": "2026-11-20",
            "valueQuantity": {"value": 10**400, "unit": "mmol/L"},
        },
    )
    assert refused.status == 422, refused.resource  # was 500 (OverflowError)
    assert _expression(refused) == ["valueQuantity.value"]
    assert every_count(district.session_factory) == before


def test_the_servers_own_organization_can_be_put_back(district: District, doctor: Fhir) -> None:
    created = doctor("POST", "Organization", {"resourceType": "Organization", "name": "滨江医院"})
    assert created.status == 201, created.resource
    assert created.resource is not None
    body = {k: v for k, v in created.resource.items() if k != "meta"}
    assert body["type"][0]["coding"][0]["code"] == "hospital"
    again = doctor("PUT", f"Organization/{body['id']}", body)
    assert again.status == 200, again.resource  # was 400 "TypeError: unsupported operand"


def _bad_entries() -> list[dict[str, Any]]:
    return [
        {"resource": ["not", "an", "object"], "request": {"method": "POST", "url": "Patient"}},
        {
            "resource": _patient("赵兰", contained=[{"resourceType": None}]),
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "resource": {**_patient("钱丽"), "resourceType": ["Patient"]},
            "request": {"method": "POST", "url": "Patient"},
        },
    ]


def test_malformed_resources_fail_only_their_own_batch_entries(
    district: District, doctor: Fhir
) -> None:
    before = every_count(district.session_factory)
    entries = [
        *_bad_entries(),
        {"resource": _patient("孙红"), "request": {"method": "POST", "url": "Patient"}},
    ]
    answer = doctor("POST", "", {"resourceType": "Bundle", "type": "batch", "entry": entries})
    # was 500 (AttributeError sorting the entries) or 400 for the whole batch with
    # "TypeError: can only concatenate str (not "NoneType") to str"
    assert answer.status == 200, answer.resource
    assert answer.resource is not None
    statuses = [e["response"]["status"] for e in answer.resource["entry"]]
    assert statuses == ["400", "400", "400", "201 Created"]
    contained = answer.resource["entry"][1]["response"]["outcome"]["issue"][0]
    assert contained["expression"] == ["Bundle.entry[1].contained[0].resourceType"]
    assert "is not a FHIR resource type" in contained["diagnostics"]
    after = every_count(district.session_factory)
    assert after["residents"] == before["residents"] + 1


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_malformed_resource_fails_a_transaction_naming_its_entry(
    district: District, doctor: Fhir, index: int
) -> None:
    before = every_count(district.session_factory)
    entries = [
        {"resource": _patient("孙红"), "request": {"method": "POST", "url": "Patient"}},
        _bad_entries()[index],
    ]
    answer = doctor("POST", "", {"resourceType": "Bundle", "type": "transaction", "entry": entries})
    assert answer.status == 400, answer.resource
    assert _expression(answer)[0].startswith("Bundle.entry[1]")
    assert every_count(district.session_factory) == before


# ------------------------------------------------------- conditional writes without criteria
@pytest.mark.parametrize("condition", ["identifier=", "name=&_count=5", "_count=1", "?", "&&"])
def test_a_conditional_create_without_criteria_is_refused(
    district: District, doctor: Fhir, condition: str
) -> None:
    # the doctor sees one organisation, the own station: a condition that parsed to nothing
    # matched it, and the POST answered 200 with the station and stored nothing
    before = every_count(district.session_factory)
    answer = doctor(
        "POST",
        "Organization",
        {"resourceType": "Organization", "name": "滨江医院"},
        headers={"if-none-exist": condition},
    )
    assert answer.status == 400, answer.resource
    words = "empty value" if condition.startswith(("identifier", "name")) else "search criteria"
    assert words in issue(answer)
    assert every_count(district.session_factory) == before


def test_a_conditional_update_without_criteria_changes_nothing(
    district: District, doctor: Fhir
) -> None:
    teams = doctor("GET", "CareTeam").resource
    assert teams is not None and teams["total"] == 1  # the one team the doctor sees
    team = teams["entry"][0]["resource"]
    renamed = {k: v for k, v in team.items() if k not in ("id", "meta")}
    renamed["name"] = "改名的团队"
    before = every_count(district.session_factory)
    for url in ("CareTeam?name=", "CareTeam?_count=1"):
        entry = {"resource": renamed, "request": {"method": "PUT", "url": url}}
        answer = doctor("POST", "", {"resourceType": "Bundle", "type": "batch", "entry": [entry]})
        assert answer.resource is not None
        response = answer.resource["entry"][0]["response"]
        # was 200: the team matched by nothing was renamed
        assert response["status"] == "400", response
    assert every_count(district.session_factory) == before
    again = doctor("GET", f"CareTeam/{team['id']}").resource
    assert again is not None and again["name"] == team["name"]


# --------------------------------------------------------------- the ends of the calendar
@pytest.mark.parametrize(
    ("rtype", "name", "value", "everything"),
    [
        ("Patient", "birthdate", "9999-12-31T23:59:59Z", False),
        ("Observation", "date", "9999-12-31", False),
        ("Observation", "date", "9999", False),
        ("Observation", "date", "9999-12", False),
        ("Observation", "date", "sa9999-12-31", False),
        ("Observation", "_lastUpdated", "0001-01-01", False),
        ("Observation", "date", "ge0001-01-01", True),
        ("Condition", "_lastUpdated", "gt0001-01-01T00:00:00+14:00", True),
    ],
)
def test_a_search_date_at_either_end_of_the_calendar_is_answered(
    district: District, doctor: Fhir, rtype: str, name: str, value: str, everything: bool
) -> None:
    doctor("POST", "Condition", _diabetes(district.resident_ids["xixing-1"][0]))
    # the end of 9999-12-31 is no datetime, nor is the start of 0001-01-01 in UTC: 500 before
    found = doctor("GET", rtype, query=[(name, value)])
    assert found.status == 200, found.resource
    assert found.resource is not None
    every = doctor("GET", rtype).resource
    assert every is not None and every["total"] > 0
    assert found.resource["total"] == (every["total"] if everything else 0)


def _diabetes(patient: object) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
        "subject": {"reference": f"Patient/{patient}"},
    }


@pytest.mark.parametrize("when", ["0001-01-01", "0001", "0001-01-01T07:59:59+08:00"])
def test_a_measurement_time_no_database_can_hold_is_refused(
    district: District, doctor: Fhir, when: str
) -> None:
    before = every_count(district.session_factory)
    refused = doctor(
        "POST",
        "Observation",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "1558-6"}]},
            "subject": {"reference": f"Patient/{district.resident_ids['xixing-1'][0]}"},
            "effectiveDateTime": when,
            "valueQuantity": {"value": 6.1, "unit": "mmol/L"},
        },
    )
    assert refused.status == 422, refused.resource  # was 500 (OverflowError binding it)
    assert _expression(refused) == ["effectiveDateTime"]
    assert every_count(district.session_factory) == before


# ------------------------------------------------------------------------ nesting too deep
def _nested(levels: int) -> bytes:
    """A Patient whose extensions nest ``levels`` deep."""
    return (
        b'{"resourceType": "Patient", "name": [{"text": "\\u5434"}], "extension": '
        + b'[{"url": "urn:x", "extension": ' * levels
        + b"[]"
        + b"}]" * levels
        + b"}"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # the JSON decoder's RecursionError
        _nested(400),  # the checks after it recursed past the limit
    ],
)
def test_json_nested_too_deep_is_refused(district: District, doctor: Fhir, body: bytes) -> None:
    context = doctor.context()
    before = every_count(district.session_factory)
    refused = handle(FhirRequest("POST", "Patient", body=body), context)
    assert refused.status == 400, refused.resource  # was 500 (RecursionError)
    assert "64 deep" in issue(refused)
    assert every_count(district.session_factory) == before


def test_a_deep_import_file_is_reported_and_the_others_load(
    district: District, doctor: Fhir, tmp_path: Path
) -> None:
    (tmp_path / "deep.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (tmp_path / "nested.json").write_bytes(_nested(400))
    (tmp_path / "fine.json").write_text(json.dumps(_patient("郑红")), "utf-8")
    assert importer.count_entries(tmp_path) == 2  # was RecursionError: the CLI's traceback
    report = importer.import_path(
        lambda: UnitOfWork(district.session_factory), doctor.actor, FixedClock(NOW), tmp_path
    )
    assert dict(report.created) == {"Patient": 1}
    assert sorted(Path(r.source).name for r in report.rejected) == ["deep.json", "nested.json"]
    assert all("64 deep" in r.reason for r in report.rejected)
