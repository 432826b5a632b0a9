"""Up-referrals (上转) raised at follow-ups, with their status history."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from manbing.synth import ids
from manbing.synth.care import Visits
from manbing.synth.dates import arrow_times
from manbing.synth.orgs import Registry
from manbing.synth.population import NONE, People

# Final status and the path that led to it.
_PATHS = (
    ("closed", ("requested", "accepted", "returned", "closed"), 0.60),
    ("returned", ("requested", "accepted", "returned"), 0.15),
    ("accepted", ("requested", "accepted"), 0.10),
    ("requested", ("requested",), 0.08),
    ("rejected", ("requested", "rejected"), 0.05),
    ("cancelled", ("requested", "cancelled"), 0.02),
)
_NOTES = {"requested": "发起转诊", "accepted": "已接诊", "returned": "调整治疗方案后下转社区", "closed": "社区已查看转诊结果", "rejected": "非本院诊疗范围", "cancelled": "患者自行就诊"}  # fmt: skip


def referral_columns(
    reg: Registry, people: People, v: Visits, follow: dict[str, object], rng: np.random.Generator
) -> tuple[dict[str, object], dict[str, object]]:
    rows = np.flatnonzero(v.refer & (v.outcome == "done"))
    n = len(rows)
    res = v.resident[rows]
    path = rng.choice(len(_PATHS), n, p=[p[2] for p in _PATHS])
    status = np.array([p[0] for p in _PATHS], dtype=object)[path]
    rid = ids.uuids(rng, n)
    hospital = reg.community_hospital[people.community[res]]
    county = people.county[res]
    handled = np.array(
        [
            reg.hospital_specialists[str(c)][int(i)]
            for c, i in zip(county, rng.integers(0, 10, n), strict=True)
        ],
        dtype=object,
    )
    urgent = v.urgent[rows]
    cls = v.classification[rows]
    reason = np.where(
        urgent,
        '["bp_critical"]',
        np.where(cls == "4", '["new_complication"]', '["uncontrolled_twice"]'),
    )
    follow_ids = v.follow_up_id.take(pa.array(rows))
    org = np.asarray(follow["organization_id"], dtype=object)[rows]
    requested_by = np.asarray(follow["practitioner_id"], dtype=object)[rows]
    referral = {
        "id": rid,
        "resident_id": people.resident_id.take(pa.array(res)),
        "direction": np.full(n, "up", dtype=object),
        "urgency": np.where(urgent, "urgent", "routine"),
        "reasons": reason,
        "reason_text": np.asarray(follow["referral_reason"], dtype=object)[rows],
        "from_org_id": org,
        "to_org_id": hospital,
        "to_department": np.asarray(follow["referral_org_dept"], dtype=object)[rows],
        "status": status,
        "requested_by_id": requested_by,
        "handled_by_id": np.where(status == "requested", NONE, handled),
        "follow_up_id": follow_ids,
        "plan": np.where(
            np.isin(status, ["returned", "closed"]), "调整用药方案，2周内社区随访", NONE
        ),
        "created_at": arrow_times(v.day[rows], np.full(n, 3 * 3600)),
        "updated_at": arrow_times(v.day[rows], np.full(n, 3 * 3600)),
    }
    steps = np.array([len(p[1]) for p in _PATHS])[path]
    ev_ref = np.repeat(np.arange(n), steps)
    pos = np.arange(len(ev_ref)) - np.repeat(np.cumsum(steps) - steps, steps)
    names = np.array([list(p[1]) + [""] * (4 - len(p[1])) for p in _PATHS], dtype=object)
    to_status = names[path[ev_ref], pos]
    from_status = np.where(pos > 0, names[path[ev_ref], np.maximum(pos - 1, 0)], NONE)
    when = v.day[rows][ev_ref] + pos * rng.integers(1, 4, len(ev_ref))
    events = {
        "id": ids.uuids(rng, len(ev_ref)),
        "referral_id": rid.take(pa.array(ev_ref)),
        "from_status": from_status,
        "to_status": to_status,
        "note": np.array([_NOTES[s] for s in to_status], dtype=object),
        "occurred_at": arrow_times(when, 3 * 3600 + pos * 1800),
    }
    return referral, events
