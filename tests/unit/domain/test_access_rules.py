import pytest

from manbing.domain.organisations import (
    ROLE_PERMISSIONS,
    ROLE_SCOPE,
    Permission,
    Role,
    Scope,
    division_prefix,
    has_permission,
)


@pytest.mark.parametrize(
    "code, prefix",
    [
        ("330108", "330108"),
        ("330100", "3301"),
        ("330000", "33"),
        ("330108001000", "330108001"),
        ("330108001002", "330108001002"),
    ],
)
def test_division_prefix_covers_the_division_and_everything_inside(code: str, prefix: str) -> None:
    assert division_prefix(code) == prefix


def test_every_role_has_permissions_and_a_scope() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role) == set(ROLE_SCOPE)


def test_analysts_see_population_data_but_never_unmasked_personal_data() -> None:
    for role in (Role.CDC_ANALYST, Role.COMMISSION_MANAGER):
        assert has_permission(role, Permission.READ_INDICATORS)
        assert not has_permission(role, Permission.SEE_UNMASKED_PII)
        assert not has_permission(role, Permission.WRITE_CLINICAL)
        assert ROLE_SCOPE[role] is Scope.DIVISION


def test_the_system_administrator_reaches_no_resident() -> None:
    assert ROLE_SCOPE[Role.SYSTEM_ADMIN] is Scope.NONE
    assert not has_permission(Role.SYSTEM_ADMIN, Permission.READ_RESIDENTS)
