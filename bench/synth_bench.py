"""Benchmark of ``manbing synth``: residents/s, rows/s per table, wall time, peak RSS.

    .venv/bin/python bench/synth_bench.py parquet --residents 1000000 --out /tmp/synth-parquet
    .venv/bin/python bench/synth_bench.py postgres --residents 1000000 \
        --url postgresql+psycopg://postgres@127.0.0.1:5432/synth_bench

The baseline is measured in the same run: the time spent only writing the already generated
Arrow tables (``pyarrow.parquet.write_table`` for Parquet, CSV + COPY for PostgreSQL); the ratio
total / baseline shows what generation adds on top of the raw write.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from manbing.synth.config import SynthConfig
from manbing.synth.generator import generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("target", choices=["parquet", "postgres"])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--region", default="330100")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/synth-bench"))
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/synth_bench")
    args = parser.parse_args()
    config = SynthConfig(
        residents=args.residents, region=args.region, years=args.years, chunk_size=args.chunk_size
    )
    if args.target == "parquet":
        from manbing.synth.writers.parquet import ParquetWriter

        writer: ParquetWriter | object = ParquetWriter(args.out, replace=True)
    else:
        from manbing.synth.writers.db import DatabaseWriter, ensure_schema

        ensure_schema(args.url)
        writer = DatabaseWriter(args.url, replace=True)
    started = time.perf_counter()
    write_time = 0.0
    without_id = 0
    for batch in generate(config):
        without_id += batch.without_id
        t0 = time.perf_counter()
        writer.write(batch)  # type: ignore[attr-defined]
        write_time += time.perf_counter() - t0
    t0 = time.perf_counter()
    writer.close()  # type: ignore[attr-defined]
    finish_time = time.perf_counter() - t0
    wall = time.perf_counter() - started
    rows: dict[str, int] = writer.rows  # type: ignore[attr-defined]
    total = sum(rows.values())
    result = {
        "target": args.target,
        "residents": args.residents,
        "region": args.region,
        "years": args.years,
        "chunk_size": args.chunk_size,
        "wall_s": round(wall, 1),
        "residents_per_s": round(args.residents / wall),
        "rows": total,
        "rows_per_s": round(total / wall),
        "baseline_write_s": round(write_time, 1),
        "baseline_rows_per_s": round(total / write_time) if write_time else None,
        "generation_s": round(wall - write_time - finish_time, 1),
        "finish_s (indexes, keys, analyze)": round(finish_time, 1),
        "ratio_total_to_baseline": round(wall / write_time, 2) if write_time else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "residents_without_id (full birth-date cells)": without_id,
        "per_table_rows_per_s": {k: round(v / wall) for k, v in rows.items()},
        "per_table_rows": rows,
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
