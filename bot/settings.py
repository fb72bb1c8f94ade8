"""Configuration from the environment (or .env): the variable names are a contract."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from integrations.mail import parse_smtp_url
from integrations.smoke import SmokeCheck, parse_checks
from release.policy import (
    DEFAULT_COMPLIANCE_ITEMS,
    DEFAULT_DEPENDENCY_UPGRADES,
    DEFAULT_SMOKE_CHECKS,
    Policy,
)
from release.schedule import SchedulePolicy
from release.windows import WindowPolicy, parse_days

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
_EMAIL = re.compile(r"[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+")


def _split(value: object, separator: str) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(separator) if part.strip()]
    return value


class DatabaseSettings(BaseSettings):
    """What every `release-bot` command reads, `migrate` included: the same way, from the
    environment or `.env`, where an empty variable means unset."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    database_url: str = "sqlite:///release_bot.sqlite3"

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


class Settings(DatabaseSettings):
    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    release_channel_id: str
    release_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    host: str = "0.0.0.0"  # noqa: S104 (the bind address; a platform routes to it)
    port: int = Field(default=3000, ge=1, le=65535)
    four_eyes: bool = True
    compliance_items: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_COMPLIANCE_ITEMS)
    )
    #: Names (a dry run), or a JSON list of HTTP checks (see integrations.smoke).
    smoke_checks: Annotated[list[str] | tuple[SmokeCheck, ...], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_SMOKE_CHECKS)
    )
    #: Release steps: they mostly wait on GitHub and Vercel, so many may run at once.
    worker_threads: int = Field(default=32, ge=1, le=256)
    #: Commands and clicks: database work in Python; more threads only queue for the
    #: interpreter and the database (and slow every acknowledgement on the way).
    command_threads: int = Field(default=4, ge=1, le=64)

    # -- the release cadence ------------------------------------------------------
    release_timezone: str = "Australia/Brisbane"
    release_window_days: str = "tue,thu"
    release_window_start: time = time(10, 0)
    release_window_minutes: int = Field(default=120, ge=1, le=24 * 60)
    pre_window_lead_minutes: int = Field(default=60, ge=0, le=24 * 60)
    weekly_post_day: str = "mon"
    weekly_post_time: time = time(9, 0)
    monthly_post_day: int = Field(default=1, ge=1, le=28)
    monthly_post_time: time = time(9, 0)
    scheduled_post_grace_minutes: int = Field(default=360, ge=1, le=7 * 24 * 60)
    dependency_upgrades: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_DEPENDENCY_UPGRADES)
    )
    deploy_lock_lease_seconds: int = Field(default=300, ge=10, le=24 * 3600)
    scheduler_tick_seconds: int = Field(default=30, ge=1, le=3600)
    dry_run_deploy_seconds: float = Field(default=0.0, ge=0, le=600)
    dry_run_step_seconds: float = Field(default=0.0, ge=0, le=600)
    slack_timeout_seconds: int = Field(default=10, ge=1, le=60)
    #: How long a read-only command (status, the lists) may take to be answered in the
    #: acknowledgement itself; a slower answer follows through the response URL. (An empty
    #: acknowledgement shows the person nothing: waiting for the answer costs them nothing,
    #: and answering twice over, in the ack and then by a post, costs the bot twice.)
    answer_in_ack_seconds: float = Field(default=0.5, ge=0, le=2.2)
    job_lease_seconds: float = Field(default=30.0, ge=1, le=600)

    # -- the outside systems: each is real when its credentials are set --------------
    github_token: SecretStr | None = None
    github_repository: str | None = None
    github_api_url: str = "https://api.github.com"
    github_regression_workflow: str = "regression.yml"
    vercel_token: SecretStr | None = None
    vercel_project_id: str | None = None
    vercel_team_id: str | None = None
    vercel_api_url: str = "https://api.vercel.com"
    smtp_url: SecretStr | None = None  # it holds a password
    release_notes_from: str | None = None
    release_notes_to: Annotated[list[str], NoDecode] = Field(default_factory=list)
    support_channel_id: str | None = None
    #: The time limit of every call to GitHub, Vercel or the SMTP server.
    integration_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    #: How often a build, a workflow run or a promotion is looked at while it runs.
    integration_poll_seconds: float = Field(default=15.0, ge=0.05, le=600)
    launchdarkly_api_token: SecretStr | None = None
    launchdarkly_project_key: str | None = None
    launchdarkly_environment_key: str | None = None
    launchdarkly_api_url: str = "https://app.launchdarkly.com"
    #: A sprint, in days: a flag launched for everyone is removed within two.
    sprint_days: int = Field(default=14, ge=1, le=60)

    @field_validator("release_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"`{value}` is not a time zone name like Australia/Brisbane") from None
        return value

    @field_validator("release_window_days", "weekly_post_day")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_days(value)  # raises ValueError with the reason
        return value

    @field_validator("weekly_post_day")
    @classmethod
    def _one_day(cls, value: str) -> str:
        if len(parse_days(value)) != 1:
            raise ValueError("name exactly one day, like mon")
        return value

    @field_validator("release_admins", "dependency_upgrades", "release_notes_to", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value, ",")

    @field_validator("smoke_checks", mode="before")
    @classmethod
    def _smoke_checks(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_checks(value) or _split(value, ",")  # ValueError says what is wrong
        return value

    @field_validator("github_repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.-]+/[\w.-]+", value):
            raise ValueError("must be owner/name, like acme/portal")
        return value

    @field_validator("github_regression_workflow")
    @classmethod
    def _workflow(cls, value: str) -> str:
        if not re.fullmatch(r"[\w.-]+\.ya?ml|\d+", value):
            raise ValueError("must be a workflow file name like regression.yml, or its id")
        return value

    @field_validator("github_api_url", "vercel_api_url", "launchdarkly_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_smtp_url(value.get_secret_value())  # its ValueError never repeats the URL
        return value

    @field_validator("release_notes_from")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError("must be an e-mail address")
        return value

    @field_validator("release_notes_to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _EMAIL.fullmatch(v)]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(b[:60] for b in bad)}")
        return value

    @field_validator("support_channel_id")
    @classmethod
    def _support_channel(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL_ID.fullmatch(value):
            raise ValueError("must be a Slack channel ID like C0123ABCD, not a channel name")
        return value

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

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        import socket

        try:
            socket.getaddrinfo(value, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise ValueError(
                f"cannot bind to {value[:60]!r}: not an address or host name"
            ) from None
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

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

    @model_validator(mode="after")
    def _whole_integrations(self) -> Settings:
        """An integration is all there or not at all: half of one would fail mid-release."""
        groups: dict[str, dict[str, object]] = {
            "GitHub": {
                "GITHUB_TOKEN": self.github_token,
                "GITHUB_REPOSITORY": self.github_repository,
            },
            "Vercel": {
                "VERCEL_TOKEN": self.vercel_token,
                "VERCEL_PROJECT_ID": self.vercel_project_id,
            },
            "LaunchDarkly": {
                "LAUNCHDARKLY_API_TOKEN": self.launchdarkly_api_token,
                "LAUNCHDARKLY_PROJECT_KEY": self.launchdarkly_project_key,
                "LAUNCHDARKLY_ENVIRONMENT_KEY": self.launchdarkly_environment_key,
            },
            "e-mail": {
                "SMTP_URL": self.smtp_url,
                "RELEASE_NOTES_FROM": self.release_notes_from,
                "RELEASE_NOTES_TO": self.release_notes_to or None,
            },
        }
        problems = []
        for name, needed in groups.items():
            given = [key for key, value in needed.items() if value is not None]
            missing = [key for key, value in needed.items() if value is None]
            if given and missing:
                problems.append(
                    f"{name} is half-configured: {', '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} missing ({', '.join(given)} "
                    f"{'is' if len(given) == 1 else 'are'} set)"
                )
        github = self.github_token is not None and self.github_repository is not None
        vercel = self.vercel_token is not None and self.vercel_project_id is not None
        if github != vercel and not problems:
            # Vercel builds what GitHub branched; real commits for a dry deploy would lie.
            problems.append(
                "GitHub and Vercel work together: set "
                + (
                    "VERCEL_TOKEN and VERCEL_PROJECT_ID"
                    if github
                    else "GITHUB_TOKEN and GITHUB_REPOSITORY"
                )
                + " too, or neither"
            )
        if self.vercel_team_id and self.vercel_token is None:
            problems.append("VERCEL_TEAM_ID is set but VERCEL_TOKEN is missing")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def smoke_check_names(self) -> tuple[str, ...]:
        return tuple(c if isinstance(c, str) else c.name for c in self.smoke_checks)

    @property
    def http_smoke_checks(self) -> tuple[SmokeCheck, ...]:
        """The checks that run for real; empty when SMOKE_CHECKS only names them."""
        return tuple(c for c in self.smoke_checks if isinstance(c, SmokeCheck))

    @property
    def windows(self) -> WindowPolicy:
        return WindowPolicy(
            zone=ZoneInfo(self.release_timezone),
            days=parse_days(self.release_window_days),
            start=self.release_window_start,
            length=timedelta(minutes=self.release_window_minutes),
        )

    @property
    def policy(self) -> Policy:
        return Policy(
            four_eyes=self.four_eyes,
            compliance_items=tuple(self.compliance_items),
            config_admins=frozenset(self.release_admins),
            schedule=SchedulePolicy(
                windows=self.windows,
                pre_window_lead=timedelta(minutes=self.pre_window_lead_minutes),
                weekly_day=min(parse_days(self.weekly_post_day)),
                weekly_time=self.weekly_post_time,
                monthly_day=self.monthly_post_day,
                monthly_time=self.monthly_post_time,
                grace=timedelta(minutes=self.scheduled_post_grace_minutes),
            ),
            dependency_upgrades=tuple(self.dependency_upgrades),
            deploy_lock_lease=timedelta(seconds=self.deploy_lock_lease_seconds),
            sprint=timedelta(days=self.sprint_days),
        )


def describe(error: ValidationError, *, bot: bool = True) -> str:
    """One line naming every broken setting by its environment variable.

    `bot`: the settings of the bot itself (not `migrate`'s), with its cross-field rule.
    """
    problems = []
    missing = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
    # The cross-field rule runs only once every field is valid: say it with the rest.
    fields_failed = any(item["loc"] for item in error.errors())
    if (
        bot
        and fields_failed
        and "slack_signing_secret" not in missing
        and not _set("SLACK_SIGNING_SECRET")
        and not _set("SLACK_APP_TOKEN")
    ):
        problems.append("SLACK_SIGNING_SECRET is missing (needed unless SLACK_APP_TOKEN is set)")
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper()
        if item["type"] == "missing":
            problems.append(f"{name} is missing")
        elif name:
            problems.append(f"{name}: {item['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(item["msg"].removeprefix("Value error, "))
    return "release-bot: configuration error: " + "; ".join(problems)


def _set(name: str) -> bool:
    """Whether `name` is set to something, in the environment or in `.env`."""
    import os

    from dotenv import dotenv_values

    value = os.environ.get(name) or dotenv_values(".env").get(name)
    return bool(value)
