"""Blood pressure and fasting glucose of a patient over time.

A patient has an untreated baseline, a treatment effect that depends on adherence and builds up
over the first months of management, winter seasonality (+3.5 mmHg SBP in January) and
visit-to-visit noise. Calibrated so that the managed population's control rate lands in the
published 50–65 % range (clinical.md §7: Chongqing 1 year of management 145.6 → 138.1 mmHg).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from manbing.synth.config import SynthConfig
from manbing.synth.dates import day_of_year
from manbing.synth.population import Bools, Floats, Ints

ADHERENCE = np.array(["1", "2", "3"], dtype=object)  # 规律 / 间断 / 不服药
_EFFECT = np.array([1.0, 0.5, 0.0])  # share of the full treatment effect by adherence


@dataclass
class Trajectory:
    """Per-patient parameters (arrays aligned with the patient index)."""

    htn: Bools
    dm: Bools
    enrol: Ints
    base_sbp: Floats
    base_dbp: Floats
    drop_sbp: Floats
    drop_dbp: Floats
    base_fpg: Floats
    drop_fpg: Floats
    adherence: Ints  # 0 regular, 1 intermittent, 2 none

    @classmethod
    def draw(
        cls, config: SynthConfig, htn: Bools, dm: Bools, enrol: Ints, rng: np.random.Generator
    ) -> Trajectory:
        m = len(htn)
        adherence = rng.choice(3, size=m, p=np.array(config.adherence_shares))
        base_sbp = np.where(htn, rng.normal(150, 11, m), rng.normal(126, 10, m))
        base_dbp = np.where(htn, rng.normal(91, 7, m), rng.normal(77, 7, m))
        drop_sbp = np.where(htn, np.clip(rng.normal(22, 6, m), 0, None), 0.0)
        drop_dbp = drop_sbp * 0.5
        base_fpg = np.where(dm, np.exp(rng.normal(np.log(8.6), 0.2, m)), rng.normal(5.4, 0.5, m))
        drop_fpg = np.where(dm, np.clip(rng.normal(2.1, 0.7, m), 0, None), 0.0)
        return cls(
            htn, dm, enrol, base_sbp, base_dbp, drop_sbp, drop_dbp, base_fpg, drop_fpg, adherence
        )

    def _ramp(self, patient: Ints, days: Ints, adherence: Ints) -> Floats:
        since = np.maximum(days - self.enrol[patient], 0)
        ramp: Floats = (1 - np.exp(-since / 60.0)) * _EFFECT[adherence]
        return ramp

    def blood_pressure(
        self, patient: Ints, days: Ints, adherence: Ints, noise: float, rng: np.random.Generator
    ) -> tuple[Ints, Ints]:
        ramp = self._ramp(patient, days, adherence)
        season = np.cos(2 * np.pi * (day_of_year(days) - 15) / 365.25)
        n = len(patient)
        sbp = self.base_sbp[patient] - self.drop_sbp[patient] * ramp + 3.5 * season
        dbp = self.base_dbp[patient] - self.drop_dbp[patient] * ramp + 2.0 * season
        sbp = sbp + rng.normal(0, noise, n)
        dbp = dbp + rng.normal(0, noise * 0.6, n)
        sbp = np.clip(np.rint(sbp), 85, 240).astype(np.int64)
        dbp = np.clip(np.rint(dbp), 45, 140).astype(np.int64)
        return sbp, np.minimum(dbp, sbp - 20)

    def glucose(
        self, patient: Ints, days: Ints, adherence: Ints, rng: np.random.Generator
    ) -> Floats:
        ramp = self._ramp(patient, days, adherence)
        fpg = self.base_fpg[patient] - self.drop_fpg[patient] * ramp
        fpg = fpg + rng.normal(0, 0.8, len(patient))
        return np.round(np.clip(fpg, 3.2, 28.0), 1).astype(np.float64)
