"""The resident population (常住人口) of the generated counties, as a statistics bureau would
publish it: by year, sex and 5-year age group (0–4 … 80–84, 85+).

The generated residents are the *records* (people with a health record); the census is larger.
Each cell is the expected number of generated residents in it (the age–sex pyramid and the
counties' share of the communities) divided by ``config.record_coverage``, the share of the
resident population holding a record (an assumption, docs/synthetic-population.md). Years before
the end date's shrink by ``config.census_growth`` a year.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from manbing.synth.config import SynthConfig
from manbing.synth.orgs import Registry

GROUP_YEARS = 5
OPEN_FROM = 85
PYRAMID_TOP_WIDTH = 10  # the pyramid's last band (90) is 10 years wide, as in population.py
SOURCE = "manbing synth: expected residents / record coverage"


def _age_density(config: SynthConfig) -> np.ndarray:
    """Share of residents at each completed year of age 0..(top), from the pyramid."""
    lows = np.array([b[0] for b in config.pyramid])
    weights = np.array([b[1] for b in config.pyramid], dtype=np.float64)
    widths = np.r_[np.diff(lows), PYRAMID_TOP_WIDTH]
    top = int(lows[-1] + widths[-1])
    density = np.zeros(top)
    for low, width, weight in zip(lows, widths, weights / weights.sum(), strict=True):
        density[low : low + width] = weight / width
    return density


def census_columns(config: SynthConfig, reg: Registry, end: date) -> dict[str, object]:
    density = _age_density(config)
    ages = np.arange(len(density))
    groups: list[tuple[int, int | None]] = [
        (a, a + GROUP_YEARS - 1) for a in range(0, OPEN_FROM, GROUP_YEARS)
    ]
    groups.append((OPEN_FROM, None))
    counties = sorted(set(reg.community_county.tolist()))
    years = range(end.year - config.years + 1, end.year + 1)
    cols: dict[str, list[object]] = {
        k: [] for k in ("division_code", "year", "sex", "age_from", "age_to", "population")
    }
    for county in counties:
        weight = float(reg.community_weights[reg.community_county == county].sum())
        residents = config.residents * weight / config.record_coverage
        for year in years:
            scale = residents * (1 + config.census_growth) ** (year - end.year)
            for age_from, age_to in groups:
                last = len(density) - 1 if age_to is None else age_to
                inside = (ages >= age_from) & (ages <= last)
                male = np.where(ages >= 65, config.male_share_65_plus, config.male_share_under_65)
                for sex, share in (("M", male), ("F", 1 - male)):
                    cols["division_code"].append(str(county))
                    cols["year"].append(year)
                    cols["sex"].append(sex)
                    cols["age_from"].append(age_from)
                    cols["age_to"].append(age_to)
                    people = scale * float((density * share)[inside].sum())
                    cols["population"].append(round(people))
    n = len(cols["year"])
    return {**cols, "source": [SOURCE] * n}
