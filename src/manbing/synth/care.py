"""Follow-up histories of hypertension and diabetes patients (随访服务记录表), vectorised.

Visits are simulated one "visit number" at a time across all patients of the chunk: the interval
to the next visit depends on the patient's rhythm (standard ≈ quarterly, irregular ≈ every 4–5
months) and on this visit's classification (uncontrolled ⇒ recheck within 2–4 weeks for some).
The classification follows the form: most severe of 4 并发症 > 3 不良反应 > 2 控制不满意 > 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from manbing.domain.programmes import Programme
from manbing.synth import ids
from manbing.synth.config import SynthConfig
from manbing.synth.dates import day, yyyymmdd
from manbing.synth.disease import Conditions
from manbing.synth.population import NO_DAY, NONE, Bools, Ints, People
from manbing.synth.trajectory import ADHERENCE, Trajectory

_LOST_REASONS = np.array(
    ["外出务工，联系不上", "电话停机", "拒绝随访", "长期在外地居住"], dtype=object
)


@dataclass
class Visits:
    patient: Ints  # index into the chunk's followed patients
    resident: Ints  # index into the chunk's residents
    day: Ints
    outcome: np.ndarray  # done / lost / dead
    sbp: Ints
    dbp: Ints
    fpg: np.ndarray  # float, NaN when not a diabetes visit
    htn: Bools
    dm: Bools
    mode: np.ndarray
    classification: np.ndarray
    adherence: Ints
    urgent: Bools
    refer: Bools
    transposed: Bools
    rounded: Bools
    follow_up_id: pa.Array


@dataclass
class Patients:
    resident: Ints
    traj: Trajectory
    start: Ints
    stop: Ints
    htn_enrol: Ints
    dm_enrol: Ints


def followed_patients(
    config: SynthConfig, people: People, cond: Conditions, rng: np.random.Generator
) -> Patients:
    htn_all, dm_all = cond.enrolled[Programme.HYPERTENSION], cond.enrolled[Programme.T2DM]
    resident = np.flatnonzero(htn_all | dm_all)
    htn, dm = htn_all[resident], dm_all[resident]
    htn_enrol = np.where(htn, cond.enrol_day[Programme.HYPERTENSION][resident], NO_DAY)
    dm_enrol = np.where(dm, cond.enrol_day[Programme.T2DM][resident], NO_DAY)
    enrol = np.minimum(htn_enrol, dm_enrol)
    traj = Trajectory.draw(config, htn, dm, enrol, rng)
    start = np.maximum(enrol, day(config.start_date))
    stop = np.minimum(cond.stop_day[resident], day(config.end_date))
    return Patients(resident, traj, start, stop, htn_enrol, dm_enrol)


def simulate_visits(
    config: SynthConfig, people: People, pat: Patients, rng: np.random.Generator
) -> Visits:
    m = len(pat.resident)
    standard = rng.random(m) < config.standard_share
    first = np.where(
        pat.start > day(config.start_date), pat.start, pat.start + rng.integers(0, 90, m)
    )
    current = first.copy()
    prev_bad = np.zeros(m, dtype=bool)
    parts: list[dict[str, np.ndarray]] = []
    age_end = people.age_end[pat.resident]
    birth_rel = people.birth[pat.resident]
    end = day(config.end_date)
    f = config.fault_rate
    while True:
        live = np.flatnonzero(current <= pat.stop)
        if len(live) == 0:
            break
        d = current[live]
        k = len(live)
        visit_adh = np.where(rng.random(k) < 0.85, pat.traj.adherence[live], rng.choice(3, k))
        mode = np.where(
            rng.random(k) < config.phone_visit_share,
            "3",
            np.where(
                rng.random(k) < config.home_visit_share / (1 - config.phone_visit_share), "2", "1"
            ),
        )
        sbp, dbp = pat.traj.blood_pressure(live, d, visit_adh, 8.0, rng)
        # Faults in the recorded values: digit preference (rounded to 0), transposed SBP/DBP.
        rounded = rng.random(k) < f
        sbp = np.where(rounded, np.rint(sbp / 10) * 10, sbp).astype(np.int64)
        dbp = np.where(rounded, np.rint(dbp / 10) * 10, dbp).astype(np.int64)
        transposed = rng.random(k) < f
        sbp, dbp = np.where(transposed, dbp, sbp), np.where(transposed, sbp, dbp)
        htn_now = d >= pat.htn_enrol[live]
        dm_now = d >= pat.dm_enrol[live]
        fpg = np.where(dm_now, pat.traj.glucose(live, d, visit_adh, rng), np.nan)
        age = (yyyymmdd(d) - yyyymmdd(birth_rel[live])) // 10_000  # completed years
        target = np.where(age >= 65, 150, 140)
        bp_bad = htn_now & ((sbp >= target) | (dbp >= 90))
        bad = bp_bad | (dm_now & (fpg >= 7.0))
        cls = np.where(bad, "2", "1")
        cls = np.where(rng.random(k) < config.adverse_reaction_rate, "3", cls)
        cls = np.where(rng.random(k) < config.complication_rate, "4", cls)
        urgent = (np.maximum(sbp, dbp) >= 180) | (np.minimum(sbp, dbp) >= 110)
        refer = (
            urgent
            | (cls == "4")
            | (bad & prev_bad[live] & (rng.random(k) < config.referral_rate_uncontrolled))
        )
        parts.append({"patient": live, "day": d, "sbp": sbp, "dbp": dbp, "fpg": fpg, "htn": htn_now, "dm": dm_now, "mode": mode, "cls": cls, "adh": visit_adh, "urgent": urgent, "refer": refer, "transposed": transposed, "rounded": rounded})  # fmt: skip
        recheck = (cls != "1") & (rng.random(k) < config.recheck_share)
        regular = np.where(
            standard[live],
            np.clip(rng.normal(86, 8, k), 65, 100),
            np.clip(rng.normal(140, 35, k), 95, 250),
        )
        step = np.where(recheck, rng.integers(12, 28, k), regular).astype(np.int64)
        prev_bad[live] = bad
        current[live] = d + step
    del age_end, end
    cols = {
        key: np.concatenate([p[key] for p in parts]) if parts else np.array([])
        for key in (parts[0] if parts else {"patient": 0})
    }
    if not parts:
        cols = {"patient": np.array([], dtype=np.int64)}
    return _with_endings(config, people, pat, cols, rng)


def _with_endings(
    config: SynthConfig,
    people: People,
    pat: Patients,
    cols: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> Visits:
    """Append the form's "lost" and "dead" lines, then order rows by patient and date."""
    end = day(config.end_date)
    res = pat.resident
    lost_p = np.flatnonzero(
        (pat.stop < end)
        & (people.death[res] > pat.stop)
        & (people.moved[res] > pat.stop)
        & (pat.stop >= pat.start)
    )
    dead_p = np.flatnonzero(
        (people.death[res] <= end) & (people.death[res] == pat.stop) & (pat.stop >= pat.start)
    )
    n_visits = len(cols.get("day", []))
    extra = np.r_[lost_p, dead_p]
    e = len(extra)
    patient = np.r_[cols["patient"], extra].astype(np.int64)
    dayv = np.r_[cols.get("day", np.array([], np.int64)), pat.stop[extra]].astype(np.int64)
    outcome = np.r_[
        np.full(n_visits, "done", dtype=object),
        np.full(len(lost_p), "lost", dtype=object),
        np.full(len(dead_p), "dead", dtype=object),
    ]

    def pad(key: str, fill: object, dtype: type) -> np.ndarray:
        base = cols[key] if key in cols else np.array([], dtype=dtype)
        padded: np.ndarray = np.r_[base.astype(dtype), np.full(e, fill, dtype=dtype)]
        return padded

    order = np.lexsort((dayv, patient))
    v = Visits(
        patient=patient,
        resident=res[patient],
        day=dayv,
        outcome=outcome,
        sbp=pad("sbp", -1, np.int64),
        dbp=pad("dbp", -1, np.int64),
        fpg=pad("fpg", np.nan, np.float64),
        htn=np.r_[cols.get("htn", np.array([], bool)), pat.htn_enrol[extra] <= pat.stop[extra]],
        dm=np.r_[cols.get("dm", np.array([], bool)), pat.dm_enrol[extra] <= pat.stop[extra]],
        mode=pad("mode", None, object),
        classification=pad("cls", None, object),
        adherence=pad("adh", 0, np.int64),
        urgent=pad("urgent", False, bool),
        refer=pad("refer", False, bool),
        transposed=pad("transposed", False, bool),
        rounded=pad("rounded", False, bool),
        follow_up_id=pa.array([], pa.string()),
    )
    for name in ("patient", "resident", "day", "outcome", "sbp", "dbp", "fpg", "htn", "dm", "mode", "classification", "adherence", "urgent", "refer", "transposed", "rounded"):  # fmt: skip
        setattr(v, name, getattr(v, name)[order])
    v.follow_up_id = ids.uuids(rng, len(patient))
    return v


def adherence_code(v: Visits) -> np.ndarray:
    return np.where(v.outcome == "done", ADHERENCE[v.adherence], NONE)


LOST_REASONS = _LOST_REASONS
