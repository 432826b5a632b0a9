"""The app over real loopback HTTP (uvicorn), and the demo command end to end."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx


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
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
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
