"""What names an imported Observation or Condition's source record (fhir/source_keys.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from manbing.fhir.source_keys import LIMIT, namespaced, source_id

ID = "5f0b1c2e-9d4a-4c1e-8a57-1f2e3d4c5b6a"
STATION = uuid.UUID("0b6c8f1e-2a3d-4e5f-9a8b-7c6d5e4f3a2b")


@pytest.mark.parametrize(
    ("full_url", "resource", "expected"),
    [
        (f"urn:uuid:{ID}", {"id": "x"}, f"urn:uuid:{ID}"),
        ("https://his.example/fhir/Observation/7", {}, "https://his.example/fhir/Observation/7"),
        (None, {"id": ID.upper()}, f"Observation/{ID}"),
        (
            "Observation/7",
            {
                "id": "7",
                "identifier": [{"value": "no system"}, {"system": "urn:lis", "value": "7"}],
            },
            "urn:lis|7",
        ),
        (
            None,
            {"id": "7", "meta": {"source": "https://lis.example"}},
            "https://lis.example|Observation/7",
        ),
        (None, {"id": "7"}, None),  # an id unique only within a server nobody named
        (None, {"identifier": "not a list", "meta": "nor an object"}, None),
    ],
)
def test_the_source_id_is_what_makes_the_record_unique_in_reality(
    full_url: Any, resource: dict[str, Any], expected: str | None
) -> None:
    assert source_id("Observation", full_url, resource) == expected


def test_only_observations_and_conditions_have_a_source_id() -> None:
    assert source_id("Patient", f"urn:uuid:{ID}", {}) is None
    assert source_id("Condition", f"urn:uuid:{ID}", {}) == f"urn:uuid:{ID}"


def test_the_key_names_the_organisation_and_hashes_what_does_not_fit() -> None:
    short = namespaced(STATION, f"urn:uuid:{ID}")
    assert short == f"fhir:{STATION.hex}:urn:uuid:{ID}"
    assert namespaced(uuid.uuid4(), f"urn:uuid:{ID}") != short
    long_a = namespaced(STATION, "https://his.example/fhir/Observation/" + "a" * 80)
    long_b = namespaced(STATION, "https://his.example/fhir/Observation/" + "a" * 79 + "b")
    assert long_a.startswith(f"fhir:{STATION.hex}:sha256:") and len(long_a) <= LIMIT
    assert long_a != long_b
