"""The same indicator definitions on Spark (local mode) give exactly the DuckDB results.

Skipped when Java or pyspark is missing, except in CI (``CI=true``), where it must run. To keep
the suite fast it checks one indicator of each family (Spark local mode plans each query in
seconds); ``bench/spark_equivalence.py`` compares the full set.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from manbing.analytics.compute import compute
from manbing.analytics.engine import open_duckdb, open_spark, spark_session
from manbing.analytics.periods import parse_period
from tests.hand_population import standard_population

_MISSING = shutil.which("java") is None or importlib.util.find_spec("pyspark") is None
if _MISSING and os.environ.get("CI") != "true":
    pytest.skip("Spark needs Java and pyspark", allow_module_level=True)


SAMPLE = [
    "htn_bp_control_rate",
    "contract_rate_key_populations",
    "hearts_bp_controlled",
    "dq_suspected_duplicates",
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()


def test_spark_local_mode_gives_the_duckdb_numbers(spark: Any, tmp_path: Path) -> None:
    directory = standard_population().write(tmp_path / "wh")
    period = parse_period("2026Q3")
    on_spark = compute(open_spark(directory, spark), period, codes=SAMPLE)
    on_duckdb = compute(open_duckdb(directory), period, codes=SAMPLE)

    def key(r: Any) -> tuple[str, ...]:
        return (r.indicator, r.unit_kind, r.unit_id, r.sex, r.age_band)

    assert len(on_duckdb) > 50
    assert {r.indicator for r in on_spark} == set(SAMPLE)
    assert {key(r): r for r in on_spark} == {key(r): r for r in on_duckdb}


def test_spark_finds_the_same_suspected_duplicates(spark: Any, tmp_path: Path) -> None:
    # Near-duplicate names are compared by characters on both engines (DuckDB's own
    # levenshtein counts UTF-8 bytes): see test_hearts_and_quality for the expected pairs.
    from tests.unit.analytics.test_hearts_and_quality import _population

    directory = _population().write(tmp_path / "wh")
    period = parse_period("2026Q3")
    codes = ["dq_suspected_duplicates"]
    on_spark = compute(open_spark(directory, spark), period, codes=codes)
    on_duckdb = compute(open_duckdb(directory), period, codes=codes)

    def key(r: Any) -> tuple[str, ...]:
        return (r.indicator, r.unit_kind, r.unit_id, r.sex, r.age_band)

    total = [r for r in on_duckdb if (r.unit_id, r.sex, r.age_band) == ("330108", "*", "*")]
    assert [(r.numerator, r.denominator) for r in total] == [(6, 19)]
    assert {key(r): r for r in on_spark} == {key(r): r for r in on_duckdb}


def test_spark_gives_the_same_census_rates(spark: Any, tmp_path: Path) -> None:
    from tests.unit.analytics.test_census_indicators import CODES
    from tests.unit.analytics.test_census_indicators import _population as census_population

    directory = census_population().write(tmp_path / "wh")
    period = parse_period("2026Q3")
    on_spark = compute(open_spark(directory, spark), period, codes=CODES)
    on_duckdb = compute(open_duckdb(directory), period, codes=CODES)

    def key(r: Any) -> tuple[str, ...]:
        return (r.indicator, r.unit_kind, r.unit_id, r.sex, r.age_band)

    assert {r.denominator for r in on_duckdb if r.unit_id == "330108"} >= {3020, 663, 287}
    assert {key(r): r for r in on_spark} == {key(r): r for r in on_duckdb}
