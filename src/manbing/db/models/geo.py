"""Administrative divisions and the care-organisation tree."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manbing.db.base import Base, Timestamps, UuidPk, enum_column
from manbing.domain.identity import DivisionLevel
from manbing.domain.organisations import OrgType


class Division(Base):
    """A GB/T 2260 division (6 digits) or NBS statistical township/village code (12 digits)."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[DivisionLevel] = mapped_column(enum_column(DivisionLevel, 16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"), index=True)
    # Code lists are published yearly (MCA/NBS): remember which edition a code comes from.
    edition: Mapped[str] = mapped_column(String(16), default="2023")


class Organization(UuidPk, Timestamps, Base):
    """A care organisation. ``path`` holds the ids from the root down, for subtree queries."""

    __tablename__ = "organizations"
    __table_args__ = (
        # subtree filters are ``path LIKE '<prefix>%'``: on PostgreSQL with a non-C collation only
        # a pattern-ops index serves them (the plain index below serves equality)
        Index(
            "ix_organizations_path_prefix", "path", postgresql_ops={"path": "varchar_pattern_ops"}
        ),
    )

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[OrgType] = mapped_column(enum_column(OrgType))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Organization | None] = relationship(remote_side="Organization.id")
    division: Mapped[Division] = relationship()
