"""Follow-up visit classification, next-visit date and referral decision.

Source: 国家基本公共卫生服务规范（第三版，2017）— 高血压患者健康管理服务规范 and 2型糖尿病患者
健康管理服务规范 (随访评估, 分类干预) and form instruction 7 of the 随访服务记录表 (record the
most severe class; set the next visit from it together with the previous visit's result).

- 1 控制满意: on target, no adverse reaction, no new or worsened complication ⇒ next visit in
  3 months (the ≥4/year rule; a public implementation uses +3 months).
- 2 控制不满意 / 3 不良反应 the first time ⇒ re-visit within 2 weeks.
- 4 并发症 ⇒ refer; two consecutive 控制不满意, or a second consecutive 不良反应, ⇒ refer.
- Danger signs (SBP ≥180 and/or DBP ≥110; for diabetes glucose ≥16.7 or ≤3.9, heart rate >100,
  temperature >39 ℃; the ticked signs of ``danger_signs.py``) ⇒ urgent referral.
- Every referral ⇒ active follow-up within 2 weeks.

"On target": hypertension by ``blood_pressure.is_bp_controlled``; diabetes by
``glucose.is_fpg_controlled``; a patient in both programmes (combined visit) must meet both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.blood_pressure import (
    URGENT_DBP,
    URGENT_SBP,
    BpTargetProfile,
    is_bp_controlled,
)
from manbing.domain.rules.danger_signs import DangerSign
from manbing.domain.rules.dates import add_months
from manbing.domain.rules.glucose import URGENT_GLUCOSE_HIGH, URGENT_GLUCOSE_LOW, is_fpg_controlled
from manbing.domain.rules.plausibility import GLUCOSE_MMOL_RANGE, check_vitals, require_in_range

ROUTINE_INTERVAL_MONTHS = 3
RECHECK_DAYS = 14
REFERRAL_FOLLOWUP_DAYS = 14
URGENT_HEART_RATE_ABOVE = 100
URGENT_TEMPERATURE_ABOVE = 39.0


class Programme(StrEnum):
    HYPERTENSION = "hypertension"
    DIABETES = "diabetes"


class FollowupClass(StrEnum):
    """此次随访分类; the value is the code printed on the national form."""

    SATISFIED = "1"
    UNSATISFIED = "2"
    ADVERSE_REACTION = "3"
    COMPLICATION = "4"

    @property
    def label_zh(self) -> str:
        return ("控制满意", "控制不满意", "不良反应", "并发症")[self.severity]

    @property
    def severity(self) -> int:
        """0 (控制满意) … 3 (并发症); the most severe applicable class is recorded."""
        return int(self.value) - 1


class ReferralReason(StrEnum):
    SBP_URGENT = "sbp_urgent"
    DBP_URGENT = "dbp_urgent"
    GLUCOSE_HIGH = "glucose_high"
    GLUCOSE_LOW = "glucose_low"
    TACHYCARDIA = "tachycardia"
    FEVER = "fever"
    COMPLICATION = "complication"
    TWO_CONSECUTIVE_UNCONTROLLED = "two_consecutive_uncontrolled"
    PERSISTENT_ADVERSE_REACTION = "persistent_adverse_reaction"

    @property
    def label_zh(self) -> str:
        return _REASON_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _REASON_LABELS[self][1]


_REASON_LABELS: dict[ReferralReason, tuple[str, str]] = {
    ReferralReason.SBP_URGENT: (f"收缩压≥{URGENT_SBP}mmHg", f"systolic BP ≥{URGENT_SBP} mmHg"),
    ReferralReason.DBP_URGENT: (f"舒张压≥{URGENT_DBP}mmHg", f"diastolic BP ≥{URGENT_DBP} mmHg"),
    ReferralReason.GLUCOSE_HIGH: (
        f"血糖≥{URGENT_GLUCOSE_HIGH}mmol/L",
        f"glucose ≥{URGENT_GLUCOSE_HIGH} mmol/L",
    ),
    ReferralReason.GLUCOSE_LOW: (
        f"血糖≤{URGENT_GLUCOSE_LOW}mmol/L",
        f"glucose ≤{URGENT_GLUCOSE_LOW} mmol/L",
    ),
    ReferralReason.TACHYCARDIA: (
        f"心率超过{URGENT_HEART_RATE_ABOVE}次/分钟",
        f"heart rate above {URGENT_HEART_RATE_ABOVE}/min",
    ),
    ReferralReason.FEVER: ("体温超过39℃", "temperature above 39 °C"),
    ReferralReason.COMPLICATION: (
        "出现新的并发症或原有并发症加重",
        "new or worsening complication",
    ),
    ReferralReason.TWO_CONSECUTIVE_UNCONTROLLED: (
        "连续两次随访控制不满意",
        "two consecutive visits not controlled",
    ),
    ReferralReason.PERSISTENT_ADVERSE_REACTION: (
        "药物不良反应难以控制",
        "adverse drug reaction persists",
    ),
}

Reason = ReferralReason | DangerSign


@dataclass(frozen=True, slots=True)
class FollowupVisit:
    """What was found at one follow-up visit. Glucose in mmol/L, temperature in ℃."""

    visit_date: date
    age: int
    programmes: frozenset[Programme]
    sbp: float | None = None
    dbp: float | None = None
    fasting_glucose: float | None = None
    random_glucose: float | None = None
    heart_rate: float | None = None
    temperature_c: float | None = None
    danger_signs: frozenset[DangerSign] = frozenset()
    adverse_reaction: bool = False
    new_or_worse_complication: bool = False
    previous_classification: FollowupClass | None = None
    bp_profile: BpTargetProfile = BpTargetProfile.SERVICE_STANDARD_2017


@dataclass(frozen=True, slots=True)
class FollowupDecision:
    classification: FollowupClass
    next_visit_date: date
    refer: bool
    urgent: bool
    reasons: tuple[Reason, ...]
    controlled: bool

    @property
    def reasons_zh(self) -> list[str]:
        return [reason.label_zh for reason in self.reasons]

    @property
    def reasons_en(self) -> list[str]:
        return [reason.label_en for reason in self.reasons]

    @property
    def reason_codes(self) -> list[str]:
        return [reason.value for reason in self.reasons]


def _validate(visit: FollowupVisit) -> None:
    if not visit.programmes:
        raise InvalidInput(
            "programmes", "至少选择一个管理项目（高血压或糖尿病）", "no programme given"
        )
    if Programme.HYPERTENSION in visit.programmes and (visit.sbp is None or visit.dbp is None):
        raise InvalidInput(
            "sbp", "高血压随访必须测量血压", "a hypertension visit needs sbp and dbp"
        )
    if Programme.DIABETES in visit.programmes and visit.fasting_glucose is None:
        raise InvalidInput(
            "fasting_glucose",
            "糖尿病随访必须记录空腹血糖",
            "a diabetes visit needs fasting_glucose",
        )
    if visit.age < 0 or visit.age > 130:
        raise InvalidInput("age", "年龄不合理", f"implausible age {visit.age}")
    check_vitals(sbp=visit.sbp, dbp=visit.dbp, heart_rate=visit.heart_rate,
                 temperature_c=visit.temperature_c)  # fmt: skip
    for name, label, value in (("fasting_glucose", "空腹血糖", visit.fasting_glucose),
                               ("random_glucose", "随机血糖", visit.random_glucose)):  # fmt: skip
        if value is not None:
            require_in_range(name, value, GLUCOSE_MMOL_RANGE, label_zh=label, unit="mmol/L")


def urgent_reasons(visit: FollowupVisit) -> tuple[Reason, ...]:
    """The danger signs present at this visit (empty: no urgent referral)."""
    reasons: list[Reason] = []
    if visit.sbp is not None and visit.sbp >= URGENT_SBP:
        reasons.append(ReferralReason.SBP_URGENT)
    if visit.dbp is not None and visit.dbp >= URGENT_DBP:
        reasons.append(ReferralReason.DBP_URGENT)
    if Programme.DIABETES in visit.programmes:
        glucoses = [g for g in (visit.fasting_glucose, visit.random_glucose) if g is not None]
        if any(g >= URGENT_GLUCOSE_HIGH for g in glucoses):
            reasons.append(ReferralReason.GLUCOSE_HIGH)
        if any(g <= URGENT_GLUCOSE_LOW for g in glucoses):
            reasons.append(ReferralReason.GLUCOSE_LOW)
        if visit.heart_rate is not None and visit.heart_rate > URGENT_HEART_RATE_ABOVE:
            reasons.append(ReferralReason.TACHYCARDIA)
        if visit.temperature_c is not None and visit.temperature_c > URGENT_TEMPERATURE_ABOVE:
            reasons.append(ReferralReason.FEVER)
    reasons.extend(sign for sign in DangerSign if sign in visit.danger_signs)
    return tuple(reasons)


def is_visit_controlled(visit: FollowupVisit) -> bool:
    """BP on target (hypertension) and FPG < 7.0 (diabetes) for every programme of the patient."""
    if Programme.HYPERTENSION in visit.programmes:
        assert visit.sbp is not None and visit.dbp is not None
        if not is_bp_controlled(visit.sbp, visit.dbp, visit.age, visit.bp_profile):
            return False
    if Programme.DIABETES in visit.programmes:
        assert visit.fasting_glucose is not None
        if not is_fpg_controlled(visit.fasting_glucose):
            return False
    return True


def classify_followup(visit: FollowupVisit) -> FollowupDecision:
    """Classify the visit, decide on referral and set the next visit date."""
    _validate(visit)
    controlled = is_visit_controlled(visit)
    applicable = [FollowupClass.SATISFIED if controlled else FollowupClass.UNSATISFIED]
    if visit.adverse_reaction:
        applicable.append(FollowupClass.ADVERSE_REACTION)
    if visit.new_or_worse_complication:
        applicable.append(FollowupClass.COMPLICATION)
    classification = max(applicable, key=lambda c: c.severity)

    urgent = urgent_reasons(visit)
    reasons: list[Reason] = list(urgent)
    if visit.new_or_worse_complication:
        reasons.append(ReferralReason.COMPLICATION)
    if not controlled and visit.previous_classification is FollowupClass.UNSATISFIED:
        reasons.append(ReferralReason.TWO_CONSECUTIVE_UNCONTROLLED)
    if visit.adverse_reaction and visit.previous_classification is FollowupClass.ADVERSE_REACTION:
        reasons.append(ReferralReason.PERSISTENT_ADVERSE_REACTION)
    refer = bool(reasons)
    return FollowupDecision(
        classification=classification,
        next_visit_date=next_visit_date(visit.visit_date, classification, refer=refer),
        refer=refer,
        urgent=bool(urgent),
        reasons=tuple(reasons),
        controlled=controlled,
    )


def next_visit_date(visit_date: date, classification: FollowupClass, *, refer: bool) -> date:
    """+3 months when satisfied and not referred; otherwise within 2 weeks (+14 days)."""
    if refer:
        return referral_followup_date(visit_date)
    if classification is FollowupClass.SATISFIED:
        return add_months(visit_date, ROUTINE_INTERVAL_MONTHS)
    return visit_date + timedelta(days=RECHECK_DAYS)


def referral_followup_date(referral_date: date) -> date:
    """The active follow-up of a referral is due within 2 weeks."""
    return referral_date + timedelta(days=REFERRAL_FOLLOWUP_DAYS)
