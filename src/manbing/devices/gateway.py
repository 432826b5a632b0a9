"""The MQTT device gateway: subscribe with QoS 1 on a persistent session, ingest in batches.

Exactly-once storage rests on three things:

1. the session is persistent (fixed client id, ``clean_start``/``clean_session`` false, and for
   MQTT 5 a session expiry), so the broker keeps unacknowledged and new messages while the
   gateway is down;
2. messages are acknowledged *manually*, only after the batch holding them is committed — a
   gateway killed before the commit gets them again (see ``mqtt_ack`` for how, with aiomqtt);
3. a redelivered message has the same (device, message id) key, and the insert ignores a key
   already stored.

A malformed message is logged with its reason and acknowledged (redelivering it cannot fix it);
a database error is retried with back-off and nothing is acknowledged until it succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from manbing.devices.mqtt_ack import CapturedQueue, ManualAcks
from manbing.services import devices, messages
from manbing.services.clock import Clock
from manbing.services.device_payload import TOPIC_FILTER, submission_from_mqtt
from manbing.services.unit_of_work import UnitOfWork

log = logging.getLogger("manbing.devices.gateway")

SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
RECEIVE_MAXIMUM = 10_000
"""Unacknowledged messages the broker may have in flight to us (MQTT 5 Receive Maximum).

Acks wait for the commit, so this must exceed a batch (``batch_max``, 5000) so that the broker
keeps sending the next batch while one is being stored — but not by much: after a reconnect the
broker replays the whole window at once. (For MQTT 3.1.1 the broker's own
``max_inflight_messages`` plays this role.)"""
SUBSCRIBE_TIMEOUT_SECONDS = 300.0
"""On reconnect the broker replays the unacknowledged window before the SUBACK; aiomqtt's
default 10 s wait could expire behind it, and a reconnect would replay it again (a livelock)."""


@dataclass(frozen=True)
class GatewayConfig:
    mqtt_url: str
    client_id: str = "manbing-gateway"
    protocol: str = "5"  # "5" or "3.1.1"
    batch_max: int = 5000
    batch_wait_seconds: float = 0.02
    reconnect_seconds: float = 0.5


def broker_address(url: str) -> tuple[str, int, str | None, str | None]:
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"unsupported MQTT URL scheme {parsed.scheme!r} (use mqtt://host:port)")
    return parsed.hostname or "127.0.0.1", parsed.port or 1883, parsed.username, parsed.password


def make_client(
    config: GatewayConfig, queue_type: type[asyncio.Queue[aiomqtt.Message]] | None = None
) -> aiomqtt.Client:
    """An unconnected client on the gateway's persistent session (acks still automatic)."""
    host, port, username, password = broker_address(config.mqtt_url)
    if config.protocol == "3.1.1":
        client = aiomqtt.Client(
            host,
            port,
            username=username,
            password=password,
            identifier=config.client_id,
            protocol=aiomqtt.ProtocolVersion.V311,
            clean_session=False,
            max_inflight_messages=RECEIVE_MAXIMUM,
            queue_type=queue_type,
        )
    else:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        client = aiomqtt.Client(
            host,
            port,
            username=username,
            password=password,
            identifier=config.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=props,
            max_inflight_messages=RECEIVE_MAXIMUM,
            queue_type=queue_type,
        )
    return client


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        uow_factory: Callable[[], UnitOfWork],
        clock: Clock,
    ) -> None:
        self.config = config
        self.uow_factory = uow_factory
        self.clock = clock
        self.stored = 0
        self.rejected = 0
        self._dispatch_wanted: asyncio.Event | None = None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Consume until ``stop`` is set; reconnect (keeping the session) whenever the link drops."""
        stop = stop or asyncio.Event()
        self._dispatch_wanted = asyncio.Event()
        dispatcher = asyncio.create_task(self._dispatch_messages(self._dispatch_wanted))
        try:
            await self._run(stop)
        finally:
            dispatcher.cancel()

    async def _dispatch_messages(self, wanted: asyncio.Event) -> None:
        """Deliver patient messages queued by alerts, beside ingestion (never blocking it)."""
        while True:
            await wanted.wait()
            wanted.clear()
            try:
                await asyncio.to_thread(messages.dispatch_pending, self.uow_factory(), self.clock)
            except Exception:  # the outbox keeps them; the next dispatch delivers
                log.exception("dispatching patient messages failed")

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                captured = CapturedQueue()
                client = make_client(self.config, captured.queue_type)
                acks = ManualAcks(client)  # before connecting: the session may hold messages
                async with client:
                    await client.subscribe(TOPIC_FILTER, qos=1, timeout=SUBSCRIBE_TIMEOUT_SECONDS)
                    log.info("subscribed to %s as %s", TOPIC_FILTER, self.config.client_id)
                    await self._consume(client, captured, acks, stop)
            except aiomqtt.MqttError as exc:
                if stop.is_set():
                    break
                log.warning("broker connection lost (%s); reconnecting", exc)
                await asyncio.sleep(self.config.reconnect_seconds)

    async def _consume(
        self,
        client: aiomqtt.Client,
        captured: CapturedQueue,
        acks: ManualAcks,
        stop: asyncio.Event,
    ) -> None:
        incoming = client.messages
        loop = asyncio.get_running_loop()
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                first = asyncio.ensure_future(anext(incoming))
                done, _ = await asyncio.wait({first, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if first not in done:
                    first.cancel()
                    return
                batch = [first.result()]
                # drain what is already queued without a task per message (aiomqtt's iterator
                # creates one per call); wait a little for a burst to fill the batch
                deadline = loop.time() + self.config.batch_wait_seconds
                while True:
                    captured.drain(batch, self.config.batch_max)
                    if len(batch) >= self.config.batch_max or loop.time() >= deadline:
                        break
                    await asyncio.sleep(0.002)
                await self._process(batch)
                for message in batch:
                    acks.ack(message)
        finally:
            stopping.cancel()

    async def _process(self, batch: list[aiomqtt.Message]) -> None:
        submissions = [submission_from_mqtt(str(m.topic), _payload_bytes(m)) for m in batch]
        delay = 0.2
        while True:
            try:
                result = await asyncio.to_thread(
                    devices.ingest, self.uow_factory(), submissions, self.clock
                )
                break
            except Exception:
                log.exception("storing a batch of %d readings failed; retrying", len(batch))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        for r in result.rejected:
            log.warning(
                "rejected reading topic=%s message_id=%s decision=%s field=%s reason=%s",
                batch[r.index].topic,
                r.message_id,
                r.decision.value,
                r.field,
                r.reason_en,
            )
        self.stored += result.accepted
        self.rejected += len(result.rejected)
        if result.alerts and self._dispatch_wanted is not None:
            self._dispatch_wanted.set()
        log.debug(
            "batch of %d: %d stored, %d duplicates", len(batch), result.accepted, result.duplicates
        )


def _payload_bytes(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return b"" if payload is None else str(payload).encode()
