"""``/api/v1/mpi``: candidates, merges and not-duplicate decisions over JSON."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.e2e.conftest import login


def _typo_duplicate(client: TestClient) -> tuple[str, str]:
    """The doctor registers a second record of an existing resident with a one-character typo."""
    token = login(client)
    existing = client.get("/api/v1/residents", params={"q": "33010800100100001"}).json()[0]
    me = client.get("/api/v1/session").json()
    name = existing["name"][:-1] + ("伟" if existing["name"][-1] != "伟" else "芳")
    created = client.post(
        "/api/v1/residents",
        json={
            "name": name,
            "birth_date": existing["birth_date"],
            "sex": existing["sex"],
            "phone": existing["phone"],
            "division_code": existing["division_code"],
            "managing_org_id": me["organization_id"],
            "identifiers": [{"system": "urn:manbing:source:hospital-his", "value": "HIS0001"}],
        },
        headers={"x-csrf-token": token},
    )
    assert created.status_code == 201, created.text
    client.delete("/api/v1/session", headers={"x-csrf-token": token})
    client.cookies.clear()
    return existing["id"], created.json()["id"]


def test_manager_finds_and_merges_the_typo_duplicate(client: TestClient) -> None:
    keep, dup = _typo_duplicate(client)
    token = login(client, "manager")
    headers = {"x-csrf-token": token}
    listed = client.get("/api/v1/mpi/candidates", params={"limit": 200})
    assert listed.status_code == 200, listed.text
    pairs = {
        frozenset((p["a"]["resident"]["id"], p["b"]["resident"]["id"])): p for p in listed.json()
    }
    hit = pairs[frozenset((keep, dup))]
    assert hit["level"] == "probable" and "same_phone" in [r["code"] for r in hit["reasons"]]
    assert "出生日期和性别相同" in [r["label"] for r in hit["reasons"]]
    merged = client.post(
        "/api/v1/mpi/merges", json={"survivor_id": keep, "duplicate_id": dup}, headers=headers
    )
    assert merged.status_code == 201, merged.text
    assert merged.json()["moved"]["resident_identifiers.resident_id"] == 1
    again = client.post(
        "/api/v1/mpi/merges", json={"survivor_id": keep, "duplicate_id": dup}, headers=headers
    )
    assert again.status_code == 409 and "合并" in again.json()["error"]["message"]
    found = client.get("/api/v1/residents", params={"q": "HIS0001"}).json()
    assert [r["id"] for r in found] == [keep]


def test_bad_input_gets_clear_4xx(client: TestClient) -> None:
    keep, dup = _typo_duplicate(client)
    token = login(client, "manager")
    headers = {"x-csrf-token": token}
    cases = [
        ({"survivor_id": keep, "duplicate_id": keep}, 422, "自身"),
        ({"survivor_id": keep, "duplicate_id": str(uuid.uuid4())}, 404, "未找到"),
        ({"survivor_id": keep, "duplicate_id": "nope"}, 422, None),
        ({"survivor_id": keep}, 422, None),
        ({"survivor_id": keep, "duplicate_id": dup, "extra": 1}, 422, None),
    ]
    for body, status, text in cases:
        response = client.post("/api/v1/mpi/merges", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["message"]
        if text:
            assert text in response.json()["error"]["message"]
    assert (
        client.post(
            "/api/v1/mpi/merges", json={"survivor_id": keep, "duplicate_id": dup}
        ).status_code
        == 403
    )  # no CSRF header
    assert client.get("/api/v1/mpi/candidates", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/mpi/candidates", params={"org": "NOPE"}).status_code == 404
    assert client.get("/api/v1/mpi/candidates", params={"min_level": "x"}).status_code == 422
    decided = client.post(
        "/api/v1/mpi/not-duplicates",
        json={"a_id": keep, "b_id": dup, "note": "不同人"},
        headers=headers,
    )
    assert decided.status_code == 201 and decided.json() == {"recorded": True}
    listed = client.get("/api/v1/mpi/candidates", params={"limit": 200}).json()
    assert frozenset((keep, dup)) not in {
        frozenset((p["a"]["resident"]["id"], p["b"]["resident"]["id"])) for p in listed
    }
    same = client.post(
        "/api/v1/mpi/not-duplicates", json={"a_id": keep, "b_id": keep}, headers=headers
    )
    assert same.status_code == 422


def test_doctors_and_analysts_may_not_use_the_mpi(client: TestClient) -> None:
    keep, dup = _typo_duplicate(client)
    for username in ("doctor", "cdc"):
        token = login(client, username)
        assert client.get("/api/v1/mpi/candidates").status_code == 403
        response = client.post(
            "/api/v1/mpi/merges",
            json={"survivor_id": keep, "duplicate_id": dup},
            headers={"x-csrf-token": token},
        )
        assert response.status_code == 403 and "权限" in response.json()["error"]["message"]
        client.cookies.clear()
