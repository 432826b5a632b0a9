"""Danger signs and routine symptoms of the follow-up forms, with Chinese labels for checkboxes.

Source: 国家基本公共卫生服务规范（第三版，2017）— 高血压患者健康管理服务规范 and 2型糖尿病患者
健康管理服务规范 (随访评估 1: conditions requiring urgent referral after first aid), and the
symptom lists of the 随访服务记录表 (the diabetes list is marked uncertain).
Measured danger signs (BP, glucose, heart rate, temperature) are derived from the vitals in
``followup.py``; the signs below are the ones a clinician ticks.
"""

from __future__ import annotations

from enum import StrEnum


class DangerSign(StrEnum):
    """Checked danger signs: any one of them means urgent referral."""

    ALTERED_CONSCIOUSNESS = "altered_consciousness"
    SEVERE_HEADACHE_OR_DIZZINESS = "severe_headache_or_dizziness"
    NAUSEA_VOMITING = "nausea_vomiting"
    BLURRED_VISION_OR_EYE_PAIN = "blurred_vision_or_eye_pain"
    CHEST_SYMPTOMS_CANNOT_LIE_FLAT = "chest_symptoms_cannot_lie_flat"
    PREGNANT_OR_LACTATING_HIGH_BP = "pregnant_or_lactating_high_bp"
    ACETONE_BREATH = "acetone_breath"
    PALPITATIONS_SWEATING = "palpitations_sweating"
    HYPERGLYCAEMIC_SYMPTOMS = "hyperglycaemic_symptoms"
    DEEP_RAPID_BREATHING = "deep_rapid_breathing"
    FLUSHED_SKIN = "flushed_skin"
    SUDDEN_ABNORMALITY = "sudden_abnormality"
    PREGNANT_OR_LACTATING_HIGH_GLUCOSE = "pregnant_or_lactating_high_glucose"
    OTHER_UNMANAGEABLE = "other_unmanageable"

    @property
    def label_zh(self) -> str:
        return _SIGN_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _SIGN_LABELS[self][1]


_SIGN_LABELS: dict[DangerSign, tuple[str, str]] = {
    DangerSign.ALTERED_CONSCIOUSNESS: ("意识或行为改变", "altered consciousness or behaviour"),
    DangerSign.SEVERE_HEADACHE_OR_DIZZINESS: ("剧烈头痛或头晕", "severe headache or dizziness"),
    DangerSign.NAUSEA_VOMITING: ("恶心呕吐", "nausea or vomiting"),
    DangerSign.BLURRED_VISION_OR_EYE_PAIN: ("视力模糊、眼痛", "blurred vision or eye pain"),
    DangerSign.CHEST_SYMPTOMS_CANNOT_LIE_FLAT: (
        "心悸、胸闷、喘憋不能平卧",
        "palpitations, chest tightness, breathlessness unable to lie flat",
    ),
    DangerSign.PREGNANT_OR_LACTATING_HIGH_BP: (
        "妊娠期或哺乳期血压高于正常",
        "pregnant or breastfeeding with raised blood pressure",
    ),
    DangerSign.ACETONE_BREATH: ("呼气有烂苹果样丙酮味", "breath smelling of acetone"),
    DangerSign.PALPITATIONS_SWEATING: ("心悸、出汗", "palpitations and sweating"),
    DangerSign.HYPERGLYCAEMIC_SYMPTOMS: (
        "食欲减退、恶心、呕吐、多饮、多尿、腹痛",
        "loss of appetite, nausea, vomiting, polydipsia, polyuria or abdominal pain",
    ),
    DangerSign.DEEP_RAPID_BREATHING: ("深大呼吸", "deep rapid breathing"),
    DangerSign.FLUSHED_SKIN: ("皮肤潮红", "flushed skin"),
    DangerSign.SUDDEN_ABNORMALITY: ("其他突发异常（如视力突然骤降）", "other sudden abnormality"),
    DangerSign.PREGNANT_OR_LACTATING_HIGH_GLUCOSE: (
        "妊娠期或哺乳期血糖高于正常",
        "pregnant or breastfeeding with raised glucose",
    ),
    DangerSign.OTHER_UNMANAGEABLE: (
        "存在基层医疗机构不能处理的其他疾病",
        "another condition the primary facility cannot manage",
    ),
}


class HypertensionSymptom(StrEnum):
    """症状 checkboxes of the 高血压患者随访服务记录表 (value = form code)."""

    NONE = "1"
    HEADACHE_DIZZINESS = "2"
    NAUSEA_VOMITING = "3"
    BLURRED_VISION_TINNITUS = "4"
    DYSPNOEA = "5"
    PALPITATIONS_CHEST_TIGHTNESS = "6"
    EPISTAXIS = "7"
    LIMB_NUMBNESS = "8"
    LOWER_LIMB_OEDEMA = "9"

    @property
    def label_zh(self) -> str:
        labels = ("无症状", "头痛头晕", "恶心呕吐", "眼花耳鸣", "呼吸困难", "心悸胸闷",
                  "鼻衄出血不止", "四肢发麻", "下肢水肿")  # fmt: skip
        return labels[int(self.value) - 1]


class DiabetesSymptom(StrEnum):
    """症状 checkboxes of the 2型糖尿病患者随访服务记录表 (list uncertain, see docs)."""

    NONE = "1"
    POLYDIPSIA = "2"
    POLYPHAGIA = "3"
    POLYURIA = "4"
    BLURRED_VISION = "5"
    INFECTION = "6"
    HAND_FOOT_NUMBNESS = "7"
    LOWER_LIMB_OEDEMA = "8"
    MARKED_WEIGHT_LOSS = "9"

    @property
    def label_zh(self) -> str:
        labels = ("无症状", "多饮", "多食", "多尿", "视力模糊", "感染", "手脚麻木", "下肢浮肿",
                  "体重明显下降")  # fmt: skip
        return labels[int(self.value) - 1]
