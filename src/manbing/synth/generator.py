"""The generator: static tables first, then one batch of tables per chunk of residents.

Each chunk is seeded from ``(seed, chunk index)``. Chunks are generated in order, in one process:
the only state carried from one chunk to the next is the ID and record sequence numbers already
handed out (``Sequences``), so the same config and seed always give the same output.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from manbing.synth import tables
from manbing.synth.care import followed_patients, simulate_visits
from manbing.synth.census import census_columns
from manbing.synth.checks import health_check_columns, screening_columns
from manbing.synth.config import SynthConfig
from manbing.synth.contracts import contract_columns
from manbing.synth.dates import stamp
from manbing.synth.disease import PROGRAMMES, Conditions, draw_conditions
from manbing.synth.divisions import build_tree
from manbing.synth.faults import residents_with_faults
from manbing.synth.followups import (
    follow_up_columns,
    medication_columns,
    regimen,
    statement_columns,
)
from manbing.synth.observations import clinic_columns, device_columns
from manbing.synth.orgs import Registry, build_registry
from manbing.synth.population import People, draw_people
from manbing.synth.referrals import referral_columns
from manbing.synth.sequences import Sequences


@dataclass
class Batch:
    """Tables of one chunk (``chunk == -1``: the organisation tree and other static tables).

    ``truth`` holds what the records alone do not show (true disease status, fault flags), for
    tests and documentation; it is not part of the database.
    """

    chunk: int
    tables: dict[str, pa.Table]
    truth: pa.Table | None = None
    without_id: int = 0  # residents left without an ID number (their birth-date cell was full)

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())


def generate(config: SynthConfig) -> Iterator[Batch]:
    config.check()
    tree = build_tree(config.region, config.residents)
    when = stamp(config.end_date)
    reg = build_registry(config, tree, when)
    census = tables.build("census_populations", census_columns(config, reg, config.end_date), when)
    yield Batch(-1, {**reg.tables, "census_populations": census})
    seq = start_sequences(config, reg)
    for chunk in range(config.n_chunks):
        yield generate_chunk(config, reg, chunk, seq)


def start_sequences(config: SynthConfig, reg: Registry) -> Sequences:
    """No ID or record number handed out yet: the state before chunk 0."""
    return Sequences.start(config, reg.community_county, reg.community_codes)


def chunk_sizes(config: SynthConfig) -> list[int]:
    full, rest = divmod(config.residents, config.chunk_size)
    return [config.chunk_size] * full + ([rest] if rest else [])


def generate_chunk(config: SynthConfig, reg: Registry, chunk: int, seq: Sequences) -> Batch:
    """Chunk ``chunk``; ``seq`` must hold the numbers taken by chunks ``0 … chunk-1``."""
    n = chunk_sizes(config)[chunk]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([config.seed, chunk])))
    when = stamp(config.end_date)
    before = seq.without_id
    people = draw_people(config, reg, seq, n, rng)
    cond = draw_conditions(config, reg, people, rng)
    pat = followed_patients(config, people, cond, rng)
    visits = simulate_visits(config, people, pat, rng)
    follow = follow_up_columns(config, reg, people, pat, visits, rng)
    drugs = regimen(pat, rng)
    devices, home = device_columns(config, people, pat, rng)
    referrals, events = referral_columns(reg, people, visits, follow, rng)
    residents, identifiers = residents_with_faults(
        config, people, people.duplicates, people.duplicate_records, rng
    )
    clinic = clinic_columns(reg, people, visits, follow, rng)
    columns: dict[str, dict[str, object]] = {
        "residents": residents,
        "resident_identifiers": identifiers,
        "contracts": contract_columns(config, reg, people, cond, rng),
        "enrolments": cond.tables["enrolments"],
        "enrolment_status_changes": cond.tables["enrolment_status_changes"],
        "follow_ups": follow,
        "follow_up_medications": medication_columns(pat, visits, drugs, rng),
        "devices": devices,
        "observations": _stack("observations", clinic, home),
        "medication_statements": statement_columns(config, people, pat, drugs, rng),
        "health_checks": health_check_columns(config, reg, people, cond, rng),
        "screening_results": screening_columns(config, reg, people, cond, rng),
        "referrals": referrals,
        "referral_events": events,
    }
    built = {
        name: tables.build(name, columns[name], when)
        for name in tables.TABLE_ORDER
        if name in columns
    }
    truth = _truth(people, cond)
    return Batch(chunk, built, truth, without_id=seq.without_id - before)


def _stack(name: str, first: dict[str, object], second: dict[str, object]) -> dict[str, object]:
    """Rows of ``first`` then ``second``; a column only one side has is null on the other."""
    sch = tables.schema(name)
    n1, n2 = (
        len(tables.to_arrow(first["id"], pa.string())),
        len(tables.to_arrow(second["id"], pa.string())),
    )
    out: dict[str, object] = {}
    for key in first.keys() | second.keys():
        typ = sch.field(key).type
        a = tables.to_arrow(first[key], typ) if key in first else pa.nulls(n1, typ)
        b = tables.to_arrow(second[key], typ) if key in second else pa.nulls(n2, typ)
        out[key] = pa.concat_arrays([a, b])
    return out


def _truth(people: People, cond: Conditions) -> pa.Table:
    cols: dict[str, object] = {
        "resident_id": people.resident_id,
        "age": people.age_end,
        "male": people.male,
        "dead": people.death < 2**40,
    }
    for prog in PROGRAMMES:
        cols[f"has_{prog.value}"] = cond.has[prog]
        cols[f"aware_{prog.value}"] = cond.aware[prog]
        cols[f"enrolled_{prog.value}"] = cond.enrolled[prog]
    cols["lost"] = cond.lost_day < 2**40
    return pa.table({k: pa.array(v) if not isinstance(v, pa.Array) else v for k, v in cols.items()})
