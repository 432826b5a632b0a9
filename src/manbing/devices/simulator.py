"""A simulated fleet of home BP monitors and glucometers publishing over MQTT (QoS 1).

Readings are realistic: each device has its resident's own baseline (SBP around 138 mmHg with
a spread of 15, DBP around 84, glucose around 7 mmol/L fasting), a morning/evening rhythm,
some glucometers reporting mg/dL, and a small share of critical values that should alert.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from manbing.devices.gateway import broker_address
from manbing.devices.mqtt_publisher import QoS1Publisher
from manbing.services.device_payload import topic_for
from manbing.services.devices import SimulatedDevice


@dataclass
class _DeviceState:
    device: SimulatedDevice
    sbp: float
    dbp: float
    glucose: float
    mgdl: bool
    next_id: int = 0


def readings(
    fleet: Sequence[SimulatedDevice],
    *,
    seed: int = 8,
    critical_share: float = 0.002,
    start: datetime | None = None,
    run_id: str = "",
) -> Iterator[tuple[str, dict[str, object]]]:
    """Endless (topic, payload) pairs, devices taking turns at random."""
    rng = random.Random(seed)
    states = [
        _DeviceState(
            d,
            sbp=rng.gauss(138, 15),
            dbp=rng.gauss(84, 9),
            glucose=rng.gauss(7.2, 1.4),
            mgdl=rng.random() < 0.2,
        )
        for d in fleet
    ]
    while True:
        state = states[rng.randrange(len(states))]
        state.next_id += 1
        now = start or datetime.now(UTC)
        measured = now - timedelta(seconds=rng.randint(0, 90))
        payload: dict[str, object] = {
            "device_id": state.device.serial,
            "message_id": f"{run_id}{state.next_id}",
            "measured_at": measured.isoformat(),
            "sent_at": now.isoformat(),
            "token": state.device.secret,
        }
        critical = rng.random() < critical_share
        if state.device.kind == "glucometer":
            glucose = rng.choice([2.8, 18.5]) if critical else max(3.0, rng.gauss(state.glucose, 1))
            glucose = min(glucose, 30.0)
            value = round(glucose * 18) if state.mgdl else round(glucose, 1)
            payload |= {
                "type": "glucose",
                "context": rng.choice(["fasting", "postprandial_2h", "random"]),
                "values": {"glucose": value},
                "units": {"glucose": "mg/dL" if state.mgdl else "mmol/L"},
            }
        else:
            sbp = 186 if critical else min(max(rng.gauss(state.sbp, 8), 90), 178)
            dbp = min(max(rng.gauss(state.dbp, 6), 50), min(sbp - 20, 108))
            payload |= {
                "type": "bp",
                "values": {"sbp": round(sbp), "dbp": round(dbp), "pulse": rng.randint(55, 95)},
                "units": {"sbp": "mmHg", "dbp": "mmHg", "pulse": "/min"},
            }
        yield topic_for(state.device.serial), payload


def publish(
    mqtt_url: str,
    fleet: Sequence[SimulatedDevice],
    *,
    rate: float,
    count: int | None = None,
    duration: float | None = None,
    seed: int = 8,
    run_id: str = "",
    client_id: str | None = None,
) -> int:
    """Publish at up to ``rate`` readings/s until ``count`` readings or ``duration`` seconds.

    Returns once the broker has acknowledged (PUBACK) every reading.
    """
    source = (
        (topic, json.dumps(payload).encode())
        for topic, payload in readings(fleet, seed=seed, run_id=run_id)
    )
    return publish_prepared(
        mqtt_url, source, rate=rate, count=count, duration=duration, client_id=client_id
    )


def prepare(
    fleet: Sequence[SimulatedDevice], count: int, *, seed: int = 8, run_id: str = ""
) -> list[tuple[str, bytes]]:
    """``count`` serialised readings, for benchmarks that must not time the JSON encoding."""
    source = readings(fleet, seed=seed, run_id=run_id)
    return [(topic, json.dumps(payload).encode()) for topic, payload in islice(source, count)]


UNCONFIRMED_MAX = 10_000
"""Messages published but not yet acknowledged. MQTT packet ids are 16-bit and an id is reused
only once its PUBACK arrived, so the window must stay well below 65,535."""


def publish_prepared(
    mqtt_url: str,
    source: Iterable[tuple[str, bytes]],
    *,
    rate: float,
    count: int | None = None,
    duration: float | None = None,
    client_id: str | None = None,
) -> int:
    """Publish (topic, payload) pairs with QoS 1; return once every one is acknowledged.

    Uses the minimal publisher of ``mqtt_publisher`` (MQTT 3.1.1): the load generator's CPU is
    part of the benchmark's budget (ADR 0008).
    """
    host, port, username, password = broker_address(mqtt_url)
    publisher = QoS1Publisher(
        host,
        port,
        client_id=client_id or f"manbing-sim-{secrets.token_hex(4)}",
        username=username,
        password=password,
        window=UNCONFIRMED_MAX,
    )
    try:
        return publisher.publish_all(source, rate=rate, count=count, duration=duration)
    finally:
        publisher.close()
