"""Dry-run twins: they do nothing outside the process and log what they would have done."""

from __future__ import annotations

import hashlib
import logging

from integrations.ports import CheckResult, Deployment, Email, MergedPulls

log = logging.getLogger("release_bot.dry_run")


def _fake_id(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode(), usedforsecurity=False).hexdigest()[:12]


class DryRunSourceControl:
    def create_release_branch(self, branch: str, base: str = "main") -> str:
        sha = _fake_id("branch", branch)
        log.info("dry-run GitHub: would create branch %s from %s", branch, base)
        return sha

    def bump_version(self, branch: str, version: str) -> str:
        log.info("dry-run GitHub: would bump package.json to %s on %s", version, branch)
        return _fake_id("bump", branch, version)

    def head(self, branch: str) -> str:
        return _fake_id("head", branch)

    def merged_pulls(self, since: str | None, until: str) -> MergedPulls:
        log.info("dry-run GitHub: would list the pull requests merged since %s", since or "ever")
        return MergedPulls((), "")

    def update_changelog(self, version: str, entry: str) -> None:
        log.info("dry-run GitHub: would add %s to CHANGELOG.md", version)

    def record_deployment(
        self, environment: str, sha: str, state: str, url: str, description: str
    ) -> None:
        log.info(
            "dry-run GitHub: would record a %s deployment of %s as %s", environment, sha, state
        )


class DryRunDeployer:
    """Staging builds are ready at once; production is whatever was last promoted here."""

    _production: Deployment | None = None  # (subclasses need not call __init__)

    def staging_build(self, branch: str, sha: str) -> Deployment:
        deployment_id = "dpl_" + _fake_id("staging", branch)
        log.info("dry-run Vercel: would deploy %s to staging as %s", branch, deployment_id)
        return Deployment(deployment_id, f"https://staging.example.invalid/{deployment_id}", sha)

    def current_staging(self, branch: str) -> Deployment:
        deployment_id = "dpl_" + _fake_id("staging", branch)
        return Deployment(deployment_id, f"https://staging.example.invalid/{deployment_id}")

    def production(self) -> Deployment | None:
        return self._production

    def promote(self, staging: Deployment) -> None:
        log.info("dry-run Vercel: would promote %s to production", staging.id)
        self._production = Deployment(staging.id, "https://portal.example.invalid", staging.sha)

    def rollback(self, to: Deployment) -> None:
        log.info("dry-run Vercel: would roll production back to %s", to.id)
        self._production = Deployment(to.id, "https://portal.example.invalid", to.sha)

    def await_production(self, deployment: Deployment) -> Deployment:
        return Deployment(deployment.id, "https://portal.example.invalid", deployment.sha)


class DryRunSmokeTests:
    def __init__(self, checks: tuple[str, ...]) -> None:
        self.checks = checks

    def run(self, production: Deployment) -> list[CheckResult]:
        log.info("dry-run smoke tests on %s: %s", production.id, ", ".join(self.checks))
        return [CheckResult(name, True) for name in self.checks]


class DryRunMailer:
    def __init__(self, recipients: tuple[str, ...] = ()) -> None:
        self.recipients = recipients

    def send(self, email: Email) -> None:
        # The subject and a count only: addresses and the notes' text stay out of the log.
        log.info(
            "dry-run e-mail: would send %r to %d recipient(s)",
            email.subject,
            len(self.recipients),
        )
