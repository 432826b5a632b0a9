"""Schemathesis over the whole OpenAPI document: no generated request makes the server fail.

Every operation is fuzzed twice while signed in as the demo doctor (session cookie and CSRF
header): once with generated path ids (mostly unknown records) and once with real ones, so the
generated bodies reach the services.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import login, send_referral

EXAMPLES = 12


def _real_ids(client: TestClient, token: str) -> dict[str, str]:
    work = client.get("/api/v1/worklist").json()
    resident_id = work["due"][0]["resident_id"]
    referral = send_referral(client, token, resident_id)
    return {"resident_id": resident_id, "referral_id": referral["id"]}


def test_no_api_operation_answers_with_a_server_error(client: TestClient) -> None:
    token = login(client)
    cookies = {"manbing_session": client.cookies["manbing_session"]}
    headers = {"X-CSRF-Token": token}
    ids = _real_ids(client, token)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures: list[str] = []
    seen: list[int] = []
    for operation in operations:
        if operation.method.upper() == "DELETE" and operation.path == "/api/v1/session":
            continue  # signing out would end the fuzzing session
        names = {p.name for p in operation.path_parameters}
        fixed = {name: ids[name] for name in names if name in ids}
        strategies: list[Any] = [operation.as_strategy()]
        if fixed:
            strategies.append(operation.as_strategy(path_parameters=fixed))

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(*strategies))
        def run(case: Any) -> None:
            if case.headers:  # the CSRF header is a documented parameter: send the real token
                case.headers = {
                    k: v for k, v in case.headers.items() if k.lower() != "x-csrf-token"
                }
            response = case.call(headers=headers, cookies=cookies)
            seen.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        run()
    assert failures == []
    assert seen.count(401) < len(seen) // 10, "the fuzzing session must stay signed in"
    assert any(200 <= s < 300 for s in seen)


@pytest.mark.parametrize("path", ["/api/v1/worklist", "/api/v1/referrals/inbox"])
def test_the_api_refuses_anonymous_callers(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
