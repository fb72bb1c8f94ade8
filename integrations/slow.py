"""Dry-run twins that take as long as the real systems can: for load tests, benchmarks and
crash tests that need time to kill a process in the middle of a step."""

from __future__ import annotations

import time

from integrations import Integrations
from integrations.dryrun import DryRunDeployer, DryRunSmokeTests, DryRunSourceControl
from integrations.ports import CheckResult, Deployment, MergedPulls


class SlowDeployer(DryRunDeployer):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def staging_build(self, branch: str, sha: str) -> Deployment:
        time.sleep(self.seconds)
        return super().staging_build(branch, sha)

    def promote(self, staging: Deployment) -> None:
        time.sleep(self.seconds)
        super().promote(staging)


class SlowSourceControl(DryRunSourceControl):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def create_release_branch(self, branch: str, base: str = "main") -> str:
        time.sleep(self.seconds)
        return super().create_release_branch(branch, base)

    def bump_version(self, branch: str, version: str) -> str:
        time.sleep(self.seconds)
        return super().bump_version(branch, version)

    def merged_pulls(self, since: str | None, until: str) -> MergedPulls:
        time.sleep(self.seconds)
        return super().merged_pulls(since, until)

    def update_changelog(self, version: str, entry: str) -> None:
        time.sleep(self.seconds)
        super().update_changelog(version, entry)


class SlowSmokeTests(DryRunSmokeTests):
    def __init__(self, checks: tuple[str, ...], seconds: float) -> None:
        super().__init__(checks)
        self.seconds = seconds

    def run(self, production: Deployment) -> list[CheckResult]:
        time.sleep(self.seconds)
        return super().run(production)


def slow(seconds: float, smoke_checks: tuple[str, ...] = ("asset upload",)) -> Integrations:
    return Integrations(
        DryRunSourceControl(), SlowDeployer(seconds), DryRunSmokeTests(smoke_checks), dry_run=True
    )
