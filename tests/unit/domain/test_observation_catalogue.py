import pytest

from manbing.domain.errors import InvalidInput
from manbing.domain.observations import SPECS, ObservationKind, check_blood_pressure, check_value


def test_every_kind_has_a_loinc_code_and_canonical_unit() -> None:
    assert set(SPECS) == set(ObservationKind)
    assert SPECS[ObservationKind.BLOOD_PRESSURE].loinc == "85354-9"
    assert SPECS[ObservationKind.HBA1C].loinc == "4548-4"
    assert SPECS[ObservationKind.GLUCOSE_FASTING].unit == "mmol/L"


@pytest.mark.parametrize("sbp, dbp", [(300, 110), (40, 20), (250, 140), (120, 80)])
def test_it_keeps_plausible_blood_pressures_including_emergencies(sbp: float, dbp: float) -> None:
    assert check_blood_pressure(sbp, dbp) == (sbp, dbp)


@pytest.mark.parametrize(
    "sbp, dbp, field",
    [
        (400, 90, "sbp"),
        (301, 90, "sbp"),
        (39, 20, "sbp"),
        (140, 201, "dbp"),
        (140, 19, "dbp"),
        (80, 120, "sbp"),
        (90, 90, "sbp"),
    ],
)
def test_it_refuses_implausible_blood_pressures(sbp: float, dbp: float, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_blood_pressure(sbp, dbp)
    assert err.value.field == field


def test_glucose_above_fifty_mmol_is_a_typing_error_but_33_is_kept() -> None:
    assert check_value(ObservationKind.GLUCOSE_FASTING, 33.3) == 33.3
    with pytest.raises(InvalidInput, match="glucose_fasting"):
        check_value(ObservationKind.GLUCOSE_FASTING, 126)  # mg/dL typed into a mmol/L field
