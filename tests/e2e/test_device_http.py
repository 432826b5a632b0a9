"""Devices over HTTP: the doctor prints a code, the device binds and posts batches of readings."""

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from manbing.db.models import Observation, User
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


def test_items_that_once_broke_the_batch_are_rejected_one_by_one_and_the_rest_kept(
    client: TestClient,
) -> None:
    """Each of these answered 500 (losing the whole batch) or stored nonsense."""
    resident_id = _patient_resident_id(client)
    secret = _bind(client, resident_id, "BP-HTTP-4")
    good = bp_payload("BP-HTTP-4", "good", 128, 82, NOW - timedelta(hours=1))
    batch = [
        good,
        {**good, "message_id": "naive-sent", "sent_at": "2026-11-24T09:58:00"},  # TypeError
        {**good, "message_id": "year-10000", "measured_at": "9999-12-31T23:59:59-12:00"},
        {**good, "message_id": "m-\ud800"},  # echoed back: the answer could not be encoded
        {**good, "message_id": "true", "type": "glucose", "values": {"glucose": True}, "units": {}},
    ]
    body = json.dumps({"readings": batch}).encode()  # \ud800 stays an escape, as a device sends it
    auth = {"Authorization": f"Device BP-HTTP-4:{secret}", "content-type": "application/json"}
    with TestClient(client.app, raise_server_exceptions=False) as plain:
        answer = plain.post("/api/v1/device-readings", content=body, headers=auth)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["accepted"] == 1 and result["alerts"] == 0
    assert [(r["index"], r["field"]) for r in result["rejected"]] == [
        (1, "sent_at"),
        (2, "measured_at"),
        (3, "message_id"),
        (4, "values.glucose"),
    ]
    assert all(r["reason"] and r["reason_en"] for r in result["rejected"])
    factory = client.app.state.container.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        keys = s.scalars(
            select(Observation.idempotency_key).where(
                Observation.idempotency_key.startswith("BP-HTTP-4:")
            )
        ).all()
    assert keys == ["BP-HTTP-4:good"]
    assert (
        client.get(f"/residents/{resident_id}", headers={"accept": "text/html"}).status_code == 200
    )


def test_a_body_that_is_not_utf8_json_is_refused_saying_so(client: TestClient) -> None:
    resident_id = _patient_resident_id(client)
    secret = _bind(client, resident_id, "BP-HTTP-5")
    auth = {"Authorization": f"Device BP-HTTP-5:{secret}", "content-type": "application/json"}
    body = '{"readings": [{"message_id": "é"}]}'.encode("latin-1")
    refused = client.post("/api/v1/device-readings", content=body, headers=auth)
    assert refused.status_code == 400
    assert "UTF-8" in refused.json()["error"]["message"]


def test_the_body_is_utf8_json_with_an_optional_byte_order_mark_as_over_mqtt(
    client: TestClient,
) -> None:
    """The gateway and the HTTP route read the same bytes the same way (ADR 0008): a leading
    UTF-8 BOM is ignored (it was refused over MQTT only); other encodings are refused."""
    resident_id = _patient_resident_id(client)
    secret = _bind(client, resident_id, "BP-HTTP-BOM")
    auth = {"Authorization": f"Device BP-HTTP-BOM:{secret}", "content-type": "application/json"}
    reading = bp_payload("BP-HTTP-BOM", "bom-1", 128, 82, NOW - timedelta(hours=1))
    text = json.dumps({"readings": [reading]})
    bom = client.post(
        "/api/v1/device-readings", content=b"\xef\xbb\xbf" + text.encode(), headers=auth
    )
    assert bom.status_code == 200 and bom.json()["accepted"] == 1, bom.text
    utf16 = json.dumps({"readings": [{**reading, "message_id": "u16"}]}).encode("utf-16")
    refused = client.post("/api/v1/device-readings", content=utf16, headers=auth)
    assert 400 <= refused.status_code < 500, refused.text  # its NUL bytes are refused
    factory = client.app.state.container.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        keys = set(s.scalars(select(Observation.idempotency_key)))
    assert "BP-HTTP-BOM:bom-1" in keys and "BP-HTTP-BOM:u16" not in keys


def test_numeric_strings_and_unknown_value_names_are_refused_naming_the_field(
    client: TestClient,
) -> None:
    resident_id = _patient_resident_id(client)
    secret = _bind(client, resident_id, "BP-HTTP-STR")
    at = NOW - timedelta(hours=1)
    good = bp_payload("BP-HTTP-STR", "ok", 128, 82, at)
    batch = {
        "readings": [
            {**good, "message_id": "s", "values": {"sbp": "152", "dbp": 95}},
            {**good, "message_id": "k", "values": {"sbp": 152, "dbp": 95, "sbp2": 150}},
            good,
        ]
    }
    auth = {"Authorization": f"Device BP-HTTP-STR:{secret}"}
    body = client.post("/api/v1/device-readings", json=batch, headers=auth).json()
    assert body["accepted"] == 1
    refused = {r["index"]: r for r in body["rejected"]}
    assert refused[0]["field"] == "values.sbp" and "not a string" in refused[0]["reason_en"]
    assert "数据格式错误" in refused[0]["reason"]
    assert refused[1]["field"] == "values.sbp2" and "sbp2" in refused[1]["reason_en"]
    assert "未知的数值 sbp2" in refused[1]["reason"]
