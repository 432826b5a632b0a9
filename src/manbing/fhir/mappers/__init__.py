"""Row → FHIR R4 resource mappers.

Each function takes a mapping keyed by the database column names (as read from the operational
database or the Parquet warehouse) and returns a plain FHIR JSON dict, so the synthetic-data
writer and the future FHIR server share one mapping.
"""

from manbing.fhir.mappers.clinical import (
    condition_from_enrolment,
    encounter_from_follow_up,
    medication_statement_from_row,
    observation_from_row,
)
from manbing.fhir.mappers.people import (
    organization_from_row,
    patient_from_row,
    practitioner_from_row,
)

__all__ = [
    "condition_from_enrolment",
    "encounter_from_follow_up",
    "medication_statement_from_row",
    "observation_from_row",
    "organization_from_row",
    "patient_from_row",
    "practitioner_from_row",
]
