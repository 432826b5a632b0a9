"""The catalogue of population indicators: what each one counts, over what, from which document.

The computation of each indicator (an ibis expression) lives in ``manbing.analytics.indicators``
under the same code; this catalogue is what reports and dashboards show. Listed in
docs/indicators.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    RATE = "rate"  # numerator / denominator, shown as a percentage
    COUNT = "count"  # numerator only
    PROBABILITY = "probability"  # a value computed from the counts (40q30)


@dataclass(frozen=True, slots=True)
class IndicatorInfo:
    code: str
    family: str
    name_zh: str
    name_en: str
    numerator: str
    denominator: str | None
    period: str
    source: str
    kind: Kind
    lower_is_better: bool = False


CATALOGUE: tuple[IndicatorInfo, ...] = (
    IndicatorInfo(
        code="htn_managed",
        family="hypertension",
        name_zh="高血压患者管理人数",
        name_en="Hypertension patients managed",
        numerator="在管高血压患者中统计期内有≥1次完成随访者",
        denominator="统计期内在管（已登记）高血压患者",
        period="统计期内（月、季、年或任意日期范围）; 年度指标取自然年",
        source="国家基本公共卫生服务规范（第三版，2017）§1.4 工作指标",
        kind=Kind.COUNT,
    ),
    IndicatorInfo(
        code="htn_standard_rate",
        family="hypertension",
        name_zh="高血压患者规范管理率",
        name_en="Hypertension managed to the standard",
        numerator="已管理患者中，登记后统计期内完成随访天数 ≥ max(1, min(4, ⌈在管天数/91.25⌉)) 者",
        denominator="统计期内已管理（≥1次完成随访）的高血压患者",
        period="统计期内（月、季、年或任意日期范围）; 年度指标取自然年",
        source="国家基本公共卫生服务规范（第三版，2017）§1.4 工作指标",
        kind=Kind.RATE,
    ),
    IndicatorInfo(
        code="htn_bp_control_rate",
        family="hypertension",
        name_zh="管理人群血压控制率",
        name_en="BP control in managed patients",
        numerator="统计期内最近一次随访记录为完成随访且血压达标（<140/90，随访时≥65岁 <150/90）；失访记为未控制",
        denominator="统计期内已管理的高血压患者",
        period="统计期内（月、季、年或任意日期范围）; 年度指标取自然年",
        source="国家基本公共卫生服务规范（第三版，2017）§1.4 工作指标",
        kind=Kind.RATE,
    ),
    IndicatorInfo(
        code="htn_health_management_rate",
        family="hypertension",
        name_zh="高血压患者健康管理率",
        name_en="Hypertension health-management rate",
        numerator="统计期内已管理的高血压患者",
        denominator="辖区≥18岁常住居民数 × 高血压患病率（默认27.5%，可配置）",
        period="统计期内（月、季、年或任意日期范围）; 年度指标取自然年",
        source="国家基本公共卫生服务规范（第二版）; 中国居民营养与慢性病状况报告（2020年）",
        kind=Kind.RATE,
    ),
    IndicatorInfo(
        code="t2dm_managed",
        family="t2dm",
        name_zh="2型糖尿病患者管理人数",
        name_en="T2DM patients managed",
        numerator="在管2型糖尿病患者中统计期内有≥1次完成随访者",
        denominator="统计期内在管（已登记）2型糖尿病患者",
        period="统计期内（月、季、年或任意日期范围）; 年度指标取自然年",
        source="国家基本公共卫生服务规范（第三版，2017）§1.4 工作指标",
        kind=Kind.COUNT,
    ),
    IndicatorInfo(
        code="t2dm_standard_rate",
        family="t2dm",
        name_zh="2型糖尿病患者规范管理率",
        name_en="T2DM managed to the standard",
        numerator="已管理患者中，登记后统计期内完成随访天数 ≥ max(1, min(4, ⌈在管天数/91.25⌉)) 者",
        denominator="统计期内已管理的2型糖尿病患者",
        period="统计期内（月、季、年或任意日期范围）; 年度指标取自然年",
        source="国家基本公共卫生服务规范（第三版，2017）§1.4 工作指标",
        kind=Kind.RATE,
    ),
    IndicatorInfo(
        code="t2dm_fpg_control_rate",
        family="t2dm",
        name_zh="管理人群血糖控制率",
        name_en="Fasting-glucose control in managed patients",
        numerator="统计期内最近一次随访记录为完成随访且空腹血糖 <7.0 mmol/L；失访或未测记为未控制",
        denominator="统计期内已管理的2型糖尿病患者",
        period="统计期内（月、季、年或任意日期范围）; 年度指标取自然年",
        source="国家基本公共卫生服务规范（第三版，2017）§1.4 工作指标",
        kind=Kind.RATE,
    ),
    IndicatorInfo(
        code="t2dm_health_management_rate",
        family="t2dm",
        name_zh="2型糖尿病患者健康管理率",
        name_en="T2DM health-management rate",
        numerator="统计期内已管理的2型糖尿病患者",
        denominator="辖区≥18岁常住居民数 × 糖尿病患病率（默认11.9%，可配置）",
        period="统计期内（月、季、年或任意日期范围）; 年度指标取自然年",
        source="国家基本公共卫生服务规范（第二版）; 中国居民营养与慢性病状况报告（2020年）",
        kind=Kind.RATE,
    ),
    IndicatorInfo(
        code="elderly_health_management_rate",
        family="population",
        name_zh="老年人健康管理率",
        name_en="Elderly health-management rate",
        numerator="统计期内接受健康体检（有健康体检表）的≥65岁居民",
        denominator="统计期末辖区≥65岁常住居民",
        period="统计期内，通常为自然年",
        source="国家基本公共卫生服务规范（第三版，2017）老年人健康管理服务规范 §1.4",
        kind=Kind.RATE,
    ),
    IndicatorInfo(
        code="contract_rate",
        family="contracts",
        name_zh="家庭医生签约率",
        name_en="Family-doctor contract rate",
        numerator="统计期末有有效签约（开始≤期末≤结束，未解约）的居民",
        denominator="统计期末辖区常住居民",
        period="统计期末时点",
        source="关于推进家庭医生签约服务高质量发展的指导意见（国卫基层发〔2022〕10号）",
        kind=Kind.RATE,
    ),
    IndicatorInfo(
        code="contract_rate_key_populations",
        family="contracts",
        name_zh="重点人群家庭医生签约率",
        name_en="Contract rate in key populations",
        numerator="重点人群中统计期末有有效签约者",
        denominator="统计期末≥65岁、0–6岁、在管高血压/2型糖尿病、严重精神障碍、孕产妇、残疾人居民",
        period="统计期末时点",
        source="国卫基层发〔2022〕10号; domain.residents.KeyPopulation",
        kind=Kind.RATE,
    ),
    IndicatorInfo(
        code="premature_ncd_mortality",
        family="mortality",
        name_zh="重大慢性病过早死亡率（30–70岁）",
        name_en="Premature NCD mortality (40q30)",
        numerator="统计期内30–69岁心脑血管疾病、恶性肿瘤、糖尿病、慢性呼吸系统疾病死亡数（按5岁组）",
        denominator="统计期中点30–69岁常住人口（按5岁组）；40q30 = 1 − Π(1 − 5qx)",
        period="统计期内，通常为自然年",
        source="WHO GMF / SDG 3.4.1; 健康中国行动（2019—2030年）",
        kind=Kind.PROBABILITY,
        lower_is_better=True,
    ),
)
BY_CODE: dict[str, IndicatorInfo] = {i.code: i for i in CATALOGUE}
