"""Every knob of the synthetic population, with defaults taken from clinical.md §7.

Each figure is explained (source or "assumption") in ``docs/synthetic-population.md``. Rate tables
are tuples of ``(lowest age of the band, rate)``; a band runs to the next band's lowest age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

AgeRates = tuple[tuple[int, float], ...]

DEFAULT_END_DATE = date(2026, 9, 30)

# 5-year age bands at the end date (percent of residents), shaped like Hangzhou's 7th census
# (2020): ~13 % aged 0–14, ~14 % aged 65+, a bulge of working-age migrants at 25–39.
PYRAMID: AgeRates = (
    (0, 4.0),
    (5, 4.6),
    (10, 4.3),
    (15, 3.6),
    (20, 5.4),
    (25, 8.4),
    (30, 9.6),
    (35, 8.4),
    (40, 7.2),
    (45, 7.2),
    (50, 7.6),
    (55, 6.7),
    (60, 5.0),
    (65, 5.2),
    (70, 3.8),
    (75, 2.4),
    (80, 1.6),
    (85, 0.8),
    (90, 0.2),
)

HTN_PREVALENCE: AgeRates = (
    (0, 0.0),
    (18, 0.040),
    (25, 0.061),
    (35, 0.150),
    (45, 0.300),
    (55, 0.450),
    (65, 0.550),
)
T2DM_PREVALENCE: AgeRates = (
    (0, 0.0),
    (18, 0.025),
    (30, 0.050),
    (40, 0.100),
    (50, 0.160),
    (60, 0.210),
    (70, 0.240),
)
DYSLIPIDAEMIA_PREVALENCE: AgeRates = ((0, 0.0), (18, 0.27), (35, 0.37), (55, 0.43))
COPD_PREVALENCE: AgeRates = ((0, 0.0), (40, 0.070), (50, 0.110), (60, 0.180), (70, 0.250))
STROKE_PREVALENCE: AgeRates = ((0, 0.0), (40, 0.006), (50, 0.015), (60, 0.030), (70, 0.050))

# Awareness (diagnosed share) of the prevalent cases, by age.
HTN_AWARENESS: AgeRates = ((0, 0.30), (45, 0.48), (65, 0.60))
T2DM_AWARENESS: AgeRates = ((0, 0.25), (45, 0.36), (65, 0.45))


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """What to generate; the same config and seed always give the same output."""

    residents: int = 20_000
    region: str = "330108"
    seed: int = 7
    years: int = 3
    end_date: date = DEFAULT_END_DATE
    chunk_size: int = 50_000
    fault_rate: float = 0.03
    home_device_share: float = 0.10
    daily_device_share: float = 0.30  # of device owners; the rest measure weekly
    daily_measure_days: float = 0.60  # share of days a "daily" owner actually measures

    pyramid: AgeRates = PYRAMID
    male_share_under_65: float = 0.525  # Hangzhou sex ratio ≈ 110 in working ages
    male_share_65_plus: float = 0.47
    htn_prevalence: AgeRates = HTN_PREVALENCE
    htn_male_factor: float = 1.12  # men/women relative risk, renormalised per band
    t2dm_prevalence: AgeRates = T2DM_PREVALENCE
    dyslipidaemia_prevalence: AgeRates = DYSLIPIDAEMIA_PREVALENCE
    copd_prevalence: AgeRates = COPD_PREVALENCE
    copd_male_factor: float = 1.6
    stroke_prevalence: AgeRates = STROKE_PREVALENCE
    comorbidity_correlation: float = 0.35  # latent metabolic factor shared by all five
    htn_awareness: AgeRates = HTN_AWARENESS
    t2dm_awareness: AgeRates = T2DM_AWARENESS
    dyslipidaemia_awareness: float = 0.30
    copd_awareness: float = 0.15
    stroke_awareness: float = 0.95
    # Of the aware, who is enrolled in community management (HTN/T2DM are for ages ≥35).
    htn_enrolment: float = 0.75
    t2dm_enrolment: float = 0.75
    dyslipidaemia_enrolment: float = 0.35
    copd_enrolment: float = 0.45
    stroke_enrolment: float = 0.60
    incident_share: float = 0.12  # of the enrolled, diagnosed during the history window

    standard_share: float = 0.42  # patients keeping the ≥4 visits/yr rhythm
    recheck_share: float = 0.45  # uncontrolled visits followed by a recheck within 2–4 weeks
    lost_per_year: float = 0.05
    adherence_shares: tuple[float, float, float] = (0.66, 0.25, 0.09)  # regular/intermittent/none
    adverse_reaction_rate: float = 0.015
    complication_rate: float = 0.010
    phone_visit_share: float = 0.10
    home_visit_share: float = 0.15

    contract_rate_general: float = 0.30
    contract_rate_key: float = 0.68
    health_check_rate_65: float = 0.66
    screening_rate_35: float = 0.20
    referral_rate_uncontrolled: float = 0.06

    gompertz_a: float = 0.0000175
    gompertz_b: float = 0.10
    infant_mortality: float = 0.002
    move_away_per_year: float = 0.015
    move_in_per_year: float = 0.02
    # Census (synth/census.py): share of the resident population holding a health record, and
    # the yearly growth of the resident population (assumptions, docs/synthetic-population.md).
    record_coverage: float = 0.90
    census_growth: float = 0.015
    birth_rate: float = 0.007

    panel_size: int = 2_500  # residents per family-doctor team

    @property
    def start_date(self) -> date:
        try:
            return self.end_date.replace(year=self.end_date.year - self.years)
        except ValueError:  # 29 February
            return date(self.end_date.year - self.years, 2, 28)

    @property
    def n_chunks(self) -> int:
        return max(1, -(-self.residents // self.chunk_size))

    def check(self) -> None:
        if self.residents < 1:
            raise ValueError("residents must be at least 1")
        if self.years < 1:
            raise ValueError("years must be at least 1")
        if not 0 <= self.fault_rate <= 0.5:
            raise ValueError("fault_rate must be between 0 and 0.5")
        if not 0 <= self.home_device_share <= 1:
            raise ValueError("home_device_share must be between 0 and 1")
        if not 0.05 <= self.record_coverage <= 1:
            raise ValueError("record_coverage must be between 0.05 and 1")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
