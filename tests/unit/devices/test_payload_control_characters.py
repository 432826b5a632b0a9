import json

from manbing.services.device_payload import submission_from_mqtt, topic_for


def _payload(**overrides: object) -> bytes:
    body = {
        "message_id": "m-1",
        "measured_at": "2026-11-24T08:00:00+08:00",
        "type": "bp",
        "values": {"sbp": 150, "dbp": 90},
        "units": {"sbp": "mmHg", "dbp": "mmHg"},
    }
    body.update(overrides)
    return json.dumps(body).encode()


def test_a_nul_in_the_message_id_or_a_unit_is_rejected_with_a_reason() -> None:
    assert submission_from_mqtt(topic_for("BP-001"), _payload()).error is None
    for bad in (
        _payload(message_id="m\u0000"),
        _payload(units={"sbp": "mmHg\u0000", "dbp": "mmHg"}),
    ):
        rejected = submission_from_mqtt(topic_for("BP-001"), bad)
        assert rejected.error is not None
