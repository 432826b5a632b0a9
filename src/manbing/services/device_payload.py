"""The device payload (JSON) and topic scheme, validated with pydantic at the edge of ingestion.

Topic: ``manbing/v1/devices/{serial}/readings`` (one reading per MQTT message, QoS 1).
Payload (UTF-8 JSON object)::

    {"device_id": "BP-000123", "message_id": "1732435200-17",
     "measured_at": "2026-11-24T09:58:00+08:00", "sent_at": "2026-11-24T09:58:02+08:00",
     "type": "bp", "values": {"sbp": 152, "dbp": 95, "pulse": 72},
     "units": {"sbp": "mmHg", "dbp": "mmHg", "pulse": "/min"},
     "token": "<the device secret>"}

Glucose: ``"type": "glucose", "context": "fasting" | "postprandial_2h" | "random",
"values": {"glucose": 6.1}, "units": {"glucose": "mmol/L" | "mg/dL"}``. Over HTTP the token is
sent in the ``Authorization: Device <serial>:<secret>`` header instead.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from manbing.domain.errors import InvalidInput
from manbing.domain.ingestion import GlucoseContext, MeasurementType, RawReading
from manbing.services.devices import Submission

TOPIC_PREFIX = "manbing/v1/devices"
TOPIC_FILTER = f"{TOPIC_PREFIX}/+/readings"
DEAD_LETTER_PREFIX = "manbing/v1/deadletter"
"""Where the gateway publishes (QoS 1) a reading it cannot store: ``…/deadletter/{serial}``,
the payload verbatim (ADR 0008). Outside ``TOPIC_FILTER``, so never consumed again by itself."""
MAX_PAYLOAD_BYTES = 4096
UTF8_BOM = b"\xef\xbb\xbf"

# Printable text only: control characters (NUL above all) cannot be stored in PostgreSQL text.
Printable16 = Annotated[str, StringConstraints(max_length=16, pattern=r"^[^\x00-\x1f]*$")]
Serial = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
]


def _a_json_number(value: Any) -> Any:
    # pydantic reads true/false as 1.0/0.0 (a glucose of `true` became 1.0 mmol/L and an alert)
    # and "152" as 152.0; the protocol says numbers (ADR 0008), and a device sending strings
    # has a bug worth seeing rather than a reading worth guessing
    if isinstance(value, bool):
        raise ValueError("a measured value must be a number, not true/false")
    if isinstance(value, str):
        raise ValueError("a measured value must be a JSON number, not a string")
    return value


Measured = Annotated[float, BeforeValidator(_a_json_number)]


def topic_for(serial: str) -> str:
    return f"{TOPIC_PREFIX}/{serial}/readings"


def dead_letter_topic(serial: str | None) -> str:
    """The dead-letter topic of a device (``_`` when the serial is unknown or empty)."""
    return f"{DEAD_LETTER_PREFIX}/{serial or '_'}"


def serial_from_topic(topic: str) -> str | None:
    parts = topic.split("/")
    if len(parts) == 5 and "/".join(parts[:3]) == TOPIC_PREFIX and parts[4] == "readings":
        return parts[3]
    return None


class ReadingPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: Serial | None = None
    message_id: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
    ]
    measured_at: datetime
    sent_at: datetime | None = None
    type: MeasurementType
    context: GlucoseContext | None = None
    values: dict[Printable16, Measured] = Field(max_length=4)
    units: dict[Printable16, Printable16] = Field(default_factory=dict, max_length=4)
    token: Annotated[str, StringConstraints(max_length=128)] | None = None

    def to_raw(self, serial: str) -> RawReading:
        return RawReading(
            device_serial=serial,
            message_id=self.message_id,
            measured_at=self.measured_at,
            type=self.type,
            values=self.values,
            units=self.units,
            sent_at=self.sent_at,
            context=self.context,
        )


def _echo(text: str, limit: int) -> str:
    """Received text fit to send back or log: at most ``limit`` characters, valid UTF-8 (a JSON
    body parsed by ``json.loads`` may hold lone surrogates, which no answer can encode)."""
    return text[:limit].encode("utf-8", "replace").decode()


def _error_of(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    loc = _echo(".".join(str(p) for p in first.get("loc", ())), 100) or "payload"
    return InvalidInput(loc, f"数据格式错误：{loc} {first['msg']}", f"{loc}: {first['msg']}")


def _message_id_of(data: Any) -> str | None:
    if isinstance(data, dict):
        mid = data.get("message_id")
        return _echo(str(mid), 64) if mid is not None else None
    return None


def submission_from_item(data: Any, serial: str, secret: str | None) -> Submission:
    """One item of an HTTP batch (the device is the authenticated caller)."""
    try:
        payload = ReadingPayload.model_validate(data)
    except ValidationError as exc:
        return Submission(None, None, _error_of(exc), _message_id_of(data))
    if payload.device_id is not None and payload.device_id != serial:
        err = InvalidInput("device_id", "设备编号与认证设备不一致", "device_id is not the caller")
        return Submission(None, None, err, payload.message_id)
    return Submission(payload.to_raw(serial), secret)


def _mqtt_error_of(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        reason = first.get("ctx", {}).get("error", first["msg"])
        return InvalidInput("payload", "不是有效的JSON", f"not valid JSON: {reason}")
    return _error_of(exc)


def _message_id_of_bytes(payload: bytes) -> str | None:
    """Best effort, for the log line of a rejected message only (the slow path)."""
    try:
        return _message_id_of(json.loads(payload))
    except (ValueError, RecursionError):  # not JSON, not Unicode, or nested past the stack
        return None


def submission_from_mqtt(topic: str, payload: bytes) -> Submission:
    """One MQTT message; a malformed one becomes a rejected submission with its reason.

    The raw bytes are parsed and validated in one pass by pydantic-core (no intermediate
    Python dict): this is the gateway's hottest path.
    """
    serial = serial_from_topic(topic)
    if serial is None:
        err = InvalidInput("topic", "主题格式错误", f"unexpected topic {topic[:100]!r}")
        return Submission(None, None, err)
    if len(payload) > MAX_PAYLOAD_BYTES:
        err = InvalidInput("payload", "数据过大", f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
        return Submission(None, None, err)
    if payload.startswith(UTF8_BOM):  # ignored, as over HTTP (RFC 8259 §8.1; ADR 0008)
        payload = payload[len(UTF8_BOM) :]
    try:
        parsed = ReadingPayload.model_validate_json(payload)
    except ValidationError as exc:
        return Submission(None, None, _mqtt_error_of(exc), _message_id_of_bytes(payload))
    if parsed.device_id is not None and parsed.device_id != serial:
        err = InvalidInput(
            "device_id", "设备编号与主题不一致", "device_id does not match the topic"
        )
        return Submission(None, None, err, parsed.message_id)
    return Submission(parsed.to_raw(serial), parsed.token)
