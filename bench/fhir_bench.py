"""FHIR import and $export rates on PostgreSQL, beside raw insert/read of the same rows.

    .venv/bin/python bench/fhir_bench.py [--patients 300] [--url postgresql+psycopg://...]

Creates a scratch database on the server (dropped at the end), builds the fixed district, writes
generated transaction Bundles (one per patient: Patient, a Condition, BP/glucose/HbA1c/lipid/
weight observations), then measures in the same run:
- import: ``manbing.fhir.importer.import_path`` (resources/s) vs a raw SQLAlchemy Core
  ``INSERT … executemany`` of the same rows (rows/s);
- export: the NDJSON writer of ``$export`` (resources/s) vs a raw ``SELECT`` of the same rows.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, insert, select, text
from sqlalchemy.engine import make_url

from manbing.db import migrate
from manbing.db.models import Condition, Observation, Resident, ResidentIdentifier
from manbing.db.session import make_engine, make_session_factory
from manbing.domain.identity import check_character
from manbing.domain.organisations import Role
from manbing.fhir import export, importer
from manbing.services import auth
from manbing.services.clock import FixedClock
from manbing.services.organisations import add_user
from manbing.services.unit_of_work import UnitOfWork
from manbing.synth import fixed_district

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
LOINC = "http://loinc.org"


def _id_number(rng: random.Random, n: int) -> tuple[str, date]:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 40))
    first17 = f"330108{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_character(first17), born


def _quantity(code: str, value: float, unit: str, when: str, ref: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": ref},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "code": unit},
    }


def bundle_for(rng: random.Random, n: int) -> dict[str, Any]:
    number, _ = _id_number(rng, n)
    ref = f"urn:uuid:{uuid.UUID(int=n + 1)}"
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": ref,
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": number}],
                "name": [{"text": f"测试{chr(0x4E00 + n % 5000)}{chr(0x4E00 + n // 5000)}"}],
            },
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "resource": {
                "resourceType": "Condition",
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
                "subject": {"reference": ref},
                "onsetDateTime": "2015-03-01",
            },
            "request": {"method": "POST", "url": "Condition"},
        },
    ]
    for visit in range(3):
        when = f"202{visit + 3}-0{visit + 3}-1{visit}T09:00:00+08:00"
        bp = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
            "subject": {"reference": ref},
            "effectiveDateTime": when,
            "component": [
                {
                    "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                    "valueQuantity": {"value": rng.randint(110, 170), "unit": "mmHg"},
                },
                {
                    "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                    "valueQuantity": {"value": rng.randint(60, 100), "unit": "mmHg"},
                },
            ],
        }
        for resource in (
            bp,
            _quantity("2339-0", rng.uniform(80, 200), "mg/dL", when, ref),
            _quantity("4548-4", rng.uniform(5, 9), "%", when, ref),
            _quantity("2093-3", rng.uniform(3, 7), "mmol/L", when, ref),
            _quantity("29463-7", rng.uniform(50, 90), "kg", when, ref),
        ):
            entries.append(
                {"resource": resource, "request": {"method": "POST", "url": "Observation"}}
            )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    server = make_url(args.url)
    name = f"fhir_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        run(url, args.patients)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, patients: int) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = FixedClock(NOW)
    with factory() as session:
        built = fixed_district.build(session, today=NOW.date(), residents_per_station=0)
        user = add_user(
            session,
            username="bench",
            password="bench-password",
            display_name="bench",
            role=Role.CENTRE_MANAGER,
            organization=built.organizations["xixing"],
        )
        session.flush()
        actor = auth.actor_for(session, user)
        session.commit()
    rng = random.Random(6)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for n in range(patients):
            (folder / f"p{n:06d}.json").write_text(json.dumps(bundle_for(rng, n)))
        start = time.perf_counter()
        report = importer.import_path(lambda: UnitOfWork(factory), actor, clock, folder)
        import_seconds = time.perf_counter() - start
        imported = sum(report.created.values())
        assert not report.rejected, report.rejected[:3]

        tables = [
            Resident.__table__,
            ResidentIdentifier.__table__,
            Observation.__table__,
            Condition.__table__,
        ]
        with engine.connect() as conn:
            start = time.perf_counter()
            rows = {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in tables}
            read_seconds = time.perf_counter() - start
        raw_rows = sum(len(v) for v in rows.values())

        copies = _fresh_copies(rows)
        with engine.begin() as conn:
            start = time.perf_counter()
            for table in tables:
                conn.execute(insert(table), copies[table.name])
            insert_seconds = time.perf_counter() - start
            for table in reversed(tables):
                ids = [r["id"] for r in copies[table.name]]
                conn.execute(delete(table).where(table.c.id.in_(ids)))

        out = Path(tmp) / "out"
        out.mkdir()
        start = time.perf_counter()
        counts = export.run_now(
            lambda: UnitOfWork(factory), clock, actor, out, ("Patient", "Observation", "Condition")
        )
        export_seconds = time.perf_counter() - start
        exported = sum(counts.values())
    engine.dispose()
    print(f"patients: {patients}; resources imported: {imported}; rows: {raw_rows}")
    print(
        f"import  {imported / import_seconds:10.0f} resources/s   "
        f"raw insert {raw_rows / insert_seconds:10.0f} rows/s   "
        f"ratio {(imported / import_seconds) / (raw_rows / insert_seconds):.3f}"
    )
    print(
        f"export  {exported / export_seconds:10.0f} resources/s   "
        f"raw read   {raw_rows / read_seconds:10.0f} rows/s   "
        f"ratio {(exported / export_seconds) / (raw_rows / read_seconds):.3f}"
    )


def _fresh_copies(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The same rows with new keys and unique values, so they insert beside the originals."""
    new_ids = {r["id"]: uuid.uuid4() for r in rows["residents"]}
    residents = [
        {
            **r,
            "id": new_ids[r["id"]],
            "record_number": "R" + r["record_number"][1:],
            "id_number": None,
        }
        for r in rows["residents"]
    ]
    identifiers = [
        {
            **r,
            "id": uuid.uuid4(),
            "resident_id": new_ids[r["resident_id"]],
            "value": r["value"] + "-copy",
        }
        for r in rows["resident_identifiers"]
    ]
    observations = [
        {**r, "id": uuid.uuid4(), "resident_id": new_ids[r["resident_id"]]}
        for r in rows["observations"]
    ]
    conditions = [
        {**r, "id": uuid.uuid4(), "resident_id": new_ids[r["resident_id"]]}
        for r in rows["conditions"]
    ]
    return {
        "residents": residents,
        "resident_identifiers": identifiers,
        "observations": observations,
        "conditions": conditions,
    }


if __name__ == "__main__":
    main()
