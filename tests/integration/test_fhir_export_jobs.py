"""$export jobs survive a restart: state in the database, files on disk, stale jobs marked failed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from manbing.config import Settings
from manbing.db.models import FhirExportJob, User
from manbing.services.clock import FixedClock
from manbing.services.demo_accounts import DEMO_PASSWORD, create_demo_accounts
from manbing.web.app import create_app
from tests.conftest import NOW, District

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def _app(backend_url: str, export_dir: Path) -> TestClient:
    settings = Settings(database_url=backend_url, export_dir=export_dir)
    return TestClient(create_app(settings, clock=FixedClock(NOW)))


def _login(client: TestClient, username: str = "doctor") -> str:
    response = client.post(
        "/api/v1/session", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def _poll(client: TestClient, location: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = client.get(location)
        if status.status_code == 200:
            manifest: dict[str, object] = status.json()
            return manifest
        assert status.status_code == 202, status.text
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def test_polling_and_download_work_across_a_restart_and_a_job_left_running_fails(
    district: District, backend_url: str, tmp_path: Path
) -> None:
    with district.session_factory() as session:
        create_demo_accounts(session)
        session.commit()
        doctor_id = session.scalars(select(User.id).where(User.username == "doctor")).one()
    with _app(backend_url, tmp_path) as first:
        _login(first)
        kick_off = first.get("/fhir/Patient/$export", params={"_type": "Patient"}, headers=ASYNC)
        assert kick_off.status_code == 202, kick_off.text
        location = kick_off.headers["content-location"]
        manifest = _poll(first, location)
        [output] = manifest["output"]  # type: ignore[misc]
        before = first.get(output["url"]).content
        assert before and json.loads(before.splitlines()[0])["resourceType"] == "Patient"
    job_id = location.rsplit("/", 1)[1]
    with district.session_factory() as session:  # a job whose server died mid-way
        session.add(
            FhirExportJob(
                id=uuid.uuid4().hex,
                user_id=doctor_id,
                status="running",
                request_url="http://testserver/fhir/$export",
                started_at=NOW,
            )
        )
        session.commit()
        stale_id = session.scalars(
            select(FhirExportJob.id).where(FhirExportJob.status == "running")
        ).one()

    with _app(backend_url, tmp_path) as second:  # the restarted server: a new app, the same DB
        token = _login(second)
        again = second.get(location)
        assert again.status_code == 200
        assert again.json() == manifest
        assert second.get(output["url"]).content == before
        failed = second.get(f"/fhir/$export-status/{stale_id}")
        assert failed.status_code == 500
        outcome = failed.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert "restarted" in outcome["issue"][0]["diagnostics"]
        assert second.get(f"/fhir/$export-file/{stale_id}/Patient.ndjson").status_code == 404
        for path in (
            "/fhir/$export-status/nosuchjob",
            f"/fhir/$export-status/{job_id}x",
            f"/fhir/$export-file/{job_id}/Observation.ndjson",
            f"/fhir/$export-file/{job_id}/..%2Fjob.json",
        ):
            missing = second.get(path)
            assert missing.status_code == 404, path
            assert missing.json()["resourceType"] == "OperationOutcome"
        deleted = second.delete(location, headers={"X-CSRF-Token": token})
        assert deleted.status_code == 202, deleted.text
        assert second.get(location).status_code == 404
        assert not (tmp_path / "fhir" / job_id).exists()
    with district.session_factory() as session:
        stale = session.get(FhirExportJob, stale_id)
        assert stale is not None and stale.status == "failed" and stale.finished_at is not None
        assert session.get(FhirExportJob, job_id) is None


def test_another_user_cannot_poll_a_job(
    district: District, backend_url: str, tmp_path: Path
) -> None:
    with district.session_factory() as session:
        create_demo_accounts(session)
        session.commit()
    with _app(backend_url, tmp_path) as app:
        _login(app)
        kick_off = app.get("/fhir/Patient/$export", params={"_type": "Patient"}, headers=ASYNC)
        location = kick_off.headers["content-location"]
        _poll(app, location)
    with _app(backend_url, tmp_path) as other:
        _login(other, "manager")
        refused = other.get(location)
        assert refused.status_code == 404
        assert refused.json()["resourceType"] == "OperationOutcome"
        assert other.get(f"{location.replace('status', 'file')}/Patient.ndjson").status_code == 404


def test_a_job_of_a_live_sibling_process_is_left_running_until_its_heartbeat_stops(
    district: District, backend_url: str, tmp_path: Path
) -> None:
    """Several server processes share the database: starting one must not fail the jobs of
    another that is still running them; a dead process's jobs fail at once."""
    with district.session_factory() as session:
        create_demo_accounts(session)
        session.commit()
        doctor_id = session.scalars(select(User.id).where(User.username == "doctor")).one()
    host = socket.gethostname()[:80]
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    owners = {
        "sibling": f"{host}:{os.getppid()}:sibling0000",  # the test runner's parent: alive
        "dead": f"{host}:{dead_pid.pid}:dead00000000",
        "elsewhere": "another-host:4242:remote000000",
    }
    beats = {"sibling": NOW, "dead": NOW, "elsewhere": NOW - timedelta(minutes=10)}
    ids = {key: uuid.uuid4().hex for key in owners}
    with district.session_factory() as session:
        for key, job_id in ids.items():
            session.add(
                FhirExportJob(
                    id=job_id,
                    user_id=doctor_id,
                    status="running",
                    request_url="http://testserver/fhir/$export",
                    started_at=NOW,
                    owner=owners[key],
                    heartbeat_at=beats[key],
                )
            )
        session.commit()
    with _app(backend_url, tmp_path) as app:  # starting up recovers orphaned jobs
        _login(app)
        assert app.get(f"/fhir/$export-status/{ids['sibling']}").status_code == 202
        for key in ("dead", "elsewhere"):
            assert app.get(f"/fhir/$export-status/{ids[key]}").status_code == 500, key
        with district.session_factory() as session:  # the sibling hangs: no heartbeat
            job = session.get(FhirExportJob, ids["sibling"])
            assert job is not None and job.status == "running"
            job.heartbeat_at = NOW - timedelta(minutes=4)
            session.commit()
        failed = app.get(f"/fhir/$export-status/{ids['sibling']}")
        assert failed.status_code == 500
        assert "stopped or restarted" in failed.json()["issue"][0]["diagnostics"]
