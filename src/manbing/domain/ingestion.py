"""Home-device readings: normalisation, merge decisions, clock skew and alert rules.

Pure: every time is an argument. A raw reading is what a device sent (already parsed from JSON
at the edge); :func:`normalise` turns it into one or two observations in canonical units, or
raises ``InvalidInput`` naming the offending field. Thresholds come from ``domain.rules`` and
are never retyped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from manbing.domain.errors import InvalidInput
from manbing.domain.observations import ObservationKind, check_blood_pressure, check_value
from manbing.domain.rules.blood_pressure import is_home_bp_hypertensive, is_urgent_bp
from manbing.domain.rules.glucose import URGENT_GLUCOSE_LOW, is_urgent_glucose
from manbing.domain.rules.units import ConcentrationUnit, glucose_to_mmol

CLOCK_SKEW_LIMIT = timedelta(minutes=5)
"""A device clock further than this from the receive time is flagged (the reading is kept)."""
MAX_LATENESS = timedelta(days=30)
"""Readings measured longer ago than this are refused as stale (a buffered device replaying)."""
MAX_MESSAGE_ID = 64


class StaleReading(InvalidInput):
    """A reading measured too long ago to accept (see ``MAX_LATENESS``)."""


class MeasurementType(StrEnum):
    BLOOD_PRESSURE = "bp"
    GLUCOSE = "glucose"


class GlucoseContext(StrEnum):
    FASTING = "fasting"
    POSTPRANDIAL_2H = "postprandial_2h"
    RANDOM = "random"


_GLUCOSE_KIND = {
    GlucoseContext.FASTING: ObservationKind.GLUCOSE_FASTING,
    GlucoseContext.POSTPRANDIAL_2H: ObservationKind.GLUCOSE_2H,
    GlucoseContext.RANDOM: ObservationKind.GLUCOSE_RANDOM,
}


@dataclass(frozen=True, slots=True)
class RawReading:
    """A device message after JSON parsing, before any clinical check."""

    device_serial: str
    message_id: str
    measured_at: datetime
    type: MeasurementType
    values: Mapping[str, float]
    units: Mapping[str, str]
    sent_at: datetime | None = None
    context: GlucoseContext | None = None


@dataclass(frozen=True, slots=True)
class HomeMeasurement:
    """One observation to store: canonical unit, with what was received."""

    kind: ObservationKind
    value: float
    value2: float | None
    unit_received: str
    value_received: str
    key_suffix: str  # "" for the main measurement, ":hr" for the pulse of a BP reading


@dataclass(frozen=True, slots=True)
class NormalisedReading:
    device_serial: str
    message_id: str
    measured_at: datetime
    clock_skew: bool
    measurements: tuple[HomeMeasurement, ...]

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.device_serial, self.message_id)


def idempotency_key(device_serial: str, message_id: str) -> str:
    return f"{device_serial}:{message_id}"


def clock_skewed(measured_at: datetime, sent_at: datetime | None, received_at: datetime) -> bool:
    """True when the device clock is far from ours.

    With ``sent_at`` (the device clock when it sent), the skew is ``sent_at - received_at``, so a
    reading that was buffered for hours is *late*, not skewed. Without it, only a measurement
    time in the future betrays the clock.
    """
    if sent_at is not None:
        return abs(sent_at - received_at) > CLOCK_SKEW_LIMIT
    return measured_at - received_at > CLOCK_SKEW_LIMIT


def _unit(raw: RawReading, name: str, default: str) -> str:
    return str(raw.units.get(name, default))


def _value(raw: RawReading, name: str) -> float:
    value = raw.values.get(name)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"values.{name}", f"缺少数值 {name}", f"values.{name} is required")
    return float(value)


VALUE_NAMES: dict[MeasurementType, tuple[str, ...]] = {
    MeasurementType.BLOOD_PRESSURE: ("sbp", "dbp", "pulse"),
    MeasurementType.GLUCOSE: ("glucose",),
}
"""The keys ``values`` may hold per reading type; any other is refused, not ignored."""


def _refuse_unknown_values(raw: RawReading) -> None:
    allowed = VALUE_NAMES[raw.type]
    unknown = sorted(name for name in raw.values if name not in allowed)
    if unknown:
        # the key was sent by the device: echo it as valid UTF-8 (a lone surrogate is not)
        name = unknown[0].encode("utf-8", "backslashreplace").decode()
        expected = ", ".join(allowed)
        raise InvalidInput(
            f"values.{name}",
            f"未知的数值 {name}（{raw.type.value} 读数只接受 {expected}）",
            f"values.{name} is not a {raw.type.value} value (expected {expected})",
        )


def normalise(raw: RawReading, received_at: datetime) -> NormalisedReading:
    """Check and convert a raw reading; raise ``InvalidInput`` with the reason."""
    if not raw.message_id or len(raw.message_id) > MAX_MESSAGE_ID:
        raise InvalidInput("message_id", "消息编号缺失或过长", "message_id missing or too long")
    if raw.measured_at.tzinfo is None:
        raise InvalidInput("measured_at", "测量时间必须带时区", "measured_at needs a time zone")
    if raw.sent_at is not None and raw.sent_at.tzinfo is None:
        raise InvalidInput("sent_at", "发送时间必须带时区", "sent_at needs a time zone")
    try:  # stored in UTC: 9999-12-31T23:00-12:00 would be year 10000 there
        raw.measured_at.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            "measured_at", "测量时间超出可记录的范围", "measured_at is out of range in UTC"
        ) from None
    skew = clock_skewed(raw.measured_at, raw.sent_at, received_at)
    if received_at - raw.measured_at > MAX_LATENESS:
        raise StaleReading(
            "measured_at", "测量时间过早（超过30天）", "measured_at is more than 30 days old"
        )
    _refuse_unknown_values(raw)
    measurements: list[HomeMeasurement] = []
    if raw.type is MeasurementType.BLOOD_PRESSURE:
        unit = _unit(raw, "sbp", "mmHg")
        if unit != "mmHg" or _unit(raw, "dbp", "mmHg") != "mmHg":
            raise InvalidInput("units.sbp", "血压单位应为mmHg", "blood pressure unit must be mmHg")
        sbp, dbp = check_blood_pressure(_value(raw, "sbp"), _value(raw, "dbp"))
        measurements.append(
            HomeMeasurement(
                ObservationKind.BLOOD_PRESSURE, sbp, dbp, unit, f"{sbp:g}/{dbp:g}", key_suffix=""
            )
        )
        if "pulse" in raw.values:
            pulse = check_value(ObservationKind.HEART_RATE, _value(raw, "pulse"), field="pulse")
            unit_hr = _unit(raw, "pulse", "/min")
            measurements.append(
                HomeMeasurement(
                    ObservationKind.HEART_RATE, pulse, None, unit_hr, f"{pulse:g}", key_suffix=":hr"
                )
            )
    else:
        received = _value(raw, "glucose")
        unit_text = _unit(raw, "glucose", "mmol/L")
        try:
            unit = ConcentrationUnit(unit_text)
        except ValueError:
            raise InvalidInput(
                "units.glucose", "血糖单位应为mmol/L或mg/dL", "glucose unit must be mmol/L or mg/dL"
            ) from None
        kind = _GLUCOSE_KIND[raw.context or GlucoseContext.RANDOM]
        mmol = round(glucose_to_mmol(received, unit), 2)
        check_value(kind, mmol, field="values.glucose")
        measurements.append(
            HomeMeasurement(kind, mmol, None, unit.value, f"{received:g}", key_suffix="")
        )
    return NormalisedReading(
        raw.device_serial, raw.message_id, raw.measured_at, skew, tuple(measurements)
    )


class Decision(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    STALE = "stale"
    INVALID = "invalid"


def merge_decision(key: str, existing_keys: Iterable[str] | set[str]) -> Decision:
    """A reading whose (device, message) key is already stored is a duplicate; else new.

    Out-of-order arrival is not a conflict: each reading carries its own measurement time.
    """
    return Decision.DUPLICATE if key in existing_keys else Decision.NEW


@dataclass(frozen=True, slots=True)
class Alert:
    code: str
    title_zh: str
    patient_message_zh: str


def alert_for(measurement: HomeMeasurement) -> Alert | None:
    """The urgent-alert rule of the clinical rules, applied to one home measurement."""
    if measurement.kind is ObservationKind.BLOOD_PRESSURE:
        sbp, dbp = measurement.value, measurement.value2
        if is_urgent_bp(sbp, dbp):
            return Alert(
                "urgent_bp",
                f"居家血压危急值 {sbp:g}/{dbp:g} mmHg",
                f"您刚测得的血压为 {sbp:g}/{dbp:g} mmHg，明显偏高。请安静休息5分钟后复测；"
                "如伴有头痛、胸闷、视物模糊等不适，请立即拨打120。您的家庭医生已收到提醒。",
            )
        return None
    if measurement.kind in _GLUCOSE_KIND.values() and is_urgent_glucose(measurement.value):
        low = measurement.value <= URGENT_GLUCOSE_LOW
        advice = (
            "血糖偏低，请立即进食15克糖（如半杯果汁），15分钟后复测。"
            if low
            else "血糖明显偏高，请多饮水并尽快复测；如有口渴、乏力、恶心，请立即就医。"
        )
        return Alert(
            "urgent_glucose_low" if low else "urgent_glucose_high",
            f"居家血糖危急值 {measurement.value:g} mmol/L",
            f"您刚测得的血糖为 {measurement.value:g} mmol/L。{advice}您的家庭医生已收到提醒。",
        )
    return None


@dataclass(frozen=True, slots=True)
class HomeBpSummary:
    readings: int
    mean_sbp: float | None
    mean_dbp: float | None
    uncontrolled: bool | None  # None when there are no readings


def home_bp_summary(pairs: Iterable[tuple[float, float]]) -> HomeBpSummary:
    """Mean of home readings; ≥135/85 (either component) means uncontrolled at home."""
    values = list(pairs)
    if not values:
        return HomeBpSummary(0, None, None, None)
    mean_sbp = round(sum(s for s, _ in values) / len(values), 1)
    mean_dbp = round(sum(d for _, d in values) / len(values), 1)
    return HomeBpSummary(
        len(values), mean_sbp, mean_dbp, is_home_bp_hypertensive(mean_sbp, mean_dbp)
    )
