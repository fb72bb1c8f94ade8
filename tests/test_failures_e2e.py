"""When an outside system fails: the release lands in a clear state and nobody sees a trace."""

from __future__ import annotations

from integrations import Integrations
from integrations.dryrun import DryRunDeployer, DryRunSmokeTests, DryRunSourceControl
from integrations.ports import CheckResult, Deployment, IntegrationError
from tests.harness import MANAGER, Harness


class VercelDown(DryRunDeployer):
    def promote(self, staging: Deployment) -> Deployment:
        raise IntegrationError("Vercel answered 503 Service Unavailable")


class DeployerBug(DryRunDeployer):
    def promote(self, staging: Deployment) -> Deployment:
        raise KeyError("readyState")  # an unexpected bug, not a refusal


class ShareViewBroken(DryRunSmokeTests):
    def run(self, production: Deployment) -> list[CheckResult]:
        return [CheckResult("asset upload", True), CheckResult("share view", False, "HTTP 500")]


class ChangelogConflict(DryRunSourceControl):
    def update_changelog(self, version: str, notes: str) -> None:
        raise IntegrationError("GitHub answered 409 Conflict on CHANGELOG.md")


def _start(database_url: str, **parts: object) -> Harness:
    integrations = Integrations(
        parts.get("source", DryRunSourceControl()),  # type: ignore[arg-type]
        parts.get("deployer", DryRunDeployer()),  # type: ignore[arg-type]
        parts.get("smoke", DryRunSmokeTests(("asset upload", "share view"))),  # type: ignore[arg-type]
    )
    return Harness.start(database_url, integrations=integrations)


def test_a_failed_production_deploy_is_announced_and_frees_the_lock(database_url: str) -> None:
    bot = _start(database_url, deployer=VercelDown())
    try:
        bot.approved()
        bot.run(MANAGER, "promote v1.4.0")
        said = bot.wait_said(":rotating_light: *v1.4.0* failed").text
        assert "the production deploy failed: Vercel answered 503 Service Unavailable" in said
        assert bot.state("v1.4.0") == "failed"
        assert bot.rows("SELECT holder FROM deploy_locks")[0][0] is None
    finally:
        bot.stop()


def test_an_unexpected_error_fails_the_release_with_a_reference_not_a_trace(
    database_url: str,
) -> None:
    bot = _start(database_url, deployer=DeployerBug())
    try:
        bot.approved()
        bot.run(MANAGER, "promote v1.4.0")
        said = bot.wait_said(":rotating_light: *v1.4.0* failed").text
        assert "an unexpected error (ref `" in said
        assert "Traceback" not in said and "KeyError" not in said
        assert bot.state("v1.4.0") == "failed"
    finally:
        bot.stop()


def test_a_failing_smoke_test_fails_the_release_naming_the_check(database_url: str) -> None:
    bot = _start(database_url, smoke=ShareViewBroken(()))
    try:
        bot.approved()
        bot.run(MANAGER, "promote v1.4.0")
        said = bot.wait_said(":rotating_light: *v1.4.0* failed").text
        assert "smoke tests failed: share view (HTTP 500)" in said
        assert bot.state("v1.4.0") == "failed"
        outcome = bot.rows("SELECT outcome FROM artefacts WHERE kind = 'smoke_tests'")[0][0]
        assert outcome == "fail"
    finally:
        bot.stop()


def test_a_change_log_failure_does_not_undo_a_verified_release(database_url: str) -> None:
    bot = _start(database_url, source=ChangelogConflict())
    try:
        bot.approved()
        bot.run(MANAGER, "promote v1.4.0")
        said = bot.wait_said(":tada: *v1.4.0* is released").text
        assert "*the change log was not updated* (GitHub answered 409 Conflict" in said
        assert bot.state("v1.4.0") == "released"
    finally:
        bot.stop()
