"""``manbing devices``: the MQTT gateway and the simulated fleet."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from manbing.config import Settings
from manbing.db.session import make_engine, make_session_factory
from manbing.services.clock import SystemClock
from manbing.services.devices import SimulatedDevice, provision_simulated_fleet
from manbing.services.unit_of_work import UnitOfWork

devices_app = typer.Typer(help="Home devices: MQTT gateway and simulator.", no_args_is_help=True)


@devices_app.command("serve")
def serve(
    mqtt_url: Annotated[str | None, typer.Option(help="default: MANBING_MQTT_URL")] = None,
    client_id: Annotated[str, typer.Option(help="fixed id of the persistent session")] = (
        "manbing-gateway"
    ),
    protocol: Annotated[str, typer.Option(help="MQTT protocol: 5 or 3.1.1")] = "5",
    batch_max: Annotated[int, typer.Option(min=1, max=20_000)] = 5000,
    log_level: Annotated[str, typer.Option()] = "INFO",
) -> None:
    """Subscribe to manbing/v1/devices/+/readings (QoS 1) and store readings exactly once."""
    from manbing.devices.gateway import Gateway, GatewayConfig

    if protocol not in ("5", "3.1.1"):
        raise typer.BadParameter("protocol must be 5 or 3.1.1")
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    settings = Settings()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    config = GatewayConfig(
        mqtt_url or settings.mqtt_url, client_id=client_id, protocol=protocol, batch_max=batch_max
    )
    gateway = Gateway(config, lambda: UnitOfWork(factory), SystemClock())

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await gateway.run(stop)

    try:
        asyncio.run(main())
    finally:
        engine.dispose()
    typer.echo(f"gateway stopped: {gateway.stored} readings stored, {gateway.rejected} rejected")


def load_or_provision(
    path: Path, count: int, database_url: str | None = None
) -> list[SimulatedDevice]:
    """The fleet in ``path`` if it holds ``count`` devices, else provision it in the database."""
    if path.exists():
        stored = [SimulatedDevice(**d) for d in json.loads(path.read_text())]
        if len(stored) >= count:
            return stored[:count]
    settings = Settings()
    engine = make_engine(database_url or settings.database_url)
    try:
        fleet = provision_simulated_fleet(
            UnitOfWork(make_session_factory(engine)), count, SystemClock()
        )
    finally:
        engine.dispose()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([d.__dict__ for d in fleet]))
    path.chmod(0o600)
    return fleet


@devices_app.command("simulate")
def simulate(
    devices: Annotated[int, typer.Option("--devices", min=1, help="fleet size")] = 100,
    rate: Annotated[float, typer.Option("--rate", min=0.01, help="readings per second")] = 10.0,
    count: Annotated[int | None, typer.Option(help="stop after this many readings")] = None,
    duration: Annotated[float | None, typer.Option(help="stop after this many seconds")] = None,
    mqtt_url: Annotated[str | None, typer.Option(help="default: MANBING_MQTT_URL")] = None,
    fleet_file: Annotated[
        Path, typer.Option(help="device secrets (created by provisioning if missing)")
    ] = Path("var/simulated-fleet.json"),
    seed: Annotated[int, typer.Option()] = 8,
) -> None:
    """Publish realistic readings from N simulated devices at R readings/s over MQTT."""
    from manbing.devices.simulator import publish

    fleet = load_or_provision(fleet_file, devices)
    url = mqtt_url or Settings().mqtt_url
    run_id = f"{time.time_ns() // 1_000_000}-"  # message ids unique across runs
    sent = publish(url, fleet, rate=rate, count=count, duration=duration, seed=seed, run_id=run_id)
    typer.echo(f"published {sent} readings from {len(fleet)} devices to {url}")


dtx_app = typer.Typer(
    help="Digital therapeutics: weekly review and payer statements.", no_args_is_help=True
)


def dtx_review_job(database_url: str) -> tuple[Callable[[], int], Callable[[], None]]:
    """The weekly review as a job for the scheduler (and the engine's dispose)."""
    from manbing.services import dtx

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    clock = SystemClock()
    return (lambda: dtx.review_adherence(UnitOfWork(factory), clock)), engine.dispose


@dtx_app.command("review")
def dtx_review(
    every: Annotated[
        str | None,
        typer.Option(help="keep running, e.g. 1h (idempotent per patient-week); default: once"),
    ] = None,
) -> None:
    """Open DTX_ESCALATION tasks for the last completed week (low adherence, uncontrolled BP)."""
    from manbing.domain.errors import InvalidInput
    from manbing.services.schedule import parse_every, run_every

    interval = None
    if every is not None:
        try:
            interval = parse_every(every)
        except InvalidInput as exc:
            raise typer.BadParameter(exc.message_en) from None
    job, dispose = dtx_review_job(Settings().database_url)
    try:
        if interval is None:
            typer.echo(f"{job()} escalation task(s) opened")
            return
        logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        runs = run_every(
            lambda: f"{job()} escalation task(s) opened", interval, stop, name="dtx review"
        )
        typer.echo(f"dtx review stopped after {runs} run(s)")
    finally:
        dispose()


@dtx_app.command("statement")
def dtx_statement(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    username: Annotated[str, typer.Option(help="a manager account whose scope is billed")],
) -> None:
    """The month's amounts per payer (government, company, resident) for a manager's scope."""
    from sqlalchemy import select

    from manbing.db.models import User
    from manbing.services import auth, dtx

    try:
        year, mon = (int(part) for part in month.split("-"))
    except ValueError:
        raise typer.BadParameter("month must be YYYY-MM") from None
    settings = Settings()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            user = session.scalars(select(User).where(User.username == username)).one_or_none()
            if user is None:
                raise typer.BadParameter(f"no user {username}")
            actor = auth.actor_for(session, user)
        lines = dtx.monthly_statement(UnitOfWork(factory), actor, year, mon)
    finally:
        engine.dispose()
    for line in lines:
        typer.echo(
            f"{line.payer.value}\t{line.payer_name}\t{line.enrolments}\t{line.amount_fen / 100:.2f} 元"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(devices_app, name="devices")
    app.add_typer(dtx_app, name="dtx")
