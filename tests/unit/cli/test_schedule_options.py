"""A bad review interval is refused before anything starts (no server, no database)."""

import pytest
import typer
from typer.testing import CliRunner

from manbing.cli import devices, ops

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    application = typer.Typer()
    devices.register(application)
    ops.register(application)
    return application


@pytest.mark.parametrize("every", ["0h", "1w", "soon"])
def test_dtx_review_refuses_a_bad_interval(app: typer.Typer, every: str) -> None:
    result = runner.invoke(app, ["dtx", "review", "--every", every])
    assert result.exit_code == 2
    assert "interval must be a positive number" in result.output


def test_serve_refuses_a_bad_review_interval(app: typer.Typer) -> None:
    result = runner.invoke(app, ["serve", "--dtx-review-every", "often"])
    assert result.exit_code == 2
    assert "interval must be a positive number" in result.output
