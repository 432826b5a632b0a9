"""Dates as integer day numbers (days since 1970-01-01) for vectorised arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa

Days = npt.NDArray[np.int64]
_EPOCH = date(1970, 1, 1)


def day(d: date) -> int:
    return (d - _EPOCH).days


def to_date(days: int) -> date:
    return date.fromordinal(_EPOCH.toordinal() + days)


def arrow_dates(days: Days, valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask)


def arrow_times(days: Days, seconds: npt.NDArray[np.int64]) -> pa.Array:
    """UTC timestamps from a day number and seconds within the day (already UTC)."""
    micros = (days.astype(np.int64) * 86_400 + seconds.astype(np.int64)) * 1_000_000
    return pa.array(micros, type=pa.timestamp("us", tz="UTC"))


def years(days: Days) -> npt.NDArray[np.int64]:
    out: npt.NDArray[np.int64] = (
        days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    )
    return out


def yyyymmdd(days: Days) -> npt.NDArray[np.int64]:
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    month = m.astype(np.int64) % 12 + 1
    dom = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    out: npt.NDArray[np.int64] = (y.astype(np.int64) + 1970) * 10_000 + month * 100 + dom
    return out


def day_of_year(days: Days) -> npt.NDArray[np.int64]:
    d = days.astype("datetime64[D]")
    out: npt.NDArray[np.int64] = (d - d.astype("datetime64[Y]").astype("datetime64[D]")).astype(
        np.int64
    )
    return out


def year_start(y: int) -> int:
    return day(date(y, 1, 1))


def stamp(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)
