"""Family-doctor contracts (签约): one-year contracts renewed each year.

Signing rates at the end date: key populations (≥65, enrolled hypertension or diabetes
patients) ``contract_rate_key``, everyone else ``contract_rate_general`` — the 2022 guidance's
targets (assumption; see docs/synthetic-population.md).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from manbing.domain.programmes import Programme
from manbing.synth import ids
from manbing.synth.config import SynthConfig
from manbing.synth.dates import arrow_times, day
from manbing.synth.disease import Conditions
from manbing.synth.orgs import Registry
from manbing.synth.population import People


def contract_columns(
    config: SynthConfig, reg: Registry, people: People, cond: Conditions, rng: np.random.Generator
) -> dict[str, object]:
    start, end = day(config.start_date), day(config.end_date)
    htn, dm = cond.enrolled[Programme.HYPERTENSION], cond.enrolled[Programme.T2DM]
    key = (people.age_end >= 65) | htn | dm
    signer = np.flatnonzero(
        rng.random(people.n) < np.where(key, config.contract_rate_key, config.contract_rate_general)
    )
    gone = np.minimum(people.death, people.moved)[signer]
    first = np.maximum(start - rng.integers(0, 365, len(signer)), people.registered[signer])
    periods = config.years + 1
    k = np.arange(periods)[None, :]
    starts = first[:, None] + (k * 365.25).astype(np.int64)
    valid = (starts <= end) & (starts < gone[:, None])
    row, col = np.nonzero(valid)
    n = len(row)
    cid = ids.uuids(rng, n)
    s = starts[row, col]
    e = s + 364
    last = np.r_[row[1:] != row[:-1], True]
    dep = gone[row]
    status = np.where(
        ~last, "renewed", np.where(dep <= e, "terminated", np.where(e >= end, "active", "expired"))
    )
    prev = np.r_[-1, np.arange(n - 1)]
    renewal_of = pa.array(np.where(col > 0, prev, 0)).cast(pa.int64())
    renewal_ids = cid.take(renewal_of)
    renewal_ids = pa.array(renewal_ids.to_numpy(zero_copy_only=False), mask=col == 0)
    res = signer[row]
    package = np.where(people.age_end[res] >= 65, 1, np.where(htn[res], 2, np.where(dm[res], 3, 0)))
    return {
        "id": cid,
        "resident_id": people.resident_id.take(pa.array(res)),
        "team_id": reg.team_ids[people.team[res]],
        "package_id": reg.package_ids[package],
        "start_date": s,
        "end_date": e,
        "status": status,
        "renewal_of_id": renewal_ids,
        "signed_by_id": reg.team_leaders[people.team[res]],
        "signed_at": arrow_times(s, np.full(n, 2 * 3600)),
        "created_at": arrow_times(s, np.full(n, 2 * 3600)),
        "updated_at": arrow_times(s, np.full(n, 2 * 3600)),
    }
