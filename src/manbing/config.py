"""Typed settings, read once at start-up from ``MANBING_*`` environment variables (or ``.env``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "demo-secret-change-me"


class Mode(StrEnum):
    DEMO = "demo"
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class BpTargetProfileName(StrEnum):
    SERVICE_STANDARD_2017 = "service_standard_2017"
    PRIMARY_CARE_2025 = "primary_care_2025"


class Settings(BaseSettings):
    """Every setting of the platform. See the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="MANBING_", env_file=".env", extra="ignore")

    mode: Mode = Mode.DEMO
    database_url: str = Field(default="sqlite:///var/manbing.db")
    secret_key: str = DEFAULT_SECRET
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    bp_target_profile: BpTargetProfileName = BpTargetProfileName.SERVICE_STANDARD_2017
    warehouse_dir: Path = Path("var/warehouse")
    export_dir: Path = Path("var/exports")
    session_max_age_seconds: int = 8 * 3600
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    sql_echo: bool = False

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        weak = self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        if self.mode is Mode.PRODUCTION and weak:
            raise ValueError(
                "MANBING_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production mode"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
