"""Rows of follow_ups, follow_up_medications and medication_statements from simulated visits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from manbing.synth import ids
from manbing.synth.care import LOST_REASONS, Patients, Visits, adherence_code
from manbing.synth.config import SynthConfig
from manbing.synth.dates import arrow_times, day, years
from manbing.synth.orgs import Registry
from manbing.synth.population import NO_DAY, NONE, People

# name, ATC, dose, unit, times/day, diabetes?, insulin type
DRUGS: tuple[tuple[str, str, float, str, int, bool, str | None], ...] = (
    ("苯磺酸氨氯地平片", "C08CA01", 5, "mg", 1, False, None),
    ("硝苯地平控释片", "C08CA05", 30, "mg", 1, False, None),
    ("缬沙坦胶囊", "C09CA03", 80, "mg", 1, False, None),
    ("厄贝沙坦片", "C09CA04", 150, "mg", 1, False, None),
    ("氯沙坦钾片", "C09CA01", 50, "mg", 1, False, None),
    ("马来酸依那普利片", "C09AA02", 10, "mg", 2, False, None),
    ("琥珀酸美托洛尔缓释片", "C07AB02", 47.5, "mg", 1, False, None),
    ("氢氯噻嗪片", "C03AA03", 12.5, "mg", 1, False, None),
    ("吲达帕胺缓释片", "C03BA11", 1.5, "mg", 1, False, None),
    ("盐酸二甲双胍片", "A10BA02", 0.5, "g", 3, True, None),
    ("格列美脲片", "A10BB12", 2, "mg", 1, True, None),
    ("阿卡波糖片", "A10BF01", 50, "mg", 3, True, None),
    ("磷酸西格列汀片", "A10BH01", 100, "mg", 1, True, None),
    ("达格列净片", "A10BK01", 10, "mg", 1, True, None),
    ("甘精胰岛素注射液", "A10AE04", 14, "U", 1, True, "长效胰岛素"),
)
N_HTN_DRUGS = 9
_SYMPTOMS = np.array(
    ['["1"]', '["2"]', '["4"]', '["6"]', '["8"]', '["2","4"]', '["9"]', '["3"]'], dtype=object
)
_SYMPTOM_P = np.array([0.78, 0.08, 0.03, 0.04, 0.02, 0.02, 0.02, 0.01])
_ADR = np.array(["干咳", "踝部水肿", "头晕乏力", "胃肠不适"], dtype=object)
_COMPLICATIONS = np.array(
    ["冠心病", "短暂性脑缺血发作", "糖尿病肾病", "视网膜病变", "心力衰竭"], dtype=object
)


def regimen(pat: Patients, rng: np.random.Generator) -> np.ndarray:
    """Drug indices per patient, an ``(m, 5)`` array padded with -1."""
    m = len(pat.resident)
    out = np.full((m, 5), -1, dtype=np.int64)
    htn_pick = rng.random((m, N_HTN_DRUGS)).argsort(axis=1)[:, :3]
    n_htn = np.where(pat.traj.htn, rng.choice([1, 2, 3], m, p=[0.5, 0.37, 0.13]), 0)
    dm_pick = N_HTN_DRUGS + rng.random((m, 6)).argsort(axis=1)[:, :2]
    n_dm = np.where(pat.traj.dm, rng.choice([1, 2], m, p=[0.55, 0.45]), 0)
    for j in range(3):
        out[:, j] = np.where(j < n_htn, htn_pick[:, j], -1)
    for j in range(2):
        out[:, 3 + j] = np.where(j < n_dm, dm_pick[:, j], -1)
    return out


def follow_up_columns(
    config: SynthConfig,
    reg: Registry,
    people: People,
    pat: Patients,
    v: Visits,
    rng: np.random.Generator,
) -> dict[str, object]:
    n = len(v.day)
    res = v.resident
    done = v.outcome == "done"
    f = config.fault_rate
    male = people.male[res]
    height = np.round(
        np.where(male, 169.0, 158.0) + rng.normal(0, 5.5, len(pat.resident))[v.patient], 1
    )
    bmi_base = 24.6 + rng.normal(0, 3.0, len(pat.resident))[v.patient]
    weight = np.round(bmi_base * (height / 100) ** 2 + rng.normal(0, 0.7, n), 1)
    missing = done & (rng.random(n) < f)
    has_weight = done & ~missing
    bmi = np.round(weight / (height / 100) ** 2, 1)
    smoker = rng.random(len(pat.resident))[v.patient] < np.where(male, 0.42, 0.02)
    cigs = np.where(smoker, 5 + (rng.random(len(pat.resident))[v.patient] * 16).astype(np.int64), 0)
    phone = v.mode == "3"
    first_of_year = np.r_[
        True, (v.patient[1:] != v.patient[:-1]) | (years(v.day[1:]) != years(v.day[:-1]))
    ]
    hba1c_row = done & v.dm & first_of_year
    hba1c = np.round(0.55 * np.nan_to_num(v.fpg, nan=7.0) + 2.6 + rng.normal(0, 0.35, n), 1)
    cls = v.classification
    practitioner = np.where(
        rng.random(n) < 0.8, reg.team_leaders[people.team[res]], reg.team_phw[people.team[res]]
    )
    next_day = np.where(cls == "1", v.day + 91, v.day + 14)
    reasons = np.where(
        v.urgent,
        "血压≥180/110 mmHg，紧急转诊",
        np.where(cls == "4", "出现新的并发症", "连续两次随访控制不满意"),
    )
    dept = np.where(v.dm & ~v.htn, "内分泌科", "心血管内科")
    causes = np.asarray(people.table["death_cause_text"], dtype=object)[res]
    lost_reason = LOST_REASONS[rng.integers(0, len(LOST_REASONS), n)]
    outcome_reason = np.where(
        v.outcome == "lost", lost_reason, np.where(v.outcome == "dead", causes, NONE)
    )
    return {
        "id": v.follow_up_id,
        "resident_id": people.resident_id.take(pa.array(res)),
        "form": np.where(v.htn & v.dm, "combined", np.where(v.htn, "hypertension", "diabetes")),
        "visit_date": v.day,
        "outcome": v.outcome,
        "outcome_reason": outcome_reason,
        "mode": v.mode,
        "symptoms": np.where(done, _SYMPTOMS[rng.choice(len(_SYMPTOMS), n, p=_SYMPTOM_P)], "[]"),
        "sbp": _masked(v.sbp, done),
        "dbp": _masked(v.dbp, done),
        "weight_kg": _masked(weight, has_weight),
        "weight_target_kg": _masked(
            np.round(np.minimum(weight, 24 * (height / 100) ** 2), 1), has_weight
        ),
        "height_cm": _masked(height, done),
        "bmi": _masked(bmi, has_weight),
        "bmi_target": _masked(np.minimum(bmi, 24.0), has_weight),
        "heart_rate": _masked(
            np.rint(rng.normal(74, 8, n)).astype(np.int64), done & ~phone & ~missing
        ),
        "dorsalis_pedis": np.where(done & v.dm, np.where(rng.random(n) < 0.9, "1", "2"), NONE),
        "dorsalis_pedis_side": np.where(done & v.dm, "both", NONE),
        "cigarettes_per_day": _masked(cigs, done),
        "cigarettes_per_day_target": _masked(np.maximum(cigs - 5, 0), done),
        "exercise_times_per_week": _masked(rng.integers(0, 8, n), done),
        "exercise_times_per_week_target": _masked(np.full(n, 5), done),
        "exercise_minutes": _masked(rng.choice([20, 30, 40, 60], n), done),
        "exercise_minutes_target": _masked(np.full(n, 30), done),
        "salt_intake": np.where(
            done, rng.choice(["light", "medium", "heavy"], n, p=[0.2, 0.55, 0.25]), NONE
        ),
        "salt_intake_target": np.where(done, "light", NONE),
        "staple_food_g": _masked(rng.choice([200, 250, 300, 350, 400], n), done & v.dm),
        "staple_food_g_target": _masked(np.full(n, 250), done & v.dm),
        "psychological": np.where(done, rng.choice(["1", "2", "3"], n, p=[0.85, 0.13, 0.02]), NONE),
        "compliance": np.where(
            done, np.where(v.adherence == 0, "1", np.where(v.adherence == 1, "2", "3")), NONE
        ),
        "fasting_glucose": _masked(v.fpg, done & v.dm),
        "hba1c": _masked(hba1c, hba1c_row),
        "hba1c_date": np.where(hba1c_row, v.day, NO_DAY),
        "adherence": adherence_code(v),
        "adverse_reaction": cls == "3",
        "adverse_reaction_text": np.where(cls == "3", _ADR[rng.integers(0, len(_ADR), n)], NONE),
        "hypoglycaemia": np.where(
            done & v.dm, rng.choice(["1", "2", "3"], n, p=[0.9, 0.09, 0.01]), NONE
        ),
        "new_complication": cls == "4",
        "complication_text": np.where(
            cls == "4", _COMPLICATIONS[rng.integers(0, len(_COMPLICATIONS), n)], NONE
        ),
        "classification": cls,
        "referral_reason": np.where(v.refer, reasons, NONE),
        "referral_org_dept": np.where(v.refer, dept, NONE),
        "next_visit_date": np.where(done, next_day, NO_DAY),
        "practitioner_id": practitioner,
        "organization_id": reg.community_org[people.community[res]],
        "created_at": arrow_times(v.day, np.full(n, 3 * 3600)),
        "updated_at": arrow_times(v.day, np.full(n, 3 * 3600)),
    }


def _masked(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(np.where(valid, values, 0), mask=~valid)


def medication_columns(
    pat: Patients, v: Visits, drugs: np.ndarray, rng: np.random.Generator
) -> dict[str, object]:
    """One row per drug of the patient's regimen on each completed visit of its programme."""
    per_visit = drugs[v.patient]
    slot = np.arange(5)[None, :]
    applies = (per_visit >= 0) & (v.outcome == "done")[:, None]
    applies &= np.where(slot < 3, v.htn[:, None], v.dm[:, None])
    row, col = np.nonzero(applies)
    drug = per_visit[row, col]
    table = _catalogue()
    return {
        "id": ids.uuids(rng, len(row)),
        "follow_up_id": v.follow_up_id.take(pa.array(row)),
        "name": table["name"][drug],
        "times_per_day": table["times"][drug],
        "dose": table["dose"][drug],
        "dose_unit": table["unit"][drug],
        "is_insulin": table["insulin"][drug] != None,  # noqa: E711
        "insulin_type": table["insulin"][drug],
        "usage": np.where(table["insulin"][drug] != None, "睡前皮下注射", "口服"),  # noqa: E711
    }


