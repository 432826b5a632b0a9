"""The gateway tells a database outage (retry the batch forever) from a message that cannot be
stored (split the batch, quarantine the culprit to the dead-letter topic, store the rest).

``Gateway._process`` is driven directly, with an injected ingest function and dead-letter
publisher: no broker, no database."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

import aiomqtt
import pytest
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)

from manbing.devices.gateway import Gateway, GatewayConfig, is_transient
from manbing.domain.ingestion import Decision
from manbing.services.clock import FixedClock
from manbing.services.device_payload import dead_letter_topic, topic_for
from manbing.services.devices import IngestResult, Rejection, Submission
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import NOW

CONFIG = GatewayConfig("mqtt://127.0.0.1:1", retry_seconds=0.0, retry_max_seconds=0.0)


def _message(serial: str, message_id: str, mid: int) -> aiomqtt.Message:
    body = {
        "message_id": message_id,
        "measured_at": "2026-11-24T08:00:00+08:00",
        "type": "bp",
        "values": {"sbp": 130, "dbp": 80},
        "token": "t",
    }
    return aiomqtt.Message(topic_for(serial), json.dumps(body).encode(), 1, False, mid, None)


class FakeIngest:
    """Stores (records) message ids; raises ``error`` for a batch holding ``poison``, or the
    first ``outages`` times it is called."""

    def __init__(
        self, poison: set[str] = frozenset(), error: Exception | None = None, outages: int = 0
    ) -> None:
        self.poison = poison
        self.error = error
        self.outages = outages
        self.calls: list[list[str]] = []
        self.stored: list[str] = []

    def __call__(
        self, uow: UnitOfWork, submissions: Sequence[Submission], clock: object
    ) -> IngestResult:
        ids = [s.raw.message_id if s.raw else "?" for s in submissions]
        self.calls.append(ids)
        if self.outages:
            self.outages -= 1
            raise OperationalError("INSERT …", {}, ConnectionRefusedError("connection refused"))
        if self.poison & set(ids):
            assert self.error is not None
            raise self.error
        result = IngestResult()
        for index, sub in enumerate(submissions):
            if sub.raw is None:
                assert sub.error is not None
                result.rejected.append(
                    Rejection(
                        index,
                        sub.message_id,
                        Decision.INVALID,
                        sub.error.field,
                        sub.error.message,
                        sub.error.message_en,
                    )
                )
            else:
                self.stored.append(sub.raw.message_id)
        result.accepted = len(submissions) - len(result.rejected)
        return result


class DeadLetters:
    def __init__(self) -> None:
        self.published: list[tuple[aiomqtt.Message, str]] = []

    async def __call__(self, message: aiomqtt.Message, error: str) -> None:
        self.published.append((message, error))


def _gateway(ingest: FakeIngest) -> Gateway:
    return Gateway(CONFIG, lambda: UnitOfWork(None), FixedClock(NOW), ingest=ingest)  # type: ignore[arg-type]


@pytest.mark.parametrize("position", [0, 3, 7])
def test_a_message_that_cannot_be_stored_is_quarantined_and_the_rest_are_stored(
    position: int, caplog: pytest.LogCaptureFixture
) -> None:
    batch = [_message("BP-1", f"m{i}", 100 + i) for i in range(8)]
    batch[position] = _message("BP-2", "poison", 99)
    ingest = FakeIngest({"poison"}, IntegrityError("INSERT …", {}, ValueError("refused")))
    dead = DeadLetters()
    gateway = _gateway(ingest)
    with caplog.at_level(logging.INFO, "manbing.devices.gateway"):
        asyncio.run(gateway._process(batch, dead))

    assert sorted(ingest.stored) == sorted(f"m{i}" for i in range(8) if i != position)
    assert [(m.topic.value, m.payload) for m, _ in dead.published] == [
        (topic_for("BP-2"), batch[position].payload)
    ]
    assert "IntegrityError" in dead.published[0][1]
    assert gateway.quarantined == 1 and gateway.stored == 7
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    text = errors[0].getMessage()
    assert topic_for("BP-2") in text and "message_id=poison" in text
    assert "IntegrityError" in text and dead_letter_topic("BP-2") in text
    assert not any("retrying" in r.getMessage() for r in caplog.records)
    # bisection: no message is ingested alone unless it is the culprit or its last sibling
    assert len(ingest.calls) <= 2 * 3 + 1


def test_two_poison_messages_and_rejections_keep_their_own_topics(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batch = [_message("BP-1", f"m{i}", i) for i in range(6)]
    batch[1] = _message("BP-7", "p1", 50)
    batch[4] = _message("BP-8", "p2", 51)
    batch[5] = aiomqtt.Message(topic_for("BP-9"), b"not json", 1, False, 52, None)
    ingest = FakeIngest({"p1", "p2"}, DataError("INSERT …", {}, ValueError("out of range")))
    dead = DeadLetters()
    with caplog.at_level(logging.WARNING, "manbing.devices.gateway"):
        asyncio.run(_gateway(ingest)._process(batch, dead))
    assert sorted(ingest.stored) == ["m0", "m2", "m3"]
    assert sorted(m.topic.value for m, _ in dead.published) == [
        topic_for("BP-7"),
        topic_for("BP-8"),
    ]
    rejected = [r.getMessage() for r in caplog.records if "rejected reading" in r.getMessage()]
    assert len(rejected) == 1 and f"topic={topic_for('BP-9')}" in rejected[0], rejected


def test_a_database_outage_is_retried_and_nothing_is_quarantined(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batch = [_message("BP-1", f"m{i}", i) for i in range(4)]
    ingest = FakeIngest(outages=5)
    dead = DeadLetters()
    gateway = _gateway(ingest)
    with caplog.at_level(logging.WARNING, "manbing.devices.gateway"):
        asyncio.run(gateway._process(batch, dead))
    assert dead.published == [] and gateway.quarantined == 0
    assert ingest.calls == [[f"m{i}" for i in range(4)]] * 6  # the whole batch, every time
    assert sorted(ingest.stored) == [f"m{i}" for i in range(4)]
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 5


def test_an_outage_during_the_split_is_retried_too() -> None:
    batch = [_message("BP-1", f"m{i}", i) for i in range(4)]
    batch[3] = _message("BP-1", "poison", 3)
    ingest = FakeIngest({"poison"}, ValueError("a validation bug"))
    dead = DeadLetters()
    gateway = _gateway(ingest)

    original = ingest.__call__

    def flaky(uow: UnitOfWork, subs: Sequence[Submission], clock: object) -> IngestResult:
        if len(subs) == 2 and not ingest.outages and len(ingest.calls) == 1:
            ingest.outages = 2  # the database goes away just as the first half is tried
        return original(uow, subs, clock)

    gateway.ingest = flaky
    asyncio.run(gateway._process(batch, dead))
    assert sorted(ingest.stored) == ["m0", "m1", "m2"]
    assert [m.mid for m, _ in dead.published] == [3]


class _PgError(Exception):
    """A driver error carrying a SQLSTATE, as psycopg's do."""

    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (OperationalError("SELECT 1", {}, OSError("server closed the connection")), True),
        (InterfaceError("SELECT 1", {}, OSError("connection already closed")), True),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (IntegrityError("INSERT", {}, ValueError("dup")), False),
        (DataError("INSERT", {}, ValueError("numeric field overflow")), False),
        (ValueError("a bug"), False),
        (TypeError("a bug"), False),
        # a schema the gateway cannot use (migration not run) fails every message alike
        (ProgrammingError("INSERT", {}, _PgError("42P01", "undefined table")), True),
        (ProgrammingError("INSERT", {}, _PgError("42501", "permission denied")), True),
        # a value the database refuses is the message's own fault
        (DataError("INSERT", {}, _PgError("22003", "numeric value out of range")), False),
        (ProgrammingError("INSERT", {}, TypeError("cannot adapt type 'dict'")), False),
    ],
)
def test_which_failures_are_transient(exc: Exception, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_a_message_whose_parsing_raises_is_quarantined_and_the_rest_are_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A parser bug (as the RecursionError once was) no longer escapes and stops the gateway."""
    from manbing.devices import gateway as module

    real = module.submission_from_mqtt

    def parse(topic: str, payload: bytes) -> Submission:
        if b"explode" in payload:
            raise RecursionError("maximum recursion depth exceeded")
        return real(topic, payload)

    monkeypatch.setattr(module, "submission_from_mqtt", parse)
    batch = [_message("BP-1", "m0", 1), _message("BP-1", "explode", 2), _message("BP-1", "m2", 3)]
    ingest, dead = FakeIngest(), DeadLetters()
    gateway = _gateway(ingest)
    asyncio.run(gateway._process(batch, dead))
    assert ingest.stored == ["m0", "m2"] and ingest.calls == [["m0", "m2"]]
    assert [m.mid for m, _ in dead.published] == [2] and "RecursionError" in dead.published[0][1]
    assert gateway.quarantined == 1
