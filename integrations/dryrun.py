"""Dry-run twins: they do nothing outside the process and log what they would have done."""

from __future__ import annotations

import hashlib
import logging

from integrations.ports import CheckResult, Deployment

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

    def release_notes(self, version: str, branch: str) -> str:
        log.info("dry-run GitHub: would generate release notes for %s", version)
        return (
            f"_Release notes for {version} are generated from the pull requests merged into "
            f"`{branch}` (dry run: nothing was read from GitHub)._"
        )

    def update_changelog(self, version: str, notes: str) -> None:
        log.info("dry-run GitHub: would add %s to the change log and support bulletin", version)


class DryRunDeployer:
    def deploy_staging(self, branch: str) -> Deployment:
        deployment_id = "dpl_" + _fake_id("staging", branch)
        log.info("dry-run Vercel: would deploy %s to staging as %s", branch, deployment_id)
        return Deployment(deployment_id, f"https://staging.example.invalid/{deployment_id}")

    def current_staging(self, branch: str) -> Deployment:
        deployment_id = "dpl_" + _fake_id("staging", branch)
        return Deployment(deployment_id, f"https://staging.example.invalid/{deployment_id}")

    def promote(self, staging: Deployment) -> Deployment:
        log.info("dry-run Vercel: would promote %s to production", staging.id)
        return Deployment(staging.id, "https://portal.example.invalid")


class DryRunSmokeTests:
    def __init__(self, checks: tuple[str, ...]) -> None:
        self.checks = checks

    def run(self, production: Deployment) -> list[CheckResult]:
        log.info("dry-run smoke tests on %s: %s", production.id, ", ".join(self.checks))
        return [CheckResult(name, True, "dry run") for name in self.checks]
