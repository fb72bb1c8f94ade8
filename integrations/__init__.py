"""The outside systems the release process drives, each behind a small interface."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.ports import (
    Deployer,
    FlagProvider,
    Mailer,
    RegressionSuite,
    SmokeTests,
    SourceControl,
)


@dataclass(frozen=True)
class Integrations:
    source: SourceControl
    deployer: Deployer
    smoke_tests: SmokeTests
    dry_run: bool = False  # the deployer touches nothing: no deploy is real
    #: Runs the staging regression by itself (GitHub Actions); None: QA records it by hand.
    regression: RegressionSuite | None = None
    #: E-mails the release notes after a release; None: no e-mail is configured.
    mailer: Mailer | None = None
    #: Where the support bulletin goes after a release; None: no support channel is set.
    support_channel: str | None = None
    #: The integrations that run dry, named for people ("GitHub", "Vercel", …).
    dry: tuple[str, ...] = ()
    #: Where flags take effect (LaunchDarkly); None: the registry only.
    flags: FlagProvider | None = None

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
            dry=EVERY,
        )
    return Integrations(
        DryRunSourceControl(),
        DryRunDeployer(),
        DryRunSmokeTests(smoke_checks),
        dry_run=True,
        dry=EVERY,
    )


EVERY = ("GitHub", "Vercel", "smoke tests", "e-mail")
