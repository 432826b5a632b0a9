"""Chronic conditions: correlated prevalence by age and sex, awareness and enrolment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from manbing.domain.programmes import Programme
from manbing.synth import ids
from manbing.synth.config import AgeRates, SynthConfig
from manbing.synth.dates import day
from manbing.synth.orgs import Registry
from manbing.synth.population import NO_DAY, Bools, Floats, Ints, People, _rate

PROGRAMMES = (
    Programme.HYPERTENSION,
    Programme.T2DM,
    Programme.DYSLIPIDAEMIA,
    Programme.COPD,
    Programme.STROKE,
)
PROGRAMME_START = day(__import__("datetime").date(2009, 7, 1))  # 基本公共卫生服务 began 2009
_ICD = {
    Programme.HYPERTENSION: (("I10",), (1.0,)),
    Programme.T2DM: (("E11.9",), (1.0,)),
    Programme.DYSLIPIDAEMIA: (("E78.5", "E78.0"), (0.8, 0.2)),
    Programme.COPD: (("J44.9",), (1.0,)),
    Programme.STROKE: (("I63.9", "I61.9", "I64"), (0.7, 0.2, 0.1)),
}


def normal_cdf(x: Floats) -> Floats:
    """Φ(x) by Abramowitz & Stegun 7.1.26 (error < 1.5e-7)."""
    z = np.abs(x) / np.sqrt(2)
    t = 1 / (1 + 0.3275911 * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1 - poly * np.exp(-z * z)
    cdf: Floats = 0.5 * (1 + np.sign(x) * erf)
    return cdf


@dataclass
class Conditions:
    has: dict[Programme, Bools]
    aware: dict[Programme, Bools]
    enrolled: dict[Programme, Bools]
    diagnosed: dict[Programme, Ints]
    enrol_day: dict[Programme, Ints]
    lost_day: Ints  # the day the patient is lost to follow-up (NO_DAY if never)
    stop_day: Ints  # end of community care: lost, dead, moved (NO_DAY if still managed)
    enrolment_ids: dict[Programme, pa.Array]  # aligned with np.flatnonzero(enrolled[p])
    tables: dict[str, dict[str, Any]]


def _sexed(rates: AgeRates, age: Ints, male: Bools, factor: float) -> Floats:
    base = _rate(rates, age)
    female = 2 * base / (1 + factor)
    return np.where(male, factor * female, female)


def draw_conditions(
    config: SynthConfig, reg: Registry, people: People, rng: np.random.Generator
) -> Conditions:
    n = people.n
    age, male = people.age_end, people.male
    end, start = day(config.end_date), day(config.start_date)
    prevalence = {
        Programme.HYPERTENSION: _sexed(config.htn_prevalence, age, male, config.htn_male_factor),
        Programme.T2DM: _sexed(config.t2dm_prevalence, age, male, 1.1),
        Programme.DYSLIPIDAEMIA: _sexed(config.dyslipidaemia_prevalence, age, male, 1.15),
        Programme.COPD: _sexed(config.copd_prevalence, age, male, config.copd_male_factor),
        Programme.STROKE: _sexed(config.stroke_prevalence, age, male, 1.3),
    }
    awareness = {
        Programme.HYPERTENSION: _rate(config.htn_awareness, age),
        Programme.T2DM: _rate(config.t2dm_awareness, age),
        Programme.DYSLIPIDAEMIA: np.full(n, config.dyslipidaemia_awareness),
        Programme.COPD: np.full(n, config.copd_awareness),
        Programme.STROKE: np.full(n, config.stroke_awareness),
    }
    enrolment = {
        Programme.HYPERTENSION: config.htn_enrolment,
        Programme.T2DM: config.t2dm_enrolment,
        Programme.DYSLIPIDAEMIA: config.dyslipidaemia_enrolment,
        Programme.COPD: config.copd_enrolment,
        Programme.STROKE: config.stroke_enrolment,
    }
    rho = config.comorbidity_correlation
    latent = rng.standard_normal(n)
    gone = np.minimum(people.death, people.moved)
    # Lost to follow-up: a yearly hazard over the window, shared by the patient's programmes.
    lost_at = start + (rng.exponential(1 / max(config.lost_per_year, 1e-9), n) * 365.25).astype(
        np.int64
    )
    lost_day = np.where((lost_at < end) & (lost_at < gone), lost_at, NO_DAY)
    has, aware, enrolled, diagnosed, enrol_day, enrol_ids = {}, {}, {}, {}, {}, {}
    out: dict[str, list[object]] = {k: [] for k in _ENROL_COLS}
    changes: dict[str, list[object]] = {k: [] for k in _CHANGE_COLS}
    for prog in PROGRAMMES:
        u = normal_cdf(np.sqrt(rho) * latent + np.sqrt(1 - rho) * rng.standard_normal(n))
        has[prog] = u < prevalence[prog]
        aware[prog] = has[prog] & (rng.random(n) < awareness[prog])
        incident = rng.random(n) < config.incident_share
        years_before = rng.exponential(6.0, n) + 0.1
        diag = np.where(
            incident,
            start + rng.integers(0, end - start, n),
            start - (years_before * 365.25).astype(np.int64),
        )
        diag = np.maximum(diag, people.birth + 18 * 365)
        enrol = np.where(incident, diag + rng.integers(7, 120, n), diag + rng.integers(0, 365, n))
        enrol = np.maximum(enrol, PROGRAMME_START + rng.integers(0, 3 * 365, n))
        enrol = np.maximum(enrol, people.registered)
        ok_age = age >= (35 if prog in (Programme.HYPERTENSION, Programme.T2DM) else 18)
        enrolled[prog] = (
            aware[prog]
            & ok_age
            & (rng.random(n) < enrolment[prog])
            & (enrol < np.minimum(gone, end))
        )
        enrolled[prog] &= enrol < np.minimum(lost_day, end) if prog in _FOLLOWED else True
        diagnosed[prog], enrol_day[prog] = diag, enrol
        idx = np.flatnonzero(enrolled[prog])
        enrol_ids[prog] = ids.uuids(rng, len(idx))
        _enrolment_rows(
            config,
            reg,
            people,
            prog,
            idx,
            diag,
            enrol,
            lost_day,
            enrol_ids[prog],
            rng,
            out,
            changes,
        )
    followed = enrolled[Programme.HYPERTENSION] | enrolled[Programme.T2DM]
    lost_day = np.where(followed & (lost_day < gone), lost_day, NO_DAY)
    stop = np.minimum(gone, lost_day)
    return Conditions(
        has,
        aware,
        enrolled,
        diagnosed,
        enrol_day,
        lost_day,
        stop,
        enrol_ids,
        {"enrolments": out, "enrolment_status_changes": changes},
    )


_FOLLOWED = (Programme.HYPERTENSION, Programme.T2DM)
_ENROL_COLS = ("id", "resident_id", "programme", "diagnosed_on", "diagnosed_org_id", "diagnosis_icd10", "enrolled_on", "managing_org_id", "team_id", "status", "status_date")  # fmt: skip
_CHANGE_COLS = ("id", "enrolment_id", "from_status", "to_status", "effective_on", "reason")


def _enrolment_rows(
    config: SynthConfig,
    reg: Registry,
    people: People,
    prog: Programme,
    idx: Ints,
    diag: Ints,
    enrol: Ints,
    lost_day: Ints,
    enrolment_id: pa.Array,
    rng: np.random.Generator,
    out: dict[str, list[object]],
    changes: dict[str, list[object]],
) -> None:
    m = len(idx)
    end = day(config.end_date)
    death, moved = people.death[idx], people.moved[idx]
    lost = lost_day[idx] if prog in _FOLLOWED else np.full(m, NO_DAY)
    first = np.minimum(np.minimum(death, moved), lost)
    status = np.where(
        first > end,
        "active",
        np.where(first == death, "dead", np.where(first == moved, "transferred", "lost")),
    )
    status_day = np.where(first > end, enrol[idx], first)
    codes, p = _ICD[prog]
    icd = np.array(codes, dtype=object)[rng.choice(len(codes), m, p=p)]
    at_hospital = rng.random(m) < 0.6
    rid = people.resident_id.take(pa.array(idx))
    out["id"].append(enrolment_id)
    out["resident_id"].append(rid)
    out["programme"].append(np.full(m, prog.value, dtype=object))
    out["diagnosed_on"].append(diag[idx])
    out["diagnosed_org_id"].append(
        np.where(
            at_hospital,
            reg.community_hospital[people.community[idx]],
            reg.community_centre[people.community[idx]],
        )
    )
    out["diagnosis_icd10"].append(icd)
    out["enrolled_on"].append(enrol[idx])
    out["managing_org_id"].append(reg.community_org[people.community[idx]])
    out["team_id"].append(reg.team_ids[people.team[idx]])
    out["status"].append(status)
    out["status_date"].append(status_day)
    # Status history: enrolment, then the change that ended active management (if any).
    ended = np.flatnonzero(status != "active")
    change_ids = ids.uuids(rng, m + len(ended))
    changes["id"].append(change_ids)
    changes["enrolment_id"].append(
        pa.concat_arrays([enrolment_id, enrolment_id.take(pa.array(ended))])
    )
    changes["from_status"].append(
        np.r_[np.full(m, None, dtype=object), np.full(len(ended), "active", dtype=object)]
    )
    changes["to_status"].append(
        np.r_[np.full(m, "active", dtype=object), status[ended].astype(object)]
    )
    changes["effective_on"].append(np.r_[enrol[idx], status_day[ended]])
    reasons = {"dead": "死亡", "transferred": "迁出本辖区", "lost": "连续随访未能联系"}
    changes["reason"].append(
        np.r_[
            np.full(m, "确诊后纳入管理", dtype=object),
            np.array([reasons[s] for s in status[ended]], dtype=object),
        ]
    )
