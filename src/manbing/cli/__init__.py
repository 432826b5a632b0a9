"""The ``manbing`` command line. Each area registers its own typer sub-app here."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="manbing: regional chronic-disease management platform", no_args_is_help=True
)


def _register() -> None:
    """Attach every area's sub-commands (imported lazily so ``--help`` stays fast)."""
    from manbing.cli import analytics, clinical, devices, fhir, legacy_import, mpi, ops, synth

    ops.register(app)
    clinical.register(app)
    synth.register(app)
    devices.register(app)
    fhir.register(app)
    analytics.register(app)
    mpi.register(app)
    legacy_import.register(app)


def main() -> None:
    _register()
    app()
