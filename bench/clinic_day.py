"""The family doctor's day on PostgreSQL: worklist, record page, saving a follow-up, mixed load.

Usage (PostgreSQL at 127.0.0.1:5432, database dropped and rebuilt unless ``--reuse`` finds a
city of the requested size in it)::

    .venv/bin/python bench/clinic_day.py --patients 2000000 --per-station 2000
    .venv/bin/python bench/clinic_day.py --patients 2000000 --per-station 2000 --reuse
    .venv/bin/python bench/clinic_day.py --patients 100000 --per-station 2000 --load-seconds 20

The city is generated in SQL (generate_series): stations of ``--per-station`` chronic patients,
each enrolled in hypertension (every 4th also in diabetes) with three past follow-ups and their
clinic BP readings, and two home readings for every 10th patient. The doctor works at one
station. Latencies are measured in-process through the ASGI app (rendering included); the load
phase serves the app with uvicorn (``--workers``, default 2) on loopback and drives a bounded
mix of doctor traffic from client threads, and reports the CPU each request cost the app,
PostgreSQL and the load generator. The baseline of each run is ``GET /login`` by an anonymous visitor
(no database work; a signed-in ``GET /login`` is a redirect to the worklist).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from manbing.config import Settings
from manbing.db import migrate
from manbing.db.models import Organization, Resident
from manbing.db.session import make_engine, make_session_factory
from manbing.domain.organisations import OrgType, Role
from manbing.services import organisations as orgs
from manbing.services.contracts import ensure_standard_packages
from manbing.web.app import create_app

PASSWORD = "bench-password"
SECRET = "bench-secret-key-bench-secret-key-0123456789"


def _recreate(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    migrate.upgrade(url)


def existing_city(url: str) -> tuple[int, int] | None:
    """(patients, stations) of a city already in the database, None when there is none."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).first()
    admin.dispose()
    if found is None:
        return None
    engine = create_engine(target)
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass('residents')")).scalar() is None:
                return None
            doctor = conn.execute(
                text("SELECT 1 FROM users WHERE username = 'bench-doctor'")
            ).first()
            if doctor is None:
                return None
            patients = conn.execute(
                text("SELECT count(*) FROM residents WHERE record_number LIKE 'B%'")
            ).scalar_one()
            stations = conn.execute(
                text("SELECT count(*) FROM organizations WHERE type = 'station'")
            ).scalar_one()
    finally:
        engine.dispose()
    return int(patients), int(stations)


