"""Configuration from the environment (or .env): the variable names are a contract."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from release.policy import DEFAULT_COMPLIANCE_ITEMS, DEFAULT_SMOKE_CHECKS, Policy

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


def _split(value: object, separator: str) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(separator) if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    release_channel_id: str
    release_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    database_url: str = "sqlite:///release_bot.sqlite3"
    port: int = Field(default=3000, ge=1, le=65535)
    four_eyes: bool = True
    compliance_items: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_COMPLIANCE_ITEMS)
    )
    smoke_checks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_SMOKE_CHECKS)
    )
    worker_threads: int = Field(default=32, ge=1, le=256)

    @field_validator("release_admins", "smoke_checks", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value, ",")

    @field_validator("compliance_items", mode="before")
    @classmethod
    def _semicolon_separated(cls, value: object) -> object:
        return _split(value, ";")

    @field_validator("release_admins")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _USER_ID.fullmatch(v)]
        if bad:
            raise ValueError(f"not Slack user IDs (like U0123ABCD): {', '.join(bad)}")
        return value

    @field_validator("release_channel_id")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        if not _CHANNEL_ID.fullmatch(value):
            raise ValueError("must be a Slack channel ID like C0123ABCD, not a channel name")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        from storage.db import normalise_url

        try:
            backend = make_url(normalise_url(value)).get_backend_name()
        except ArgumentError:
            raise ValueError("not a database URL (sqlite:///file or postgresql://…)") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{backend} is not supported; use SQLite or PostgreSQL")
        return value

    @field_validator("compliance_items")
    @classmethod
    def _item_length(cls, value: list[str]) -> list[str]:
        # Slack shows each as a checkbox option, whose text may not exceed 75 characters.
        long = [v for v in value if len(v) > 75]
        if long:
            raise ValueError(f"each item must be at most 75 characters: {long[0][:40]}…")
        return value

    @model_validator(mode="after")
    def _signing_secret_for_http(self) -> Settings:
        if self.slack_app_token is None and self.slack_signing_secret is None:
            raise ValueError("SLACK_SIGNING_SECRET is required unless SLACK_APP_TOKEN is set")
        return self

    @property
    def policy(self) -> Policy:
        return Policy(
            four_eyes=self.four_eyes,
            compliance_items=tuple(self.compliance_items),
            config_admins=frozenset(self.release_admins),
        )


def describe(error: ValidationError) -> str:
    """One line naming every broken setting by its environment variable."""
    problems = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper()
        if item["type"] == "missing":
            problems.append(f"{name} is missing")
        elif name:
            problems.append(f"{name}: {item['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(item["msg"].removeprefix("Value error, "))
    return "release-bot: configuration error: " + "; ".join(problems)
