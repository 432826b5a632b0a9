import pytest
from pydantic import ValidationError

from manbing.config import DEFAULT_SECRET, Mode, Settings


def test_production_mode_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="MANBING_SECRET_KEY"):
        Settings(mode=Mode.PRODUCTION, secret_key=DEFAULT_SECRET)
    with pytest.raises(ValidationError):
        Settings(mode=Mode.PRODUCTION, secret_key="short")


def test_production_mode_starts_with_a_strong_secret_and_demo_mode_with_the_default() -> None:
    assert Settings(mode=Mode.PRODUCTION, secret_key="x" * 40).mode is Mode.PRODUCTION
    assert Settings(mode=Mode.DEMO).secret_key == DEFAULT_SECRET


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANBING_DATABASE_URL", "postgresql+psycopg://u@h:5432/db")
    monkeypatch.setenv("MANBING_MODE", "production")
    monkeypatch.setenv("MANBING_SECRET_KEY", "s" * 32)
    settings = Settings()
    assert not settings.is_sqlite
    assert settings.mode is Mode.PRODUCTION
