"""A message the database deterministically refuses no longer blocks the gateway: it is
quarantined to the dead-letter topic and acknowledged; the rest of its batch is stored.

The gateway runs in-process (real Mosquitto, real database) with an injected ingest function
that fails on one message id, as a future validation bug or a value the database refuses would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta

import aiomqtt
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError

from manbing.db.models import Observation
from manbing.devices.gateway import Gateway, GatewayConfig
from manbing.services import devices
from manbing.services.device_payload import DEAD_LETTER_PREFIX, dead_letter_topic, topic_for
from manbing.services.devices import IngestResult, Submission
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.device_helpers import bind, bp_payload, encode
from tests.mqtt_broker import Broker

pytestmark = pytest.mark.mqtt


def _refusing(message_id: str):
    def ingest(uow: UnitOfWork, subs: Sequence[Submission], clock) -> IngestResult:
        if any(s.raw is not None and s.raw.message_id == message_id for s in subs):
            raise DataError("INSERT INTO observations …", {}, ValueError("value out of range"))
        return devices.ingest(uow, subs, clock)

    return ingest


async def _until(predicate, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_poison_message_is_dead_lettered_acknowledged_and_the_batch_is_stored(
    district, clock, broker: Broker, caplog: pytest.LogCaptureFixture, protocol: str
) -> None:
    serial = f"DLQ-{uuid.uuid4().hex[:6]}"
    secret = bind(
        district.session_factory, district.orgs["xixing-1"], district.resident_ids["xixing-1"][0],
        serial, clock,
    ).secret  # fmt: skip
    at = NOW - timedelta(hours=1)
    good = [encode(bp_payload(serial, f"ok-{i}", 120 + i, 80, at, secret)) for i in range(6)]
    poison = encode(bp_payload(serial, "poison", 131, 81, at, secret))
    topic = topic_for(serial)
    config = GatewayConfig(broker.url, client_id=f"gw-dlq-{protocol}", protocol=protocol)
    host, port = broker.url.removeprefix("mqtt://").split(":")

    def stored() -> set[str]:
        with district.session_factory() as s:
            keys = s.scalars(select(Observation.idempotency_key))
            return {k.removeprefix(f"{serial}:") for k in keys if k and k.startswith(serial)}

    def subscribed(times: int) -> bool:
        return sum("subscribed to" in r.getMessage() for r in caplog.records) >= times

    async def scenario() -> list[aiomqtt.Message]:
        dead: list[aiomqtt.Message] = []
        async with aiomqtt.Client(host, int(port), protocol=aiomqtt.ProtocolVersion.V5) as watch:
            await watch.subscribe(f"{DEAD_LETTER_PREFIX}/#", qos=1)

            async def collect() -> None:
                async for message in watch.messages:
                    dead.append(message)

            collecting = asyncio.create_task(collect())
            async with aiomqtt.Client(host, int(port)) as device:
                stop = asyncio.Event()
                gateway = Gateway(config, lambda: UnitOfWork(district.session_factory), clock,
                                  ingest=_refusing("poison"))  # fmt: skip
                running = asyncio.create_task(gateway.run(stop))
                await _until(lambda: subscribed(1))
                for payload in [*good[:3], poison, *good[3:]]:
                    await device.publish(topic, payload, qos=1)
                await _until(lambda: stored() >= {f"ok-{i}" for i in range(6)} and len(dead) == 1)
                # the subscription is not blocked: a later message is stored too
                await device.publish(topic, encode(bp_payload(serial, "after", 125, 80, at, secret)), qos=1)  # fmt: skip
                await _until(lambda: "after" in stored())
                await _until(lambda: gateway.quarantined == 1)
                stop.set()
                await running

                # A gateway on the same session that would store it: the poison message was
                # acknowledged, so the broker does not deliver it again.
                stop = asyncio.Event()
                healthy = Gateway(config, lambda: UnitOfWork(district.session_factory), clock)
                running = asyncio.create_task(healthy.run(stop))
                await _until(lambda: subscribed(2))
                await device.publish(topic, encode(bp_payload(serial, "marker", 126, 80, at, secret)), qos=1)  # fmt: skip
                await _until(lambda: "marker" in stored())
                stop.set()
                await running
            collecting.cancel()
            await asyncio.gather(collecting, return_exceptions=True)
        return dead

    with caplog.at_level(logging.INFO, "manbing.devices.gateway"):
        dead = asyncio.run(scenario())

    assert stored() == {f"ok-{i}" for i in range(6)} | {"after", "marker"}
    assert len(dead) == 1
    assert str(dead[0].topic) == dead_letter_topic(serial)
    assert dead[0].payload == poison and dead[0].qos == 1
    if protocol == "5":
        props = dict(dead[0].properties.UserProperty)
        assert props["original_topic"] == topic and "DataError" in props["error"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert f"topic={topic}" in errors[0] and "message_id=poison" in errors[0]
    assert "DataError" in errors[0]
    assert json.loads(dead[0].payload)["message_id"] == "poison"
