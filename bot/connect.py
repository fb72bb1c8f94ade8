"""The outside systems the settings configure: each real when its credentials are set."""

from __future__ import annotations

from bot.settings import Settings
from integrations import Integrations
from integrations.dryrun import DryRunDeployer, DryRunSmokeTests, DryRunSourceControl
from integrations.ports import (
    Deployer,
    FlagProvider,
    Mailer,
    RegressionSuite,
    SmokeTests,
    SourceControl,
)


def integrations(settings: Settings) -> Integrations:
    """GitHub, Vercel, the smoke tests and e-mail, as configured; the rest run dry."""
    dry: list[str] = []
    source: SourceControl
    regression: RegressionSuite | None = None
    if settings.github_token is not None and settings.github_repository is not None:
        from integrations.github import GitHub

        github = GitHub(
            settings.github_token.get_secret_value(),
            settings.github_repository,
            api_url=settings.github_api_url,
            workflow=settings.github_regression_workflow,
            timeout=settings.integration_timeout_seconds,
            poll_seconds=settings.integration_poll_seconds,
        )
        source, regression = github, github
    else:
        source = DryRunSourceControl()
        dry.append("GitHub")
    deployer: Deployer
    if settings.vercel_token is not None and settings.vercel_project_id is not None:
        from integrations.vercel import Vercel

        deployer = Vercel(
            settings.vercel_token.get_secret_value(),
            settings.vercel_project_id,
            team_id=settings.vercel_team_id,
            api_url=settings.vercel_api_url,
            timeout=settings.integration_timeout_seconds,
            poll_seconds=settings.integration_poll_seconds,
        )
    else:
        deployer = DryRunDeployer()
        dry.append("Vercel")
    smoke: SmokeTests
    if settings.http_smoke_checks:
        from integrations.smoke import HttpSmokeTests

        smoke = HttpSmokeTests(settings.http_smoke_checks)
    else:
        smoke = DryRunSmokeTests(settings.smoke_check_names)
        dry.append("smoke tests")
    mailer: Mailer | None = None
    if settings.smtp_url is not None and settings.release_notes_from:
        from integrations.mail import SmtpMailer

        mailer = SmtpMailer(
            settings.smtp_url.get_secret_value(),
            settings.release_notes_from,
            tuple(settings.release_notes_to),
            timeout=max(settings.integration_timeout_seconds, 30.0),
        )
    flags: FlagProvider | None = None
    if settings.launchdarkly_api_token is not None:
        from integrations.launchdarkly import LaunchDarkly

        assert settings.launchdarkly_project_key and settings.launchdarkly_environment_key
        flags = LaunchDarkly(
            settings.launchdarkly_api_token.get_secret_value(),
            settings.launchdarkly_project_key,
            settings.launchdarkly_environment_key,
            api_url=settings.launchdarkly_api_url,
            timeout=settings.integration_timeout_seconds,
        )
    return Integrations(
        source,
        deployer,
        smoke,
        dry_run="Vercel" in dry,
        regression=regression,
        mailer=mailer,
        support_channel=settings.support_channel_id,
        dry=tuple(dry),
        flags=flags,
    )
