"""Generated input on every HTML form of the doctor's and the patient's pages: no server error.

The field names come from the rendered pages themselves, so a field added to a template is
fuzzed too. Values are drawn from what a hurried clinic user or a hostile one might type: empty,
whitespace, huge or negative numbers, impossible dates, long or odd text.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from manbing.db.models import Referral, Resident, User
from tests.e2e.conftest import login, send_referral

EXAMPLES = int(os.environ.get("MANBING_FORM_FUZZ_EXAMPLES", "8"))
_NAME = re.compile(r'name="([a-z_0-9]+)"')

VALUES = st.one_of(
    st.just(""),
    st.sampled_from([" ", "0", "-1", "1e309", "nan", "999999999999999999999", "3.5", "on"]),
    st.sampled_from(["2026-02-30", "1899-01-01", "2999-12-31", "2026-11-24", "24/11/2026"]),
    st.sampled_from(["hypertension", "diabetes", "urgent", "routine", "1", "2", "3", "4"]),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.text(max_size=300),
)


def _fields(client: TestClient, page: str) -> list[str]:
    html = client.get(page, headers={"accept": "text/html"}).text
    return sorted(set(_NAME.findall(html)) - {"csrf_token"})


Form = tuple[str, list[str], dict[str, str]]  # url, field names, a valid filling to vary


def _forms(client: TestClient, rid: str, hospital: str) -> list[Form]:
    record = _fields(client, f"/residents/{rid}")
    followup = _fields(client, f"/residents/{rid}/follow-up")
    register = _fields(client, "/residents/new")
    visit = {"visit_date": "2026-11-24", "sbp": "150", "dbp": "90", "fasting_glucose": "7.2"}
    referral = {"resident_id": rid, "to_org_id": hospital, "urgency": "urgent", "reasons": "x"}
    person = {
        "name": "测试",
        "birth_date": "1960-02-02",
        "sex": "M",
        "division_code": "330108001001",
    }
    return [
        (f"/residents/{rid}/risk", record, {"sbp": "150", "tc_mmol": "5.2", "hdl_mmol": "1.2"}),
        (f"/residents/{rid}/follow-up/preview", followup, visit),
        (f"/residents/{rid}/follow-up", followup, visit),
        ("/referrals", record, referral),
        ("/residents/new", register, person),
        (f"/residents/{rid}/enrol", record, {"programme": "diabetes"}),
        (f"/residents/{rid}/contract", record, {}),
        (f"/residents/{rid}/screening", record, {"sbp": "156", "dbp": "94"}),
        (f"/residents/{rid}/health-check", record, {"sbp": "128", "dbp": "80"}),
    ]


def _fuzz(
    client: TestClient,
    url: str,
    names: list[str],
    token: str,
    failures: list[str],
    valid: dict[str, str] | None = None,
) -> None:
    """Post ``valid`` with up to three fields replaced or added, or a form of generated fields."""
    names = sorted(set(names) | set(valid or {}))
    varied = st.dictionaries(st.sampled_from(names), VALUES, max_size=3).map(
        lambda changes: {**(valid or {}), **changes}
    )
    generated = st.dictionaries(st.sampled_from(names), VALUES, max_size=len(names))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.one_of(varied, generated) if valid else generated)
    def run(data: dict[str, Any]) -> None:
        form = {**data, "csrf_token": token}
        response = client.post(url, data=form, headers={"accept": "text/html"})
        if response.status_code >= 500:
            failures.append(f"POST {url} {form!r}: {response.status_code}")

    run()


def test_no_generated_form_makes_a_page_fail(client: TestClient) -> None:
    factory = client.app.state.container.session_factory  # type: ignore[attr-defined]
    client.follow_redirects = False
    token = login(client, "doctor")
    with factory() as s:
        doctor = s.scalars(select(User).where(User.username == "doctor")).one()
        rid = str(
            s.scalars(
                select(Resident.id).where(Resident.managing_org_id == doctor.organization_id)
            ).first()
        )
    referral = send_referral(client, token, rid)
    hospital = referral["hospital_id"]
    failures: list[str] = []
    for url, names, valid in _forms(client, rid, hospital):
        assert names, f"no fields found for {url}"
        _fuzz(client, url, names, token, failures, valid)

    token = login(client, "specialist")
    for action, names in (("accept", ["note"]), ("return", ["plan"]), ("acknowledge", [])):
        url = f"/referrals/{referral['id']}/{action}"
        _fuzz(client, url, names or ["note"], token, failures)
    with factory() as s:
        assert s.get(Referral, uuid.UUID(referral["id"])) is not None

    token = login(client, "manager")
    merge = ["pair_id", "survivor_id", "duplicate_id", "a_id", "b_id", "note"]
    for url in ("/mpi/merge", "/mpi/not-duplicate"):
        _fuzz(client, url, merge, token, failures)

    token = login(client, "patient")
    me = _fields(client, "/me")
    reading = {"kind": "bp", "sbp": "135", "dbp": "85"}
    for url, valid in (
        ("/me/readings", reading),
        ("/me/doses", {}),
        ("/me/lessons/x/complete", {}),
    ):
        _fuzz(client, url, me, token, failures, valid)
    assert failures == []
