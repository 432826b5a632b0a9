import pytest

from manbing.domain.rules.units import (
    ConcentrationUnit,
    cholesterol_mgdl_to_mmol,
    cholesterol_mmol_to_mgdl,
    cholesterol_to_mgdl,
    glucose_mgdl_to_mmol,
    glucose_mmol_to_mgdl,
    glucose_to_mmol,
    triglyceride_mgdl_to_mmol,
    triglyceride_mmol_to_mgdl,
)


def test_glucose_uses_the_clinical_factor_18() -> None:
    assert glucose_mmol_to_mgdl(7.0) == pytest.approx(126.0)
    assert glucose_mgdl_to_mmol(200) == pytest.approx(11.11, abs=0.01)
    assert glucose_to_mmol(126, ConcentrationUnit.MG_PER_DL) == pytest.approx(7.0)
    assert glucose_to_mmol(7.0, ConcentrationUnit.MMOL_PER_L) == 7.0


def test_cholesterol_uses_the_china_par_factor_0_0259() -> None:
    assert cholesterol_mmol_to_mgdl(5.2) == pytest.approx(200.77, abs=0.01)
    assert cholesterol_mgdl_to_mmol(240) == pytest.approx(6.216)
    assert cholesterol_to_mgdl(200, ConcentrationUnit.MG_PER_DL) == 200


def test_triglycerides_use_0_0113() -> None:
    assert triglyceride_mgdl_to_mmol(150) == pytest.approx(1.695)
    assert triglyceride_mmol_to_mgdl(triglyceride_mgdl_to_mmol(150)) == pytest.approx(150)


@pytest.mark.parametrize("value", [0.5, 3.9, 7.0, 16.7])
def test_glucose_round_trips(value: float) -> None:
    assert glucose_mgdl_to_mmol(glucose_mmol_to_mgdl(value)) == pytest.approx(value)
