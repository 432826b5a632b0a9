"""``manbing mpi candidates|merge|not-duplicate`` against both back-ends."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import update
from typer.testing import CliRunner

from manbing.cli import _register, app
from manbing.db.models import Resident
from manbing.domain.organisations import Role
from tests.personas import actor_at


def _cli(*args: str) -> tuple[int, str]:
    _register()
    result = CliRunner().invoke(app, ["mpi", *args])
    return result.exit_code, result.output


def test_candidates_merge_and_refusals(backend_url, district):
    keep = district.resident_ids["xixing-1"][0]
    dup = district.resident_ids["xixing-2"][0]
    with district.session_factory() as session:
        s = session.get(Resident, keep)
        session.execute(
            update(Resident)
            .where(Resident.id == dup)
            .values(name=s.name + "华", sex=s.sex, birth_date=s.birth_date, id_number=None)
        )
        session.commit()
    manager = actor_at(district.session_factory, Role.CENTRE_MANAGER, district.orgs["xixing"])
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    db = ("--database-url", backend_url)
    code, out = _cli("candidates", "--user", manager.username, "--format", "json", *db)
    assert code == 0, out
    pairs = json.loads(out)
    assert {keep, dup} in [{uuid.UUID(p["a"]["id"]), uuid.UUID(p["b"]["id"])} for p in pairs]
    assert all(p["level"] in ("possible", "probable", "certain") for p in pairs)
    code, out = _cli("candidates", "--user", manager.username, "--org", "330108001-S01", *db)
    assert code == 0 and "suspected duplicate pair" in out
    code, out = _cli("candidates", "--user", manager.username, "--org", "NOPE", *db)
    assert code == 2 and "未找到该机构" in out
    code, out = _cli("candidates", "--user", doctor.username, *db)
    assert code == 2 and "权限" in out
    code, out = _cli("candidates", "--user", "nobody", *db)
    assert code == 2 and "no active account" in out
    code, out = _cli("merge", str(keep), "not-a-uuid", "--user", manager.username, *db)
    assert code == 2 and "UUID" in out
    code, out = _cli("merge", str(keep), str(keep), "--user", manager.username, *db)
    assert code == 2 and "自身" in out
    code, out = _cli("merge", str(keep), str(uuid.uuid4()), "--user", manager.username, *db)
    assert code == 2 and "未找到" in out
    code, out = _cli("merge", str(keep), str(dup), "--user", manager.username, *db)
    assert code == 0 and f"merged {dup} into {keep}" in out, out
    code, out = _cli("merge", str(keep), str(dup), "--user", manager.username, *db)
    assert code == 2 and "已被合并" in out
    other = district.resident_ids["xixing-1"][1]
    code, out = _cli("not-duplicate", str(keep), str(other), "--user", manager.username, *db)
    assert code == 0 and "recorded" in out
    code, out = _cli("not-duplicate", str(other), str(keep), "--user", manager.username, *db)
    assert code == 0 and "already recorded" in out
