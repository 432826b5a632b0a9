"""Devices over HTTP: the doctor prints a code, the device binds and posts batches of readings."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from manbing.db.models import User
from tests.conftest import NOW
from tests.device_helpers import bp_payload
from tests.e2e.conftest import login


def _patient_resident_id(client: TestClient) -> str:
    factory = client.app.state.container.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        return str(s.scalars(select(User.resident_id).where(User.username == "patient")).one())


def _bind(client: TestClient, resident_id: str, serial: str) -> str:
    csrf = login(client, "doctor")
    printed = client.post(
        f"/api/v1/residents/{resident_id}/device-binding-codes", headers={"X-CSRF-Token": csrf}
    )
    assert printed.status_code == 201, printed.text
    bound = client.post(
        "/api/v1/devices/bind",
        json={"serial": serial, "kind": "bp_monitor", "binding_code": printed.json()["code"]},
    )
    assert bound.status_code == 201, bound.text
    secret: str = bound.json()["secret"]
    return secret


def test_a_device_posts_a_batch_and_bad_items_are_reported_while_good_ones_are_kept(
    client: TestClient,
) -> None:
    resident_id = _patient_resident_id(client)
    secret = _bind(client, resident_id, "BP-HTTP-2")
    batch = {
        "readings": [
            bp_payload("BP-HTTP-2", "1", 138, 88, NOW - timedelta(days=1)),
            bp_payload("BP-HTTP-2", "2", 310, 88, NOW - timedelta(days=1)),
            {"message_id": "3", "type": "thermometer"},
            bp_payload("BP-HTTP-2", "4", 136, 86, NOW - timedelta(hours=2)),
        ]
    }
    auth = {"Authorization": f"Device BP-HTTP-2:{secret}"}
    first = client.post("/api/v1/device-readings", json=batch, headers=auth)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "sbp"), (2, "measured_at")]
    assert "收缩压" in body["rejected"][0]["reason"]
    again = client.post("/api/v1/device-readings", json=batch, headers=auth).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    home = client.get(f"/api/v1/residents/{resident_id}/home").json()
    assert home["bp_readings"] == 2 and home["uncontrolled_at_home"] is True
    assert home["mean_sbp"] == 137.0


def test_a_batch_without_valid_device_credentials_is_refused_and_nothing_is_stored(
    client: TestClient,
) -> None:
    resident_id = _patient_resident_id(client)
    _bind(client, resident_id, "BP-HTTP-3")
    batch = {"readings": [bp_payload("BP-HTTP-3", "1", 120, 80, NOW)]}
    for header in ({}, {"Authorization": "Device BP-HTTP-3:guess"}, {"Authorization": "Bearer x"}):
        refused = client.post("/api/v1/device-readings", json=batch, headers=header)
        assert refused.status_code == 404
    home = client.get(f"/api/v1/residents/{resident_id}/home").json()
    assert home["bp_readings"] == 0
