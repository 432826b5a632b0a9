"""Data-quality faults for quality control and the master patient index to find.

- duplicate residents: a second record of the same person from another source system
  (hospital HIS), with a misspelt name and an ID number that is missing or has a wrong check
  character (``fault_rate`` of adult residents);
- missing phone or address on resident records (``fault_rate`` each);
- in care.py/followups.py: transposed SBP/DBP, digit preference (readings rounded to 0) and
  missing weight/heart rate on follow-ups (``fault_rate`` of readings/visits each).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from manbing.db.models.residents import NATIONAL_ID_SYSTEM, RECORD_NUMBER_SYSTEM
from manbing.synth import ids
from manbing.synth.config import SynthConfig
from manbing.synth.dates import arrow_times
from manbing.synth.names import misspell, phone_numbers
from manbing.synth.population import People

HIS_SYSTEM = "urn:manbing:source:hospital-his"


def residents_with_faults(
    config: SynthConfig,
    people: People,
    dup: np.ndarray,
    dup_record: pa.Array,
    rng: np.random.Generator,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(residents, resident_identifiers) columns: the clean rows, then the duplicates."""
    t = people.table
    n, k = people.n, len(dup)
    f = config.fault_rate
    dup_ids = ids.uuids(rng, k)
    take = pa.array(dup)
    id_number = t["id_number"]
    assert isinstance(id_number, pa.Array)
    orig_id = id_number.take(take)
    has_orig = orig_id.is_valid().to_numpy(zero_copy_only=False)
    typo = has_orig & (rng.random(k) < 0.5)
    chars = (
        np.frombuffer("".join(x or "0" * 18 for x in orig_id.to_pylist()).encode(), dtype=np.uint8)
        .reshape(k, 18)
        .copy()
    )
    ids.wrong_check(chars, rng)
    dup_number = pc.if_else(
        pa.array(typo),
        ids.ascii_strings(chars) if k else pa.array([], pa.string()),
        pa.scalar(None, pa.string()),
    )
    phone = t["phone"]
    address = t["address"]
    assert isinstance(phone, pa.Array) and isinstance(address, pa.Array)
    phone = pc.if_else(pa.array(rng.random(n) < f), pa.scalar(None, pa.string()), phone)
    address = pc.if_else(pa.array(rng.random(n) < f), pa.scalar(None, pa.string()), address)
    dup_phone = pc.if_else(pa.array(rng.random(k) < 0.7), phone.take(take), phone_numbers(rng, k))
    out: dict[str, list[Any]] = {}
    for col, values in t.items():
        if isinstance(values, pa.Array):
            out[col] = [values, values.take(take)]
        else:
            arr = np.asarray(values)
            out[col] = [arr, arr[dup]]
    out["id"] = [people.resident_id, dup_ids]
    out["record_number"] = [t["record_number"], dup_record]
    name = t["name"]
    assert isinstance(name, pa.Array)
    out["name"] = [name, misspell(rng, name.take(take))]
    out["id_number"] = [id_number, dup_number]
    out["phone"] = [phone, dup_phone]
    out["address"] = [address, address.take(take)]
    status = np.asarray(t["status"], dtype=object)
    out["status"] = [status, np.full(k, "active", dtype=object)]
    out["status_date"] = [np.asarray(t["status_date"]), np.full(k, 2**40)]
    out["death_cause_icd10"] = [
        np.asarray(t["death_cause_icd10"], dtype=object),
        np.full(k, None, dtype=object),
    ]
    out["death_cause_text"] = [
        np.asarray(t["death_cause_text"], dtype=object),
        np.full(k, None, dtype=object),
    ]
    reg = np.asarray(t["registered_on"])
    out["registered_on"] = [reg, reg[dup] + rng.integers(30, 900, k)]
    out["created_at"] = [
        arrow_times(reg, np.full(n, 2 * 3600)),
        arrow_times(reg[dup] + 30, np.full(k, 2 * 3600)),
    ]
    out["updated_at"] = out["created_at"]
    out = {
        c: [pa.array(p) if isinstance(p, np.ndarray) and p.dtype == object else p for p in v]
        for c, v in out.items()
    }

    # Identifiers: national ID (when present) and record number for clean rows; HIS id for dups.
    valid_id = id_number.is_valid().to_numpy(zero_copy_only=False)
    with_id = np.flatnonzero(valid_id)
    assigned = arrow_times(reg, np.full(n, 2 * 3600))
    rec = t["record_number"]
    assert isinstance(rec, pa.Array)
    his_value = pc.binary_join_element_wise(
        "HIS",
        ids.ascii_strings(ids.digits(rng.integers(0, 10**9, k), 9))
        if k
        else pa.array([], pa.string()),
        "",
    )
    idents = {
        "id": ids.uuids(rng, len(with_id) + n + k),
        "resident_id": [people.resident_id.take(pa.array(with_id)), people.resident_id, dup_ids],
        "system": [
            np.full(len(with_id), NATIONAL_ID_SYSTEM, dtype=object),
            np.full(n, RECORD_NUMBER_SYSTEM, dtype=object),
            np.full(k, HIS_SYSTEM, dtype=object),
        ],
        "value": [id_number.take(pa.array(with_id)), rec, his_value],
        "assigned_at": [
            assigned.take(pa.array(with_id)),
            assigned,
            arrow_times(reg[dup] + 30, np.full(k, 2 * 3600)),
        ],
    }
    return out, idents
