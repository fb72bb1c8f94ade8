"""The outside systems the release process drives, each behind a small interface."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.ports import Deployer, SmokeTests, SourceControl


@dataclass(frozen=True)
class Integrations:
    source: SourceControl
    deployer: Deployer
    smoke_tests: SmokeTests


def dry_run(smoke_checks: tuple[str, ...]) -> Integrations:
    from integrations.dryrun import DryRunDeployer, DryRunSmokeTests, DryRunSourceControl

    return Integrations(DryRunSourceControl(), DryRunDeployer(), DryRunSmokeTests(smoke_checks))
