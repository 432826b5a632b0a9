"""A write that breaks a database rule no service checked (or that lost a race with another
write) answers 409 with a Chinese message, never 500."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError


def _clash() -> None:
    raise IntegrityError("INSERT INTO secrets …", {}, Exception("duplicate key value"))


def test_an_unchecked_integrity_error_answers_409_on_the_api_and_on_pages(
    client: TestClient,
) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    app.get("/api/v1/test-clash")(_clash)
    app.get("/test-clash")(_clash)
    client.follow_redirects = False

    api = client.get("/api/v1/test-clash")
    assert api.status_code == 409
    assert api.json()["error"]["message"].startswith("数据冲突")
    assert "secrets" not in api.text  # the SQL stays in the log

    page = client.get("/test-clash", headers={"accept": "text/html"})
    assert page.status_code == 409
    assert "数据冲突" in page.text and "secrets" not in page.text
