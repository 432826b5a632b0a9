"""Resident population (常住人口) by county-level division, year, sex and age group."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from manbing.db.base import Base, utcnow


class CensusPopulation(Base):
    """One census cell (see ``domain.census``). No change column: the warehouse copies the
    whole (small) table on every extract, so a re-import replaces the old figures there too."""

    __tablename__ = "census_populations"
    __table_args__ = (
        CheckConstraint("population >= 0", name="population_not_negative"),
        CheckConstraint("age_from >= 0", name="age_from_not_negative"),
        CheckConstraint("age_to IS NULL OR age_to >= age_from", name="age_group_ordered"),
        CheckConstraint("sex IN ('M', 'F')", name="sex_known"),
    )

    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    sex: Mapped[str] = mapped_column(String(1), primary_key=True)
    age_from: Mapped[int] = mapped_column(primary_key=True)
    age_to: Mapped[int | None]
    population: Mapped[int]
    source: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
