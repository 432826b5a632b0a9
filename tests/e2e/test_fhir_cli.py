"""The ``manbing fhir`` commands on the app's database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from manbing.cli import _register, app

LIZ = Path("/work/shared/data/synthea-r4/Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json")


@pytest.mark.skipif(not LIZ.is_file(), reason="shared FHIR test data not present")
def test_fhir_import_prints_counts_per_resource_and_the_rejected_entries(
    default_backend_url: str, app_db: sessionmaker[Session], tmp_path: Path
) -> None:
    _register()
    bad = tmp_path / "bad.ndjson"
    bad.write_text(
        '{"resourceType":"Observation","status":"final","code":{"coding":[{"system":'
        '"http://loinc.org","code":"4548-4"}]},"subject":{"reference":"Patient/nobody"},'
        '"effectiveDateTime":"2025-01-01","valueQuantity":{"value":6.1,"unit":"%"}}\n'
    )
    (tmp_path / "liz.json").write_bytes(LIZ.read_bytes())
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "fhir",
            "import",
            str(tmp_path),
            "--user",
            "doctor",
            "--database-url",
            default_backend_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "files: 2" in result.output
    assert "Patient 1" in result.output
    assert "Condition 1" in result.output
    assert "rejected: 1" in result.output
    assert "bad.ndjson:1 [Observation]" in result.output


def test_fhir_client_add_prints_credentials_once(
    default_backend_url: str, app_db: sessionmaker[Session]
) -> None:
    _register()
    result = CliRunner().invoke(
        app,
        [
            "fhir",
            "client",
            "add",
            "--org",
            "330108-CDC",
            "--name",
            "省平台",
            "--scope",
            "system/*.read",
            "--database-url",
            default_backend_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "client_id: mb-" in result.output
    assert "client_secret: " in result.output
    refused = CliRunner().invoke(
        app,
        [
            "fhir",
            "client",
            "add",
            "--org",
            "nowhere",
            "--name",
            "x",
            "--database-url",
            default_backend_url,
        ],
    )
    assert refused.exit_code == 2


def test_fhir_import_refuses_a_file_with_a_nul_character_and_says_why(
    default_backend_url: str, app_db: sessionmaker[Session], tmp_path: Path
) -> None:
    _register()
    (tmp_path / "nul.json").write_text(
        '{"resourceType":"Patient","name":[{"text":"\\u0000"}],"birthDate":"1960-01-01"}'
    )
    result = CliRunner().invoke(
        app,
        [
            "fhir",
            "import",
            str(tmp_path),
            "--user",
            "doctor",
            "--database-url",
            default_backend_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "rejected: 1" in result.output
    assert "NUL character (U+0000)" in result.output
    assert "created:" not in result.output
