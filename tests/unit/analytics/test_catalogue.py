"""The catalogue, the computations and docs/indicators.md stay in step."""

from __future__ import annotations

from pathlib import Path

from manbing.analytics.docs import markdown
from manbing.analytics.indicators import ALL
from manbing.domain.indicators import CATALOGUE


def test_every_catalogued_indicator_has_exactly_one_computation() -> None:
    assert sorted(i.code for i in ALL) == sorted(i.code for i in CATALOGUE)
    assert len({i.code for i in ALL}) == len(ALL)


def test_docs_indicators_md_is_generated_from_the_catalogue(repo_root: Path) -> None:
    assert (repo_root / "docs" / "indicators.md").read_text() == markdown()
    for info in CATALOGUE:
        assert info.numerator and info.period and info.source
