"""Premature NCD mortality: WHO unconditional probability of dying between 30 and 70 (40q30).

Source: WHO Global Monitoring Framework / SDG indicator 3.4.1 metadata ("probability of dying
between exact ages 30 and 70 from cardiovascular disease, cancer, diabetes or chronic respiratory
disease"); ICD-10 I00–I99, C00–C97, E10–E14, J30–J98. For each 5-year band x = 30 … 65:

    5Mx = deaths from the four causes / mid-year population;  5qx = 5·5Mx / (1 + 2.5·5Mx)
    40q30 = 1 − Π (1 − 5qx)

The four causes are summed before conversion. Chinese reports label the groups 心脑血管疾病,
恶性肿瘤, 糖尿病, 慢性呼吸系统疾病; we use the full WHO code set J30–J98 (not only J40–J47).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from manbing.domain.errors import InvalidInput

AGE_BANDS: tuple[int, ...] = (30, 35, 40, 45, 50, 55, 60, 65)
BAND_WIDTH = 5
_ICD = re.compile(r"^([A-Z])(\d\d)(?:\.?[0-9A-Z]{0,4})$")


class NcdGroup(StrEnum):
    CARDIOVASCULAR = "cardiovascular"
    CANCER = "cancer"
    DIABETES = "diabetes"
    CHRONIC_RESPIRATORY = "chronic_respiratory"

    @property
    def label_zh(self) -> str:
        return {
            NcdGroup.CARDIOVASCULAR: "心脑血管疾病",
            NcdGroup.CANCER: "恶性肿瘤",
            NcdGroup.DIABETES: "糖尿病",
            NcdGroup.CHRONIC_RESPIRATORY: "慢性呼吸系统疾病",
        }[self]


# (chapter letter, first category, last category, group): ranges are inclusive 3-character codes.
NCD_ICD10_RANGES: tuple[tuple[str, int, int, NcdGroup], ...] = (
    ("I", 0, 99, NcdGroup.CARDIOVASCULAR),
    ("C", 0, 97, NcdGroup.CANCER),
    ("E", 10, 14, NcdGroup.DIABETES),
    ("J", 30, 98, NcdGroup.CHRONIC_RESPIRATORY),
)


def ncd_group(icd10: str) -> NcdGroup | None:
    """The NCD group of an ICD-10 code ("I21.9", "I219", "i21"), or ``None`` for other causes."""
    match = _ICD.match(icd10.strip().upper())
    if match is None:
        raise InvalidInput(
            "icd10", f"ICD-10编码格式不正确：{icd10!r}", f"malformed ICD-10 code {icd10!r}"
        )
    letter, category = match.group(1), int(match.group(2))
    for chapter, first, last, group in NCD_ICD10_RANGES:
        if letter == chapter and first <= category <= last:
            return group
    return None


def age_band(age: int) -> int | None:
    """The start of the 5-year band 30–69 containing ``age``, or ``None`` outside 30–69."""
    if age < AGE_BANDS[0] or age >= AGE_BANDS[-1] + BAND_WIDTH:
        return None
    return age - age % BAND_WIDTH


def count_ncd_deaths(deaths: Iterable[tuple[int, str]]) -> dict[int, int]:
    """Count deaths (age in years, ICD-10 underlying cause) from the four groups by 30–69 band."""
    counts = dict.fromkeys(AGE_BANDS, 0)
    for age, icd10 in deaths:
        band = age_band(age)
        if ncd_group(icd10) is not None and band is not None:
            counts[band] += 1
    return counts


@dataclass(frozen=True, slots=True)
class BandProbability:
    age_band_start: int
    deaths: float
    population: float

    @property
    def rate(self) -> float:
        """5Mx: the central death rate of the band."""
        return self.deaths / self.population

    @property
    def probability(self) -> float:
        """5qx = 5·5Mx / (1 + 2.5·5Mx)."""
        return BAND_WIDTH * self.rate / (1 + BAND_WIDTH / 2 * self.rate)


@dataclass(frozen=True, slots=True)
class PrematureMortality:
    probability: float
    bands: tuple[BandProbability, ...]

    @property
    def percent(self) -> float:
        return self.probability * 100


def premature_ncd_mortality(
    deaths_by_band: Mapping[int, float], population_by_band: Mapping[int, float]
) -> PrematureMortality:
    """40q30 from four-cause deaths and mid-year population keyed by band start (30 … 65)."""
    bands = []
    for start in AGE_BANDS:
        population = population_by_band.get(start)
        deaths = deaths_by_band.get(start, 0)
        if population is None or not math.isfinite(population) or population <= 0:
            raise InvalidInput(
                "population",
                f"缺少{start}–{start + 4}岁组人口数或人口数不大于0",
                f"population of band {start}-{start + 4} is missing or not positive",
            )
        if not math.isfinite(deaths) or deaths < 0 or deaths > population:
            raise InvalidInput(
                "deaths",
                f"{start}–{start + 4}岁组死亡数应在0与人口数之间",
                f"deaths of band {start}-{start + 4} must be between 0 and the population",
            )
        bands.append(BandProbability(start, deaths, population))
    survival = math.prod(1 - band.probability for band in bands)
    return PrematureMortality(1 - survival, tuple(bands))
