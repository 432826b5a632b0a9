"""meta.versionId, vread, instance history and If-Match over the version table."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from sqlalchemy import func, select

from manbing.db.models import (
    FhirResourceVersion,
    MedicationStatement,
    Resident,
    ResidentIdentifier,
    Team,
)
from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.domain.identity import check_character
from manbing.domain.organisations import Role
from manbing.fhir import export
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import NOW, District
from tests.integration.fhir_helpers import as_role, issue


def _versions(district: District) -> int:
    with district.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(FhirResourceVersion)) or 0)


def test_patient_versions_vread_history_and_if_match(district: District) -> None:
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")
    body = {
        "resourceType": "Patient",
        "name": [{"text": "吴秀英"}],
        "gender": "female",
        "birthDate": "1955-06-07",
    }
    created = doctor("POST", "Patient", body)
    assert created.status == 201 and created.resource is not None
    pid = created.resource["id"]
    assert created.resource["meta"]["versionId"] == "1"
    assert created.headers["Location"].endswith(f"/Patient/{pid}/_history/1")

    renamed = doctor(
        "PUT",
        f"Patient/{pid}",
        {**body, "id": pid, "name": [{"text": "吴秀兰"}]},
        headers={"if-match": 'W/"1"'},
    )
    assert renamed.status == 200, renamed.resource
    assert renamed.headers["ETag"] == 'W/"2"'
    now = doctor("GET", f"Patient/{pid}").resource
    assert now is not None and now["meta"]["versionId"] == "2"
    old = doctor("GET", f"Patient/{pid}/_history/1").resource
    assert old is not None and old["name"][0]["text"] == "吴秀英"
    assert old["meta"]["versionId"] == "1"
    history = doctor("GET", f"Patient/{pid}/_history").resource
    assert history is not None and history["type"] == "history"
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]

    before = _versions(district)
    stale = doctor(
        "PUT",
        f"Patient/{pid}",
        {**body, "id": pid, "name": [{"text": "错误"}]},
        headers={"if-match": 'W/"1"'},
    )
    assert stale.status == 412 and "version 2 is current" in issue(stale)
    assert _versions(district) == before
    with district.session_factory() as session:
        resident = session.get(Resident, uuid.UUID(pid))
        assert resident is not None and resident.name == "吴秀兰"
    same = doctor(
        "PUT",
        f"Patient/{pid}",
        {**body, "id": pid, "name": [{"text": "吴秀兰"}]},
        headers={"if-match": 'W/"2"'},
    )
    assert same.status == 200

    for path, status in [
        (f"Patient/{pid}/_history/9", 404),
        (f"Patient/{pid}/_history/x", 404),
        (f"Patient/{uuid.uuid4()}/_history", 404),
        (f"Patient/{uuid.uuid4()}/_history/1", 404),
    ]:
        refused = doctor("GET", path)
        assert refused.status == status, (path, refused.resource)
        assert refused.resource is not None
        assert refused.resource["resourceType"] == "OperationOutcome"
    cdc = as_role(district, Role.CDC_ANALYST, "cdc")
    masked = cdc("GET", f"Patient/{pid}/_history/1")
    assert masked.status == 403 and "unmasked" in issue(masked)
    assert cdc("GET", f"Patient/{pid}").status == 200


def test_a_change_outside_fhir_is_the_next_version_and_is_kept_at_the_next_write(
    district: District,
) -> None:
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")
    with district.session_factory() as session:
        team = session.scalars(
            select(Team).where(Team.organization_id == district.orgs["xixing-1"])
        ).one()
        tid, old_name = str(team.id), team.name
    untouched = doctor("GET", f"CareTeam/{tid}").resource
    assert untouched is not None and untouched["meta"]["versionId"] == "1"
    only = doctor("GET", f"CareTeam/{tid}/_history").resource
    assert only is not None and len(only["entry"]) == 1

    renamed = doctor(
        "PUT", f"CareTeam/{tid}", {**untouched, "name": "团队二"}, headers={"if-match": 'W/"1"'}
    )
    assert renamed.status == 200 and renamed.resource is not None
    assert renamed.resource["meta"]["versionId"] == "2"
    first = doctor("GET", f"CareTeam/{tid}/_history/1").resource
    assert first is not None and first["name"] == old_name

    with district.session_factory() as session:  # the web app renames the team
        row = session.get(Team, uuid.UUID(tid))
        assert row is not None
        row.name = "团队三"
        session.commit()
    current = doctor("GET", f"CareTeam/{tid}").resource
    assert current is not None and current["meta"]["versionId"] == "3"
    assert doctor("GET", f"CareTeam/{tid}/_history/3").resource == current
    stale = doctor(
        "PUT", f"CareTeam/{tid}", {**current, "name": "团队四"}, headers={"if-match": 'W/"2"'}
    )
    assert stale.status == 412
    fresh = doctor(
        "PUT", f"CareTeam/{tid}", {**current, "name": "团队四"}, headers={"if-match": 'W/"3"'}
    )
    assert fresh.status == 200 and fresh.resource is not None
    assert fresh.resource["meta"]["versionId"] == "4"
    history = doctor("GET", f"CareTeam/{tid}/_history").resource
    assert history is not None
    names = [(e["resource"]["meta"]["versionId"], e["resource"]["name"]) for e in history["entry"]]
    assert names == [("4", "团队四"), ("3", "团队三"), ("2", "团队二"), ("1", old_name)]


def test_search_transactions_and_export_carry_the_version(
    district: District, clock: FixedClock, tmp_path: Path
) -> None:
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")
    patient = district.resident_ids["xixing-1"][0]
    statement = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {"text": "阿司匹林肠溶片"},
        "subject": {"reference": f"Patient/{patient}"},
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": statement, "request": {"method": "POST", "url": "MedicationStatement"}}
        ],
    }
    done = doctor("POST", "", bundle)
    assert done.status == 200 and done.resource is not None
    sid = done.resource["entry"][0]["resource"]["id"]
    assert done.resource["entry"][0]["response"]["location"].endswith("/_history/1")
    update = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {**statement, "id": sid, "status": "stopped"},
                "request": {
                    "method": "PUT",
                    "url": f"MedicationStatement/{sid}",
                    "ifMatch": 'W/"1"',
                },
            }
        ],
    }
    assert doctor("POST", "", update).status == 200
    refused = doctor("POST", "", update)  # If-Match 1 is stale now: the whole Bundle fails
    assert refused.status == 412
    found = doctor("GET", "MedicationStatement", query=[("_id", sid)]).resource
    assert found is not None
    assert found["entry"][0]["resource"]["meta"]["versionId"] == "2"
    with district.session_factory() as session:
        row = session.get(MedicationStatement, uuid.UUID(sid))
        assert row is not None and row.active is False

    pid = str(patient)
    renamed = doctor("GET", f"Patient/{pid}").resource
    assert renamed is not None and renamed["meta"]["versionId"] == "1"
    assert doctor("PUT", f"Patient/{pid}", {**renamed, "telecom": []}).status == 200
    folder = tmp_path / "job"
    folder.mkdir()
    export.run_now(
        lambda: UnitOfWork(district.session_factory),
        FixedClock(NOW),
        doctor.actor,
        folder,
        ("Patient",),
    )
    lines = [json.loads(x) for x in (folder / "Patient.ndjson").read_text().splitlines()]
    by_id = {r["id"]: r["meta"]["versionId"] for r in lines}
    assert by_id[pid] == "2"
    assert {v for k, v in by_id.items() if k != pid} == {"1"}


def _national_ids(district: District, pid: str) -> list[str]:
    with district.session_factory() as session:
        return sorted(
            session.scalars(
                select(ResidentIdentifier.value).where(
                    ResidentIdentifier.resident_id == uuid.UUID(pid),
                    ResidentIdentifier.system == NATIONAL_ID_SYSTEM,
                )
            )
        )


def test_a_corrected_national_id_replaces_the_old_one_which_is_then_free_for_its_owner(
    district: District,
) -> None:
    doctor = as_role(district, Role.FAMILY_DOCTOR, "xixing-1")
    typo = "33010819551120124" + check_character("33010819551120124")
    right = "33010819551120125" + check_character("33010819551120125")
    national = {"system": NATIONAL_ID_SYSTEM, "value": typo}
    body = {"resourceType": "Patient", "name": [{"text": "孙桂芝"}], "identifier": [national]}
    created = doctor("POST", "Patient", body)
    assert created.status == 201 and created.resource is not None
    pid = created.resource["id"]
    assert _national_ids(district, pid) == [typo]

    fixed = doctor(
        "PUT",
        f"Patient/{pid}",
        {**body, "id": pid, "identifier": [{**national, "value": right}]},
    )
    assert fixed.status == 200, fixed.resource
    assert _national_ids(district, pid) == [right]
    found = doctor("GET", "Patient", query=[("identifier", f"{NATIONAL_ID_SYSTEM}|{typo}")])
    assert found.resource is not None and found.resource.get("total") == 0

    # the owner of the mistyped number can now be registered with it
    owner = doctor(
        "POST", "Patient", {**body, "name": [{"text": "孙立"}], "identifier": [national]}
    )
    assert owner.status == 201, owner.resource

    # a number that belongs to someone else is refused, and nothing changes
    clash = doctor(
        "PUT",
        f"Patient/{pid}",
        {**body, "id": pid, "identifier": [national]},
    )
    assert clash.status == 409 and "another resident has this ID number" in issue(clash)
    assert _national_ids(district, pid) == [right]
