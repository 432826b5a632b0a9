"""Indicator benchmark: the full indicator set for one quarter at every level of the tree, on
DuckDB over the generator's Parquet and with the same ibis definitions on PostgreSQL, same data,
same run.

    python bench/indicators_bench.py synth DIR --residents 12000000 --region 330100
    python bench/indicators_bench.py store DIR        # DuckDB's copy of the warehouse, timed
    python bench/indicators_bench.py duckdb DIR [--period 2026Q3] [--threads 2] [--memory 3GB]
                                                      # [--parquet]: ignore the DuckDB copy
    python bench/indicators_bench.py baseline DIR     # one indicator alone (one pass)
    python bench/indicators_bench.py postgres DIR [--url URL] [--drop] [--parallel]
    python bench/indicators_bench.py all DIR [--no-postgres] [--drop]
    python bench/indicators_bench.py subset DIR OUT --chunks K   # first K chunks of DIR

``synth`` runs ``manbing synth --to parquet`` (timed; its output *is* a warehouse: one folder per
table, the operational column names, so no conversion step). ``subset`` makes a smaller
warehouse of the first K generator chunks (symbolic links, the whole organisation tree) — the
peer-size point. ``duckdb``, ``baseline`` and ``postgres`` each run in a fresh process and
report wall time, CPU time (all threads; less sensitive to other jobs on a shared machine) and
peak RSS (PostgreSQL: its backend's CPU from /proc, parallel workers off, plus the client's).
``postgres`` loads only the columns the indicators read, as UNLOGGED tables,
ANALYZEd, no indexes, into its own database (``--drop`` removes it afterwards). The baseline is
``htn_bp_control_rate`` alone: the full set's cost in "passes" is full / baseline.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import manbing.db.models  # noqa: F401
from manbing.analytics.warehouse import WAREHOUSE_TABLES, arrow_schema
from manbing.db.base import Base

BENCH_URL = "postgresql://postgres@127.0.0.1:5432/manbing_analytics_bench"
BASELINE = "htn_bp_control_rate"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def counts(directory: Path) -> dict[str, int]:
    """Rows per table (Parquet metadata), patients and BP readings (DuckDB)."""
    import duckdb

    out = {
        t: sum(pq.ParquetFile(p).metadata.num_rows for p in (directory / t).glob("*.parquet"))
        for t in WAREHOUSE_TABLES
    }
    con = duckdb.connect()
    patients = con.execute(
        "SELECT count(DISTINCT resident_id) FROM read_parquet(?) "
        "WHERE programme IN ('hypertension', 't2dm')",
        [str(directory / "enrolments" / "*.parquet")],
    ).fetchone()
    readings = con.execute(
        "SELECT count(*) FROM read_parquet(?) WHERE sbp IS NOT NULL",
        [str(directory / "follow_ups" / "*.parquet")],
    ).fetchone()
    out["htn_or_t2dm_patients"] = int(patients[0]) if patients else 0
    out["follow_up_bp_readings"] = int(readings[0]) if readings else 0
    return out


def synth(directory: Path, residents: int, region: str, chunk_size: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("manbing")),
            "synth",
            "--residents",
            str(residents),
            "--region",
            region,
            "--chunk-size",
            str(chunk_size),
            "--to",
            "parquet",
            str(directory),
            "--replace",
        ],
        check=True,
    )
    return time.perf_counter() - started


def subset(directory: Path, out: Path, chunks: int) -> None:
    """The first ``chunks`` generator chunks (``part-00001`` …) of every table, and the tables
    written once (``part-00000``: divisions, organisations, teams), as symbolic links."""
    wanted = {f"part-{k:05d}.parquet" for k in range(chunks + 1)}
    for table in WAREHOUSE_TABLES:
        (out / table).mkdir(parents=True, exist_ok=True)
        for part in (directory / table).glob("part-*.parquet"):
            link = out / table / part.name
            if part.name in wanted and not link.exists():
                link.symlink_to(part.resolve())


_last_cpu = [0.0]


def _progress(code: str, done: int, total: int, seconds: float) -> None:
    """Per indicator: wall seconds and CPU seconds of this process (all threads) since the
    previous indicator (the first one includes the shared tables it builds)."""
    cpu = _cpu()
    print(
        f"  {done:2d}/{total} {code:38s} {seconds:7.2f} s {cpu - _last_cpu[0]:7.2f} CPU s",
        file=sys.stderr,
        flush=True,
    )
    _last_cpu[0] = cpu


def run_store(directory: Path, threads: int, memory: str) -> dict[str, float]:
    """Rebuild DuckDB's copy of the warehouse (done after every extract), timed."""
    from manbing.analytics.store import STORE_FILE, refresh_store

    seconds = refresh_store(directory, threads=threads, memory_limit=memory)
    size = (directory / STORE_FILE).stat().st_size
    return {"seconds": seconds, "size_mb": size / 1e6, "peak_mb": _peak_mb()}


