"""Every mapped table; import this package to register them all on ``Base.metadata``."""

from manbing.db.models.assessments import HealthCheck, RiskAssessment, ScreeningResult
from manbing.db.models.census import CensusPopulation
from manbing.db.models.conditions import (
    Condition,
    FhirClient,
    FhirExportJob,
    FhirResourceVersion,
)
from manbing.db.models.dtx import DoseConfirmation, DtxEnrolment, DtxLesson, DtxPackage
from manbing.db.models.followups import FollowUp, FollowUpMedication
from manbing.db.models.geo import Division, Organization
from manbing.db.models.indicators import IndicatorResult
from manbing.db.models.messages import Message
from manbing.db.models.mpi import NotDuplicate
from manbing.db.models.observations import (
    Device,
    DeviceBindingCode,
    MedicationStatement,
    Observation,
)
from manbing.db.models.people import Contract, Practitioner, ServicePackage, Team, TeamMember, User
from manbing.db.models.programmes import Enrolment, EnrolmentStatusChange
from manbing.db.models.residents import Resident, ResidentIdentifier
from manbing.db.models.workflow import AuditEvent, Referral, ReferralEvent, WorklistTask

__all__ = [
    "AuditEvent",
    "CensusPopulation",
    "Condition",
    "Contract",
    "Device",
    "DeviceBindingCode",
    "Division",
    "DoseConfirmation",
    "DtxEnrolment",
    "DtxLesson",
    "DtxPackage",
    "Enrolment",
    "EnrolmentStatusChange",
    "FhirClient",
    "FhirExportJob",
    "FhirResourceVersion",
    "FollowUp",
    "FollowUpMedication",
    "HealthCheck",
    "IndicatorResult",
    "MedicationStatement",
    "Message",
    "NotDuplicate",
    "Observation",
    "Organization",
    "Practitioner",
    "Referral",
    "ReferralEvent",
    "Resident",
    "ResidentIdentifier",
    "RiskAssessment",
    "ScreeningResult",
    "ServicePackage",
    "Team",
    "TeamMember",
    "User",
    "WorklistTask",
]
