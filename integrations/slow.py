"""Dry-run twins that take as long as the real systems can: for load tests and benchmarks."""

from __future__ import annotations

import time

from integrations import Integrations
from integrations.dryrun import DryRunDeployer, DryRunSmokeTests, DryRunSourceControl
from integrations.ports import Deployment


class SlowDeployer(DryRunDeployer):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def deploy_staging(self, branch: str) -> Deployment:
        time.sleep(self.seconds)
        return super().deploy_staging(branch)

    def promote(self, staging: Deployment) -> Deployment:
        time.sleep(self.seconds)
        return super().promote(staging)


def slow(seconds: float, smoke_checks: tuple[str, ...] = ("asset upload",)) -> Integrations:
    return Integrations(
        DryRunSourceControl(), SlowDeployer(seconds), DryRunSmokeTests(smoke_checks), dry_run=True
    )
