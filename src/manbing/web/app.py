"""The FastAPI application factory. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from manbing.config import Mode, Settings
from manbing.services.clock import Clock
from manbing.services.reports import LineListSource
from manbing.web import errors, fhir_mount
from manbing.web.api import clinic as clinic_api
from manbing.web.api import devices as devices_api
from manbing.web.api import dtx as dtx_api
from manbing.web.api import followups as followups_api
from manbing.web.api import legacy_import as legacy_import_api
from manbing.web.api import mpi as mpi_api
from manbing.web.api import registry as registry_api
from manbing.web.api import residents as residents_api
from manbing.web.api import session as session_api
from manbing.web.container import Container
from manbing.web.nul_guard import NulGuard
from manbing.web.ui import clinic as clinic_pages
from manbing.web.ui import indicators as indicator_pages
from manbing.web.ui import legacy_import as legacy_import_pages
from manbing.web.ui import mpi as mpi_pages
from manbing.web.ui import pages, patient
from manbing.web.ui import registry as registry_pages

STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    line_lists: LineListSource | None = None,
) -> FastAPI:
    """``line_lists`` answers "who is behind this number" (the CLI passes the warehouse's)."""
    settings = settings or Settings()
    container = Container.build(settings, clock, line_lists)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        fhir_mount.recover_exports(container)
        yield
        container.engine.dispose()

    app = FastAPI(
        title="manbing 慢病管理平台",
        version="0.1.0",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.container = container
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="manbing_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.mode is Mode.PRODUCTION,
    )
    app.add_middleware(NulGuard)
    errors.install(app)
    app.include_router(fhir_mount.router)
    app.include_router(session_api.router)
    app.include_router(residents_api.router)
    app.include_router(followups_api.router)
    app.include_router(clinic_api.router)
    app.include_router(registry_api.router)
    app.include_router(registry_pages.router)
    app.include_router(clinic_pages.router)
    app.include_router(devices_api.router)
    app.include_router(dtx_api.router)
    app.include_router(mpi_api.router)
    app.include_router(pages.router)
    app.include_router(patient.router)
    app.include_router(indicator_pages.router)
    app.include_router(mpi_pages.router)
    app.include_router(legacy_import_api.router)
    app.include_router(legacy_import_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
