"""The line list behind a number: the same indicator frame, filtered to one unit."""

from __future__ import annotations

from pathlib import Path

import ibis

from manbing.analytics.compute import units_table
from manbing.analytics.engine import open_duckdb
from manbing.analytics.indicators import BY_CODE, Params
from manbing.analytics.periods import parse_period
from manbing.services.reports import LineListSource


def resident_ids(
    directory: Path,
    indicator: str,
    period: str,
    unit_kind: str,
    unit_id: str,
    which: str,
    params: Params | None = None,
) -> list[str]:
    """Residents counted in the numerator (``num``) or denominator (``den``) of a unit."""
    wh = open_duckdb(directory)
    try:
        f = BY_CODE[indicator].frame(wh, parse_period(period), params or Params())
        if unit_kind == "team":
            f = f.filter(f.team_id == unit_id)
        else:
            units = ibis.memtable(units_table(wh))
            orgs = units.filter(units.unit_kind == unit_kind, units.unit_id == unit_id)
            f = f.filter(f.org_id.isin(orgs.org_id))
        # Census cells (population counts, no resident) carry no resident_id.
        f = f.filter(f[which] == 1, f.resident_id.notnull())
        table = wh.backend.to_pyarrow(f.select("resident_id").distinct())
        return sorted(str(v) for v in table.column("resident_id").to_pylist())
    finally:
        wh.close()


def from_warehouse(directory: Path, params: Params | None = None) -> LineListSource:
    def source(indicator: str, period: str, unit_kind: str, unit_id: str, which: str) -> list[str]:
        return resident_ids(directory, indicator, period, unit_kind, unit_id, which, params)

    return source
