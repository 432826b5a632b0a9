"""Diagnoses and problems (FHIR Condition) kept as coded rows, whatever their code system.

Programme enrolments (``enrolments``) stay the platform's management records; a condition row is
the diagnosis as recorded or imported (SNOMED CT, ICD-10, ICD-10-CM …), see docs/adr/0006-fhir.md.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from manbing.db.base import Base, Timestamps, UuidPk


class Condition(UuidPk, Timestamps, Base):
    __tablename__ = "conditions"

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
