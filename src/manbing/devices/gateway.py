"""The MQTT device gateway: subscribe with QoS 1 on a persistent session, ingest in batches.

Exactly-once storage rests on three things:

1. the session is persistent (fixed client id, ``clean_start``/``clean_session`` false, and for
   MQTT 5 a session expiry), so the broker keeps unacknowledged and new messages while the
   gateway is down;
2. messages are acknowledged *manually*, only after the batch holding them is committed — a
   gateway killed before the commit gets them again (see ``mqtt_ack`` for how, with aiomqtt);
3. a redelivered message has the same (device, message id) key, and the insert ignores a key
   already stored.

A malformed message is logged with its reason and acknowledged (redelivering it cannot fix it).
Storage failures are told apart (ADR 0008, "Poison messages"):

- the database being unreachable or unusable (``is_transient``: SQLAlchemy ``OperationalError``,
  ``InterfaceError``, ``DisconnectionError``, pool and socket timeouts, and PostgreSQL errors
  such as an undefined table after a missed migration) is retried with
  back-off, forever, and nothing is acknowledged until the batch is stored;
- any other exception is taken to be caused by the batch's content: the batch is split in
  halves, recursively, so that the good messages are stored; a single message that still fails
  is *quarantined* — logged at ERROR, published verbatim to the dead-letter topic
  (``manbing/v1/deadletter/{serial}``, QoS 1) for an operator to inspect and replay — and
  acknowledged, so it cannot block the subscription.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import exc as sa_exc

from manbing.devices.mqtt_ack import CapturedQueue, ManualAcks
from manbing.services import devices, messages
from manbing.services.clock import Clock
from manbing.services.device_payload import (
    TOPIC_FILTER,
    dead_letter_topic,
    serial_from_topic,
    submission_from_mqtt,
)
from manbing.services.devices import IngestResult, Rejection, Submission
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


IngestFn = Callable[[UnitOfWork, Sequence[Submission], Clock], IngestResult]
"""How a batch is stored (``services.devices.ingest``; tests inject failing ones)."""
DeadLetterFn = Callable[[aiomqtt.Message, str], Awaitable[None]]
"""Publishes a quarantined message (with the error text) to the dead-letter topic."""

_TRANSIENT: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,  # connection refused or lost, server shutting down, locked, …
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # the connection pool's
    TimeoutError,
    ConnectionError,
)


_DEPLOYMENT_SQLSTATE_CLASSES = frozenset({"08", "28", "3D", "3F", "42", "53", "57", "58"})
"""SQLSTATE classes that say the database or its schema is not usable (connection, login,
missing database or schema, undefined table or column, no privilege, disk full, shut down):
every message would fail alike, so quarantining would empty the stream into the dead-letter
topic. Such a batch waits for the operator's fix like an outage."""


def is_transient(exc: BaseException) -> bool:
    """True when a storage failure says the database is unavailable, not that the data is bad:
    such a batch is retried as it is until the database is back."""
    if isinstance(exc, _TRANSIENT):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _DEPLOYMENT_SQLSTATE_CLASSES:
        return True
    return exc.connection_invalidated


