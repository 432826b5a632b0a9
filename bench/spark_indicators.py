"""The full indicator set on Spark (local mode, or a cluster's master URL) over a Parquet
warehouse, within a time budget, printing each indicator as it completes:

    python bench/spark_indicators.py DIR [--period 2026Q3] [--budget 1800] [--master local[2]]
        [--driver-memory 8g] [--shuffle-partitions 16]

When the budget runs out the running Spark jobs are cancelled and the script reports how far it
got (indicators done, the one running, those not started) and why, then exits with status 2.
It prints the warehouse's size (rows per table) and the load average at the start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq

from manbing.analytics.compute import OutOfTime, compute_table
from manbing.analytics.engine import open_spark, spark_session
from manbing.analytics.indicators import ALL
from manbing.analytics.periods import parse_period
from manbing.analytics.warehouse import WAREHOUSE_TABLES


def _rows(directory: Path) -> dict[str, int]:
    return {
        t: sum(pq.ParquetFile(p).metadata.num_rows for p in (directory / t).glob("*.parquet"))
        for t in WAREHOUSE_TABLES
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--period", default="2026Q3")
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--shuffle-partitions", type=int, default=16)
    parser.add_argument("--indicator", action="append", help="only these codes")
    a = parser.parse_args()
    started = time.monotonic()
    deadline = started + a.budget
    print(f"load average {os.getloadavg()}; budget {a.budget:.0f} s", flush=True)
    print(json.dumps(_rows(a.directory)), flush=True)
    spark = spark_session(a.master, a.shuffle_partitions, a.driver_memory)
    spark.sparkContext.setLogLevel("ERROR")
    wh = open_spark(a.directory, spark)
    done: list[str] = []
    expired = threading.Event()

    def cancel() -> None:
        expired.set()
        spark.sparkContext.cancelAllJobs()

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), cancel)
    timer.daemon = True
    timer.start()

    def progress(code: str, n: int, total: int, seconds: float) -> None:
        done.append(code)
        elapsed = time.monotonic() - started
        print(f"{n:2d}/{total} {code:38s} {seconds:8.1f} s  (elapsed {elapsed:.0f} s)", flush=True)

    status = 0
    try:
        table = compute_table(
            wh, parse_period(a.period), codes=a.indicator, progress=progress, deadline=deadline
        )
        print(
            f"completed: {len(done)} indicators, {table.num_rows} results in "
            f"{time.monotonic() - started:.0f} s (load average {os.getloadavg()})"
        )
    except OutOfTime as exc:
        status = 2
        print(f"NOT completed: {exc}")
    except Exception as exc:
        status = 2
        why = "time budget exhausted (jobs cancelled)" if expired.is_set() else repr(exc)[:500]
        chosen = [i.code for i in ALL if a.indicator is None or i.code in a.indicator]
        left = [c for c in chosen if c not in done]
        print(
            f"NOT completed: {len(done)} of {len(chosen)} indicators done; stopped during "
            f"{left[0] if left else '-'} ({why}); not computed: {', '.join(left)}"
        )
    finally:
        timer.cancel()
        wh.close()
        spark.stop()
    print(f"load average at the end {os.getloadavg()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
