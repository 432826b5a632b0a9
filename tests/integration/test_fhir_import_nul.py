"""NUL characters (U+0000) in imported FHIR files are refused with a reason, never stored."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from manbing.db.models import Resident
from manbing.domain.organisations import Role
from manbing.fhir import importer
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import District
from tests.personas import actor_at


def _patient(name: str) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "name": [{"text": name}],
        "gender": "female",
        "birthDate": "1960-03-04",
    }


def _count(district: District) -> int:
    with district.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Resident)) or 0)


def test_nul_in_json_and_ndjson_is_refused_and_the_clean_lines_still_load(
    district: District, clock: FixedClock, tmp_path: Path
) -> None:
    escaped = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": _patient("王\u0000芳"), "request": {"method": "POST", "url": "Patient"}}
        ],
    }
    (tmp_path / "escaped.json").write_text(json.dumps(escaped), "utf-8")
    (tmp_path / "raw.json").write_bytes(json.dumps(_patient("李梅")).encode() + b"\x00")
    lines = [json.dumps(_patient("赵兰")), json.dumps(_patient("钱\u0000丽"))]
    (tmp_path / "mixed.ndjson").write_text("\n".join(lines) + "\n", "utf-8")
    # an escaped backslash before "u0000" is ordinary text, not a NUL
    (tmp_path / "backslash.json").write_text(json.dumps(_patient("孙\\u0000红")), "utf-8")
    before = _count(district)
    actor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])

    report = importer.import_path(
        lambda: UnitOfWork(district.session_factory), actor, clock, tmp_path
    )

    refused = {r.source.rsplit("/", 1)[-1]: r.reason for r in report.rejected}
    assert set(refused) == {"escaped.json", "raw.json", "mixed.ndjson:2"}
    assert all("NUL character (U+0000)" in reason for reason in refused.values())
    assert report.created["Patient"] == 2  # 赵兰 and the backslash name
    assert _count(district) == before + 2
    with district.session_factory() as session:
        names = set(session.scalars(select(Resident.name)))
        assert {"赵兰", "孙\\u红"} <= names
        assert not any("\x00" in n for n in names)
