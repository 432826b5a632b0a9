"""Generated MQTT messages through what the gateway runs per batch, in process, on both back-ends.

Each example is a batch as the gateway would take it off the broker: valid readings of two bound
devices plus readings damaged one way each (a field of another JSON type, a bad timestamp, a
missing or extra field, an unknown device, damaged bytes, replays of earlier messages).
``submission_from_mqtt`` and ``devices.ingest`` must never raise (the gateway would die or retry
the batch forever); every refused message names a field and a reason in Chinese and English; the
valid messages are stored (per-message semantics, ADR 0008) and nothing of a refused one is.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from manbing.db.models import Observation
from manbing.domain.observations import ObservationSource
from manbing.services import devices
from manbing.services.device_payload import submission_from_mqtt, topic_for
from tests.device_fuzz import EXAMPLES, Mutation, mutation, raw_payloads, valid_reading
from tests.device_helpers import bind, new_serial


def _stored(session_factory: Any, keys: set[str]) -> dict[str, Observation]:
    with session_factory() as s:
        rows = s.scalars(select(Observation).where(Observation.idempotency_key.in_(keys))).all()
    return {r.idempotency_key: r for r in rows}


def _count(session_factory: Any) -> int:
    home = Observation.source == ObservationSource.HOME_DEVICE
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(Observation).where(home)) or 0


def test_no_generated_message_breaks_the_gateway_batch(district, clock, uow) -> None:
    org = district.orgs["xixing-1"]
    residents = district.resident_ids["xixing-1"]
    secrets = {}
    for n in range(2):
        serial = new_serial("FZ")
        secrets[serial] = bind(district.session_factory, org, residents[n], serial, clock).secret
    serials = sorted(secrets)
    factory = district.session_factory
    sent: list[tuple[str, bytes]] = []  # earlier messages, replayed by later examples
    counter = itertools.count()

    @st.composite
    def batch(draw: st.DrawFn) -> list[tuple[str, bytes, bool | None, str]]:
        out: list[tuple[str, bytes, bool | None, str]] = []
        for _ in range(draw(st.integers(1, 4))):
            serial = draw(st.sampled_from(serials))
            item = draw(valid_reading(serial))
            item |= {"message_id": f"v{next(counter):08d}", "token": secrets[serial]}
            out.append((serial, json.dumps(item).encode(), False, "valid"))
        for _ in range(draw(st.integers(1, 3))):
            serial = draw(st.sampled_from(serials))
            item = draw(valid_reading(serial))
            item |= {"message_id": f"m{next(counter):08d}", "token": secrets[serial]}
            if draw(st.integers(0, 3)) == 0:
                name, payload, must = draw(raw_payloads(item))
                out.append((serial, payload, must, name))
            else:
                change: Mutation = draw(mutation(item, serial, mqtt=True))
                done = change.apply(item)
                payload = done if isinstance(done, bytes) else json.dumps(done).encode()
                out.append((serial, payload, change.must_reject, change.name))
        order = draw(st.permutations(range(len(out))))
        return [out[i] for i in order]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(messages=batch(), replays=st.lists(st.integers(0, 10**6), max_size=2))
    def run(messages: list[tuple[str, bytes, bool | None, str]], replays: list[int]) -> None:
        earlier = [sent[n % len(sent)] for n in replays] if sent else []
        topics = [(topic_for(s), p) for s, p, _, _ in messages] + earlier
        submissions = [submission_from_mqtt(t, p) for t, p in topics]  # must not raise
        readings = {f"{x.raw.device_serial}:{x.raw.message_id}" for x in submissions if x.raw}
        candidates = readings | {f"{k}:hr" for k in readings}
        before, count_before = _stored(district.session_factory, candidates), _count(factory)
        result = devices.ingest(uow, submissions, clock)  # must not raise
        rejected = {r.index: r for r in result.rejected}
        assert result.accepted + result.duplicates + len(rejected) == len(topics)
        for r in result.rejected:
            assert r.field and r.reason and r.reason_en, r
            (r.reason + r.reason_en + r.field + (r.message_id or "")).encode()
        for index, (_, payload, must, name) in enumerate(messages):
            if must is True:
                assert index in rejected, f"{name} was not refused: {payload[:300]!r}"
            elif must is False:
                assert index not in rejected, f"{name} refused: {rejected[index]}"
        after = _stored(district.session_factory, candidates)
        added = set(after) - set(before)
        assert _count(factory) - count_before == len(added)  # nothing stored beyond these
        assert {k.removesuffix(":hr") for k in added} == set(result.accepted_keys)
        for serial, payload, must, _ in messages:
            if must is False:  # a valid message is stored (now, or by an earlier example)
                assert f"{serial}:{json.loads(payload)['message_id']}" in after
        for key in added:  # every stored row reads back and holds a plausible value
            row = after[key]
            assert row.effective_at.tzinfo is not None
            assert row.value is not None and math.isfinite(row.value)
        sent.extend(topics[: len(messages)])

    run()
    assert sent, "no example ran"
