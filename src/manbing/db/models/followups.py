"""Follow-up visits holding every field of the national hypertension and diabetes forms.

Paired "current / target" fields of the form (体重, BMI, 吸烟, 饮酒, 运动, 摄盐, 主食) are stored as
two columns, ``x`` and ``x_target``.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manbing.db.base import Base, Timestamps, UuidPk, enum_column
from manbing.domain.followup_form import (
    Adherence,
    DorsalisPedis,
    FormType,
    Hypoglycaemia,
    Rating,
    SaltIntake,
    Side,
    VisitMode,
    VisitOutcome,
)


class FollowUp(UuidPk, Timestamps, Base):
    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_resident_date", "resident_id", "visit_date"),
        Index("ix_follow_ups_org_date", "organization_id", "visit_date"),
        # type and system _history and _lastUpdated search filter on the last-updated time
        Index("ix_follow_ups_updated_at", "updated_at"),
    )

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    form: Mapped[FormType] = mapped_column(enum_column(FormType, 16))
    visit_date: Mapped[date]
    outcome: Mapped[VisitOutcome] = mapped_column(
        enum_column(VisitOutcome, 8), default=VisitOutcome.DONE
    )
    outcome_reason: Mapped[str | None] = mapped_column(String(200))  # 失访原因 / 死亡原因
    mode: Mapped[VisitMode | None] = mapped_column(enum_column(VisitMode, 1))
    # 症状: codes of the form's list plus free text
    symptoms: Mapped[list[str]] = mapped_column(default=list)
    symptoms_other: Mapped[str | None] = mapped_column(String(200))
    # 体征
    sbp: Mapped[int | None]
    dbp: Mapped[int | None]
    weight_kg: Mapped[float | None]
    weight_target_kg: Mapped[float | None]
    height_cm: Mapped[float | None]
    bmi: Mapped[float | None]
    bmi_target: Mapped[float | None]
    heart_rate: Mapped[int | None]
    dorsalis_pedis: Mapped[DorsalisPedis | None] = mapped_column(enum_column(DorsalisPedis, 1))
    dorsalis_pedis_side: Mapped[Side | None] = mapped_column(enum_column(Side, 8))
    signs_other: Mapped[str | None] = mapped_column(String(200))
    # 生活方式指导 (current / target)
    cigarettes_per_day: Mapped[int | None]
    cigarettes_per_day_target: Mapped[int | None]
    alcohol_liang_per_day: Mapped[float | None]
    alcohol_liang_per_day_target: Mapped[float | None]
    exercise_times_per_week: Mapped[int | None]
    exercise_times_per_week_target: Mapped[int | None]
    exercise_minutes: Mapped[int | None]
    exercise_minutes_target: Mapped[int | None]
    salt_intake: Mapped[SaltIntake | None] = mapped_column(enum_column(SaltIntake, 8))
    salt_intake_target: Mapped[SaltIntake | None] = mapped_column(enum_column(SaltIntake, 8))
    staple_food_g: Mapped[int | None]
    staple_food_g_target: Mapped[int | None]
    psychological: Mapped[Rating | None] = mapped_column(enum_column(Rating, 1))
    compliance: Mapped[Rating | None] = mapped_column(enum_column(Rating, 1))
    # 辅助检查
    fasting_glucose: Mapped[float | None]  # mmol/L
    hba1c: Mapped[float | None]  # %
    hba1c_date: Mapped[date | None]
    tests_other: Mapped[str | None] = mapped_column(String(500))
    # 用药与反应
    adherence: Mapped[Adherence | None] = mapped_column(enum_column(Adherence, 1))
    adverse_reaction: Mapped[bool] = mapped_column(default=False)
    adverse_reaction_text: Mapped[str | None] = mapped_column(String(200))
    hypoglycaemia: Mapped[Hypoglycaemia | None] = mapped_column(enum_column(Hypoglycaemia, 1))
    new_complication: Mapped[bool] = mapped_column(default=False)
    complication_text: Mapped[str | None] = mapped_column(String(200))
    # 此次随访分类: 1 控制满意 2 控制不满意 3 不良反应 4 并发症
    classification: Mapped[str | None] = mapped_column(String(1))
    # 转诊
    referral_reason: Mapped[str | None] = mapped_column(String(500))
    referral_org_dept: Mapped[str | None] = mapped_column(String(200))
    next_visit_date: Mapped[date | None]
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    medications: Mapped[list[FollowUpMedication]] = relationship(
        back_populates="follow_up", cascade="all, delete-orphan"
    )


class FollowUpMedication(UuidPk, Base):
    """用药情况: drug name, 每日N次, 每次 dose; insulin with its type and usage."""

    __tablename__ = "follow_up_medications"

    follow_up_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("follow_ups.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    times_per_day: Mapped[int | None]
    dose: Mapped[float | None]
    dose_unit: Mapped[str | None] = mapped_column(String(20))
    is_insulin: Mapped[bool] = mapped_column(default=False)
    insulin_type: Mapped[str | None] = mapped_column(String(50))
    usage: Mapped[str | None] = mapped_column(String(100))

    follow_up: Mapped[FollowUp] = relationship(back_populates="medications")
