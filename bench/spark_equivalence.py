"""Compare every indicator on Spark (local mode) with DuckDB on the hand-built population, or on
any warehouse directory: ``python bench/spark_equivalence.py [WAREHOUSE] [PERIOD]``.

The test suite checks one indicator per family (Spark plans slowly in local mode); this runs
the full set (about 5 minutes on 2 cores for the hand-built population).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from manbing.analytics.compute import Result, compute
from manbing.analytics.engine import open_duckdb, open_spark, spark_session
from manbing.analytics.periods import parse_period


def _key(r: Result) -> tuple[str, ...]:
    return (r.indicator, r.unit_kind, r.unit_id, r.sex, r.age_band)


def main() -> int:
    if len(sys.argv) > 1:
        directory = Path(sys.argv[1])
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.hand_population import standard_population

        directory = standard_population().write(Path(tempfile.mkdtemp()) / "wh")
    period = parse_period(sys.argv[2] if len(sys.argv) > 2 else "2026Q3")
    started = time.perf_counter()
    duck = {_key(r): r for r in compute(open_duckdb(directory), period)}
    duck_s = time.perf_counter() - started
    spark = spark_session("local[2]", shuffle_partitions=2)
    started = time.perf_counter()
    on_spark = {_key(r): r for r in compute(open_spark(directory, spark), period)}
    spark_s = time.perf_counter() - started
    spark.stop()
    differ = [k for k in duck.keys() | on_spark.keys() if duck.get(k) != on_spark.get(k)]
    print(f"results: {len(duck)}; duckdb {duck_s:.1f} s, spark {spark_s:.1f} s")
    print("identical" if not differ else f"{len(differ)} differ, e.g. {differ[:3]}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
