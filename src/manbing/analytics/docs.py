"""docs/indicators.md, written from the catalogue (``manbing indicators-doc`` regenerates it)."""

from __future__ import annotations

from manbing.domain.indicators import CATALOGUE, Kind

_FAMILIES = {
    "hypertension": "Hypertension (national basic public health service)",
    "t2dm": "Type 2 diabetes (national basic public health service)",
    "records": "Health records against the census population",
    "population": "Elderly health management",
    "contracts": "Family-doctor contracts",
    "mortality": "Premature NCD mortality",
    "referrals": "Referrals and three-highs co-management",
    "hearts": "WHO HEARTS (beside the national definitions)",
    "quality": "Data quality",
}

_INTRO = """# Population indicators

Every indicator is defined once: its meaning below (from `manbing.domain.indicators`), its
computation as one ibis expression in `src/manbing/analytics/indicators/` under the same code,
run on DuckDB (default), Apache Spark (`--engine spark`) or PostgreSQL (benchmark). Thresholds
come from `manbing.domain.rules` (never retyped). This file is generated from the catalogue:
`manbing indicators-doc > docs/indicators.md`; a test fails when they drift apart.

**Units and breakdowns.** Each indicator is aggregated for every organisation of the tree
(commission → centre → station, by the organisation `path`: a unit counts its own patients and
everything below it), every family-doctor team (enrolment or contract team), and the province,
city and district of the managing organisation; each unit gets totals and breakdowns by sex and
by age band at the period's end (0-34, 35-44, 45-54, 55-64, 65-74, 75+). Periods: a month
(`2026-07`), a quarter (`2026Q3`), a year (`2026`) or any range (`2026-01-15..2026-03-31`).

**Choices** (see also docs/clinical-rules.md 8, 9, 11): managed = ≥1 completed follow-up in the
period; managed to the standard = completed visit days in the enrolled part of the period ≥
max(1, min(4, ⌈days/91.25⌉)) (so a full quarter of 92 days needs 2 visit days); control = the
latest follow-up record of the period (latest visit date, then latest entry time, then the
greater record id, so that two records of one moment always resolve the same way on every
engine), completed and on target (age at that visit), a "lost" record counting as not
controlled; the estimated-patient denominators use a configurable
prevalence among residents ≥18 (hypertension 27.5 %, diabetes 11.9 %, 中国居民营养与慢性病状况
报告 2020), rounded to whole patients: the 健康管理率 count the adults on record, the 管理率
(常住人口估算) and the 建档率 the census population (`manbing census import`; by division, year,
sex and age group; a group straddling 18 is split by years; the estimate is rounded per census
cell). Census figures attach to the district's top organisation and the divisions above it, so
centres, stations and teams have no census denominator. Suspected duplicates compare names
exactly (by characters) and addresses and phones by the engine's hash of the value (64-bit on
DuckDB and PostgreSQL, 32-bit on Spark), so the long address strings are read once per run:
two different addresses (or phones) count as the same only on a hash collision, and a pair
then still needs the same sex and birth date and names at most one edit apart.
"""


def markdown() -> str:
    lines = [_INTRO]
    for family, title in _FAMILIES.items():
        members = [i for i in CATALOGUE if i.family == family]
        if not members:
            continue
        lines.append(f"\n## {title}\n")
        for i in members:
            kind = {Kind.RATE: "rate", Kind.COUNT: "count", Kind.PROBABILITY: "probability"}[i.kind]
            direction = " (lower is better)" if i.lower_is_better else ""
            lines.append(f"### `{i.code}` — {i.name_zh} / {i.name_en}\n")
            lines.append(f"- Kind: {kind}{direction}")
            lines.append(f"- Numerator: {i.numerator}")
            lines.append(f"- Denominator: {i.denominator or '—'}")
            lines.append(f"- Period: {i.period}")
            lines.append(f"- Source: {i.source}\n")
    return "\n".join(lines).rstrip() + "\n"
