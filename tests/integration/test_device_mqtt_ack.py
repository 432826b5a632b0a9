"""The ack-after-commit adapter (manbing.devices.mqtt_ack) against a real Mosquitto.

These fail if an aiomqtt or paho upgrade breaks manual acknowledgements: an unacknowledged
QoS 1 message must come back on the same persistent session, an acknowledged one must not.
"""

from __future__ import annotations

import asyncio

import aiomqtt
import paho.mqtt.client as paho
import pytest

from manbing.devices.gateway import GatewayConfig, make_client
from manbing.devices.mqtt_ack import CapturedQueue, ManualAcks
from tests.mqtt_broker import Broker, broker  # noqa: F401

pytestmark = pytest.mark.mqtt
TOPIC = "manbing/v1/devices/ACK-1/readings"


async def _publish(url_port: int, payload: bytes) -> None:
    async with aiomqtt.Client("127.0.0.1", url_port) as client:
        await client.publish(TOPIC, payload, qos=1)


async def _receive(config: GatewayConfig, ack: bool) -> list[bytes]:
    """Connect on the persistent session, take what arrives within a second, maybe ack it."""
    captured = CapturedQueue()
    client = make_client(config, captured.queue_type)
    acks = ManualAcks(client)
    got: list[aiomqtt.Message] = []
    async with client:
        await client.subscribe("manbing/v1/devices/+/readings", qos=1)
        try:
            async with asyncio.timeout(1.0):
                async for message in client.messages:
                    got.append(message)
        except TimeoutError:
            pass
        extra: list[aiomqtt.Message] = []
        captured.drain(extra, 100)
        got += extra
        if ack:
            for message in got:
                acks.ack(message)
            await asyncio.sleep(0.3)  # let the PUBACKs leave before disconnecting
    return [bytes(m.payload) for m in got if isinstance(m.payload, bytes | bytearray)]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_an_unacknowledged_message_is_redelivered_and_an_acknowledged_one_is_not(
    broker: Broker,  # noqa: F811
    protocol: str,
) -> None:
    config = GatewayConfig(broker.url, client_id=f"ack-test-{protocol}", protocol=protocol)
    assert asyncio.run(_receive(config, ack=False)) == []  # creates the session
    asyncio.run(_publish(broker.port, b"one"))
    assert asyncio.run(_receive(config, ack=False)) == [b"one"]
    assert asyncio.run(_receive(config, ack=True)) == [b"one"]  # redelivered, now acked
    assert asyncio.run(_receive(config, ack=False)) == []


def test_the_adapter_refuses_a_client_without_the_paho_client_it_expects() -> None:
    async def check() -> None:
        client = make_client(GatewayConfig("mqtt://127.0.0.1:1"))
        assert isinstance(client._client, paho.Client)  # what ManualAcks relies on
        client._client = object()  # type: ignore[assignment]  # an aiomqtt that changed
        with pytest.raises(RuntimeError, match="manual acknowledgements"):
            ManualAcks(client)

    asyncio.run(check())


def test_the_captured_queue_is_the_one_aiomqtt_reads() -> None:
    async def check() -> None:
        captured = CapturedQueue()
        client = make_client(GatewayConfig("mqtt://127.0.0.1:1"), captured.queue_type)
        assert captured.queue is not None
        assert len(client.messages) == 0
        captured.queue.put_nowait(aiomqtt.Message(TOPIC, b"x", 1, False, 7, None))
        assert len(client.messages) == 1  # aiomqtt's public view of its queue sees ours
        batch: list[aiomqtt.Message] = []
        captured.drain(batch, 10)
        assert [m.mid for m in batch] == [7] and len(client.messages) == 0

    asyncio.run(check())
