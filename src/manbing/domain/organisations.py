"""Care organisations, user roles and what each role may do.

The organisation tree follows the Chinese primary-care system: a health commission (卫生健康委员会),
a CDC (疾病预防控制中心), hospitals, community health service centres (社区卫生服务中心) and township
health centres (乡镇卫生院), and under them stations (社区卫生服务站) and village clinics (村卫生室).
"""

from __future__ import annotations

from enum import StrEnum


class OrgType(StrEnum):
    HEALTH_COMMISSION = "health_commission"
    CDC = "cdc"
    HOSPITAL = "hospital"
    COMMUNITY_CENTRE = "community_centre"
    TOWNSHIP_CENTRE = "township_centre"
    STATION = "station"
    VILLAGE_CLINIC = "village_clinic"

    @property
    def label_zh(self) -> str:
        return _ORG_LABELS[self]

    @property
    def is_primary_care(self) -> bool:
        return self in _PRIMARY_CARE


_ORG_LABELS = {
    OrgType.HEALTH_COMMISSION: "卫生健康委员会",
    OrgType.CDC: "疾病预防控制中心",
    OrgType.HOSPITAL: "医院",
    OrgType.COMMUNITY_CENTRE: "社区卫生服务中心",
    OrgType.TOWNSHIP_CENTRE: "乡镇卫生院",
    OrgType.STATION: "社区卫生服务站",
    OrgType.VILLAGE_CLINIC: "村卫生室",
}
_PRIMARY_CARE = {
    OrgType.COMMUNITY_CENTRE,
    OrgType.TOWNSHIP_CENTRE,
    OrgType.STATION,
    OrgType.VILLAGE_CLINIC,
}


class Role(StrEnum):
    FAMILY_DOCTOR = "family_doctor"
    NURSE = "nurse"
    PUBLIC_HEALTH_WORKER = "public_health_worker"
    HOSPITAL_SPECIALIST = "hospital_specialist"
    CENTRE_MANAGER = "centre_manager"
    CDC_ANALYST = "cdc_analyst"
    COMMISSION_MANAGER = "commission_manager"
    SYSTEM_ADMIN = "system_admin"
    PATIENT = "patient"

    @property
    def label_zh(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.FAMILY_DOCTOR: "家庭医生",
    Role.NURSE: "护士",
    Role.PUBLIC_HEALTH_WORKER: "公共卫生人员",
    Role.HOSPITAL_SPECIALIST: "医院专科医生",
    Role.CENTRE_MANAGER: "中心管理者",
    Role.CDC_ANALYST: "疾控分析人员",
    Role.COMMISSION_MANAGER: "卫健委管理者",
    Role.SYSTEM_ADMIN: "系统管理员",
    Role.PATIENT: "患者",
}


class Permission(StrEnum):
    READ_RESIDENTS = "read_residents"
    WRITE_RESIDENTS = "write_residents"
    WRITE_CLINICAL = "write_clinical"
    RECEIVE_REFERRALS = "receive_referrals"
    READ_INDICATORS = "read_indicators"
    SEE_UNMASKED_PII = "see_unmasked_pii"
    EXPORT_PERSONAL_DATA = "export_personal_data"
    ADMINISTER = "administer"
    # review master-patient-index candidates and merge duplicate records (docs/mpi.md)
    MERGE_RESIDENTS = "merge_residents"


class Scope(StrEnum):
    """Which residents a role reaches, relative to the user's organisation."""

    ORG_SUBTREE = "org_subtree"  # the user's organisation and everything under it
    DIVISION = "division"  # every organisation inside the user's organisation's division
    REFERRED = "referred"  # residents referred to the user's organisation
    SELF = "self"  # the patient's own record
    NONE = "none"


_CLINICAL = frozenset(
    {
        Permission.READ_RESIDENTS,
        Permission.WRITE_RESIDENTS,
        Permission.WRITE_CLINICAL,
        Permission.SEE_UNMASKED_PII,
        Permission.EXPORT_PERSONAL_DATA,
        Permission.READ_INDICATORS,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.FAMILY_DOCTOR: _CLINICAL,
    Role.NURSE: _CLINICAL - {Permission.EXPORT_PERSONAL_DATA},
    Role.PUBLIC_HEALTH_WORKER: _CLINICAL - {Permission.EXPORT_PERSONAL_DATA},
    Role.HOSPITAL_SPECIALIST: frozenset(
        {
            Permission.READ_RESIDENTS,
            Permission.WRITE_CLINICAL,
            Permission.RECEIVE_REFERRALS,
            Permission.SEE_UNMASKED_PII,
        }
    ),
    Role.CENTRE_MANAGER: _CLINICAL | {Permission.MERGE_RESIDENTS},
    # Analysts and managers see population data and line lists, but names, ID numbers and
    # phone numbers stay masked (PIPL: minimum necessary).
    Role.CDC_ANALYST: frozenset({Permission.READ_RESIDENTS, Permission.READ_INDICATORS}),
    Role.COMMISSION_MANAGER: frozenset({Permission.READ_RESIDENTS, Permission.READ_INDICATORS}),
    Role.SYSTEM_ADMIN: frozenset({Permission.ADMINISTER}),
    Role.PATIENT: frozenset({Permission.READ_RESIDENTS, Permission.SEE_UNMASKED_PII}),
}

ROLE_SCOPE: dict[Role, Scope] = {
    Role.FAMILY_DOCTOR: Scope.ORG_SUBTREE,
    Role.NURSE: Scope.ORG_SUBTREE,
    Role.PUBLIC_HEALTH_WORKER: Scope.ORG_SUBTREE,
    Role.HOSPITAL_SPECIALIST: Scope.REFERRED,
    Role.CENTRE_MANAGER: Scope.ORG_SUBTREE,
    Role.CDC_ANALYST: Scope.DIVISION,
    Role.COMMISSION_MANAGER: Scope.DIVISION,
    Role.SYSTEM_ADMIN: Scope.NONE,
    Role.PATIENT: Scope.SELF,
}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def division_prefix(division_code: str) -> str:
    """The code prefix that covers a division and everything inside it.

    ``330108`` (a district) → ``330108``; ``330100`` (a city) → ``3301``; ``330000`` → ``33``;
    a 12-digit township code ``330108001000`` → ``330108001``.
    """
    code = division_code
    if len(code) == 12:
        code = code[:9] if code[9:] == "000" else code
        return code
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code