@dataclass(frozen=True)
class GatewayConfig:
    mqtt_url: str
    client_id: str = "manbing-gateway"
    protocol: str = "5"  # "5" or "3.1.1"
    batch_max: int = 5000
    batch_wait_seconds: float = 0.02
    reconnect_seconds: float = 0.5
    retry_seconds: float = 0.2
    """First back-off after a transient storage failure (doubling up to ``retry_max_seconds``)."""
    retry_max_seconds: float = 5.0


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
        ingest: IngestFn = devices.ingest,
    ) -> None:
        self.config = config
        self.uow_factory = uow_factory
        self.clock = clock
        self.ingest = ingest
        self.stored = 0
        self.rejected = 0
        self.quarantined = 0
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
                await self._process(batch, self._dead_letter_to(client))
                for message in batch:
                    acks.ack(message)
        finally:
            stopping.cancel()

    def _dead_letter_to(self, client: aiomqtt.Client) -> DeadLetterFn:
        mqtt5 = self.config.protocol != "3.1.1"

        async def publish(message: aiomqtt.Message, error: str) -> None:
            await _dead_letter(client, mqtt5, message, error)

        return publish

    async def _process(self, batch: list[aiomqtt.Message], dead_letter: DeadLetterFn) -> None:
        """Store a batch; return once every message is stored, rejected or quarantined (so all
        may be acknowledged). Only a transient failure keeps it here, retrying."""
        submissions: list[Submission | None] = []
        for message in batch:
            try:
                submissions.append(
                    submission_from_mqtt(str(message.topic), _payload_bytes(message))
                )
            except Exception as exc:  # a parser bug: quarantine the message, keep the others
                await self._quarantine(message, None, exc, dead_letter)
                submissions.append(None)
        parsed = [i for i, sub in enumerate(submissions) if sub is not None]
        result = await self._store(batch, submissions, parsed, dead_letter)
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

    async def _store(
        self,
        batch: list[aiomqtt.Message],
        submissions: list[Submission | None],
        part: list[int],
        dead_letter: DeadLetterFn,
    ) -> IngestResult:
        """Store the messages ``part`` (indices into ``batch``); rejections carry batch indices.

        A non-transient failure splits the part in halves (each stored in a transaction of its
        own) until the failing message is alone; that one is quarantined.
        """
        if not part:
            return IngestResult()
        chosen = [submissions[i] for i in part]
        try:
            result = await self._ingest_while_unreachable([s for s in chosen if s is not None])
        except Exception as exc:
            if len(part) == 1:
                await self._quarantine(batch[part[0]], submissions[part[0]], exc, dead_letter)
                return IngestResult()
            log.warning(
                "storing %d readings failed (%s: %s); splitting the batch to find the culprit",
                len(part),
                type(exc).__name__,
                exc,
            )
            half = len(part) // 2
            first = await self._store(batch, submissions, part[:half], dead_letter)
            second = await self._store(batch, submissions, part[half:], dead_letter)
            return _merged(first, second)
        result.rejected = [
            Rejection(part[r.index], r.message_id, r.decision, r.field, r.reason, r.reason_en)
            for r in result.rejected
        ]
        return result

    async def _ingest_while_unreachable(self, submissions: list[Submission]) -> IngestResult:
        """Ingest, retrying transient failures with back-off for as long as they last."""
        delay = self.config.retry_seconds
        while True:
            try:
                return await asyncio.to_thread(
                    self.ingest, self.uow_factory(), submissions, self.clock
                )
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.exception(
                    "storing a batch of %d readings failed (database unavailable?); retrying",
                    len(submissions),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max_seconds)

    async def _quarantine(
        self,
        message: aiomqtt.Message,
        submission: Submission | None,
        exc: Exception,
        dead_letter: DeadLetterFn,
    ) -> None:
        """Log a message that cannot be stored, publish it to the dead-letter topic (the
        caller then acknowledges it)."""
        message_id = None
        if submission is not None:
            message_id = submission.raw.message_id if submission.raw else submission.message_id
        error = f"{type(exc).__name__}: {exc}"[:500]
        log.error(
            "quarantined reading topic=%s message_id=%s mqtt_mid=%s error=%s; published to %s",
            message.topic,
            message_id,
            message.mid,
            error,
            dead_letter_topic(serial_from_topic(str(message.topic))),
            exc_info=exc,
        )
        await dead_letter(message, error)
        self.quarantined += 1


def _merged(a: IngestResult, b: IngestResult) -> IngestResult:
    return IngestResult(
        accepted=a.accepted + b.accepted,
        duplicates=a.duplicates + b.duplicates,
        rejected=a.rejected + b.rejected,
        alerts=a.alerts + b.alerts,
        accepted_keys=sorted(a.accepted_keys + b.accepted_keys),
    )


async def _dead_letter(
    client: aiomqtt.Client, mqtt5: bool, message: aiomqtt.Message, error: str
) -> None:
    """Publish the payload as received (QoS 1, waiting for the broker's PUBACK); over MQTT 5
    the original topic and the error travel as user properties."""
    topic = str(message.topic)
    properties = None
    if mqtt5:
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.UserProperty = [
            ("original_topic", _property_text(topic)),
            ("error", _property_text(error)),
        ]
    await client.publish(
        dead_letter_topic(serial_from_topic(topic)),
        _payload_bytes(message),
        qos=1,
        properties=properties,
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def _property_text(text: str, limit: int = 500) -> str:
    """Text a broker accepts in a user property: Mosquitto drops the connection on control
    characters (an exception text has line breaks) and invalid UTF-8 (lone surrogates)."""
    clean = _CONTROL.sub(" ", text[:limit])
    return clean.encode("utf-8", "replace").decode()


def _payload_bytes(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return b"" if payload is None else str(payload).encode()