def run_duckdb(
    directory: Path,
    period: str,
    threads: int,
    memory: str,
    codes: list[str] | None = None,
    parquet: bool = False,
) -> dict[str, Any]:
    from manbing.analytics.compute import compute_table
    from manbing.analytics.engine import open_duckdb
    from manbing.analytics.periods import parse_period
    from manbing.analytics.store import current_store

    copy = None if parquet else current_store(directory)
    wh = open_duckdb(directory, threads=threads, memory_limit=memory, use_store=not parquet)
    # Less memory in the large joins; see docs/benchmarks.md for the one definition whose
    # result depends on the input order (ties of the latest follow-up record).
    wh.backend.raw_sql("SET preserve_insertion_order = false")
    started, cpu = time.perf_counter(), _cpu()
    _last_cpu[0] = cpu
    table = compute_table(wh, parse_period(period), codes=codes, progress=_progress)
    seconds, cpu_s = time.perf_counter() - started, _cpu() - cpu
    return {
        "reads": "duckdb copy" if copy else "parquet",
        "seconds": seconds,
        "cpu_s": cpu_s,
        "results": table.num_rows,
        "peak_mb": _peak_mb(),
    }


def columns_read(directory: Path, period: str) -> dict[str, list[str]]:
    """The warehouse columns the indicator definitions read: DuckDB's optimised plans of every
    indicator over empty tables of the warehouse schema (projections and filter columns)."""
    import re

    import ibis

    from manbing.analytics.compute import leaves_expr
    from manbing.analytics.engine import EngineName, Warehouse
    from manbing.analytics.indicators import ALL, Params
    from manbing.analytics.periods import parse_period

    con = ibis.duckdb.connect()
    schemas = {}
    for t in WAREHOUSE_TABLES:
        schemas[t] = arrow_schema(Base.metadata.tables[t])
        con.create_table(t, schema=ibis.Schema.from_pyarrow(schemas[t]))
    con.raw_sql("SET disabled_optimizers = 'statistics_propagation,empty_result_pullup'")
    wh = Warehouse(EngineName.DUCKDB, con, {t: con.table(t) for t in WAREHOUSE_TABLES})
    found: dict[str, set[str]] = {t: set() for t in WAREHOUSE_TABLES}
    found["organizations"] |= {"id", "path", "division_code"}  # the units of the tree

    def walk(node: dict[str, Any]) -> None:
        info = node.get("extra_info") or {}
        table = str(info.get("Table", "")).rpartition(".")[2] if isinstance(info, dict) else ""
        if table in found:
            cols = set(schemas[table].names)
            text = " ".join(
                v if isinstance(v, str) else " ".join(v)
                for v in (info.get("Projections", ""), info.get("Filters", ""))
            )
            found[table] |= {w for w in re.findall(r"[a-z_0-9]+", text) if w in cols}
        for child in node.get("children", []):
            walk(child)

    p = parse_period(period)
    for ind in ALL:
        sql = con.compile(leaves_expr(ind.frame(wh, p, Params()), ind.code))
        for row in con.con.execute(f"EXPLAIN (FORMAT json) {sql}").fetchall():
            for node in json.loads(row[1]):
                walk(node)
    con.disconnect()
    return {t: sorted(c) for t, c in found.items() if c}


