"""Annual health checks, screening results and risk assessments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from manbing.db.base import Base, UuidPk, utcnow


class HealthCheck(UuidPk, Base):
    """健康体检表: vitals and measurements as columns; exam findings and labs as JSON."""

    __tablename__ = "health_checks"
    __table_args__ = (Index("ix_health_checks_resident_date", "resident_id", "check_date"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    check_date: Mapped[date]
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    temperature_c: Mapped[float | None]
    pulse: Mapped[int | None]
    respiration: Mapped[int | None]
    sbp: Mapped[int | None]
    dbp: Mapped[int | None]
    height_cm: Mapped[float | None]
    weight_kg: Mapped[float | None]
    waist_cm: Mapped[float | None]
    bmi: Mapped[float | None]
    fasting_glucose: Mapped[float | None]
    self_care_score: Mapped[int | None]  # 老年人生活自理能力评估
    findings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # skin, lymph, heart, lungs …
    labs: Mapped[dict[str, Any]] = mapped_column(
        default=dict
    )  # blood/urine routine, liver, kidney …
    conclusion: Mapped[str | None] = mapped_column(String(1000))
    guidance: Mapped[list[str]] = mapped_column(default=list)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScreeningResult(UuidPk, Base):
    __tablename__ = "screening_results"
    __table_args__ = (Index("ix_screening_resident_date", "resident_id", "screened_on"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    screened_on: Mapped[date]
    kind: Mapped[str] = mapped_column(String(20))  # bp / glucose / lipids / cdrs
    sbp: Mapped[int | None]
    dbp: Mapped[int | None]
    fasting_glucose: Mapped[float | None]
    risk_factors: Mapped[list[str]] = mapped_column(default=list)
    result: Mapped[str] = mapped_column(String(20))  # normal / positive / confirmed / excluded
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))


class RiskAssessment(UuidPk, Base):
    """A computed risk score with the inputs it used (China-PAR, CDRS, lipid stratification)."""

    __tablename__ = "risk_assessments"
    __table_args__ = (Index("ix_risk_resident_method", "resident_id", "method", "assessed_on"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    method: Mapped[str] = mapped_column(String(20))
    assessed_on: Mapped[date]
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[float]
    category: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
