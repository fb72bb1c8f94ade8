"""The outside systems the release process drives, each behind a small interface."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.ports import Deployer, SmokeTests, SourceControl


@dataclass(frozen=True)
class Integrations:
    source: SourceControl
    deployer: Deployer
    smoke_tests: SmokeTests
    dry_run: bool = False  # nothing outside the process is touched

    @property
    def note(self) -> str:
        """Said after every announcement of a deploy, so nobody mistakes a rehearsal."""
        return " _(dry run: nothing was deployed)_" if self.dry_run else ""


def dry_run(
    smoke_checks: tuple[str, ...], *, deploy_seconds: float = 0.0, step_seconds: float = 0.0
) -> Integrations:
    """Integrations that act on nothing; deploys may take `deploy_seconds`, and every other
    call `step_seconds`, to rehearse timing."""
    from integrations.dryrun import DryRunDeployer, DryRunSmokeTests, DryRunSourceControl

    if deploy_seconds > 0 or step_seconds > 0:
        from integrations.slow import SlowDeployer, SlowSmokeTests, SlowSourceControl

        return Integrations(
            SlowSourceControl(step_seconds),
            SlowDeployer(deploy_seconds),
            SlowSmokeTests(smoke_checks, step_seconds),
            dry_run=True,
        )
    return Integrations(
        DryRunSourceControl(), DryRunDeployer(), DryRunSmokeTests(smoke_checks), dry_run=True
    )
