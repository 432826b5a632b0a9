"""Stored indicator results (numerator and denominator per indicator × unit × period)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from manbing.db.base import Base, UuidPk, utcnow


class IndicatorResult(UuidPk, Base):
    """One number of a dashboard. ``unit_kind`` is org / team / division; ``unit_id`` the
    organisation or team id, or the division code; ``sex`` and ``age_band`` are ``*`` for all."""

    __tablename__ = "indicator_results"
    __table_args__ = (
        UniqueConstraint(
            "indicator",
            "unit_kind",
            "unit_id",
            "period",
            "sex",
            "age_band",
            name="uq_indicator_results_key",
        ),
        Index("ix_indicator_results_unit_period", "unit_kind", "unit_id", "period"),
    )

    indicator: Mapped[str] = mapped_column(String(64))
    unit_kind: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(32), index=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    sex: Mapped[str] = mapped_column(String(4), default="*")
    age_band: Mapped[str] = mapped_column(String(16), default="*")
    numerator: Mapped[int]
    denominator: Mapped[int | None]
    value: Mapped[float | None]
    engine: Mapped[str] = mapped_column(String(16))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