def statement_columns(
    config: SynthConfig, people: People, pat: Patients, drugs: np.ndarray, rng: np.random.Generator
) -> dict[str, object]:
    """medication_statements: each regimen drug from enrolment (or later) until care stops."""
    patient, slot = np.nonzero(drugs >= 0)
    drug = drugs[patient, slot]
    enrol = np.where(slot < 3, pat.htn_enrol[patient], pat.dm_enrol[patient])
    start = enrol + rng.integers(0, 21, len(patient))
    stopped = pat.stop[patient] < day(config.end_date)
    table = _catalogue()
    return {
        "id": ids.uuids(rng, len(patient)),
        "resident_id": people.resident_id.take(pa.array(pat.resident[patient])),
        "name": table["name"][drug],
        "atc_code": table["atc"][drug],
        "dose": table["dose"][drug],
        "dose_unit": table["unit"][drug],
        "times_per_day": table["times"][drug],
        "route": np.where(table["insulin"][drug] != None, "皮下注射", "口服"),  # noqa: E711
        "start_date": start,
        "end_date": np.where(stopped, pat.stop[patient], NO_DAY),
        "active": ~stopped,
        "source": np.full(len(patient), "follow_up", dtype=object),
        "recorded_at": arrow_times(start, np.full(len(patient), 2 * 3600)),
    }


def _catalogue() -> dict[str, np.ndarray]:
    return {
        "name": np.array([d[0] for d in DRUGS], dtype=object),
        "atc": np.array([d[1] for d in DRUGS], dtype=object),
        "dose": np.array([d[2] for d in DRUGS], dtype=np.float64),
        "unit": np.array([d[3] for d in DRUGS], dtype=object),
        "times": np.array([d[4] for d in DRUGS], dtype=np.int64),
        "insulin": np.array([d[6] for d in DRUGS], dtype=object),
    }
