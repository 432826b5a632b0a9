"""The simulator's QoS 1 publisher against a real Mosquitto: every message arrives intact,
acknowledgements bound the window, the rate ceiling holds, and a lost broker is an error."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from manbing.devices import simulator
from manbing.devices.gateway import broker_address
from manbing.devices.mqtt_publisher import MqttPublishError, QoS1Publisher
from tests.mqtt_broker import Broker, broker  # noqa: F401

pytestmark = pytest.mark.mqtt


def _subscriber(
    url: str, expected: int
) -> tuple[mqtt.Client, list[tuple[str, bytes]], threading.Event]:
    host, port, _, _ = broker_address(url)
    received: list[tuple[str, bytes]] = []
    done = threading.Event()
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="check-subscriber")

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        received.append((message.topic, message.payload))
        if len(received) >= expected:
            done.set()

    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe("manbing/#", qos=1)
    client.connect(host, port)
    client.loop_start()
    assert subscribed.wait(10)
    return client, received, done


def test_every_message_arrives_intact_past_the_window_and_the_packet_id_space(
    broker: Broker,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulator, "UNCONFIRMED_MAX", 7)
    # 70,000 messages: packet ids wrap past 65,535; sizes cross the 1- and 2-byte lengths
    sizes = [0, 1, 120, 200, 20_000]
    items = [
        (f"manbing/v1/devices/S-{i}/readings", (b"%d:" % i) + b"x" * sizes[i % len(sizes)])
        for i in range(70_000)
    ]
    subscriber, received, done = _subscriber(broker.url, len(items))
    try:
        assert simulator.publish_prepared(broker.url, items, rate=1_000_000) == len(items)
        assert done.wait(60)
    finally:
        subscriber.loop_stop()
        subscriber.disconnect()
    assert sorted(received) == sorted(items)


def test_count_and_rate_ceiling(broker: Broker) -> None:  # noqa: F811
    items = [(f"manbing/v1/devices/S-{i}/readings", b"{}") for i in range(1000)]
    started = time.monotonic()
    assert simulator.publish_prepared(broker.url, items, rate=100, count=50) == 50
    assert time.monotonic() - started >= 0.45


def test_a_broker_that_goes_away_is_an_error_not_a_hang(broker: Broker) -> None:  # noqa: F811
    host, port, _, _ = broker_address(broker.url)
    publisher = QoS1Publisher(host, port, client_id="sim-test", ack_timeout=10)
    broker.stop()
    items = ((f"manbing/v1/devices/S-{i}/readings", b"{}") for i in range(10**9))
    started = time.monotonic()
    with pytest.raises((MqttPublishError, OSError)):
        publisher.publish_all(items, rate=1_000_000)
    assert time.monotonic() - started < 10
    publisher.close()


def test_the_window_stays_below_the_packet_id_space() -> None:
    assert 0 < simulator.UNCONFIRMED_MAX < 65_535