def load_postgres(directory: Path, url: str, period: str) -> dict[str, Any]:
    import psycopg

    types = {
        pa.string(): "text",
        pa.int64(): "bigint",
        pa.float64(): "double precision",
        pa.bool_(): "boolean",
        pa.date32(): "date",
        pa.timestamp("us", tz="UTC"): "timestamptz",
    }
    wanted = columns_read(directory, period)
    base, _, dbname = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            admin.execute(f'CREATE DATABASE "{dbname}"')
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as con:
        for name in WAREHOUSE_TABLES:
            schema = arrow_schema(Base.metadata.tables[name])
            keep = [f for f in schema if f.name in wanted.get(name, [])]
            if not keep:  # not read by any indicator: an empty placeholder table
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
                con.execute(f'CREATE UNLOGGED TABLE "{name}" ("{schema[0].name}" text)')
                continue
            con.execute(f'DROP TABLE IF EXISTS "{name}"')
            cols = ", ".join(f'"{f.name}" {types[f.type]}' for f in keep)
            con.execute(f'CREATE UNLOGGED TABLE "{name}" ({cols})')
            names = [f.name for f in keep]
            for part in sorted((directory / name).glob("part-*.parquet")):
                for batch in pq.ParquetFile(part).iter_batches(batch_size=500_000, columns=names):
                    buffer = io.BytesIO()
                    pacsv.write_csv(
                        pa.Table.from_batches([batch]).cast(pa.schema(keep)),
                        buffer,
                        pacsv.WriteOptions(include_header=False),
                    )
                    columns = ", ".join(f'"{n}"' for n in names)
                    with con.cursor().copy(
                        f'COPY "{name}" ({columns}) FROM STDIN WITH (FORMAT csv)'
                    ) as copy:
                        copy.write(buffer.getvalue())
            con.execute(f'ANALYZE "{name}"')
    return {"seconds": time.perf_counter() - started, "columns": wanted}


def drop_postgres(url: str) -> None:
    import psycopg

    base, _, dbname = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}"')


