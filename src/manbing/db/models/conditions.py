"""Diagnoses and problems (and the FHIR API's system clients) (FHIR Condition) kept as coded rows, whatever their code system.

Programme enrolments (``enrolments``) stay the platform's management records; a condition row is
the diagnosis as recorded or imported (SNOMED CT, ICD-10, ICD-10-CM …), see docs/adr/0006-fhir.md.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from manbing.db.base import Base, Timestamps, UuidPk, utcnow


class Condition(UuidPk, Timestamps, Base):
    __tablename__ = "conditions"
    # type and system _history and _lastUpdated search filter on the last-updated time
    __table_args__ = (Index("ix_conditions_updated_at", "updated_at"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(40), index=True)
    display: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(String(200))
    icd10: Mapped[str | None] = mapped_column(String(10))
    clinical_status: Mapped[str] = mapped_column(String(20), default="active")
    verification_status: Mapped[str | None] = mapped_column(String(20))
    onset_date: Mapped[date | None]
    abatement_date: Mapped[date | None]
    recorded_date: Mapped[date | None]
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    source_key: Mapped[str | None] = mapped_column(String(100), unique=True)


class FhirClient(Base):
    """A system client of the FHIR API (OAuth2 client credentials, SMART ``system/`` scopes).

    It acts through ``user_id``, a service account of its organisation whose password is unusable,
    so the client's reach is that organisation's scope, narrowed by ``scopes``.
    """

    __tablename__ = "fhir_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    scopes: Mapped[list[str]]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FhirResourceVersion(UuidPk, Base):
    """One version of a resource as the FHIR API wrote it (vread, ``_history``, ``If-Match``).

    ``state`` fingerprints the version (the row version for Patient, else a hash of the JSON
    without ``meta``), so a change made outside FHIR shows as the next version; see docs/fhir.md.
    """

    __tablename__ = "fhir_resource_versions"
    __table_args__ = (
        UniqueConstraint(
            "resource_type", "resource_id", "version_id", name="uq_fhir_resource_versions_key"
        ),
        # type and system _history and _lastUpdated search filter on the last-updated time
        Index("ix_fhir_resource_versions_type_recorded", "resource_type", "recorded_at"),
    )

    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int]
    recorded_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(64))
    resource: Mapped[dict[str, Any]]


class FhirExportJob(Base):
    """A Bulk Data ``$export`` job: its state survives a restart; its NDJSON files are on disk.

    The files are under ``<export_dir>/fhir/<id>/``; ``manifest`` is the completion manifest.
    """

    __tablename__ = "fhir_export_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # running / done / failed
    request_url: Mapped[str] = mapped_column(String(2000))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    manifest: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(String(2000))
    owner: Mapped[str | None] = mapped_column(String(120))
    """The server process running the job: ``host:pid:boot token`` (``fhir.export.OWNER``)."""
    heartbeat_at: Mapped[datetime | None]
    """Refreshed by the running job; a job whose heartbeat stops is reported failed."""
