"""The MQTT gateway as a real subprocess against a private Mosquitto: exactly-once storage
across a SIGKILLed gateway and broker restarts, malformed payloads, alerts within 2 seconds."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import func, select

from manbing.db.models import Message, Observation, WorklistTask
from manbing.domain.observations import ObservationSource
from manbing.domain.tasks import TaskKind
from manbing.services.device_payload import topic_for
from tests.conftest import NOW
from tests.device_helpers import bind, bp_payload, encode
from tests.mqtt_broker import Broker

pytestmark = pytest.mark.mqtt
MANBING = Path(sys.executable).parent / "manbing"


class GatewayProcess:
    def __init__(
        self,
        database_url: str,
        broker_url: str,
        workdir: Path,
        client_id: str,
        protocol: str = "5",
    ) -> None:
        self.args = [
            str(MANBING),
            "devices",
            "serve",
            "--mqtt-url",
            broker_url,
            "--client-id",
            client_id,
            "--batch-max",
            "50",  # many small transactions, so the SIGKILL lands between them
            "--protocol",
            protocol,
        ]
        self.env = {**os.environ, "MANBING_DATABASE_URL": database_url}
        self.log = workdir / f"gateway-{client_id}-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_subscribed(self, times: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.read_text(errors="replace").count("subscribed to") >= times:
                return
            assert self.process is not None and self.process.poll() is None, self.text()
            time.sleep(0.05)
        raise AssertionError(f"gateway did not subscribe:\n{self.text()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def gateways(backend_url: str, broker: Broker, tmp_path: Path) -> Iterator[list[GatewayProcess]]:
    started: list[GatewayProcess] = []
    yield started
    for g in started:
        g.stop()


def _new_gateway(
    started, backend_url, broker, tmp_path, client_id, protocol: str = "5"
) -> GatewayProcess:
    g = GatewayProcess(backend_url, broker.url, tmp_path, client_id, protocol)
    started.append(g)
    g.start()
    return g


def publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    """Publish with QoS 1 and wait for every PUBACK."""

    async def run() -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        async with aiomqtt.Client(host, int(port), max_inflight_messages=500) as client:
            await asyncio.gather(*(client.publish(t, p, qos=1) for t, p in messages))

    asyncio.run(run())


def _home_keys(session_factory) -> list[str]:
    with session_factory() as s:
        return list(
            s.scalars(
                select(Observation.idempotency_key).where(
                    Observation.source == ObservationSource.HOME_DEVICE
                )
            )
        )


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_readings_are_stored_exactly_once_across_a_sigkilled_gateway_and_broker_restarts(
    district,
    clock,
    broker,
    gateways,
    backend_url,
    tmp_path,
    protocol,
):
    org = district.orgs["xixing-1"]
    residents = district.resident_ids["xixing-1"]
    devices = [
        (f"GW-{i}", bind(district.session_factory, org, residents[i], f"GW-{i}", clock).secret)
        for i in range(3)
    ]
    base = NOW - timedelta(hours=12)

    def batch(tag: str, per_device: int) -> list[tuple[str, bytes]]:
        out = []
        for n in range(per_device):
            for serial, secret in devices:
                item = bp_payload(
                    serial, f"{tag}{n}", 120 + n % 40, 78, base + timedelta(seconds=n), secret
                )
                out.append((topic_for(serial), encode(item)))
        return out

    malformed = [
        (topic_for("GW-0"), b"\xff\xfe not json"),
        (topic_for("GW-0"), json.dumps({"message_id": "m", "type": "bp"}).encode()),
        (topic_for("GW-1"), encode(bp_payload("GW-1", "bad-sbp", 999, 80, base, devices[1][1]))),
        (topic_for("GW-2"), encode(bp_payload("GW-2", "bad-token", 120, 80, base, "guess"))),
        (topic_for("GW-0"), b"[1, 2]"),
    ]
    first = _new_gateway(gateways, backend_url, broker, tmp_path, "gw-under-test", protocol)
    first.wait_subscribed()

    # Large enough that the (fast) gateway is still storing it when it is killed.
    a_readings = batch("a", 1000)
    a = a_readings + malformed
    publisher = threading.Thread(target=publish, args=(broker.url, a))
    publisher.start()
    assert _wait_for(lambda: len(_home_keys(district.session_factory)) > 20, 20)
    first.kill()  # mid-stream
    publisher.join(timeout=60)
    stored_at_kill = len(_home_keys(district.session_factory))

    b = batch("b", 60)
    publish(broker.url, b + b[:30])  # while the gateway is down, with replays
    broker.restart()

    second = _new_gateway(gateways, backend_url, broker, tmp_path, "gw-under-test", protocol)
    second.wait_subscribed()
    c = batch("c", 50)
    publish(broker.url, c)
    broker.restart()  # under a running gateway
    second.wait_subscribed(times=2)
    d = batch("d", 30) + a[:50]  # more, and replays of the first batch
    publish(broker.url, d)

    expected = {
        json.loads(p)["device_id"] + ":" + json.loads(p)["message_id"]
        for _, p in a_readings + b + c + batch("d", 30)
    }
    done = _wait_for(lambda: len(_home_keys(district.session_factory)) >= len(expected), 30)
    missing = sorted(expected - set(_home_keys(district.session_factory)))
    assert done, f"{len(missing)} missing, e.g. {missing[:5]}\n{second.text()}"
    time.sleep(0.5)  # anything extra would show up now
    keys = _home_keys(district.session_factory)
    assert len(keys) == len(set(keys)) == len(expected)
    assert set(keys) == expected
    assert 0 < stored_at_kill < len(a_readings), "the gateway was not killed mid-stream"
    assert second.alive(), second.text()
    log = first.text() + second.text()
    assert "rejected reading" in log
    for reason in ("not valid JSON", "sbp must be between", "bad credentials", "Input should be"):
        assert reason in log, reason


def test_a_critical_reading_reaches_the_worklist_and_the_patient_inbox_within_two_seconds(
    district,
    clock,
    broker,
    gateways,
    backend_url,
    tmp_path,
):
    resident_id = district.resident_ids["xixing-1"][1]
    serial = f"ALERT-{uuid.uuid4().hex[:6]}"
    secret = bind(
        district.session_factory, district.orgs["xixing-1"], resident_id, serial, clock
    ).secret
    gateway = _new_gateway(gateways, backend_url, broker, tmp_path, "gw-alert")
    gateway.wait_subscribed()
    reading = bp_payload(serial, "crit-1", 192, 114, datetime.now(UTC), secret)

    def alerted() -> bool:
        with district.session_factory() as s:
            task = s.scalar(
                select(func.count())
                .select_from(WorklistTask)
                .where(
                    WorklistTask.kind == TaskKind.URGENT_ALERT,
                    WorklistTask.resident_id == resident_id,
                    WorklistTask.organization_id == district.orgs["xixing-1"],
                )
            )
            sent = s.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.resident_id == resident_id, Message.status == "sent")
            )
            return bool(task) and bool(sent)

    started = time.monotonic()
    publish(broker.url, [(topic_for(serial), encode(reading))])
    assert _wait_for(alerted, 2.0), gateway.text()
    assert time.monotonic() - started < 2.0


def test_malformed_messages_are_rejected_and_the_gateway_keeps_storing(
    district, clock, broker, gateways, backend_url, tmp_path
):
    """Messages that once stopped the gateway (a RecursionError escaping the parser) or made it
    retry its batch forever (a TypeError or OverflowError taken for a database outage)."""
    serial = f"POISON-{uuid.uuid4().hex[:6]}"
    resident_id = district.resident_ids["xixing-1"][2]
    secret = bind(district.session_factory, district.orgs["xixing-1"], resident_id, serial, clock)
    gateway = _new_gateway(gateways, backend_url, broker, tmp_path, "gw-poison")
    gateway.wait_subscribed()
    now = datetime.now(UTC)
    valid = bp_payload(serial, "ok-before", 126, 80, now, secret.secret)
    poison = [
        b"[" * 4000,
        encode({**valid, "message_id": "naive", "sent_at": "2026-11-24T09:58:00"}),
        encode({**valid, "message_id": "y10k", "measured_at": "9999-12-31T23:59:59-12:00"}),
        encode({**valid, "message_id": "bool", "values": {"sbp": True, "dbp": 80}}),
    ]
    topic = topic_for(serial)
    publish(broker.url, [(topic, encode(valid)), *((topic, p) for p in poison)])
    publish(broker.url, [(topic, encode({**valid, "message_id": "ok-after"}))])
    expected = {f"{serial}:ok-before", f"{serial}:ok-after"}

    def stored() -> set[str]:
        return {k for k in _home_keys(district.session_factory) if k.startswith(serial)}

    assert _wait_for(lambda: stored() == expected, 15), gateway.text()
    # the rejections are logged after their batch commits: the rows can be seen a moment earlier
    rejected_lines = lambda: gateway.text().count("rejected reading")  # noqa: E731
    assert _wait_for(lambda: rejected_lines() >= len(poison), 5), gateway.text()
    assert gateway.alive(), gateway.text()
    log = gateway.text()
    assert rejected_lines() == len(poison), log
    for reason in ("not valid JSON", "sent_at needs a time zone", "out of range in UTC"):
        assert reason in log, reason
    assert "retrying" not in log
