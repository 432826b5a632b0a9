"""Annual health checks of the elderly (≥65) and opportunistic BP/glucose screening (≥35)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from manbing.domain.programmes import Programme
from manbing.synth import ids
from manbing.synth.config import SynthConfig
from manbing.synth.dates import arrow_times, day, year_start
from manbing.synth.disease import Conditions
from manbing.synth.orgs import Registry
from manbing.synth.population import People

_FINDINGS = '{"skin": "正常", "lymph_nodes": "未触及", "heart": "心律齐，未闻及杂音", "lungs": "双肺呼吸音清", "abdomen": "无压痛"}'
_CONCLUSIONS = np.array(
    ["体检未见明显异常", "血压偏高，建议复查", "血糖偏高，建议复查", "超重，建议控制体重"],
    dtype=object,
)
_GUIDANCE = np.array(
    ['["定期体检"]', '["纳入慢病管理", "定期随访"]', '["减重", "低盐饮食", "适量运动"]'],
    dtype=object,
)


def _yearly(
    config: SynthConfig, people: People, rate: float, min_age: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(resident index, date) of yearly events, for residents present and old enough that day."""
    start, end = day(config.start_date), day(config.end_date)
    who, when = [], []
    for year in range(config.start_date.year, config.end_date.year + 1):
        d = year_start(year) + 59 + rng.integers(0, 245, people.n)  # March–October
        ok = (
            (d >= start)
            & (d <= end)
            & (d < people.death)
            & (d < people.moved)
            & (d >= people.registered)
        )
        ok &= (d - people.birth) >= min_age * 365.25
        ok &= rng.random(people.n) < rate
        who.append(np.flatnonzero(ok))
        when.append(d[ok])
    return np.concatenate(who), np.concatenate(when)


def health_check_columns(
    config: SynthConfig, reg: Registry, people: People, cond: Conditions, rng: np.random.Generator
) -> dict[str, object]:
    res, d = _yearly(config, people, config.health_check_rate_65, 65, rng)
    n = len(res)
    htn = cond.has[Programme.HYPERTENSION][res]
    dm = cond.has[Programme.T2DM][res]
    male = people.male[res]
    height = np.round(np.where(male, 167.0, 156.0) + rng.normal(0, 5.5, n), 1)
    bmi = np.round(rng.normal(24.3, 3.0, n), 1)
    weight = np.round(bmi * (height / 100) ** 2, 1)
    sbp = np.rint(np.where(htn, rng.normal(142, 15, n), rng.normal(128, 13, n))).astype(np.int64)
    dbp = np.minimum(
        np.rint(np.where(htn, rng.normal(82, 9, n), rng.normal(76, 8, n))), sbp - 20
    ).astype(np.int64)
    fpg = np.round(np.where(dm, rng.normal(7.6, 1.8, n), rng.normal(5.3, 0.6, n)).clip(3.5, 25), 1)
    alt = pc.cast(pa.array(rng.integers(8, 60, n)), pa.string())
    cr = pc.cast(pa.array(rng.integers(45, 130, n)), pa.string())
    tc = pc.cast(pa.array(np.round(rng.normal(5.0, 0.9, n), 2)), pa.string())
    labs = pc.binary_join_element_wise(
        '{"alt_u_l": ', alt, ', "creatinine_umol_l": ', cr, ', "tc_mmol_l": ', tc, "}", ""
    )
    pick = np.where(sbp >= 140, 1, np.where(fpg >= 7.0, 2, np.where(bmi >= 28, 3, 0)))
    return {
        "id": ids.uuids(rng, n),
        "resident_id": people.resident_id.take(pa.array(res)),
        "check_date": d,
        "organization_id": reg.community_centre[people.community[res]],
        "practitioner_id": reg.team_leaders[people.team[res]],
        "temperature_c": np.round(rng.normal(36.5, 0.2, n), 1),
        "pulse": np.rint(rng.normal(74, 9, n)).astype(np.int64),
        "respiration": rng.integers(16, 21, n),
        "sbp": sbp,
        "dbp": dbp,
        "height_cm": height,
        "weight_kg": weight,
        "waist_cm": np.round(weight * 0.55 + rng.normal(48, 4, n), 1),
        "bmi": bmi,
        "fasting_glucose": fpg,
        "self_care_score": rng.choice([0, 1, 2, 3, 5, 9], n, p=[0.8, 0.07, 0.05, 0.03, 0.03, 0.02]),
        "findings": np.full(n, _FINDINGS, dtype=object),
        "labs": labs,
        "conclusion": _CONCLUSIONS[pick],
        "guidance": _GUIDANCE[np.minimum(pick, 2)],
        "recorded_at": arrow_times(d, np.full(n, 3 * 3600)),
    }


def screening_columns(
    config: SynthConfig, reg: Registry, people: People, cond: Conditions, rng: np.random.Generator
) -> dict[str, object]:
    res, d = _yearly(config, people, config.screening_rate_35, 35, rng)
    known = cond.enrolled[Programme.HYPERTENSION][res] & (
        cond.enrol_day[Programme.HYPERTENSION][res] <= d
    )
    res, d = res[~known], d[~known]
    n = len(res)
    htn = cond.has[Programme.HYPERTENSION][res]
    sbp = np.rint(np.where(htn, rng.normal(147, 13, n), rng.normal(123, 12, n))).astype(np.int64)
    dbp = np.minimum(
        np.rint(np.where(htn, rng.normal(90, 8, n), rng.normal(76, 8, n))), sbp - 20
    ).astype(np.int64)
    age55 = (d - people.birth[res]) >= 55 * 365.25
    glucose = age55 & (rng.random(n) < 0.3)
    dm = cond.has[Programme.T2DM][res]
    fpg = np.round(np.where(dm, rng.normal(7.8, 1.5, n), rng.normal(5.3, 0.6, n)).clip(3.5, 25), 1)
    positive = (sbp >= 140) | (dbp >= 90) | (glucose & (fpg >= 7.0))
    return {
        "id": ids.uuids(rng, n),
        "resident_id": people.resident_id.take(pa.array(res)),
        "screened_on": d,
        "kind": np.where(glucose, "glucose", "bp"),
        "sbp": sbp,
        "dbp": dbp,
        "fasting_glucose": pa.array(fpg, mask=~glucose),
        "risk_factors": np.where(age55, '["age_55"]', "[]"),
        "result": np.where(positive, "positive", "normal"),
        "organization_id": reg.community_org[people.community[res]],
        "practitioner_id": reg.team_phw[people.team[res]],
    }
