"""``manbing fhir import`` over the externally written data in /work/shared/data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import Condition, Observation, Resident, ResidentIdentifier
from manbing.domain.observations import ObservationKind
from manbing.domain.organisations import Role
from manbing.fhir import importer
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import District
from tests.personas import actor_at

DATA = Path("/work/shared/data")
SYNTHEA = DATA / "synthea-r4"
LIZ = SYNTHEA / "Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared FHIR test data not present")


def _run(district: District, clock: FixedClock, path: Path) -> importer.ImportReport:
    factory: sessionmaker[Session] = district.session_factory
    actor = actor_at(factory, Role.FAMILY_DOCTOR, district.orgs["xixing"])
    return importer.import_path(lambda: UnitOfWork(factory), actor, clock, path)


def _resident(session: Session, system: str, value: str) -> Resident:
    resident = session.scalars(
        select(Resident)
        .join(ResidentIdentifier)
        .where(ResidentIdentifier.system == system, ResidentIdentifier.value == value)
    ).one()
    return resident


def test_every_file_imports_with_the_values_written_in_it(
    district: District, clock: FixedClock
) -> None:
    before = {}
    with district.session_factory() as session:
        before["residents"] = session.scalar(select(func.count()).select_from(Resident))
    report = _run(district, clock, DATA)

    assert report.files == 34
    assert report.created["Patient"] == 8 + 2 + 1  # Synthea, two R4 examples, TW Core
    # the transaction example's Peter Chalmers (POST with ifNoneExist, conditional PUT) and
    # Patient-example (the same man with an identifier) match the first one
    assert report.matched["Patient"] == 3
    assert report.skipped["Claim"] > 0
    reasons = " ".join(r.reason for r in report.rejected)
    assert "DELETE entries are not imported" in reasons
    # the lipid report's observations carry no time of their own
    assert "Observation.effective[x] is required" in reasons
    assert report.skipped["Observation (code not in catalogue)"] > 0
    # 2 DELETE + 2 GET entries, 2 PUTs to unknown ids, 4 lipid observations without a time
    assert len(report.rejected) == 10, report.rejected

    with district.session_factory() as session:
        assert (
            session.scalar(select(func.count()).select_from(Resident))
            == before["residents"] + report.created["Patient"]
        )
        liz = _resident(session, "http://hl7.org/fhir/sid/us-ssn", "999-34-1238")
        assert (liz.name, liz.sex.value, liz.birth_date) == ("Liz Conn", "F", date(1986, 11, 28))
        condition = session.scalars(select(Condition).where(Condition.resident_id == liz.id)).one()
        assert (condition.code, condition.icd10, condition.onset_date) == (
            "38341003",
            "I10",
            date(2005, 7, 29),
        )
        bps = session.scalars(
            select(Observation)
            .where(
                Observation.resident_id == liz.id,
                Observation.kind == ObservationKind.BLOOD_PRESSURE,
            )
            .order_by(Observation.effective_at)
        ).all()
        assert len(bps) == 3
        assert bps[0].loinc == "55284-4"
        assert bps[0].effective_at == datetime(2012, 8, 10, 20, 37, 6, tzinfo=UTC)
        assert (round(bps[0].value or 0, 2), round(bps[0].value2 or 0, 2)) == (165.41, 105.14)

        renato = _resident(session, "http://hl7.org/fhir/sid/us-ssn", "999-64-5474")
        codes = set(
            session.scalars(select(Condition.code).where(Condition.resident_id == renato.id))
        )
        assert {"44054006", "302870006", "15777000"} <= codes
        glucose = session.scalars(
            select(Observation)
            .where(Observation.resident_id == renato.id, Observation.loinc == "2339-0")
            .order_by(Observation.effective_at)
        ).all()
        assert len(glucose) == 5
        assert glucose[0].unit == "mmol/L"
        assert glucose[0].value == pytest.approx(95.10097516581185 / 18.0)
        assert glucose[0].unit_received == "mg/dL"
        hba1c = session.scalars(
            select(Observation.value)
            .where(Observation.resident_id == renato.id, Observation.kind == ObservationKind.HBA1C)
            .order_by(Observation.effective_at)
        ).all()
        assert [round(v or 0, 2) for v in hba1c] == [5.47, 5.92, 6.11, 6.11, 6.11]

        peter = _resident(session, "urn:oid:1.2.36.146.595.217.0.1", "12345")
        assert (peter.name, peter.birth_date) == ("Peter James Chalmers", date(1974, 12, 25))
        assert _resident(session, "http:/example.org/fhir/ids", "456456").id == peter.id
        weight = session.scalars(
            select(Observation).where(
                Observation.resident_id == peter.id, Observation.kind == ObservationKind.WEIGHT
            )
        ).one()
        assert weight.value == pytest.approx(185 * 0.45359237)  # 185 [lb_av]

        taiwan = session.scalars(select(Resident).where(Resident.name == "陳加玲")).one()
        tw_bp = session.scalars(
            select(Observation).where(
                Observation.resident_id == taiwan.id,
                Observation.kind == ObservationKind.BLOOD_PRESSURE,
            )
        ).one()
        assert (tw_bp.loinc, tw_bp.value, tw_bp.value2) == ("85354-9", 110, 56)
        tw_condition = session.scalars(
            select(Condition).where(Condition.resident_id == taiwan.id)
        ).one()
        assert tw_condition.icd10 == "E08.649"

        f001 = session.scalars(select(Observation).where(Observation.loinc == "15074-8")).one()
        assert (f001.value, f001.unit) == (6.3, "mmol/L")


def test_importing_the_same_bundle_twice_matches_the_resident_instead_of_duplicating(
    district: District, clock: FixedClock
) -> None:
    first = _run(district, clock, LIZ)
    assert first.created["Patient"] == 1
    assert not first.rejected
    second = _run(district, clock, LIZ)
    assert second.created["Patient"] == 0
    assert second.matched["Patient"] == 1
    with district.session_factory() as session:
        count = session.scalar(
            select(func.count())
            .select_from(ResidentIdentifier)
            .where(ResidentIdentifier.value == "999-34-1238")
        )
    assert count == 1
    assert second.matched["Observation"] == first.created["Observation"] > 0
    assert second.matched["Condition"] == first.created["Condition"] == 1
    assert second.created["Observation"] == second.created["Condition"] == 0


def _patient_bundle(name: str, id_number: str) -> dict[str, object]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            "not an entry",
            {
                "fullUrl": "urn:uuid:9e3c4f1e-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": id_number}],
                    "name": [{"text": name}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }


def test_a_bundle_that_fails_as_a_whole_is_rejected_and_the_others_still_load(
    district: District, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from manbing.fhir import bundle as bundle_ops

    original = bundle_ops.process

    def failing(store: Any, bundle: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        names = [e["resource"]["name"][0]["text"] for e in bundle["entry"]]
        if "坏数据" in names:
            raise RuntimeError("database went away")
        return original(store, bundle, *args, **kwargs)

    monkeypatch.setattr(bundle_ops, "process", failing)
    numbers = ["33010819600315003X", "330108197001010011", "330108198002020021"]
    for n, (name, number) in enumerate(zip(["王一", "坏数据", "李三"], numbers, strict=True)):
        (tmp_path / f"b{n}.json").write_text(json.dumps(_patient_bundle(name, number)))
    report = _run(district, clock, tmp_path)
    assert report.created["Patient"] == 2
    bundle_rejections = [r for r in report.rejected if r.resource_type == "Bundle"]
    assert [r.source for r in bundle_rejections] == [str(tmp_path / "b1.json")]
    assert sum(1 for r in report.rejected if r.reason == "not an object") == 3
    with district.session_factory() as session:
        names = set(session.scalars(select(Resident.name).where(Resident.id_number.in_(numbers))))
    assert names == {"王一", "李三"}
