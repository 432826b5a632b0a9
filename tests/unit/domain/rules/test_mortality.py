import pytest

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.mortality import (
    AGE_BANDS,
    NcdGroup,
    count_ncd_deaths,
    ncd_group,
    premature_ncd_mortality,
)

WORKED_DEATHS = dict(zip(AGE_BANDS, [12, 25, 48, 90, 160, 260, 420, 650], strict=True))
WORKED_POPULATION = dict(
    zip(AGE_BANDS, [100000, 95000, 90000, 85000, 80000, 70000, 60000, 50000], strict=True)
)


def test_it_reproduces_the_worked_example_12_93_percent() -> None:
    result = premature_ncd_mortality(WORKED_DEATHS, WORKED_POPULATION)
    assert result.probability == pytest.approx(0.129315, abs=5e-7)
    assert round(result.percent, 2) == 12.93
    expected_q = [0.000600, 0.001315, 0.002663, 0.005280, 0.009950, 0.018401, 0.034398, 0.062954]
    assert [round(b.probability, 6) for b in result.bands] == expected_q


def test_a_constant_rate_of_0_002_gives_7_688_percent() -> None:
    result = premature_ncd_mortality(dict.fromkeys(AGE_BANDS, 2), dict.fromkeys(AGE_BANDS, 1000))
    assert result.bands[0].probability == pytest.approx(0.00995, abs=1e-5)
    assert result.percent == pytest.approx(7.688, abs=5e-4)


def test_it_refuses_a_missing_population_band() -> None:
    population = dict(WORKED_POPULATION)
    del population[65]
    with pytest.raises(InvalidInput) as err:
        premature_ncd_mortality(WORKED_DEATHS, population)
    assert err.value.field == "population"


def test_it_refuses_more_deaths_than_people() -> None:
    with pytest.raises(InvalidInput) as err:
        premature_ncd_mortality({30: 11}, dict.fromkeys(AGE_BANDS, 10))
    assert err.value.field == "deaths"


@pytest.mark.parametrize(
    ("code", "group"),
    [
        ("I00", NcdGroup.CARDIOVASCULAR), ("I21.9", NcdGroup.CARDIOVASCULAR),
        ("I219", NcdGroup.CARDIOVASCULAR), ("i21", NcdGroup.CARDIOVASCULAR),
        ("I99", NcdGroup.CARDIOVASCULAR), ("C00", NcdGroup.CANCER), ("C97", NcdGroup.CANCER),
        ("C98", None), ("D00", None), ("E09", None), ("E10", NcdGroup.DIABETES),
        ("E14.9", NcdGroup.DIABETES), ("E15", None), ("J29", None),
        ("J30", NcdGroup.CHRONIC_RESPIRATORY), ("J44.1", NcdGroup.CHRONIC_RESPIRATORY),
        ("J98", NcdGroup.CHRONIC_RESPIRATORY), ("J99", None), ("A09", None), (" x59 ", None),
    ],
)  # fmt: skip
def test_it_maps_icd10_codes_to_the_four_ncd_groups(code: str, group: NcdGroup | None) -> None:
    assert ncd_group(code) is group


def test_the_groups_carry_chinese_labels() -> None:
    labels = [g.label_zh for g in NcdGroup]
    assert labels == ["心脑血管疾病", "恶性肿瘤", "糖尿病", "慢性呼吸系统疾病"]


@pytest.mark.parametrize("bad", ["", "I2", "121", "II21", "I21.9.9"])
def test_it_refuses_malformed_icd10_codes(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        ncd_group(bad)
    assert err.value.field == "icd10"


def test_it_counts_only_ncd_deaths_aged_30_to_69_by_band() -> None:
    counts = count_ncd_deaths(
        [(29, "I21"), (30, "I21"), (34, "C34.1"), (35, "A09"), (69, "E11"), (70, "J44")]
    )
    assert counts == {30: 2, 35: 0, 40: 0, 45: 0, 50: 0, 55: 0, 60: 0, 65: 1}
