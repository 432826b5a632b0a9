"""Residents of one chunk: age–sex pyramid, identity, address, births, deaths and moves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from manbing.synth import ids
from manbing.synth.config import SynthConfig
from manbing.synth.dates import Days, day, yyyymmdd
from manbing.synth.names import person_names, phone_numbers, street_addresses
from manbing.synth.orgs import Registry
from manbing.synth.sequences import ID_SLOTS, Sequences

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
NO_DAY = np.iinfo(np.int64).max // 4  # "never" (no death, no move)
NONE = np.array(None, dtype=object)  # the null of object columns, for np.where

# ICD-10 underlying causes of death with their share in three age groups (<30, 30–69, ≥70).
# Group shares: CVD ≈45 %, cancer ≈25 %, chronic respiratory ≈8–9 %, diabetes ≈2.5 % overall.
DEATH_CAUSES: tuple[tuple[str, str, float, float, float], ...] = (
    ("I21", "急性心肌梗死", 0.04, 0.10, 0.09),
    ("I25", "慢性缺血性心脏病", 0.02, 0.07, 0.12),
    ("I63", "脑梗死", 0.02, 0.10, 0.15),
    ("I61", "脑出血", 0.02, 0.08, 0.07),
    ("I11", "高血压性心脏病", 0.00, 0.03, 0.07),
    ("C34", "肺恶性肿瘤", 0.03, 0.12, 0.07),
    ("C16", "胃恶性肿瘤", 0.02, 0.06, 0.04),
    ("C22", "肝恶性肿瘤", 0.04, 0.07, 0.03),
    ("C18", "结肠恶性肿瘤", 0.01, 0.04, 0.03),
    ("C50", "乳腺恶性肿瘤", 0.02, 0.03, 0.01),
    ("C15", "食管恶性肿瘤", 0.01, 0.04, 0.02),
    ("J44", "慢性阻塞性肺疾病", 0.00, 0.05, 0.10),
    ("J45", "哮喘", 0.02, 0.01, 0.01),
    ("E11", "2型糖尿病", 0.00, 0.03, 0.025),
    ("V89", "交通事故", 0.20, 0.05, 0.01),
    ("W19", "跌倒", 0.05, 0.02, 0.03),
    ("X70", "自缢", 0.10, 0.02, 0.005),
    ("J18", "肺炎", 0.05, 0.02, 0.05),
    ("N18", "慢性肾脏病", 0.03, 0.02, 0.02),
    ("K74", "肝硬化", 0.02, 0.03, 0.01),
    ("G30", "阿尔茨海默病", 0.00, 0.00, 0.03),
    ("Q24", "先天性心脏畸形", 0.15, 0.00, 0.00),
    ("R99", "其他不明原因", 0.13, 0.08, 0.055),
)


@dataclass
class People:
    n: int
    male: Bools
    birth: Days
    age_end: Ints  # completed years at the end date
    community: Ints
    county: Ints
    team: Ints  # index into registry.team_ids
    death: Days  # NO_DAY if alive at the end
    moved: Days  # NO_DAY if still resident
    registered: Days
    resident_id: pa.Array
    table: dict[str, object]  # residents columns (before faults)
    duplicates: Ints  # residents with a second record from another system (fault)
    duplicate_records: pa.Array


def _rate(bands: tuple[tuple[int, float], ...], age: Ints) -> Floats:
    lows = np.array([b[0] for b in bands])
    rates = np.array([b[1] for b in bands])
    return rates[np.searchsorted(lows, age, side="right") - 1]


def hazard(config: SynthConfig, age: Floats) -> Floats:
    """Annual probability of death at an age (Gompertz above 30, flat floor below, infants)."""
    gompertz = config.gompertz_a * np.exp(config.gompertz_b * age)
    rate = np.maximum(gompertz, 0.0003)
    rate = np.where(age < 1, config.infant_mortality, rate)
    return 1 - np.exp(-np.minimum(rate, 3.0))


def draw_people(
    config: SynthConfig, reg: Registry, seq: Sequences, n: int, rng: np.random.Generator
) -> People:
    end, start = day(config.end_date), day(config.start_date)
    lows = np.array([b[0] for b in config.pyramid])
    weights = np.array([b[1] for b in config.pyramid])
    band = rng.choice(len(lows), size=n, p=weights / weights.sum())
    widths = np.r_[np.diff(lows), 10]
    age_days = ((lows[band] + rng.random(n) * widths[band]) * 365.25).astype(np.int64)
    birth = end - age_days
    age_end = (age_days / 365.25).astype(np.int64)
    male = rng.random(n) < np.where(
        age_end >= 65, config.male_share_65_plus, config.male_share_under_65
    )
    community = rng.choice(len(reg.community_weights), size=n, p=reg.community_weights)
    team = reg.community_team_start[community] + (
        rng.random(n) * reg.community_team_count[community]
    ).astype(np.int64)

    # Deaths and moves, year by year over the history window.
    death = np.full(n, NO_DAY, dtype=np.int64)
    moved = np.full(n, NO_DAY, dtype=np.int64)
    for y in range(config.years):
        y0 = start + int(y * 365.25)
        alive = (birth <= y0 + 365) & (death == NO_DAY) & (moved == NO_DAY)
        age = (y0 - birth) / 365.25
        when = y0 + rng.integers(0, 365, size=n)
        when = np.maximum(when, birth + 1)
        dies = alive & (rng.random(n) < hazard(config, np.maximum(age, 0)))
        death[dies & (when <= end)] = when[dies & (when <= end)]
        leaves = alive & ~dies & (rng.random(n) < config.move_away_per_year) & (age >= 18)
        moved[leaves & (when <= end)] = when[leaves & (when <= end)]

    born_in_window = birth > start
    moved_in = ~born_in_window & (rng.random(n) < config.move_in_per_year * config.years)
    registered = start - rng.integers(0, 15 * 365, size=n)
    registered = np.where(moved_in, start + rng.integers(0, end - start, size=n), registered)
    registered = np.maximum(registered, birth + rng.integers(20, 90, size=n))
    registered = np.minimum(registered, np.minimum(death, moved))
    registered = np.minimum(registered, end)

    # Causes of death by age group.
    cause_icd = np.full(n, None, dtype=object)
    cause_text = np.full(n, None, dtype=object)
    dead = np.flatnonzero(death != NO_DAY)
    if len(dead):
        age_at_death = (death[dead] - birth[dead]) / 365.25
        group = np.where(age_at_death < 30, 2, np.where(age_at_death < 70, 3, 4))
        for g in (2, 3, 4):
            sel = dead[group == g]
            p = np.array([c[g] for c in DEATH_CAUSES])
            pick = rng.choice(len(DEATH_CAUSES), size=len(sel), p=p / p.sum())
            cause_icd[sel] = [DEATH_CAUSES[k][0] for k in pick]
            cause_text[sel] = [DEATH_CAUSES[k][1] for k in pick]

    # Identity: each chunk takes the next free ID sequence numbers of every (county, birth date,
    # sex) and the next record numbers of every community (see sequences.py).
    county = reg.community_county[community]
    born = yyyymmdd(birth)
    position, has_id = seq.take_ids(county, birth, male)
    perm = np.random.Generator(np.random.PCG64(config.seed)).permutation(ID_SLOTS)
    seq_index = perm[(np.where(has_id, position, 0) + born) % ID_SLOTS]
    id_chars = ids.id_numbers(county, born, 2 * seq_index + male)
    id_number = pc.if_else(
        pa.array(has_id), ids.ascii_strings(id_chars), pa.scalar(None, pa.string())
    )
    # Duplicates (a fault) are records too: they get record numbers from the same sequence.
    dup = np.flatnonzero((age_end >= 18) & (rng.random(n) < config.fault_rate))
    all_comm = np.r_[community, community[dup]]
    seq_numbers = ids.ascii_strings(ids.digits(seq.take_records(all_comm), 5))
    all_records = pc.binary_join_element_wise(
        pa.array(reg.community_codes[all_comm]), seq_numbers, ""
    )
    record_number = all_records.slice(0, n)
    comm_codes = pa.array(reg.community_codes[community])

    resident_id = ids.uuids(rng, n)
    status = np.where(death != NO_DAY, "dead", np.where(moved != NO_DAY, "moved_away", "active"))
    status_day = np.minimum(death, moved)
    adult_woman = ~male & (age_end >= 20) & (age_end < 42)
    table: dict[str, object] = {
        "id": resident_id,
        "record_number": record_number,
        "name": person_names(rng, male),
        "sex": np.where(male, "M", "F"),
        "birth_date": birth,
        "id_number": id_number,
        "phone": phone_numbers(rng, n),
        "address": street_addresses(rng, pa.array(reg.community_address[community])),
        "division_code": comm_codes,
        "managing_org_id": reg.community_org[community],
        "responsible_practitioner_id": reg.team_leaders[team],
        "status": status,
        "status_date": status_day,
        "death_cause_icd10": cause_icd,
        "death_cause_text": cause_text,
        "severe_mental_disorder": rng.random(n) < 0.005,
        "pregnant": adult_woman & (rng.random(n) < 0.06) & (status == "active"),
        "disability": rng.random(n) < 0.02,
        "registered_on": registered,
    }
    return People(
        n=n,
        male=male,
        birth=birth,
        age_end=age_end,
        community=community,
        county=county,
        team=team,
        death=death,
        moved=moved,
        registered=registered,
        resident_id=resident_id,
        table=table,
        duplicates=dup,
        duplicate_records=all_records.slice(n),
    )