def build_city(url: str, patients: int, per_station: int) -> None:
    stations = max(1, patients // per_station)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    with factory() as s:
        for code, name in [("330000", "浙江省"), ("330100", "杭州市"), ("330108", "滨江区")]:
            orgs.add_division(s, code, name)
        s.flush()
        commission = orgs.add_organization(
            s, code="B-WJW", name="卫健委", type=OrgType.HEALTH_COMMISSION, division_code="330108"
        )
        orgs.add_organization(
            s, code="B-H01", name="市人民医院", type=OrgType.HOSPITAL,
            division_code="330108", parent=commission,
        )  # fmt: skip
        centre = None
        for n in range(stations):
            street = f"330108{n // 20 + 1:03d}"
            if n % 20 == 0:
                orgs.add_division(s, street + "000", f"街道{n // 20 + 1}")
                s.flush()
                centre = orgs.add_organization(
                    s, code=f"B-C{n // 20:04d}", name=f"第{n // 20 + 1}社区卫生服务中心",
                    type=OrgType.COMMUNITY_CENTRE, division_code=street + "000", parent=commission,
                )  # fmt: skip
            orgs.add_division(s, f"{street}{n % 20 + 1:03d}", f"社区{n}")
            s.flush()
            station = orgs.add_organization(
                s, code=f"B-S{n:05d}", name=f"第{n + 1}社区卫生服务站", type=OrgType.STATION,
                division_code=f"{street}{n % 20 + 1:03d}", parent=centre,
            )  # fmt: skip
            if n == 0:
                doctor = orgs.add_practitioner(s, name="基准医生", organization=station)
                orgs.add_team(
                    s, name="基准团队", organization=station, members=[(doctor, "全科医生")]
                )
                orgs.add_user(
                    s, username="bench-doctor", password=PASSWORD, display_name="基准医生",
                    role=Role.FAMILY_DOCTOR, organization=station, practitioner=doctor,
                )  # fmt: skip
        ensure_standard_packages(s)
        s.commit()
    today = date.today().isoformat()
    statements = [
        "CREATE TEMP TABLE st AS SELECT (row_number() OVER (ORDER BY code)) - 1 AS n, id,"
        " division_code FROM organizations WHERE type = 'station'",
        "INSERT INTO residents (id, record_number, name, sex, birth_date, phone, division_code,"
        " managing_org_id, status, registered_on, severe_mental_disorder, pregnant, disability,"
        " version, created_at, updated_at)"
        " SELECT gen_random_uuid(), 'B' || lpad(g::text, 12, '0'), '居民' || g,"
        " CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END, date '1940-01-01' + (g % 12000),"
        " '139' || lpad(g::text, 8, '0'), st.division_code, st.id, 'active', date '2020-01-01',"
        " false, false, false, 1, now(), now()"
        " FROM generate_series(0, :n - 1) g JOIN st ON st.n = g % :stations",
        "INSERT INTO enrolments (id, resident_id, programme, enrolled_on, managing_org_id, status,"
        " status_date, created_at, updated_at) SELECT gen_random_uuid(), id, 'hypertension',"
        " date '2021-01-01', managing_org_id, 'active', date '2021-01-01', now(), now()"
        " FROM residents",
        "INSERT INTO enrolments (id, resident_id, programme, enrolled_on, managing_org_id, status,"
        " status_date, created_at, updated_at) SELECT gen_random_uuid(), id, 't2dm',"
        " date '2021-01-01', managing_org_id, 'active', date '2021-01-01', now(), now()"
        " FROM residents WHERE hashtext(record_number) % 4 = 0",
        "INSERT INTO follow_ups (id, resident_id, form, visit_date, outcome, mode, symptoms, sbp,"
        " dbp, heart_rate, adverse_reaction, new_complication, classification, next_visit_date,"
        " organization_id, created_at, updated_at)"
        " SELECT gen_random_uuid(), r.id, 'hypertension', v.d, 'done', '1', '[]',"
        " 120 + abs(hashtext(r.record_number || k)) % 50, 70 + abs(hashtext(k || r.record_number)) % 25,"
        " 72, false, false, CASE WHEN abs(hashtext(r.record_number || k)) % 50 >= 20 THEN '2' ELSE '1' END,"
        " v.d + CASE WHEN abs(hashtext(r.record_number || k)) % 50 >= 20 THEN 14 ELSE 90 END,"
        " r.managing_org_id, now(), now()"
        " FROM residents r CROSS JOIN generate_series(0, 2) k"
        " CROSS JOIN LATERAL (SELECT CAST(:today AS date) - (20 + 90 * k + abs(hashtext(r.record_number)) % 60) AS d) v",
        "INSERT INTO observations (id, resident_id, kind, loinc, value, value2, unit,"
        " effective_at, received_at, source, follow_up_id, organization_id, clock_skew_flag)"
        " SELECT gen_random_uuid(), f.resident_id, 'bp', '85354-9', f.sbp, f.dbp, 'mmHg',"
        " f.visit_date + interval '9 hours', now(), 'clinic', f.id, f.organization_id, false"
        " FROM follow_ups f",
        "INSERT INTO observations (id, resident_id, kind, loinc, value, value2, unit,"
        " effective_at, received_at, source, clock_skew_flag)"
        " SELECT gen_random_uuid(), r.id, 'bp', '85354-9', 135, 85, 'mmHg',"
        " now() - (k || ' days')::interval, now(), 'home_device', false"
        " FROM residents r CROSS JOIN generate_series(1, 2) k"
        " WHERE hashtext(r.record_number) % 10 = 0",
    ]
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql), {"n": patients, "stations": stations, "today": today})
    # VACUUM now, not autovacuum during the measurement: the freshly inserted tables would get
    # their first vacuum (minutes of CPU on 2 cores) whenever their insert threshold trips
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()
    print(
        f"city: {patients} patients in {stations} stations, built in {time.perf_counter() - started:.0f} s"
    )


