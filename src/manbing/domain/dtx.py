"""Digital therapeutics (数字疗法) self-management: plan, lessons, adherence, payer split.

Pure rules: the services gather facts from the record and pass them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from manbing.domain.errors import InvalidInput
from manbing.domain.followup_form import SaltIntake


class DtxProgramme(StrEnum):
    HYPERTENSION = "hypertension"
    DIABETES = "diabetes"


@dataclass(frozen=True, slots=True)
class Lesson:
    code: str
    topic: str
    title_zh: str
    paragraphs_zh: tuple[str, ...]


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "bp_basics",
        "高血压",
        "认识高血压",
        (
            "高血压是最常见的慢性病之一，长期血压升高会损伤心、脑、肾和血管。",
            "多数高血压没有明显症状，所以要定期测量，按时服药，不能凭感觉停药。",
        ),
    ),
    Lesson(
        "home_bp",
        "高血压",
        "在家正确测血压",
        (
            "测量前安静休息5分钟，不吸烟、不喝咖啡；坐位，上臂与心脏同一水平。",
            "每天早晚各测一次，每次测2遍取平均值；家庭血压平均值≥135/85 mmHg 提示控制不佳。",
        ),
    ),
    Lesson(
        "salt",
        "饮食",
        "减盐：每天不超过5克",
        (
            "吃盐多会升高血压。每人每天食盐应少于5克，约一啤酒瓶盖。",
            "少吃咸菜、腌肉、酱料；用限盐勺；多用醋、葱姜蒜调味。",
        ),
    ),
    Lesson(
        "glucose_basics",
        "糖尿病",
        "认识2型糖尿病",
        (
            "糖尿病需要长期管理：饮食、运动、用药和监测血糖缺一不可。",
            "空腹血糖控制目标一般为4.4–7.0 mmol/L，按医生建议定期查糖化血红蛋白。",
        ),
    ),
    Lesson(
        "hypoglycaemia",
        "糖尿病",
        "低血糖的识别与处理",
        (
            "心慌、出汗、手抖、饥饿感可能是低血糖；血糖≤3.9 mmol/L 要立即处理。",
            "立即吃15克糖（半杯果汁或3–4块方糖），15分钟后复测，仍低则再吃并就医。",
        ),
    ),
    Lesson(
        "quit_smoking",
        "生活方式",
        "戒烟，任何时候都不晚",
        (
            "吸烟使心脑血管病风险成倍增加。戒烟一年后冠心病风险可下降一半。",
            "设定戒烟日，告诉家人朋友，需要时请家庭医生提供戒烟帮助。",
        ),
    ),
    Lesson(
        "exercise",
        "生活方式",
        "每周运动150分钟",
        (
            "每周至少5天、每天30分钟中等强度运动，如快走、太极拳、骑车。",
            "循序渐进，避免空腹运动；血压或血糖很高时先咨询医生。",
        ),
    ),
    Lesson(
        "weight",
        "生活方式",
        "管住嘴、迈开腿，控制体重",
        (
            "体重指数（BMI）≥24 为超重。减重5%–10%即可明显改善血压和血糖。",
            "主食粗细搭配、控制总量，少吃油炸和甜食。",
        ),
    ),
)
LESSONS_BY_CODE = {lesson.code: lesson for lesson in LESSONS}
OVERWEIGHT_BMI = 24.0
"""Chinese adult overweight threshold (BMI ≥24 kg/m²)."""


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What the plan needs from the record (latest follow-up targets, medicines)."""

    programmes: frozenset[DtxProgramme]
    salt_intake: SaltIntake | None = None
    salt_target: SaltIntake | None = None
    cigarettes_per_day: int | None = None
    cigarettes_target: int | None = None
    exercise_times_per_week: int | None = None
    exercise_target: int | None = None
    bmi: float | None = None
    weight_target_kg: float | None = None
    staple_food_g: int | None = None
    staple_food_target_g: int | None = None
    medicines: tuple[tuple[str, int], ...] = ()  # (name, times per day)


@dataclass(frozen=True, slots=True)
class LessonAssignment:
    code: str
    reason_zh: str


