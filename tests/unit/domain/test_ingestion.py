from datetime import UTC, datetime, timedelta

import pytest

from manbing.domain.errors import InvalidInput
from manbing.domain.ingestion import (
    Decision,
    GlucoseContext,
    HomeMeasurement,
    MeasurementType,
    RawReading,
    StaleReading,
    alert_for,
    clock_skewed,
    home_bp_summary,
    merge_decision,
    normalise,
)
from manbing.domain.observations import ObservationKind
from manbing.domain.rules.blood_pressure import URGENT_DBP, URGENT_SBP
from manbing.domain.rules.glucose import URGENT_GLUCOSE_HIGH, URGENT_GLUCOSE_LOW

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def _bp(sbp, dbp, **kw) -> RawReading:
    values = {"sbp": sbp, "dbp": dbp, **kw.pop("extra", {})}
    defaults = {"measured_at": NOW - timedelta(minutes=1), "units": {}}
    return RawReading(
        "BP-1", "m1", type=MeasurementType.BLOOD_PRESSURE, values=values, **(defaults | kw)
    )


def test_a_bp_reading_with_pulse_becomes_two_measurements_with_distinct_keys():
    reading = normalise(_bp(150, 92, extra={"pulse": 70}), NOW)
    kinds = [(m.kind, m.key_suffix) for m in reading.measurements]
    assert kinds == [(ObservationKind.BLOOD_PRESSURE, ""), (ObservationKind.HEART_RATE, ":hr")]
    assert reading.idempotency_key == "BP-1:m1"
    assert not reading.clock_skew


def test_glucose_in_mg_per_dl_is_stored_in_mmol_per_l_with_the_received_value_kept():
    raw = RawReading(
        "GM-1",
        "g1",
        NOW - timedelta(hours=1),
        MeasurementType.GLUCOSE,
        {"glucose": 126},
        {"glucose": "mg/dL"},
        context=GlucoseContext.FASTING,
    )
    (m,) = normalise(raw, NOW).measurements
    assert m.kind is ObservationKind.GLUCOSE_FASTING
    assert m.value == 7.0
    assert (m.value_received, m.unit_received) == ("126", "mg/dL")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_bp(400, 90), "sbp"),
        (_bp(80, 90), "sbp"),
        (_bp(120, 80, units={"sbp": "kPa"}), "units.sbp"),
        (_bp(120, 80, measured_at=datetime(2026, 11, 24, 2, 0)), "measured_at"),
    ],
)
def test_implausible_or_malformed_readings_are_refused_naming_the_field(raw, field):
    with pytest.raises(InvalidInput) as err:
        normalise(raw, NOW)
    assert err.value.field == field


def test_a_reading_older_than_thirty_days_is_stale():
    with pytest.raises(StaleReading):
        normalise(_bp(120, 80, measured_at=NOW - timedelta(days=31)), NOW)


def test_a_late_reading_from_a_device_with_a_correct_clock_is_not_flagged_as_skewed():
    late = NOW - timedelta(hours=6)
    assert not clock_skewed(late, NOW - timedelta(seconds=3), NOW)
    assert clock_skewed(late, NOW + timedelta(hours=2), NOW)
    assert clock_skewed(NOW + timedelta(hours=1), None, NOW)
    assert not clock_skewed(late, None, NOW)


def test_a_reading_key_already_seen_is_a_duplicate_and_out_of_order_is_new():
    assert merge_decision("BP-1:2", {"BP-1:3"}) is Decision.NEW
    assert merge_decision("BP-1:3", {"BP-1:3"}) is Decision.DUPLICATE


def _m(kind, value, value2=None):
    return HomeMeasurement(kind, value, value2, "", "", "")


@pytest.mark.parametrize(
    ("measurement", "alerted"),
    [
        (_m(ObservationKind.BLOOD_PRESSURE, URGENT_SBP, 90), True),
        (_m(ObservationKind.BLOOD_PRESSURE, URGENT_SBP - 1, URGENT_DBP - 1), False),
        (_m(ObservationKind.BLOOD_PRESSURE, 150, URGENT_DBP), True),
        (_m(ObservationKind.GLUCOSE_FASTING, URGENT_GLUCOSE_HIGH), True),
        (_m(ObservationKind.GLUCOSE_RANDOM, URGENT_GLUCOSE_LOW), True),
        (_m(ObservationKind.GLUCOSE_RANDOM, 4.0), False),
        (_m(ObservationKind.HEART_RATE, 200), False),
    ],
)
def test_urgent_alerts_follow_the_clinical_rule_thresholds(measurement, alerted):
    assert (alert_for(measurement) is not None) is alerted


def test_a_low_glucose_alert_tells_the_patient_to_eat_sugar():
    alert = alert_for(_m(ObservationKind.GLUCOSE_RANDOM, 3.2))
    assert alert is not None and alert.code == "urgent_glucose_low"
    assert "15克糖" in alert.patient_message_zh


def test_a_home_average_of_135_over_80_is_uncontrolled_and_134_over_84_is_not():
    assert home_bp_summary([(130, 80), (140, 80)]).uncontrolled is True
    summary = home_bp_summary([(134, 84), (134, 84)])
    assert (summary.readings, summary.mean_sbp, summary.uncontrolled) == (2, 134.0, False)
    assert home_bp_summary([]).uncontrolled is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        # a device clock without an offset: comparing it with ours used to raise TypeError
        (_bp(120, 80, sent_at=datetime(2026, 11, 24, 2, 0)), "sent_at"),
        # a time that exists only in its own offset: year 10000 once in UTC (cannot be stored)
        (
            _bp(120, 80, measured_at=datetime.fromisoformat("9999-12-31T23:59:59-12:00")),
            "measured_at",
        ),
    ],
)
def test_a_time_without_an_offset_or_outside_the_utc_calendar_is_refused(raw, field):
    with pytest.raises(InvalidInput) as err:
        normalise(raw, NOW)
    assert err.value.field == field
    assert err.value.message != err.value.message_en  # both languages


def test_far_but_representable_device_times_are_kept_as_a_skewed_clock():
    future = normalise(_bp(120, 80, measured_at=datetime(9999, 12, 31, 23, 0, tzinfo=UTC)), NOW)
    assert future.clock_skew  # ADR 0008: a future measurement time is flagged, not refused
    early = datetime.fromisoformat("0001-01-01T00:00:00+14:00")  # never stored: only compared
    assert normalise(_bp(120, 80, sent_at=early), NOW).clock_skew


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_bp(150, 92, extra={"puls": 70}), "values.puls"),  # a typo was silently dropped
        (_bp(150, 92, extra={"glucose": 6.1}), "values.glucose"),
        (
            RawReading("GM-1", "g1", NOW, MeasurementType.GLUCOSE, {"glucose": 6.1, "sbp": 1}, {}),
            "values.sbp",
        ),
        (_bp(150, 92, extra={"\ud800": 1}), "values.\\ud800"),  # echoed as valid UTF-8
    ],
)
def test_an_unknown_value_name_is_refused_naming_it(raw: RawReading, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise(raw, NOW)
    assert refused.value.field == field
    name = field.removeprefix("values.")
    assert f"未知的数值 {name}" in refused.value.message and name in refused.value.message_en
    refused.value.message.encode()  # no lone surrogate left
