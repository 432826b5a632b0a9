"""``manbing synth``: generate a synthetic population into the database, Parquet or FHIR."""

from __future__ import annotations

import os
import time
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Protocol

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from manbing.synth.config import DEFAULT_END_DATE, SynthConfig
from manbing.synth.generator import Batch, generate
from manbing.synth.writers.fhir import FhirMappers


class Target(StrEnum):
    DB = "db"
    PARQUET = "parquet"
    FHIR = "fhir"


class FhirFormat(StrEnum):
    NDJSON = "ndjson"
    BUNDLE = "bundle"


class _Writer(Protocol):
    rows: dict[str, int]

    def write(self, batch: Batch) -> None: ...

    def close(self) -> None: ...


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
    if app.registered_callback is None:  # keep `manbing synth …` a sub-command even when alone
        app.callback()(_root)


def _root() -> None:
    """manbing: regional chronic-disease management platform."""


def synth(
    residents: Annotated[int, typer.Option(help="number of persons to generate")] = 20_000,
    region: Annotated[
        str, typer.Option(help="county (330108), city (330100) or province code (330000)")
    ] = "330108",
    seed: Annotated[int, typer.Option(help="random seed: same seed, same output")] = 7,
    years: Annotated[int, typer.Option(help="years of care history")] = 3,
    end_date: Annotated[
        str, typer.Option(help="last day of the history (YYYY-MM-DD)")
    ] = DEFAULT_END_DATE.isoformat(),
    to: Annotated[Target, typer.Option("--to", help="db, parquet or fhir")] = Target.DB,
    directory: Annotated[Path | None, typer.Argument(help="output folder for parquet/fhir")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="defaults to MANBING_DATABASE_URL")
    ] = None,
    fault_rate: Annotated[
        float, typer.Option(help="share of records with data-quality faults")
    ] = 0.03,
    home_device_share: Annotated[
        float, typer.Option(help="share of patients with a home device")
    ] = 0.10,
    chunk_size: Annotated[int, typer.Option(help="residents per chunk (memory bound)")] = 50_000,
    fhir_format: Annotated[
        FhirFormat, typer.Option(help="ndjson or transaction bundles")
    ] = FhirFormat.NDJSON,
    bundle_size: Annotated[int, typer.Option(help="patients per transaction bundle")] = 100,
    replace: Annotated[bool, typer.Option(help="empty the target first")] = False,
    append: Annotated[
        bool, typer.Option(help="add to a database that already has residents")
    ] = False,
) -> None:
    """Generate a deterministic synthetic population for a real region."""
    config = SynthConfig(
        residents=residents,
        region=region,
        seed=seed,
        years=years,
        end_date=date.fromisoformat(end_date),
        chunk_size=chunk_size,
        fault_rate=fault_rate,
        home_device_share=home_device_share,
    )
    try:
        config.check()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console = Console(stderr=True)
    writer = _writer(to, directory, database_url, replace, append, fhir_format, bundle_size)
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]synth[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("chunks", total=config.n_chunks + 1)
        without_id = 0
        for batch in generate(config):
            writer.write(batch)
            without_id += batch.without_id
            progress.advance(task)
        writer.close()
    elapsed = time.perf_counter() - started
    total = sum(writer.rows.values())
    console.print(f"{residents} residents, {total} rows in {elapsed:.1f} s → {to.value}")
    for name, count in writer.rows.items():
        console.print(f"  {name:<26} {count:>12,}")
    if without_id:
        console.print(
            f"{without_id:,} residents have no ID number: more than 500 people of one county "
            "share their birth date and sex (GB 11643 has 500 sequence numbers per such group)"
        )


def _writer(
    to: Target, directory: Path | None, database_url: str | None, replace: bool, append: bool,
    fhir_format: FhirFormat, bundle_size: int,
) -> _Writer:  # fmt: skip
    if to is Target.DB:
        from manbing.synth.writers.db import DatabaseWriter, ensure_schema

        url = database_url or os.environ.get("MANBING_DATABASE_URL") or "sqlite:///var/manbing.db"
        ensure_schema(url)
        try:
            return DatabaseWriter(url, append=append, replace=replace)
        except RuntimeError as exc:
            raise typer.BadParameter(str(exc)) from exc
    if directory is None:
        raise typer.BadParameter(f"--to {to.value} needs an output folder")
    try:
        if to is Target.PARQUET:
            from manbing.synth.writers.parquet import ParquetWriter

            return ParquetWriter(directory, replace=replace)
        from manbing.synth.writers.fhir import FhirWriter

        return FhirWriter(
            directory,
            fhir_mappers(),
            bundle=fhir_format is FhirFormat.BUNDLE,
            bundle_size=bundle_size,
            replace=replace,
        )
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc)) from exc


def fhir_mappers() -> FhirMappers:
    """The FHIR server's row mappers, handed to the synth writer (the layers stay independent)."""
    from manbing.fhir import mappers as m

    return FhirMappers(
        patient=m.patient_from_row,
        organization=m.organization_from_row,
        practitioner=m.practitioner_from_row,
        condition=m.condition_from_enrolment,
        encounter=m.encounter_from_follow_up,
        observation=m.observation_from_row,
        medication_statement=m.medication_statement_from_row,
    )
