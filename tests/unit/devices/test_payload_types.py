"""The edge of ingestion refuses JSON of the wrong kind instead of coercing it into a reading."""

import json

import pytest

from manbing.services.device_payload import submission_from_item, submission_from_mqtt, topic_for

BP = {
    "message_id": "m-1",
    "measured_at": "2026-11-24T08:00:00+08:00",
    "type": "bp",
    "values": {"sbp": 150, "dbp": 90, "pulse": 70},
}
GLUCOSE = {
    "message_id": "g-1",
    "measured_at": "2026-11-24T08:00:00+08:00",
    "type": "glucose",
    "values": {"glucose": 6.1},
    "units": {"glucose": "mmol/L"},
}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GLUCOSE, "values": {"glucose": True}}, "values.glucose"),  # was 1.0 mmol/L + alert
        ({**BP, "values": {"sbp": 150, "dbp": 90, "pulse": False}}, "values.pulse"),
    ],
)
def test_a_boolean_is_not_a_measured_value(body: dict[str, object], field: str) -> None:
    for sub in (
        submission_from_item(body, "GM-1", "secret"),
        submission_from_mqtt(topic_for("GM-1"), json.dumps(body).encode()),
    ):
        assert sub.raw is None and sub.error is not None
        assert sub.error.field == field
        assert "数据格式错误" in sub.error.message


def test_numbers_still_pass_the_edge() -> None:
    for body in (BP, GLUCOSE, {**BP, "values": {"sbp": 150.5, "dbp": 90}}):
        assert submission_from_item(body, "GM-1", "secret").raw is not None


@pytest.mark.parametrize(
    "body",
    [
        # json.loads (the HTTP body) lets lone surrogates in; the refusal echoes the message id
        # and names the field, and a lone surrogate there made the answer itself fail (500)
        {**BP, "message_id": "m-\ud800"},
        {**BP, "units": {"s\udfffp": "mmHg"}},
        {**BP, "values": {"s\udfffp": 1}, "message_id": "\udc00" * 200},
    ],
)
def test_text_that_is_not_valid_unicode_is_refused_and_the_refusal_can_be_sent(
    body: dict[str, object],
) -> None:
    sub = submission_from_item(body, "BP-1", "secret")
    assert sub.raw is None and sub.error is not None
    for text in (sub.error.field, sub.error.message, sub.error.message_en, sub.message_id or ""):
        text.encode()
    assert sub.message_id is None or len(sub.message_id) <= 64


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 4000,  # within 4 KiB; the best-effort message-id lookup hit RecursionError, which
        b'{"message_id": ' + b"[" * 3000,  # escaped the parser and stopped the gateway
        b"{" * 4096,
    ],
)
def test_deeply_nested_json_is_a_rejected_message_not_an_exception(payload: bytes) -> None:
    sub = submission_from_mqtt(topic_for("BP-1"), payload)
    assert sub.raw is None and sub.error is not None
    assert sub.error.field == "payload"


@pytest.mark.parametrize("value", ["152", "152.0", " 152", "1_52", "１５２", "nan"])
def test_a_numeric_string_is_not_a_measured_value(value: str) -> None:
    body = {**BP, "values": {"sbp": value, "dbp": 90}}
    for sub in (
        submission_from_item(body, "BP-1", "secret"),
        submission_from_mqtt(topic_for("BP-1"), json.dumps(body).encode()),
    ):
        assert sub.raw is None and sub.error is not None
        assert sub.error.field == "values.sbp"
        assert "数据格式错误" in sub.error.message
        assert "a JSON number, not a string" in sub.error.message_en


def test_a_utf8_byte_order_mark_is_ignored_over_mqtt_as_over_http() -> None:
    payload = b"\xef\xbb\xbf" + json.dumps(BP).encode()
    sub = submission_from_mqtt(topic_for("BP-1"), payload)
    assert sub.error is None and sub.raw is not None and sub.raw.values["sbp"] == 150
    assert submission_from_item(json.loads(payload), "BP-1", "secret").raw == sub.raw
    # only one mark, and only at the start
    for bad in (b"\xef\xbb\xbf" + payload, json.dumps(BP).encode() + b"\xef\xbb\xbf"):
        again = submission_from_mqtt(topic_for("BP-1"), bad)
        assert again.raw is None and again.error is not None and again.error.field == "payload"
