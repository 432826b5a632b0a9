import json
from datetime import UTC, datetime

from manbing.devices.simulator import readings
from manbing.domain.ingestion import alert_for, normalise
from manbing.services.device_payload import submission_from_mqtt
from manbing.services.devices import SimulatedDevice

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_simulated_readings_are_valid_payloads_with_units_contexts_and_a_few_critical_values():
    fleet = [
        SimulatedDevice(f"SIM-{i:06d}", "glucometer" if i % 4 == 3 else "bp_monitor", "s")
        for i in range(200)
    ]
    source = readings(fleet, seed=1, critical_share=0.01, start=NOW, run_id="t-")
    kinds, units, alerts, keys = set(), set(), 0, set()
    for _ in range(3000):
        topic, payload = next(source)
        submission = submission_from_mqtt(topic, json.dumps(payload).encode())
        assert submission.raw is not None, submission.error
        reading = normalise(submission.raw, NOW)
        keys.add(reading.idempotency_key)
        kinds |= {m.kind.value for m in reading.measurements}
        units |= {m.unit_received for m in reading.measurements}
        alerts += sum(1 for m in reading.measurements if alert_for(m) is not None)
    assert len(keys) == 3000  # message ids never repeat within a device
    assert {"bp", "heart_rate", "glucose_fasting"} <= kinds
    assert {"mg/dL", "mmol/L", "mmHg"} <= units
    assert 10 <= alerts <= 80
