"""Observations: clinic readings taken at follow-ups, and home-device readings.

Every completed clinic or home visit gives one BP observation (LOINC panel 85354-9, value=SBP,
value2=DBP); diabetes visits add fasting glucose and, once a year, HbA1c (lab). A configurable
share of followed patients own a home BP monitor (glucometer if diabetic only) and measure every
day (on ~60 % of days) or once a week, in the morning.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from manbing.domain.observations import SPECS, ObservationKind
from manbing.synth import ids
from manbing.synth.care import Patients, Visits
from manbing.synth.config import SynthConfig
from manbing.synth.dates import arrow_times, day
from manbing.synth.orgs import Registry
from manbing.synth.population import People

BP, FPG, HBA1C = (
    ObservationKind.BLOOD_PRESSURE,
    ObservationKind.GLUCOSE_FASTING,
    ObservationKind.HBA1C,
)
_UTC_OFFSET = 8 * 3600  # China Standard Time


def clinic_columns(
    reg: Registry, people: People, v: Visits, follow: dict[str, object], rng: np.random.Generator
) -> dict[str, object]:
    done = v.outcome == "done"
    measured = done & (v.mode != "3")
    bp_rows = np.flatnonzero(measured)
    fpg_rows = np.flatnonzero(done & v.dm)
    hba1c = follow["hba1c"]
    assert isinstance(hba1c, pa.Array)
    a1c_rows = np.flatnonzero(hba1c.is_valid().to_numpy(zero_copy_only=False))
    rows = np.r_[bp_rows, fpg_rows, a1c_rows]
    kinds = np.r_[np.full(len(bp_rows), 0), np.full(len(fpg_rows), 1), np.full(len(a1c_rows), 2)]
    specs = [SPECS[BP], SPECS[FPG], SPECS[HBA1C]]
    value = np.r_[
        v.sbp[bp_rows].astype(np.float64),
        v.fpg[fpg_rows],
        hba1c.to_numpy(zero_copy_only=False)[a1c_rows],
    ]
    value2 = np.r_[
        v.dbp[bp_rows].astype(np.float64), np.full(len(fpg_rows) + len(a1c_rows), np.nan)
    ]
    local = 8 * 3600 + rng.integers(0, 8 * 3600, len(rows))
    effective = arrow_times(v.day[rows], local - _UTC_OFFSET)
    n = len(rows)
    return {
        "id": ids.uuids(rng, n),
        "resident_id": people.resident_id.take(pa.array(v.resident[rows])),
        "kind": np.array([s.kind.value for s in specs], dtype=object)[kinds],
        "loinc": np.array([s.loinc for s in specs], dtype=object)[kinds],
        "value": value,
        "value2": pa.array(value2, mask=np.isnan(value2)),
        "unit": np.array([s.unit for s in specs], dtype=object)[kinds],
        "effective_at": effective,
        "received_at": arrow_times(v.day[rows], local - _UTC_OFFSET + 600),
        "source": np.where(kinds == 2, "lab", "clinic"),
        "follow_up_id": v.follow_up_id.take(pa.array(rows)),
        "organization_id": reg.community_org[people.community[v.resident[rows]]],
    }


def device_columns(
    config: SynthConfig, people: People, pat: Patients, rng: np.random.Generator
) -> tuple[dict[str, object], dict[str, object]]:
    """(devices, home observations) for the patients who own a device."""
    m = len(pat.resident)
    end = day(config.end_date)
    owner = np.flatnonzero((rng.random(m) < config.home_device_share) & (pat.stop > pat.start + 30))
    k = len(owner)
    bound = pat.start[owner] + (
        rng.random(k) * np.minimum(365, pat.stop[owner] - pat.start[owner] - 30)
    ).astype(np.int64)
    stop = np.minimum(pat.stop[owner], end)
    bp_monitor = pat.traj.htn[owner]
    daily = rng.random(k) < config.daily_device_share
    device_id = ids.uuids(rng, k)
    serial_no = ids.ascii_strings(ids.digits(rng.integers(0, 10**10, k), 10))
    serial = pc.binary_join_element_wise(
        pa.array(np.where(bp_monitor, "BPM-", "GLU-")), serial_no, ""
    )
    devices = {
        "id": device_id,
        "serial": serial,
        "kind": np.where(bp_monitor, "bp_monitor", "glucometer"),
        "manufacturer": np.where(bp_monitor, "欧姆龙", "三诺"),
        "model": np.where(bp_monitor, "U32K", "安稳+Air"),
        "resident_id": people.resident_id.take(pa.array(pat.resident[owner])),
        "bound_at": arrow_times(bound, np.full(k, 2 * 3600)),
        "active": stop >= end,
    }
    # Candidate days: every day (daily owners) or every 7th day (weekly), then thinned.
    step = np.where(daily, 1, 7)
    counts = np.maximum((stop - bound) // step, 0)
    dev = np.repeat(np.arange(k), counts)
    offset = np.arange(len(dev)) - np.repeat(np.cumsum(counts) - counts, counts)
    days = bound[dev] + 1 + offset * step[dev]
    keep = rng.random(len(dev)) < np.where(daily[dev], config.daily_measure_days, 0.9)
    dev, days = dev[keep], days[keep]
    n = len(dev)
    patient = owner[dev]
    adherence = pat.traj.adherence[patient]
    sbp, dbp = pat.traj.blood_pressure(patient, days, adherence, 7.0, rng)
    sbp, dbp = sbp - 4, dbp - 2  # home readings run lower than clinic readings
    fpg = pat.traj.glucose(patient, days, adherence, rng)
    is_bp = bp_monitor[dev]
    local = 6 * 3600 + 1800 + rng.integers(0, 2 * 3600, n)
    seconds = local - _UTC_OFFSET
    micros = (days * 86_400 + seconds) * 1_000_000
    key = pc.binary_join_element_wise(
        serial.take(pa.array(dev)), pc.cast(pa.array(micros), pa.string()), ":"
    )
    spec_bp, spec_fpg = SPECS[BP], SPECS[FPG]
    home = {
        "id": ids.uuids(rng, n),
        "resident_id": people.resident_id.take(pa.array(pat.resident[patient])),
        "kind": np.where(is_bp, spec_bp.kind.value, spec_fpg.kind.value),
        "loinc": np.where(is_bp, spec_bp.loinc, spec_fpg.loinc),
        "value": np.where(is_bp, sbp.astype(np.float64), fpg),
        "value2": pa.array(dbp.astype(np.float64), mask=~is_bp),
        "unit": np.where(is_bp, spec_bp.unit, spec_fpg.unit),
        "effective_at": arrow_times(days, seconds),
        "received_at": arrow_times(days, seconds + 5),
        "source": np.full(n, "home_device", dtype=object),
        "device_id": device_id.take(pa.array(dev)),
        "idempotency_key": key,
    }
    return devices, home
