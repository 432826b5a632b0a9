"""Indicators computed from generated tables (independently of the generator's internals)."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa

from manbing.synth.generator import Batch


def concat(batches: list[Batch], name: str) -> pa.Table:
    return pa.concat_tables([b.tables[name] for b in batches if name in b.tables])


def truth(batches: list[Batch]) -> pa.Table:
    return pa.concat_tables([b.truth for b in batches if b.truth is not None])


def connect(batches: list[Batch]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    names = {n for b in batches for n in b.tables}
    for name in names:
        con.register(name, concat(batches, name))
    con.register("truth", truth(batches))
    return con


def htn_management(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, float]:
    """Managed hypertension patients of ``year``: enrolled before it, not dead/moved in it.

    Controlled: latest follow-up of the year with BP < 140/90 (< 150/90 at ≥65); lost patients
    count as not controlled. Standard: ≥ 4 completed follow-ups in the year.
    """
    y0, y1 = date(year, 1, 1), date(year, 12, 31)
    row = con.execute(
        """
        with managed as (
            select e.resident_id, r.birth_date from enrolments e join residents r on r.id = e.resident_id
            where e.programme = 'hypertension' and e.enrolled_on < $y0
              and not (e.status in ('dead', 'transferred') and e.status_date <= $y1)
              and not (e.status = 'lost' and e.status_date < $y0)
        ), visits as (
            select f.resident_id, f.visit_date, f.sbp, f.dbp, f.outcome,
                   row_number() over (partition by f.resident_id order by f.visit_date desc, f.outcome) as rn
            from follow_ups f
            where f.visit_date between $y0 and $y1 and f.form in ('hypertension', 'combined')
        ), per as (
            select m.resident_id,
                   count(*) filter (where v.outcome = 'done') as n_done,
                   bool_or(v.outcome = 'lost') as lost,
                   any_value(v.sbp) filter (where v.rn = 1) as sbp,
                   any_value(v.dbp) filter (where v.rn = 1) as dbp,
                   date_diff('year', any_value(m.birth_date), $y1) as age
            from managed m left join visits v using (resident_id)
            group by m.resident_id
        )
        select count(*),
               avg(case when not coalesce(lost, false) and sbp < (case when age >= 65 then 150 else 140 end) and dbp < 90 then 1 else 0 end),
               avg(case when n_done >= 4 then 1 else 0 end),
               avg(case when coalesce(lost, false) then 1 else 0 end)
        from per
        """,
        {"y0": y0, "y1": y1},
    ).fetchone()
    assert row is not None
    return {"managed": row[0], "controlled": row[1], "standard": row[2], "lost": row[3]}


def fpg_control(con: duckdb.DuckDBPyConnection, year: int) -> float:
    y0, y1 = date(year, 1, 1), date(year, 12, 31)
    row = con.execute(
        """
        with last as (
            select resident_id, arg_max(fasting_glucose, visit_date) as fpg from follow_ups
            where visit_date between $y0 and $y1 and form in ('diabetes', 'combined') and outcome = 'done'
            group by resident_id
        )
        select avg(case when fpg < 7.0 then 1 else 0 end) from last
        """,
        {"y0": y0, "y1": y1},
    ).fetchone()
    assert row is not None
    return float(row[0])
