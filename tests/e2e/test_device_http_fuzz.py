"""Generated batches on ``POST /api/v1/device-readings``: no 5xx, and per-item semantics.

Batches start from valid readings of the bound device and damage some of them one way each (see
``tests/device_fuzz.py``), or damage the whole body (not JSON, not UTF-8, too many items, items
that are not objects, wrong credentials). A batch answers 200 with each refused item named by
index, field and reason in Chinese and English, and its valid items kept; a body that is refused
as a whole answers 4xx and stores nothing. Stored rows are counted before and after.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from manbing.db.models import Observation
from tests.device_fuzz import EXAMPLES, Mutation, mutation, valid_reading
from tests.e2e.test_device_http import _bind, _patient_resident_id

SERIAL = "BP-FUZZ-1"


def _keys(client: TestClient) -> set[str]:
    factory = client.app.state.container.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        return set(
            s.scalars(
                select(Observation.idempotency_key).where(
                    Observation.idempotency_key.startswith(f"{SERIAL}:")
                )
            )
        )


def _whole_body(good: list[dict[str, Any]]) -> st.SearchStrategy[tuple[str, bytes]]:
    text = json.dumps({"readings": good})
    return st.one_of(
        st.integers(0, len(text) - 1).map(lambda n: ("truncated", text[:n].encode())),
        st.binary(max_size=100).map(lambda b: ("random bytes", b)),
        st.just(("latin-1", '{"readings": [{"message_id": "é"}]}'.encode("latin-1"))),
        st.just(("utf-16", text.encode("utf-16"))),
        st.just(("too many", json.dumps({"readings": good * (1001 // len(good) + 1)}).encode())),
        st.just(("no items", b'{"readings": []}')),
        st.just(("not a list", b'{"readings": {"0": {}}}')),
        st.just(("scalars", b'{"readings": [1, "a", null, true]}')),
        st.just(("a list", json.dumps(good).encode())),
        st.integers(100, 5000).map(
            lambda n: ("deep", b'{"readings": ' + b"[" * n + b"]" * n + b"}")
        ),
        st.just(("huge integer", b'{"readings": [{"values": {"sbp": ' + b"9" * 6000 + b"}}]}")),
        st.just(("wrong secret", text.encode())),
        st.just(("unknown device", text.encode())),
    )


def test_no_generated_batch_makes_the_device_api_fail(client: TestClient) -> None:
    resident_id = _patient_resident_id(client)
    secret = _bind(client, resident_id, SERIAL)
    auth = {"Authorization": f"Device {SERIAL}:{secret}", "content-type": "application/json"}
    plain = TestClient(client.app, raise_server_exceptions=False)
    counter = itertools.count()
    failures: list[str] = []

    @st.composite
    def batch(draw: st.DrawFn) -> list[tuple[dict[str, Any] | Any, bool | None, str]]:
        out: list[tuple[dict[str, Any] | Any, bool | None, str]] = []
        for _ in range(draw(st.integers(1, 4))):
            item = draw(valid_reading(SERIAL)) | {"message_id": f"v{next(counter):08d}"}
            out.append((item, False, "valid"))
        for _ in range(draw(st.integers(1, 3))):
            item = draw(valid_reading(SERIAL)) | {"message_id": f"m{next(counter):08d}"}
            if draw(st.integers(0, 5)) == 0:  # the same message id again: a duplicate
                out.append(({**item, "message_id": out[0][0]["message_id"]}, None, "duplicate"))
                continue
            change: Mutation = draw(mutation(item, SERIAL, mqtt=False))
            out.append((change.apply(item), change.must_reject, change.name))
        order = draw(st.permutations(range(len(out))))
        return [out[i] for i in order]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(items=batch(), whole=st.data(), damage_body=st.integers(0, 4))
    def run(items: list[tuple[Any, bool | None, str]], whole: Any, damage_body: int) -> None:
        before = _keys(client)
        readings = [item for item, _, _ in items]
        if damage_body == 0:
            name, body = whole.draw(_whole_body(readings))
            credentials = {
                "wrong secret": f"Device {SERIAL}:{secret[:-1]}",
                "unknown device": f"Device UNBOUND-0001:{secret}",
            }.get(name, auth["Authorization"])
            answer = plain.post(
                "/api/v1/device-readings",
                content=body,
                headers={**auth, "Authorization": credentials},
            )
            assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text)
            error = answer.json()["error"]
            assert error["message"] and error["message_en"], error
            assert _keys(client) == before, name
            return
        answer = plain.post(
            "/api/v1/device-readings",
            content=json.dumps({"readings": readings}).encode(),
            headers=auth,
        )
        if answer.status_code >= 500:
            failures.append(f"{answer.status_code}: {readings!r:.2000}")
            return
        assert answer.status_code == 200, answer.text
        result = answer.json()
        rejected = {r["index"]: r for r in result["rejected"]}
        assert result["accepted"] + result["duplicates"] + len(rejected) == len(items)
        for r in result["rejected"]:
            assert r["field"] and r["reason"] and r["reason_en"], r
        for index, (item, must, name) in enumerate(items):
            if must is True:
                assert index in rejected, f"{name} was not refused: {item!r:.300}"
            elif must is False:
                assert index not in rejected, f"{name} refused: {rejected[index]}"
        new = {k.removesuffix(":hr") for k in _keys(client) - before}
        assert len(new) == result["accepted"]
        kept = {f"{SERIAL}:{item['message_id']}" for item, must, _ in items if must is False}
        assert kept <= new
        refused = {
            f"{SERIAL}:{items[i][0]['message_id']}"
            for i in rejected
            if isinstance(items[i][0], dict) and isinstance(items[i][0].get("message_id"), str)
        }
        assert not (refused - kept) & new, "a refused reading was stored"

    run()
    assert failures == []
