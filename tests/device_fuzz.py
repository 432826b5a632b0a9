"""Hypothesis strategies for device readings: valid readings, and mutations of them.

A mutation knows whether the reading it produces must be refused (``must_reject``) or may go
either way (``None``: e.g. a timestamp far in the future is kept with the clock-skew flag); the
fuzz tests assert that a refused reading names a field and a reason in both languages, that the
untouched readings of the same batch are kept, and that nothing of a refused reading is stored.

``MANBING_INPUT_FUZZ_EXAMPLES`` sets the number of examples of every input fuzz test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from tests.conftest import NOW

EXAMPLES = int(os.environ.get("MANBING_INPUT_FUZZ_EXAMPLES", "150"))

Item = dict[str, Any]


@dataclass(frozen=True)
class Mutation:
    name: str
    apply: Callable[[Item], Item | bytes]  # bytes: a raw MQTT payload (or HTTP item as text)
    must_reject: bool | None  # True: must be refused; False: must be kept; None: either


def _iso(delta: timedelta) -> str:
    return (NOW + delta).isoformat()


@st.composite
def valid_reading(draw: st.DrawFn, serial: str) -> Item:
    """A reading the platform accepts: a BP (with or without pulse) or a glucose."""
    measured = _iso(-timedelta(minutes=draw(st.integers(1, 29 * 24 * 60))))
    item: Item = {"device_id": serial, "measured_at": measured}
    if draw(st.booleans()):
        sbp = draw(st.integers(95, 175))
        item |= {
            "type": "bp",
            "values": {"sbp": sbp, "dbp": draw(st.integers(55, min(sbp - 10, 105)))},
            "units": {"sbp": "mmHg", "dbp": "mmHg"},
        }
        if draw(st.booleans()):
            item["values"]["pulse"] = draw(st.integers(45, 120))
            item["units"]["pulse"] = "/min"
    else:
        mg = draw(st.booleans())
        mmol = draw(st.floats(4.2, 15.0)).__round__(1)
        item |= {
            "type": "glucose",
            "context": draw(st.sampled_from(["fasting", "postprandial_2h", "random"])),
            "values": {"glucose": round(mmol * 18) if mg else mmol},
            "units": {"glucose": "mg/dL" if mg else "mmol/L"},
        }
    if draw(st.booleans()):
        item["sent_at"] = _iso(timedelta(seconds=draw(st.integers(-60, 60))))
    if not draw(st.booleans()):
        item.pop("device_id")  # optional: the topic or the credentials name the device
    return item


OTHER_JSON = [
    None,
    True,
    False,
    0,
    -1,
    10**30,
    1e308,
    -1e308,
    "",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "152",  # a number as text: refused as a measured value (the protocol says numbers)
    "6.1",
    "１５２",
    "abc",
    "\u0007bell",
    "血压",
    "x" * 5000,
    [],
    [1, 2],
    {},
    {"a": 1},
]

# ISO 8601 text (or epoch numbers) a device might send as measured_at, with what must happen
TIMES: list[tuple[Any, bool | None]] = [
    ("2026-11-24T09:58:00", True),  # no offset
    ("9999-12-31T23:59:59-12:00", True),  # year 10000 in UTC
    ("9999-12-31T23:59:59+00:00", False),  # far future: flagged as clock skew, kept
    ("0001-01-01T00:00:00+14:00", True),  # stale
    ("1970-01-01T00:00:00Z", True),
    ("2026-02-30T10:00:00+08:00", True),
    ("2026-11-24T25:00:00+08:00", True),
    ("24/11/2026 09:58", True),
    ("2026-11-24T09:58:00+24:00", True),
    ("2026-11-24 09:58:00+08:00", None),
    ("2026-11-24T09:58:00.123456789+08:00", None),
    (_iso(timedelta(days=365)), False),
    (_iso(-timedelta(days=31)), True),
    (1795000000, None),
    (-(10**12), True),
    (10**30, True),
]


def _with(path: str, value: Any) -> Callable[[Item], Item]:
    def apply(item: Item) -> Item:
        out = json.loads(json.dumps(item))
        if "." in path:
            outer, inner = path.split(".")
            if not isinstance(out.get(outer), dict):
                out[outer] = {}
            out[outer][inner] = value
        else:
            out[path] = value
        return out

    return apply


def _without(path: str) -> Callable[[Item], Item]:
    def apply(item: Item) -> Item:
        out = json.loads(json.dumps(item))
        if "." in path:
            outer, inner = path.split(".")
            out.get(outer, {}).pop(inner, None)
        else:
            out.pop(path, None)
        return out

    return apply


def _replacement_must_reject(path: str, value: Any, item: Item, serial: str) -> bool | None:
    text = isinstance(value, str)
    if path in ("measured_at", "type", "values") or path.startswith("values."):
        return True
    if path == "message_id":
        ok = text and 0 < len(value) <= 64 and not any(ord(c) < 32 for c in value)
        return None if ok else True
    if path == "device_id":
        return True if value is not None and value != serial else None
    if path == "context":
        return True if value is not None else None
    if path == "units":
        return True if not isinstance(value, dict) or value else None
    if path in ("units.sbp", "units.dbp") and item["type"] == "bp":
        return True
    if path == "units.glucose" and item["type"] == "glucose":
        return True
    return None


@st.composite
def mutation(draw: st.DrawFn, item: Item, serial: str, *, mqtt: bool) -> Mutation:
    """One change to a valid reading."""
    kind = draw(st.sampled_from(["replace", "time", "delete", "extra", "unknown device"]))
    if kind == "replace":
        fields = ["message_id", "measured_at", "sent_at", "type", "context", "values", "units"]
        fields += [f"values.{k}" for k in item["values"]] + [f"units.{k}" for k in item["units"]]
        fields += ["device_id"] + (["token"] if mqtt else [])
        path = draw(st.sampled_from(fields))
        value = draw(st.sampled_from(OTHER_JSON))
        must = _replacement_must_reject(path, value, item, serial)
        if path == "token":
            must = True  # the secret is wrong (or missing) whatever it became
        return Mutation(f"{path}={value!r:.40}", _with(path, value), must)
    if kind == "time":
        path = draw(st.sampled_from(["measured_at", "sent_at"]))
        value, must = draw(st.sampled_from(TIMES))
        if path == "sent_at":  # only compared with our clock: a far one just flags the skew
            must = True if value == "2026-11-24T09:58:00" else None
        return Mutation(f"{path}={value!r}", _with(path, value), must)
    if kind == "delete":
        path = draw(
            st.sampled_from(["message_id", "measured_at", "type", "values", "sent_at", "units"]
                            + [f"values.{k}" for k in item["values"]] + (["token"] if mqtt else []))
        )  # fmt: skip
        required = path in ("message_id", "measured_at", "type", "values", "token")
        if path.startswith("values."):
            required = path != "values.pulse"
        return Mutation(f"without {path}", _without(path), True if required else None)
    if kind == "extra":
        # a key of ``values`` no reading type has (a typo of pulse was silently dropped)
        name = draw(st.sampled_from(["note", "values_", "Token", "deviceId", "values.puls",
                                     "values.sbp2", "values.mg"]))  # fmt: skip
        return Mutation(f"extra {name}", _with(name, 1), True)
    return Mutation("unknown device", _with("device_id", "UNBOUND-0001"), True)


def raw_payloads(item: Item) -> st.SearchStrategy[tuple[str, bytes, bool | None]]:
    """Byte-level damage to a payload (MQTT): (name, bytes, must_reject)."""
    text = json.dumps(item)
    data = text.encode()
    return st.one_of(
        st.integers(0, len(data) - 1).map(lambda n: ("truncated", data[:n], True)),
        st.binary(max_size=200).map(lambda b: ("random bytes", b, True)),
        st.integers(0, len(data) - 1).map(
            lambda n: ("flipped byte", data[:n] + bytes([data[n] ^ 0x80]) + data[n + 1 :], None)
        ),
        st.just(("utf-8 bom", b"\xef\xbb\xbf" + data, False)),  # ignored, as over HTTP
        st.just(("utf-16", text.encode("utf-16"), True)),
        st.just(
            (
                "latin-1",
                json.dumps({**item, "message_id": "é"}, ensure_ascii=False).encode("latin-1"),
                True,
            )
        ),
        st.just(
            (
                "gbk",
                json.dumps({**item, "message_id": "血压计"}, ensure_ascii=False).encode("gbk"),
                None,
            )
        ),
        st.just(("oversize", json.dumps({**item, "pad": "x" * 5000}).encode(), True)),
        st.integers(100, 4000).map(lambda n: ("deep", b"[" * n + b"]" * n, True)),
        st.just(("empty", b"", True)),
        st.just(("not an object", b"[1, 2, 3]", True)),
        st.just(
            (
                "NaN literal",
                text.replace('"values": {', '"values": {"sbp": NaN, ', 1).encode(),
                None,
            )
        ),
    )
