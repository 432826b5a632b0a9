"""A NUL character anywhere in a request is refused at the edge (PostgreSQL cannot store it)."""

from fastapi.testclient import TestClient

from tests.e2e.conftest import login


def test_a_nul_in_json_query_or_form_is_refused_with_a_chinese_message(client: TestClient) -> None:
    signed_in = client.post("/api/v1/session", json={"username": "\u0000", "password": "x"})
    assert signed_in.status_code == 422
    assert "空字符" in signed_in.json()["error"]["message"]
    token = login(client)
    assert client.get("/api/v1/residents", params={"q": "王\x00"}).status_code == 422
    form = client.post("/login", data={"username": "a\x00", "password": "b", "csrf_token": token})
    assert form.status_code == 422
    assert client.get("/api/v1/residents", params={"q": "王"}).status_code == 200


def test_a_nul_in_a_fhir_request_is_refused_with_an_operation_outcome(client: TestClient) -> None:
    token = login(client)
    refusals = [
        client.post(
            "/fhir/Patient",
            content=b'{"resourceType": "Patient", "name": [{"text": "\\u0000"}]}',
            headers={"X-CSRF-Token": token, "Content-Type": "application/fhir+json"},
        ),
        client.get("/fhir/Patient", params={"name": "王\x00"}),
    ]
    for refused in refusals:
        # was 422 with the JSON API's {"error": ...}, which a FHIR client cannot read
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("application/fhir+json")
        body = refused.json()
        assert body["resourceType"] == "OperationOutcome"
        assert "NUL" in body["issue"][0]["diagnostics"]
        assert "空字符" in body["issue"][0]["diagnostics"]
