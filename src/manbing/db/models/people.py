"""Users, practitioners, family-doctor teams, service packages and contracts (签约)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manbing.db.base import Base, Timestamps, UuidPk, enum_column
from manbing.db.models.geo import Organization
from manbing.domain.contracts import ContractStatus
from manbing.domain.organisations import Role
from manbing.domain.values import Sex


class Practitioner(UuidPk, Timestamps, Base):
    __tablename__ = "practitioners"

    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[Sex | None] = mapped_column(enum_column(Sex, 1))
    title: Mapped[str | None] = mapped_column(String(50))  # 职称, e.g. 主治医师
    licence_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)

    organization: Mapped[Organization] = relationship()


class User(UuidPk, Timestamps, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(50))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id"), index=True
    )
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"))
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]

    organization: Mapped[Organization | None] = relationship()


class Team(UuidPk, Timestamps, Base):
    """A family-doctor team (家庭医生团队) belonging to a primary-care organisation."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(100))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    leader_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    active: Mapped[bool] = mapped_column(default=True)

    organization: Mapped[Organization] = relationship()
    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan"
    )


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    practitioner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("practitioners.id"), primary_key=True
    )
    role_in_team: Mapped[str] = mapped_column(
        String(30), default="member"
    )  # 全科医生/护士/公卫人员

    team: Mapped[Team] = relationship(back_populates="members")
    practitioner: Mapped[Practitioner] = relationship()


class ServicePackage(UuidPk, Timestamps, Base):
    """A contract service package (服务包); prices in fen (分) to stay exact."""

    __tablename__ = "service_packages"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(1000))
    annual_fee_fen: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Contract(UuidPk, Timestamps, Base):
    __tablename__ = "contracts"
    __table_args__ = (Index("ix_contracts_team_end", "team_id", "end_date"),)

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"))
    package_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_packages.id"))
    start_date: Mapped[date]
    end_date: Mapped[date]
    status: Mapped[ContractStatus] = mapped_column(enum_column(ContractStatus))
    renewal_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contracts.id"))
    signed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    signed_at: Mapped[datetime | None]

    team: Mapped[Team] = relationship()
    package: Mapped[ServicePackage] = relationship()
