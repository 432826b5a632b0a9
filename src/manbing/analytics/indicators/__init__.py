"""Every indicator, defined once (ibis), listed in docs/indicators.md."""

from __future__ import annotations

from manbing.analytics.indicators import census, chronic, hearts, population, quality
from manbing.analytics.indicators.base import Indicator, Params
from manbing.domain.indicators import Kind

ALL: tuple[Indicator, ...] = (
    *chronic.INDICATORS,
    *population.INDICATORS,
    *hearts.INDICATORS,
    *quality.INDICATORS,
    *census.INDICATORS,
)
BY_CODE: dict[str, Indicator] = {i.code: i for i in ALL}

__all__ = ["ALL", "BY_CODE", "Indicator", "Kind", "Params"]
