"""Every mapped table; import this package to register them all on ``Base.metadata``."""

from manbing.db.models.assessments import HealthCheck, RiskAssessment, ScreeningResult
from manbing.db.models.followups import FollowUp, FollowUpMedication
from manbing.db.models.geo import Division, Organization
from manbing.db.models.indicators import IndicatorResult
from manbing.db.models.observations import Device, MedicationStatement, Observation
from manbing.db.models.people import Contract, Practitioner, ServicePackage, Team, TeamMember, User
from manbing.db.models.programmes import Enrolment, EnrolmentStatusChange
from manbing.db.models.residents import Resident, ResidentIdentifier
from manbing.db.models.workflow import AuditEvent, Referral, ReferralEvent, WorklistTask

__all__ = [
    "AuditEvent",
    "Contract",
    "Device",
    "Division",
    "Enrolment",
    "EnrolmentStatusChange",
    "FollowUp",
    "FollowUpMedication",
    "HealthCheck",
    "IndicatorResult",
    "MedicationStatement",
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
