"""A hand-built population written straight to a Parquet warehouse (the shared layout).

Org tree: commission (330108) → centre X (330108001000) → station S1 (330108001001) and
station S2 (330108001002); team T at S1. Every expected value in the analytics tests is worked
out from the rows below.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import manbing.db.models  # noqa: F401  (registers every table)
from manbing.analytics.warehouse import WAREHOUSE_TABLES, arrow_schema
from manbing.db.base import Base

STAMP = datetime(2026, 10, 1, tzinfo=UTC)


def _id() -> str:
    return str(uuid.uuid4())


class Population:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in WAREHOUSE_TABLES}
        self.commission = self.org("commission", "330108", None, "health_commission")
        self.centre = self.org("centre X", "330108001000", self.commission, "community_centre")
        self.s1 = self.org("station S1", "330108001001", self.centre, "station")
        self.s2 = self.org("station S2", "330108001002", self.centre, "station")
        self.team = _id()
        self.rows["teams"].append(
            {"id": self.team, "name": "T", "organization_id": self.s1[0], "active": True}
        )
        self.residents: dict[str, str] = {}

    def org(
        self, name: str, division: str, parent: tuple[str, str] | None, kind: str
    ) -> tuple[str, str]:
        oid = _id()
        path = (parent[1] if parent else "/") + uuid.UUID(oid).hex + "/"
        self.rows["organizations"].append(
            {
                "id": oid,
                "code": name,
                "name": name,
                "type": kind,
                "division_code": division,
                "parent_id": parent[0] if parent else None,
                "path": path,
                "active": True,
            }
        )
        return oid, path

    def resident(
        self,
        key: str,
        born: date,
        sex: str,
        station: tuple[str, str],
        *,
        status: str = "active",
        status_date: date | None = None,
        cause: str | None = None,
        name: str | None = None,
        address: str | None = None,
        phone: str | None = None,
        **flags: bool,
    ) -> str:
        rid = _id()
        self.residents[key] = rid
        self.rows["residents"].append(
            {
                "id": rid,
                "record_number": key,
                "name": name or key,
                "address": address,
                "phone": phone,
                "sex": sex,
                "birth_date": born,
                "division_code": "330108001001",
                "managing_org_id": station[0],
                "status": status,
                "status_date": status_date,
                "death_cause_icd10": cause,
                "registered_on": date(2015, 1, 1),
                "severe_mental_disorder": flags.get("severe_mental_disorder", False),
                "pregnant": flags.get("pregnant", False),
                "disability": flags.get("disability", False),
                "version": 1,
            }
        )
        return rid

    def enrol(
        self,
        key: str,
        programme: str,
        station: tuple[str, str],
        enrolled: date = date(2020, 1, 1),
        *,
        status: str = "active",
        status_date: date | None = None,
        team: bool = False,
    ) -> None:
        self.rows["enrolments"].append(
            {
                "id": _id(),
                "resident_id": self.residents[key],
                "programme": programme,
                "enrolled_on": enrolled,
                "managing_org_id": station[0],
                "team_id": self.team if team else None,
                "status": status,
                "status_date": status_date or enrolled,
                "created_at": STAMP,
                "updated_at": STAMP,
            }
        )

    def visit(
        self,
        key: str,
        form: str,
        day: date,
        *,
        sbp: int | None = None,
        dbp: int | None = None,
        fpg: float | None = None,
        outcome: str = "done",
        **extra: Any,
    ) -> None:
        self.rows["follow_ups"].append(
            {
                "id": _id(),
                "resident_id": self.residents[key],
                "form": form,
                "visit_date": day,
                "outcome": outcome,
                "sbp": sbp,
                "dbp": dbp,
                "fasting_glucose": fpg,
                "organization_id": self.s1[0],
                "adverse_reaction": False,
                "new_complication": False,
                "created_at": STAMP,
                "updated_at": STAMP,
                **extra,
            }
        )

    def contract(self, key: str, start: date, end: date, status: str = "active") -> None:
        self.rows["contracts"].append(
            {
                "id": _id(),
                "resident_id": self.residents[key],
                "team_id": self.team,
                "package_id": _id(),
                "start_date": start,
                "end_date": end,
                "status": status,
            }
        )

    def referral(
        self, key: str, day: date, direction: str = "up", status: str = "requested"
    ) -> None:
        self.rows["referrals"].append(
            {
                "id": _id(),
                "resident_id": self.residents[key],
                "direction": direction,
                "urgency": "routine",
                "from_org_id": self.s1[0],
                "to_org_id": self.commission[0],
                "status": status,
                "created_at": datetime(day.year, day.month, day.day, 2, tzinfo=UTC),
                "updated_at": STAMP,
            }
        )

    def health_check(self, key: str, day: date) -> None:
        self.rows["health_checks"].append(
            {
                "id": _id(),
                "resident_id": self.residents[key],
                "check_date": day,
                "organization_id": self.s1[0],
            }
        )

    def census(
        self, year: int, sex: str, age_from: int, age_to: int | None, population: int
    ) -> None:
        self.rows["census_populations"].append(
            {
                "division_code": "330108",
                "year": year,
                "sex": sex,
                "age_from": age_from,
                "age_to": age_to,
                "population": population,
                "imported_at": STAMP,
            }
        )

    def write(self, directory: Path) -> Path:
        for name in WAREHOUSE_TABLES:
            schema = arrow_schema(Base.metadata.tables[name])
            rows = [{f.name: r.get(f.name) for f in schema} for r in self.rows[name]]
            folder = directory / name
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "part-00000.parquet")
        return directory


def standard_population() -> Population:
    """The population of the analytics tests (see the module docstring of each test)."""
    p = Population()
    s1, s2 = p.s1, p.s2
    # Hypertension at S1 (2026Q3: 92 days, so a full-quarter patient needs 2 visit days).
    p.resident("A", date(1950, 8, 1), "M", s1)  # 76 at visits: target 150/90
    p.enrol("A", "hypertension", s1, team=True)
    p.visit("A", "hypertension", date(2026, 7, 5), sbp=160, dbp=95)
    p.visit("A", "hypertension", date(2026, 9, 10), sbp=145, dbp=85)  # controlled (≥65)
    p.resident("B", date(1970, 1, 1), "F", s1)
    p.enrol("B", "hypertension", s1, team=True)
    p.visit("B", "hypertension", date(2026, 8, 1), sbp=138, dbp=88)  # controlled, 1 visit
    p.resident("C", date(1961, 9, 20), "M", s1)  # 64 on 2026-09-15: target 140/90
    p.enrol("C", "hypertension", s1)
    p.visit("C", "hypertension", date(2026, 7, 10), sbp=135, dbp=85)
    p.visit("C", "combined", date(2026, 9, 15), sbp=145, dbp=85)  # not controlled
    p.resident("D", date(1960, 6, 1), "F", s1)
    p.enrol("D", "hypertension", s1)
    p.visit("D", "hypertension", date(2026, 7, 20), sbp=130, dbp=80)
    p.visit("D", "hypertension", date(2026, 9, 20), outcome="lost")  # lost: not controlled
    p.resident("E", date(1990, 1, 1), "F", s1)
    p.enrol("E", "hypertension", s1, date(2026, 9, 1))  # 30 days enrolled: needs 1 visit
    p.visit("E", "hypertension", date(2026, 9, 5), sbp=120, dbp=70)
    p.resident("F", date(1985, 5, 5), "F", s1)
    p.enrol("F", "hypertension", s1)
    p.visit("F", "hypertension", date(2026, 6, 30), sbp=120, dbp=70)  # before the period
    p.resident("G", date(1955, 1, 1), "M", s1, status="dead", status_date=date(2026, 5, 1))
    p.enrol("G", "hypertension", s1, status="dead", status_date=date(2026, 5, 1))
    p.visit("G", "hypertension", date(2026, 7, 1), sbp=120, dbp=70)  # ended before: ignored
    # Type 2 diabetes at S2.
    for key, fpg in (("P", 6.9), ("Q", 7.0), ("R", None)):
        p.resident(key, date(1980, 3, 3), "M", s2)
        p.enrol(key, "t2dm", s2)
        p.visit(key, "diabetes", date(2026, 7, 15), fpg=8.0)
        p.visit(key, "diabetes", date(2026, 8, 15), fpg=fpg)
    p.resident("Y", date(1996, 1, 1), "F", s2)  # 30, in no key population
    # Deaths for premature mortality (mid-point of 2026Q3 is 2026-08-15).
    p.resident(
        "Z", date(1966, 1, 1), "M", s2, status="dead", status_date=date(2026, 8, 10), cause="I21.9"
    )
    p.resident(
        "W", date(1976, 1, 1), "M", s2, status="dead", status_date=date(2026, 8, 1), cause="S72.0"
    )
    p.resident(
        "V", date(1950, 1, 1), "M", s2, status="dead", status_date=date(2026, 8, 1), cause="C34.1"
    )
    # Contracts (period end 2026-09-30).
    p.contract("A", date(2026, 1, 1), date(2026, 12, 31))
    p.contract("B", date(2025, 1, 1), date(2025, 12, 31), "expired")
    p.contract("C", date(2026, 1, 1), date(2026, 12, 31), "terminated")
    p.contract("P", date(2026, 6, 1), date(2027, 5, 31))
    # Health checks of the elderly.
    p.health_check("A", date(2026, 8, 1))
    p.health_check("C", date(2026, 6, 30))
    return p
