"""Sustained end-to-end device ingestion into PostgreSQL, beside a raw COPY of the same rows.

What runs (all on this machine, in one run):

1. a fresh PostgreSQL database (migrated), the fixed district with residents, and a simulated
   fleet of ``--devices`` bound devices (secrets hashed as in production);
2. a private Mosquitto broker (persistence on) and the gateway as a real subprocess
   (``manbing devices serve``);
3. the simulator publishes ``--readings`` readings (QoS 1) from the fleet as fast as the broker
   acknowledges them; the clock runs from the first publish until the last reading is in
   PostgreSQL (end to end: MQTT → gateway → validation, authentication, idempotent insert);
4. the same rows are then COPYed into an empty copy of the table (the raw write ceiling);
5. loss and duplicates are counted: every published (device, message) key must be stored once.

Usage (the defaults are the sustained measurement of issue 8: 10,000 devices, 100,000
readings)::

    .venv/bin/python bench/device_ingest_bench.py
"""

from __future__ import annotations

import argparse
import getpass
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from manbing.db import migrate
from manbing.db.session import make_engine, make_session_factory
from manbing.devices.simulator import prepare, publish_prepared
from manbing.services.clock import SystemClock
from manbing.services.devices import provision_simulated_fleet
from manbing.services.unit_of_work import UnitOfWork
from manbing.synth import fixed_district

PULSE = {"pulse": "%:hr"}  # pulse rows ride along with BP readings; count readings only
SERVER = os.environ.get(
    "MANBING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    (workdir / "data").mkdir()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nuser {getpass.getuser()}\n"
        f"persistence true\npersistence_location {workdir / 'data'}/\n"
        # the recommended gateway-facing settings (docs/benchmarks.md, ADR 0008): nothing
        # dropped while the gateway is down; in flight to a 3.1.1 gateway: twice a batch
        "max_queued_messages 0\nmax_inflight_messages 10000\n"
    )
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_auxiliaries() -> list[int]:
    """The server-wide PostgreSQL writers (WAL writer, checkpointer, background writer)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            title = cmdline.split(b"\0")[0]  # "postgres: 15/main: walwriter" (Debian)
            if title.startswith(b"postgres: ") and title.rstrip().endswith(
                (b"walwriter", b"checkpointer", b"background writer")
            ):
                found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU seconds per group of processes between ``start()`` and ``stop()`` (the timed part).

    Groups are functions returning pids, asked again at the stop: a process that appeared
    meanwhile (a new database connection) counts from zero.
    """

    SHARED = "postgres writers (whole server)"
    POLL = "postgres backend of the bench poll"
    APART = (SHARED, POLL)

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.before: dict[int, float] = {}
        self.publisher = 0.0
        self.seconds: dict[str, float] = {}

    def start(self) -> None:
        self.before = {p: proc_cpu(p) for pids in self.groups.values() for p in pids()}
        self.publisher = time.process_time()

    def stop(self) -> None:
        self.seconds = {"publisher (bench process)": time.process_time() - self.publisher}
        for name, pids in self.groups.items():
            self.seconds[name] = sum(proc_cpu(p) - self.before.get(p, 0.0) for p in pids())

    def report(self, readings: int) -> None:
        print("CPU per reading (user + system, first publish to last commit):")
        for name, seconds in self.seconds.items():
            print(f"  {name:36s} {seconds:7.2f} s  {seconds / readings * 1e6:6.0f} µs/reading")
        total = sum(s for name, s in self.seconds.items() if name not in self.APART)
        print(
            f"  {'sum (without writers and poll)':36s} {total:7.2f} s"
            f"  {total / readings * 1e6:6.0f} µs/reading"
            f"  → CPU bound on 2 cores {2 * readings / total:,.0f} readings/s"
        )


