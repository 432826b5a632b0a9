"""Packet encoding of the simulator's MQTT 3.1.1 publisher (OASIS MQTT 3.1.1, sections 2-3)."""

from __future__ import annotations

import pytest

from manbing.devices.mqtt_publisher import (
    QoS1Publisher,
    _remaining_length,
    connect_packet,
    publish_packet,
)


@pytest.mark.parametrize(
    ("n", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (2_097_151, b"\xff\xff\x7f"),
    ],
)
def test_remaining_length_follows_the_spec_table(n: int, encoded: bytes) -> None:
    assert _remaining_length(n) == encoded


def test_publish_packet_is_qos1_with_topic_packet_id_and_payload() -> None:
    packet = publish_packet("a/b", b"hi", 0x0102)
    assert packet == b"\x32\x09\x00\x03a/b\x01\x02hi"


def test_connect_packet_carries_clean_session_credentials_and_no_keepalive() -> None:
    packet = connect_packet("sim", "user", "pw")
    assert packet[:1] == b"\x10"
    body = packet[2:]
    assert body[:6] == b"\x00\x04MQTT" and body[6] == 4
    assert body[7] == 0x80 | 0x40 | 0x02
    assert body[8:10] == b"\x00\x00"
    assert body[10:] == b"\x00\x03sim\x00\x04user\x00\x02pw"
    assert connect_packet("sim", None, None)[9] == 0x02


@pytest.mark.parametrize("window", [0, 65_535])
def test_the_window_must_fit_the_packet_ids(window: int) -> None:
    with pytest.raises(ValueError, match="window"):
        QoS1Publisher("127.0.0.1", 1, client_id="x", window=window)