def _p95(samples: list[float]) -> float:
    return (
        statistics.quantiles(samples, n=20)[-1] * 1000
        if len(samples) >= 20
        else max(samples) * 1000
    )


def _timed(call: object, n: int, expected: int = 200) -> list[float]:
    """Time ``n`` calls; each must answer ``expected`` itself (clients never follow redirects:
    a signed-in ``GET /login`` answers 303 to the worklist, and following it once made the
    "baseline" time the worklist)."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        response = call()  # type: ignore[operator]
        out.append(time.perf_counter() - t)
        assert response.status_code == expected, (response.status_code, response.text[:300])
    return out


def latencies(url: str, samples: int) -> dict[str, float]:
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        station = s.scalars(select(Organization).where(Organization.code == "B-S00000")).one()
        ids = [str(i) for i in s.scalars(
            select(Resident.id).where(Resident.managing_org_id == station.id).limit(4 * samples)
        )]  # fmt: skip
    engine.dispose()
    app = create_app(Settings(database_url=url, secret_key=SECRET))
    # the baseline is the sign-in page as an anonymous visitor sees it: no session, no table
    anonymous = TestClient(app, follow_redirects=False)
    with TestClient(app, follow_redirects=False) as c:
        token = c.post(
            "/api/v1/session", json={"username": "bench-doctor", "password": PASSWORD}
        ).json()["csrf_token"]
        html = {"accept": "text/html"}
        for _ in range(5):  # warm up
            anonymous.get("/login"), c.get("/", headers=html)
            c.get(f"/residents/{ids[0]}", headers=html)
        baseline = _timed(lambda: anonymous.get("/login"), samples)
        worklist = _timed(lambda: c.get("/", headers=html), samples)
        record = _timed(lambda: c.get(f"/residents/{random.choice(ids)}", headers=html), samples)
        pool = iter(ids[samples:])
        today = date.today().isoformat()
        save = _timed(
            lambda: c.post(
                f"/api/v1/residents/{next(pool)}/follow-ups",
                json={"visit_date": today, "sbp": 150, "dbp": 90, "fasting_glucose": 6.8,
                      "idempotency_key": uuid.uuid4().hex},
                headers={"X-CSRF-Token": token},
            ),
            samples,
            expected=201,
        )  # fmt: skip
    figures = {
        "baseline GET /login p95 ms": _p95(baseline),
        "worklist p95 ms": _p95(worklist),
        "record page p95 ms": _p95(record),
        "save follow-up p95 ms": _p95(save),
    }
    for name, value in figures.items():
        print(f"{name:32s} {value:8.1f}")
    print(
        f"{'worklist / baseline':32s} {figures['worklist p95 ms'] / figures['baseline GET /login p95 ms']:8.1f}"
    )
    return figures


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu(url: str, server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the app server (uvicorn and its workers), of the PostgreSQL client
    backends serving the bench database, of PostgreSQL's other processes on it (autovacuum: not
    a cost of the requests, but it competes for the same cores), and of this process (the load
    generator)."""
    app_pids = [server_pid] + [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _parent(int(p.name)) == server_pid
    ]
    engine = create_engine(make_url(url))
    with engine.connect() as conn:
        backends = conn.execute(
            text("SELECT pid, backend_type = 'client backend' FROM pg_stat_activity"
                 " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        ).all()  # fmt: skip
    engine.dispose()
    return {
        "app": sum(_proc_cpu(p) for p in app_pids),
        "postgres": sum(_proc_cpu(pid) for pid, client in backends if client),
        "client": time.process_time(),
        "background": sum(_proc_cpu(pid) for pid, client in backends if not client),
    }


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def load(url: str, seconds: float, clients: int, workers: int) -> None:
    port = 18765
    env = {**os.environ, "MANBING_DATABASE_URL": url, "MANBING_SECRET_KEY": SECRET}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "manbing.web.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        engine = make_engine(url)
        with make_session_factory(engine)() as s:
            station = s.scalars(select(Organization).where(Organization.code == "B-S00000")).one()
            ids = [
                str(i)
                for i in s.scalars(
                    select(Resident.id).where(Resident.managing_org_id == station.id)
                )
            ]
        engine.dispose()
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        signed_in = threading.Barrier(clients + 1)
        go = threading.Event()
        window: dict[str, float] = {}

        def worker() -> None:
            with httpx.Client(base_url=base, timeout=10) as h:
                token = h.post(
                    "/api/v1/session", json={"username": "bench-doctor", "password": PASSWORD}
                ).json()["csrf_token"]
                html = {"accept": "text/html"}
                signed_in.wait()  # sign-ins (argon2) stay out of the measured window
                go.wait()
                while time.monotonic() < window["stop"]:
                    roll = random.random()
                    rid = random.choice(ids)
                    if roll < 0.2:
                        r = h.get("/", headers=html)
                    elif roll < 0.6:
                        r = h.get(f"/residents/{rid}", headers=html)
                    elif roll < 0.8:
                        r = h.get("/api/v1/residents", params={"q": "居民1"})
                    else:
                        r = h.post(
                            f"/api/v1/residents/{rid}/follow-ups/preview",
                            json={"visit_date": date.today().isoformat(), "sbp": 150, "dbp": 90},
                            headers={"X-CSRF-Token": token},
                        )
                    with lock:
                        statuses[r.status_code] += 1

        threads = [threading.Thread(target=worker) for _ in range(clients)]
        for t in threads:
            t.start()
        signed_in.wait()
        load_before = os.getloadavg()
        before = _cpu(url, server.pid)
        started = time.monotonic()
        window["stop"] = started + seconds
        go.set()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        after = _cpu(url, server.pid)
        total = sum(statuses.values())
        errors = sum(v for k, v in statuses.items() if k >= 400)
        print(f"load: {total} requests in {elapsed:.1f} s = {total / elapsed:.0f} req/s, "
              f"{clients} clients, {workers} workers, errors {errors}, "
              f"statuses {dict(statuses)}")  # fmt: skip
        per = {k: (after[k] - before[k]) * 1000 / max(total, 1) for k in before}
        spent = per["app"] + per["postgres"] + per["client"]
        print(f"load: CPU ms per request: app {per['app']:.1f}, PostgreSQL {per['postgres']:.1f}, "
              f"load generator {per['client']:.1f}; sum {spent:.1f} "
              f"(2 cores hold at most {2000 / max(spent, 0.1):.0f} req/s)")  # fmt: skip
        print(f"load: PostgreSQL background CPU on this database {after['background'] - before['background']:.1f} s; "
              f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get(
        "MANBING_BENCH_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/manbing_bench"))  # fmt: skip
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--per-station", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--load-seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database when it already holds a city of this size (else rebuild it)",
    )
    args = parser.parse_args()
    wanted = (args.patients, max(1, args.patients // args.per_station))
    found = existing_city(args.url) if args.reuse else None
    if found == wanted:
        migrate.upgrade(args.url)  # a kept city still gets new revisions (indexes)
        print(f"city: reusing {found[0]} patients in {found[1]} stations")
    else:
        if args.reuse:
            print(f"city: --reuse found {found}, wanted {wanted}: rebuilding")
        _recreate(args.url)
        build_city(args.url, args.patients, args.per_station)
    latencies(args.url, args.samples)
    if args.load_seconds > 0:
        load(args.url, args.load_seconds, args.clients, args.workers)
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, {Path.cwd()}")


if __name__ == "__main__":
    main()
