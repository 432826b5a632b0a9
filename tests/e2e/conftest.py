"""End-to-end fixtures: the real app on the default back-end, in-process and over loopback HTTP."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from manbing.config import Settings
from manbing.db.session import make_engine, make_session_factory
from manbing.services.clock import FixedClock
from manbing.services.demo_accounts import DEMO_PASSWORD, create_demo_accounts
from manbing.web.app import create_app
from tests.conftest import NOW, TODAY, _truncate_all


@pytest.fixture
def app_db(default_backend_url: str) -> Iterator[sessionmaker[Session]]:
    """The default back-end, emptied, holding the fixed district and the demo accounts."""
    from manbing.synth import fixed_district

    engine = make_engine(default_backend_url)
    _truncate_all(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        fixed_district.build(session, today=TODAY, residents_per_station=8)
        create_demo_accounts(session)
        session.commit()
    yield factory
    engine.dispose()


@pytest.fixture
def settings(default_backend_url: str, app_db: sessionmaker[Session], tmp_path: Path) -> Settings:
    return Settings(database_url=default_backend_url, export_dir=tmp_path / "exports")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=FixedClock(NOW))) as c:
        yield c


def login(client: TestClient, username: str = "doctor", password: str = DEMO_PASSWORD) -> str:
    """Sign in over the API; return the CSRF token for unsafe calls."""
    response = client.post("/api/v1/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def send_referral(client: TestClient, token: str, resident_id: str) -> dict[str, Any]:
    """A routine up-referral of ``resident_id`` to the first hospital, sent over the API; the
    answer, with the hospital's id added as ``hospital_id``."""
    hospital = client.get("/api/v1/hospitals").json()[0]["id"]
    response = client.post(
        "/api/v1/referrals",
        json={"resident_id": resident_id, "to_org_id": hospital, "urgency": "routine",
              "reason_text": "血压控制不佳"},
        headers={"X-CSRF-Token": token},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    referral: dict[str, Any] = response.json()
    referral["hospital_id"] = hospital
    return referral


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_server(
    port: int,
    server: subprocess.Popen[bytes],
    *,
    seconds: float,
    ready: Callable[[], bool] = lambda: True,
) -> httpx.Response:
    """Poll ``/login`` of a server subprocess until it answers and ``ready()`` holds; fails
    when the process exits or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
            if ready():
                return page
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise AssertionError(f"the server on port {port} did not start")
        time.sleep(0.3)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The app served by uvicorn on a loopback port, in a thread."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