def assign_lessons(facts: RecordFacts) -> list[LessonAssignment]:
    """Lessons by rule: the programme's basics, plus one per risk found in the record."""
    out: list[LessonAssignment] = []
    if DtxProgramme.HYPERTENSION in facts.programmes:
        out += [
            LessonAssignment("bp_basics", "高血压自我管理"),
            LessonAssignment("home_bp", "需要居家测血压"),
        ]
    if DtxProgramme.DIABETES in facts.programmes:
        out += [
            LessonAssignment("glucose_basics", "糖尿病自我管理"),
            LessonAssignment("hypoglycaemia", "预防低血糖"),
        ]
    if facts.salt_intake in (SaltIntake.MEDIUM, SaltIntake.HEAVY):
        out.append(LessonAssignment("salt", "随访记录摄盐偏多"))
    if facts.cigarettes_per_day:
        out.append(LessonAssignment("quit_smoking", "随访记录吸烟"))
    if facts.exercise_target and (facts.exercise_times_per_week or 0) < facts.exercise_target:
        out.append(LessonAssignment("exercise", "运动未达目标"))
    if facts.bmi is not None and facts.bmi >= OVERWEIGHT_BMI:
        out.append(LessonAssignment("weight", "体重指数≥24"))
    return out


@dataclass(frozen=True, slots=True)
class Plan:
    measurements_per_week: dict[str, int]
    medication_reminders: list[dict[str, object]]
    goals_zh: list[str] = field(default_factory=list)


_SALT_ZH = {SaltIntake.LIGHT: "轻", SaltIntake.MEDIUM: "中", SaltIntake.HEAVY: "重"}


def personal_plan(facts: RecordFacts) -> Plan:
    """Measurement schedule, medicine reminders and lifestyle goals from the record."""
    schedule: dict[str, int] = {}
    if DtxProgramme.HYPERTENSION in facts.programmes:
        schedule["bp"] = 14  # morning and evening, every day
    if DtxProgramme.DIABETES in facts.programmes:
        schedule["glucose"] = 7  # fasting daily (intensify with the doctor)
    reminders: list[dict[str, object]] = [
        {"name": name, "times_per_day": max(1, times)} for name, times in facts.medicines
    ]
    goals: list[str] = []
    if facts.salt_target is not None:
        goals.append(f"摄盐目标：{_SALT_ZH[facts.salt_target]}（每天少于5克）")
    elif facts.salt_intake in (SaltIntake.MEDIUM, SaltIntake.HEAVY):
        goals.append("减少食盐：每天少于5克")
    if facts.exercise_target:
        goals.append(f"运动：每周{facts.exercise_target}次，每次30分钟以上")
    if facts.cigarettes_per_day:
        target = facts.cigarettes_target or 0
        goals.append("戒烟" if target == 0 else f"吸烟减至每天{target}支以下")
    if facts.weight_target_kg:
        goals.append(f"体重目标：{facts.weight_target_kg:g} 公斤")
    if facts.staple_food_target_g:
        goals.append(f"主食：每天{facts.staple_food_target_g}克以内")
    return Plan(schedule, reminders, goals)


ADHERENCE_ESCALATION_BELOW = 0.5
"""Below half of the planned measurements (or confirmed doses) in a week ⇒ tell the doctor."""


@dataclass(frozen=True, slots=True)
class WeeklyAdherence:
    measurements_planned: int
    measurements_done: int
    doses_planned: int
    doses_confirmed: int

    @property
    def measurement_ratio(self) -> float | None:
        if not self.measurements_planned:
            return None
        return min(1.0, self.measurements_done / self.measurements_planned)

    @property
    def medication_ratio(self) -> float | None:
        if not self.doses_planned:
            return None
        return min(1.0, self.doses_confirmed / self.doses_planned)


def escalation_reason(adherence: WeeklyAdherence, home_uncontrolled: bool | None) -> str | None:
    """Why the doctor should look (adherence dropped or readings worsened), or None."""
    reasons = []
    m = adherence.measurement_ratio
    if m is not None and m < ADHERENCE_ESCALATION_BELOW:
        reasons.append(f"本周测量完成率{m:.0%}")
    d = adherence.medication_ratio
    if d is not None and d < ADHERENCE_ESCALATION_BELOW:
        reasons.append(f"本周服药确认率{d:.0%}")
    if home_uncontrolled:
        reasons.append("近7天家庭血压平均值≥135/85 mmHg")
    return "；".join(reasons) or None


class Payer(StrEnum):
    GOVERNMENT = "government"
    COMPANY = "company"
    RESIDENT = "resident"


def split_fee(price_fen: int, shares_percent: dict[Payer, int]) -> dict[Payer, int]:
    """Split a price (in fen) by percentage; rounding remainder goes to the resident share."""
    if sum(shares_percent.values()) != 100 or any(v < 0 for v in shares_percent.values()):
        raise InvalidInput(
            "shares", "支付方分摊比例之和须为100%", "payer shares must be non-negative, sum 100"
        )
    out = {p: price_fen * shares_percent.get(p, 0) // 100 for p in Payer}
    out[Payer.RESIDENT] += price_fen - sum(out.values())
    return out
