"""The administrative tree of the generated region: real GB/T 2260 counties, generated below.

``data/divisions.csv`` holds the real province, city and county codes (GB/T 2260, 2023 edition)
of Hangzhou and Nanjing with their approximate 2020 census population, and the real streets of
滨江区. Other streets (街道/镇) and communities (社区/村) get generated names and NBS-style
12-digit codes: county + 3-digit township + 3-digit community.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from manbing.synth.names import place_names

EDITION = "2023"


@dataclass(frozen=True, slots=True)
class DivisionRow:
    code: str
    name: str
    level: str
    parent_code: str | None
    population_10k: float
    rural: bool


@dataclass(frozen=True, slots=True)
class Community:
    code: str  # 12 digits
    name: str
    township_code: str
    county_code: str
    full_address: str  # 省市区街道社区, for addresses
    rural: bool
    weight: float  # share of the region's residents


@dataclass(frozen=True, slots=True)
class RegionTree:
    region: str
    divisions: tuple[DivisionRow, ...]
    counties: tuple[DivisionRow, ...]
    townships: tuple[DivisionRow, ...]
    communities: tuple[Community, ...]


@cache
def known_divisions() -> dict[str, DivisionRow]:
    text = resources.files("manbing.synth").joinpath("data/divisions.csv").read_text("utf-8")
    rows = {}
    for rec in csv.DictReader(text.splitlines()):
        rows[rec["code"]] = DivisionRow(
            code=rec["code"],
            name=rec["name"],
            level=rec["level"],
            parent_code=rec["parent_code"] or None,
            population_10k=float(rec["population_10k"] or 0),
            rural=rec["rural"] == "1",
        )
    return rows


def build_tree(region: str, residents: int = 0) -> RegionTree:
    """Expand a county (330108), city (330100) or province code (330000) into its full tree.

    A province holds the shipped cities under it. Communities are generated at the real density
    (about one per 9 000 inhabitants); when ``residents`` exceeds the region's real population,
    each township gets proportionally more communities so a community's records still fit the
    5-digit sequence of its record numbers.
    """
    known = known_divisions()
    levels = ("county", "prefecture", "province")
    if region not in known or known[region].level not in levels:
        regions_known = sorted(c for c, r in known.items() if r.level in levels)
        raise ValueError(f"unknown region {region}; known: {', '.join(regions_known)}")
    top = known[region]
    if top.level == "province":
        cities = [r for r in known.values() if r.level == "prefecture" and r.parent_code == region]
        counties = [
            r for city in cities for r in known.values()
            if r.level == "county" and r.parent_code == city.code
        ]  # fmt: skip
    elif top.level == "prefecture":
        cities = [top]
        counties = [r for r in known.values() if r.level == "county" and r.parent_code == region]
    else:
        cities = [known[top.parent_code or ""]]
        counties = [top]
    province = known[cities[0].parent_code or ""]
    divisions: list[DivisionRow] = [province, *cities, *counties]
    townships: list[DivisionRow] = []
    communities: list[Community] = []
    total_pop = sum(c.population_10k for c in counties)
    # Community codes have 3 digits (社区 001–199, 村 201–399): at most ~194 per township.
    scale = max(1, -(-residents // int(total_pop * 10_000)))
    city_of = {c.code: c for c in cities}
    for county in counties:
        rng = np.random.Generator(np.random.PCG64(int(county.code)))
        real = [r for r in known.values() if r.level == "township" and r.parent_code == county.code]
        n_town = len(real) or max(3, round(county.population_10k / 9))
        town_names = [r.name for r in real] + place_names(
            rng, n_town - len(real), "镇" if county.rural else "街道"
        )
        per_town = max(4, round(county.population_10k * 10_000 / n_town / 9_000))
        per_town = min(190, scale * per_town)
        for t in range(n_town):
            t_code = f"{county.code}{t + 1:03d}000"
            town = DivisionRow(t_code, town_names[t], "township", county.code, 0.0, county.rural)
            townships.append(town)
            n_comm = int(rng.integers(max(3, per_town - 4), per_town + 5))
            villages = county.rural and t > 0
            comm_names = place_names(rng, n_comm, "村" if villages else "社区")
            sizes = rng.lognormal(0.0, 0.35, size=n_comm)
            sizes = sizes / sizes.sum() * county.population_10k / total_pop / n_town
            for c in range(n_comm):
                number = (200 + c + 1) if villages else (c + 1)
                c_code = f"{county.code}{t + 1:03d}{number:03d}"
                city = city_of[county.parent_code or ""]
                address = f"{province.name}{city.name}{county.name}{town.name}{comm_names[c]}"
                communities.append(
                    Community(
                        c_code,
                        comm_names[c],
                        t_code,
                        county.code,
                        address,
                        villages,
                        float(sizes[c]),
                    )
                )
    comm_rows = [
        DivisionRow(c.code, c.name, "village", c.township_code, 0.0, c.rural) for c in communities
    ]
    return RegionTree(
        region=region,
        divisions=(*divisions, *townships, *comm_rows),
        counties=tuple(counties),
        townships=tuple(townships),
        communities=tuple(communities),
    )