def fresh_database(name: str) -> str:
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(SERVER).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20_000, help="publish ceiling, readings/s")
    parser.add_argument(
        "--protocol", choices=["5", "3.1.1"], default="3.1.1", help="the gateway's MQTT"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    name = f"bench_devices_{os.getpid()}"
    url = fresh_database(name)
    workdir = Path(tempfile.mkdtemp(prefix="manbing-bench-"))
    broker, port = start_broker(workdir)
    gateway: subprocess.Popen[bytes] | None = None
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with factory() as session:
            fixed_district.build(session, today=date.today(), residents_per_station=200)
            session.commit()
        fleet = provision_simulated_fleet(UnitOfWork(factory), args.devices, SystemClock())
        manbing = Path(sys.executable).parent / "manbing"
        gateway = subprocess.Popen(
            [
                str(manbing),
                "devices",
                "serve",
                "--mqtt-url",
                f"mqtt://127.0.0.1:{port}",
                "--protocol",
                args.protocol,
            ],
            env={**os.environ, "MANBING_DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "gateway.log", "wb"),  # noqa: SIM115
        )
        while "subscribed" not in (workdir / "gateway.log").read_text():
            time.sleep(0.05)

        polls = 0

        def stored() -> int:
            nonlocal polls
            polls += 1
            with engine.connect() as conn:
                return int(
                    conn.execute(
                        text(
                            "SELECT count(*) FROM observations WHERE source = 'home_device'"
                            " AND idempotency_key NOT LIKE :pulse"
                        ),
                        PULSE,
                    ).scalar_one()
                )

        prepared = prepare(fleet, args.readings, run_id="b-")  # JSON encoding is not timed
        with engine.connect() as conn:
            poller = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

        def gateway_backends() -> list[int]:
            with engine.connect() as conn:
                return [
                    int(p)
                    for p in conn.execute(
                        text(
                            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                            " AND pid <> :poller"
                        ),
                        {"poller": poller},
                    ).scalars()
                ]

        assert gateway is not None
        gateway_pid = gateway.pid
        cpu = CpuMeter(
            {
                "mosquitto": lambda: [broker.pid],
                "gateway": lambda: [gateway_pid],
                "postgres backends of the gateway": gateway_backends,
                CpuMeter.POLL: lambda: [poller],
                CpuMeter.SHARED: postgres_auxiliaries,
            }
        )
        cpu.start()
        load_before = os.getloadavg()
        started = time.monotonic()
        sent = publish_prepared(f"mqtt://127.0.0.1:{port}", prepared, rate=args.rate)
        published = time.monotonic() - started
        stored_when_published = stored()
        # each count scans the table (its CPU is reported apart): poll rarely while far from
        # done, guessing the time left from the progress since the previous poll
        polled, previous = time.monotonic(), stored_when_published
        while (missing := sent - (now_stored := stored())) > 0:
            if gateway.poll() is not None:
                raise RuntimeError("the gateway died")
            now = time.monotonic()
            pace = (now_stored - previous) / max(now - polled, 1e-3)
            polled, previous = now, now_stored
            time.sleep(min(5.0, max(0.02, 0.5 * missing / pace if pace > 0 else 0.2)))
        elapsed = time.monotonic() - started
        cpu.stop()
        with engine.connect() as conn:
            total, distinct = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT idempotency_key) FROM observations"
                    " WHERE source = 'home_device' AND idempotency_key NOT LIKE :pulse"
                ),
                PULSE,
            ).one()
            rows = conn.execute(text("SELECT count(*) FROM observations")).scalar_one()
        # the raw ceiling: COPY the same rows into an empty copy of the table
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("CREATE TABLE observations_copy (LIKE observations INCLUDING ALL)")
            buffer = io.StringIO()
            with cur.copy("COPY observations TO STDOUT") as copy:  # type: ignore[attr-defined]
                for block in copy:
                    buffer.write(bytes(block).decode())
            data = buffer.getvalue().encode()
            copy_started = time.monotonic()
            with cur.copy("COPY observations_copy FROM STDIN") as copy:  # type: ignore[attr-defined]
                copy.write(data)
            raw.commit()
            copy_elapsed = time.monotonic() - copy_started
        finally:
            raw.close()
        loss = sent - distinct
        duplicates = total - distinct
        print(f"gateway protocol: MQTT {args.protocol}")
        print(f"devices: {len(fleet)}  readings published: {sent}  rows stored: {rows}")
        print(f"published in {published:.2f} s ({sent / published:,.0f}/s, QoS 1 acknowledged)")
        backlog = sent - stored_when_published
        if backlog and elapsed > published:
            print(
                f"gateway alone on the backlog: {backlog} readings in {elapsed - published:.2f} s"
                f" ({backlog / (elapsed - published):,.0f}/s)"
            )
        print(f"end to end: {elapsed:.2f} s  →  {sent / elapsed:,.0f} readings/s")
        print(
            f"raw COPY of the same {rows} rows: {copy_elapsed:.2f} s → {rows / copy_elapsed:,.0f} rows/s"
        )
        print(f"ratio end-to-end / COPY: {(sent / elapsed) / (rows / copy_elapsed):.2%}")
        print(f"loss: {loss}  duplicates: {duplicates}  (counted by {polls} polls)")
        cpu.report(sent)
        load_after = os.getloadavg()
        print(
            "load average (1/5/15 min) before: {:.2f} {:.2f} {:.2f}  after: {:.2f} {:.2f} {:.2f}".format(
                *load_before, *load_after
            )
        )
        engine.dispose()
    finally:
        if gateway is not None and gateway.poll() is None:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=20)
        broker.terminate()
        broker.wait(timeout=10)
        if not args.keep:
            drop_database(name)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