def run_postgres(url: str, period: str, work_mem: str, parallel: bool = False) -> dict[str, Any]:
    from manbing.analytics.compute import compute_table
    from manbing.analytics.engine import open_postgres
    from manbing.analytics.periods import parse_period

    wh = open_postgres(url)
    wh.backend.raw_sql(f"SET work_mem = '{work_mem}'")
    # No parallel workers unless asked: the server's CPU is then all in this session's backend
    # process, read from /proc (the DuckDB figure is CPU over all its threads). ``--parallel``
    # allows 1 worker beside the leader (2 processes, as DuckDB has 2 threads): the fair wall
    # time, but the server CPU figure then leaves out the worker's.
    workers = 1 if parallel else 0
    wh.backend.raw_sql(f"SET max_parallel_workers_per_gather = {workers}")
    with wh.backend.raw_sql("SELECT pg_backend_pid()") as cursor:
        pid = int(cursor.fetchone()[0])
    started, cpu, server = time.perf_counter(), _cpu(), _proc_cpu(pid)
    _last_cpu[0] = cpu
    table = compute_table(wh, parse_period(period), progress=_progress)
    seconds = time.perf_counter() - started
    return {
        "parallel_workers": workers,
        "seconds": seconds,
        "server_cpu_s": _proc_cpu(pid) - server,
        "client_cpu_s": _cpu() - cpu,
        "results": table.num_rows,
        "peak_mb": _peak_mb(),
    }


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a local process (Linux /proc; PostgreSQL on this host)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args, "--json"], check=True, stdout=subprocess.PIPE, text=True
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _emit(figures: dict[str, Any], as_json: bool) -> None:
    print(json.dumps(figures) if as_json else json.dumps(figures, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "command",
        choices=["synth", "subset", "store", "duckdb", "baseline", "pgload", "postgres", "all"],
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("out", type=Path, nargs="?", help="subset: the new warehouse")
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--region", default="330100")
    parser.add_argument("--chunk-size", type=int, default=200_000)
    parser.add_argument("--period", default="2026Q3")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory", default="3GB")
    parser.add_argument("--url", default=BENCH_URL)
    parser.add_argument("--work-mem", default="256MB")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the PostgreSQL database")
    parser.add_argument(
        "--parallel",
        action="store_true",
        help="PostgreSQL: 1 parallel worker per query beside the leader (2 processes)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--parquet",
        action="store_true",
        help="read the Parquet even when the DuckDB copy is current",
    )
    a = parser.parse_args()
    common = ["--period", a.period, "--threads", str(a.threads), "--memory", a.memory]
    if a.parquet:
        common.append("--parquet")
    if a.command == "synth":
        seconds = synth(a.directory, a.residents, a.region, a.chunk_size)
        _emit({"synth_s": seconds, "counts": counts(a.directory)}, a.json)
    elif a.command == "subset":
        if a.out is None:
            parser.error("subset needs OUT")
        subset(a.directory, a.out, a.chunks)
        _emit({"counts": counts(a.out)}, a.json)
    elif a.command == "store":
        _emit(run_store(a.directory, a.threads, a.memory), a.json)
    elif a.command == "duckdb":
        _emit(run_duckdb(a.directory, a.period, a.threads, a.memory, parquet=a.parquet), a.json)
    elif a.command == "baseline":
        figures = run_duckdb(a.directory, a.period, a.threads, a.memory, [BASELINE], a.parquet)
        _emit(figures, a.json)
    elif a.command == "pgload":
        _emit(load_postgres(a.directory, a.url, a.period), a.json)
    elif a.command == "postgres":
        load = load_postgres(a.directory, a.url, a.period)
        figures = _child(
            [
                "postgres-run",
                str(a.directory),
                "--url",
                a.url,
                "--period",
                a.period,
                "--work-mem",
                a.work_mem,
                *(["--parallel"] if a.parallel else []),
            ]
        )
        if a.drop:
            drop_postgres(a.url)
        _emit({"load_s": load["seconds"], **figures}, a.json)
    else:
        figures: dict[str, Any] = {
            "counts": counts(a.directory),
            "load_average": os.getloadavg(),
        }
        if not a.parquet:
            figures["store"] = _child(["store", str(a.directory), *common])
        duck = _child(["duckdb", str(a.directory), *common])
        base = _child(["baseline", str(a.directory), *common])
        figures |= {"duckdb": duck, "baseline_one_indicator": base}
        figures["passes"] = duck["cpu_s"] / base["cpu_s"]
        if not a.no_postgres:
            figures["postgres_load_s"] = load_postgres(a.directory, a.url, a.period)["seconds"]
            pg = _child(
                [
                    "postgres-run",
                    str(a.directory),
                    "--url",
                    a.url,
                    "--period",
                    a.period,
                    "--work-mem",
                    a.work_mem,
                    *(["--parallel"] if a.parallel else []),
                ]
            )
            figures |= {
                "postgres": pg,
                "ratio": pg["seconds"] / duck["seconds"],
                "cpu_ratio": (pg["server_cpu_s"] + pg["client_cpu_s"]) / duck["cpu_s"],
            }
            if a.drop:
                drop_postgres(a.url)
        figures["load_average_after"] = os.getloadavg()
        _emit(figures, False)


def _postgres_run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path)
    parser.add_argument("--url", default=BENCH_URL)
    parser.add_argument("--period", default="2026Q3")
    parser.add_argument("--work-mem", default="256MB")
    parser.add_argument("--parallel", action="store_true")
    parser.add_argument("--json", action="store_true")
    a = parser.parse_args(sys.argv[2:])
    _emit(run_postgres(a.url, a.period, a.work_mem, a.parallel), a.json)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "postgres-run":
        _postgres_run()
    else:
        main()
