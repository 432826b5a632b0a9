"""Master patient index decisions: pairs a person has checked and found to be two people."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from manbing.db.base import Base, UuidPk


class NotDuplicate(UuidPk, Base):
    """A pair of residents decided *not* to be the same person (stored with ``low_id < high_id``
    so each pair has one row); the candidate list leaves such pairs out."""

    __tablename__ = "mpi_not_duplicates"
    __table_args__ = (
        UniqueConstraint("low_id", "high_id"),
        CheckConstraint("low_id < high_id", name="ordered"),
    )

    low_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    high_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(200))
