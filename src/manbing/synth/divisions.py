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


def build_tree(region: str) -> RegionTree:
    """Expand a county code (e.g. 330108) or a city code (330100) into its full tree."""
    known = known_divisions()
    if region not in known or known[region].level not in ("county", "prefecture"):
        counties_known = sorted(c for c, r in known.items() if r.level in ("county", "prefecture"))
        raise ValueError(f"unknown region {region}; known: {', '.join(counties_known)}")
    top = known[region]
    if top.level == "prefecture":
        counties = [r for r in known.values() if r.level == "county" and r.parent_code == region]
    else:
        counties = [top]
    city = known[counties[0].parent_code or ""]
    province = known[city.parent_code or ""]
    divisions: list[DivisionRow] = [province, city, *counties]
    townships: list[DivisionRow] = []
    communities: list[Community] = []
    total_pop = sum(c.population_10k for c in counties)
    for county in counties:
        rng = np.random.Generator(np.random.PCG64(int(county.code)))
        real = [r for r in known.values() if r.level == "township" and r.parent_code == county.code]
        n_town = len(real) or max(3, round(county.population_10k / 9))
        town_names = [r.name for r in real] + place_names(
            rng, n_town - len(real), "镇" if county.rural else "街道"
        )
        per_town = max(4, round(county.population_10k * 10_000 / n_town / 9_000))
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
