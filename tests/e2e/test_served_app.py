"""The app over real loopback HTTP (uvicorn), and the demo command end to end."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.conftest import wait_for_server


def test_the_served_app_answers_the_login_page_over_http(live_server: str) -> None:
    response = httpx.get(f"{live_server}/login", timeout=10)
    assert response.status_code == 200
    assert "登录" in response.text
    assert (
        httpx.get(f"{live_server}/api/openapi.json", timeout=10)
        .json()["info"]["title"]
        .startswith("manbing")
    )


def test_the_demo_command_prepares_a_district_prints_logins_and_serves(tmp_path: Path) -> None:
    manbing = Path(sys.executable).parent / "manbing"
    env = {
        **os.environ,
        "MANBING_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "COLUMNS": "200",
    }
    env.pop("MANBING_MODE", None)
    prepared = subprocess.run(
        [str(manbing), "demo", "--no-serve", "--residents", "3000"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert prepared.returncode == 0, prepared.stderr
    for username in ("doctor", "manager", "cdc", "patient"):
        assert username in prepared.stdout
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen(
        [str(manbing), "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        page = wait_for_server(port, server, seconds=60)
        assert page.status_code == 200 and "登录" in page.text
        signed_in = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/session",
            json={"username": "doctor", "password": "manbing-demo"},
            timeout=10,
        )
        assert signed_in.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
