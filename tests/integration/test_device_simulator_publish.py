"""The simulator waits for acknowledgements as it goes (paho's 16-bit message ids wrap)."""

from __future__ import annotations

import pytest

from manbing.devices import simulator
from tests.mqtt_broker import Broker, broker  # noqa: F401

pytestmark = pytest.mark.mqtt


def test_publishing_more_than_the_unconfirmed_window_confirms_every_message(
    broker: Broker,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulator, "UNCONFIRMED_MAX", 7)
    items = [(f"manbing/v1/devices/S-{i}/readings", b"{}") for i in range(100)]
    assert simulator.publish_prepared(broker.url, items, rate=100_000) == 100


def test_the_window_stays_below_pahos_message_id_space() -> None:
    assert 0 < simulator.UNCONFIRMED_MAX < 65_535
