"""The FHIR codecs refuse bad input with InvalidInput naming the element, never a bare exception."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from manbing.domain.errors import InvalidInput
from manbing.domain.organisations import OrgType
from manbing.fhir.codec import condition as condition_codec
from manbing.fhir.codec import observation as observation_codec
from manbing.fhir.codec import organization as organization_codec
from manbing.fhir.codec import patient as patient_codec
from manbing.fhir.codec import practitioner as practitioner_codec
from manbing.fhir.codec import workflow as workflow_codec
from manbing.fhir.codec.common import ORG_TYPE_SYSTEM, StructureError


def _organization(code: Any) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "name": "滨江医院",
        "type": [{"coding": [{"system": ORG_TYPE_SYSTEM, "code": code}]}],
    }


def test_an_organization_type_in_the_platforms_system_is_read() -> None:
    # the type a read of an Organization renders: a PUT of it must be accepted as it is
    assert organization_codec.parse(_organization("station")).type is OrgType.STATION
    assert organization_codec.parse(_organization("hospital")).type is OrgType.HOSPITAL


def test_an_unknown_organization_type_in_the_platforms_system_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        organization_codec.parse(_organization("clinic"))
    assert refused.value.field == "type"
    assert "clinic" in refused.value.message_en


# ------------------------------------------------------------------ JSON types of the elements
def _glucose(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1558-6"}]},
        "subject": {"reference": "Patient/7d3c9a3e-2f4b-4c1e-9a7e-1f2d3c4b5a69"},
        "effectiveDateTime": "2026-11-20",
        "valueQuantity": {"value": 6.1, "unit": "mmol/L"},
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("parse", "resource", "where", "words"),
    [
        # the R4B model reads an object given as a string of JSON; the codecs did not (500)
        (
            patient_codec.parse,
            {"resourceType": "Patient", "name": ['{"text": "王芳"}'], "birthDate": "1960-01-01"},
            "name[0]",
            "an object is expected, not a string",
        ),
        (
            workflow_codec.care_plan,
            {
                "resourceType": "CarePlan",
                "status": "active",
                "intent": "plan",
                "subject": {"reference": "Patient/7d3c9a3e-2f4b-4c1e-9a7e-1f2d3c4b5a69"},
                "extension": ['{"url": "urn:manbing:enrolment-status", "valueCode": "lost"}'],
            },
            "extension[0]",
            "an object is expected",
        ),
        # null for an element: ``body.get("identifier", [])`` gave None (500)
        (
            patient_codec.parse,
            {"resourceType": "Patient", "name": [{"text": "王芳"}], "identifier": None},
            "identifier",
            "null is not allowed",
        ),
        # a number given as a string is not FHIR JSON
        (
            observation_codec.parse,
            _glucose(valueQuantity={"value": "6.1", "unit": "mmol/L"}),
            "valueQuantity.value",
            "a number is expected, not a string",
        ),
        (
            patient_codec.parse,
            {"resourceType": "Patient", "name": [{"text": "王芳"}], "active": "false"},
            "active",
            "a boolean is expected",
        ),
        (
            workflow_codec.encounter,
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"code": "AMB"},
                "contained": [_glucose(valueQuantity={"value": "6.1"})],
            },
            "contained[0].valueQuantity.value",
            "a number is expected",
        ),
    ],
)
def test_an_element_of_the_wrong_json_type_is_a_structure_error_naming_it(
    parse: Callable[[Any], Any], resource: dict[str, Any], where: str, words: str
) -> None:
    with pytest.raises(StructureError) as refused:
        parse(resource)
    assert refused.value.expression == where
    assert words in str(refused.value)
    assert "FHIR JSON" in str(refused.value)


def test_nulls_that_line_primitives_up_with_their_extensions_are_kept() -> None:
    body = {
        "resourceType": "Patient",
        "name": [{"family": "王", "given": ["芳", None], "_given": [None, {"id": "g2"}]}],
        "birthDate": "1960-01-01",
    }
    assert patient_codec.parse(body).name == "王芳"


# ----------------------------------------------------------------- numbers no float can hold
@pytest.mark.parametrize(
    ("parse", "resource", "where"),
    [
        (
            observation_codec.parse,
            _glucose(valueQuantity={"value": 10**400}),
            "valueQuantity.value",
        ),
        (
            observation_codec.parse,
            _glucose(
                code={"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                valueQuantity=None,
                component=[
                    {
                        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                        "valueQuantity": {"value": value, "unit": "mmHg"},
                    }
                    for code, value in (("8480-6", -(10**400)), ("8462-4", 80))
                ],
            ),
            "component.valueQuantity.value",
        ),
        (
            workflow_codec.medication_statement,
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": {"text": "氨氯地平片"},
                "subject": {"reference": "Patient/7d3c9a3e-2f4b-4c1e-9a7e-1f2d3c4b5a69"},
                "dosage": [{"timing": {"repeat": {"frequency": 1, "period": 10**400}}}],
            },
            "dosage.timing.repeat.period",
        ),
        (
            workflow_codec.medication_statement,
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": {"text": "氨氯地平片"},
                "subject": {"reference": "Patient/7d3c9a3e-2f4b-4c1e-9a7e-1f2d3c4b5a69"},
                "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 10**400, "unit": "mg"}}]}],
            },
            "dosage.doseAndRate.doseQuantity.value",
        ),
    ],
)
def test_a_number_no_float_can_hold_is_refused_naming_the_element(
    parse: Callable[[Any], Any], resource: dict[str, Any], where: str
) -> None:
    resource = {k: v for k, v in resource.items() if v is not None}
    with pytest.raises(InvalidInput) as refused:
        parse(resource)  # was OverflowError: a 500
    assert refused.value.field == where
    assert "number" in refused.value.message_en


# -------------------------------------------------- codes of required bindings the codecs read
_SUBJECT = {"reference": "Patient/7d3c9a3e-2f4b-4c1e-9a7e-1f2d3c4b5a69"}


def _condition(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
        "subject": _SUBJECT,
    }
    body.update(changes)
    return body


def _statement(status: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "status": status,
        "medicationCodeableConcept": {"text": "氨氯地平片"},
        "subject": _SUBJECT,
    }


def _referral(priority: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": priority,
        "subject": _SUBJECT,
        "performer": [{"reference": "Organization/6c1f9c1e-2f4b-4c1e-9a7e-1f2d3c4b5a69"}],
    }


@pytest.mark.parametrize(
    ("parse", "resource", "where"),
    [
        # each was read as a default before: unknown sex, a stored status code, inactive, routine
        (
            patient_codec.parse,
            {"resourceType": "Patient", "name": [{"text": "王芳"}], "gender": "robot"},
            "gender",
        ),
        (
            practitioner_codec.parse,
            {"resourceType": "Practitioner", "name": [{"text": "周医生"}], "gender": "M"},
            "gender",
        ),
        (observation_codec.parse, _glucose(status="Appointment"), "status"),
        (observation_codec.parse, _glucose(status="entered-in-error"), "status"),
        (observation_codec.parse, _glucose(status="cancelled"), "status"),
        (
            condition_codec.parse,
            _condition(clinicalStatus={"coding": [{"code": "Appointment"}]}),
            "clinicalStatus",
        ),
        (
            condition_codec.parse,
            _condition(verificationStatus={"coding": [{"code": "x" * 30}]}),
            "verificationStatus",
        ),
        (workflow_codec.medication_statement, _statement("taking"), "status"),
        (workflow_codec.service_request, _referral("soon"), "priority"),
    ],
)
def test_a_code_outside_its_required_binding_is_refused_naming_the_element(
    parse: Callable[[Any], Any], resource: dict[str, Any], where: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse(resource)
    assert refused.value.field == where


def test_the_codes_of_the_bindings_are_read() -> None:
    assert observation_codec.parse(_glucose(status="amended")).value == 6.1
    found = condition_codec.parse(
        _condition(
            clinicalStatus={"coding": [{"code": "remission"}]},
            verificationStatus={"coding": [{"code": "provisional"}]},
        )
    )
    assert (found.clinical_status, found.verification_status) == ("remission", "provisional")
    assert not workflow_codec.medication_statement(_statement("on-hold")).active
    assert (
        patient_codec.parse(
            {"resourceType": "Patient", "name": [{"text": "王芳"}], "gender": "other"}
        ).sex
        is not None
    )
