"""When an outside system fails: the release lands in a clear state and nobody sees a trace."""

from __future__ import annotations

import time
from datetime import timedelta

from bot.console.fake_slack import RESPONSE_URL
from integrations import Integrations
from integrations.dryrun import DryRunDeployer, DryRunSmokeTests, DryRunSourceControl
from integrations.ports import CheckResult, Deployment, IntegrationError
from tests.harness import MANAGER, NOBODY, QA, REPORT, REVIEWERS, Harness


class VercelDown(DryRunDeployer):
    def promote(self, staging: Deployment) -> None:
        raise IntegrationError("Vercel answered 503 Service Unavailable")


class DeployerBug(DryRunDeployer):
    def promote(self, staging: Deployment) -> None:
        raise KeyError("readyState")  # an unexpected bug, not a refusal


class ShareViewBroken(DryRunSmokeTests):
    def run(self, production: Deployment) -> list[CheckResult]:
        return [CheckResult("asset upload", True), CheckResult("share view", False, "HTTP 500")]


class ChangelogConflict(DryRunSourceControl):
    def update_changelog(self, version: str, entry: str) -> None:
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
        bot.wait_said(":tada: *v1.4.0* is released")
        said = bot.wait_said("*v1.4.0* follow-up").text
        assert "*the change log was not updated* (GitHub answered 409 Conflict" in said
        assert bot.state("v1.4.0") == "released"
    finally:
        bot.stop()


class RedeployedAfterAFix(DryRunDeployer):
    """Staging gets a new build after every regression run (a fix pushed to the branch)."""

    def __init__(self) -> None:
        self.builds = 0
        self.promoted: list[str] = []

    def current_staging(self, branch: str) -> Deployment:
        self.builds += 1
        return Deployment(
            f"dpl_build{self.builds}", f"https://staging.example.invalid/{self.builds}"
        )

    def promote(self, staging: Deployment) -> None:
        self.promoted.append(staging.id)
        super().promote(staging)


def test_promotion_ships_the_build_whose_regression_passed(database_url: str) -> None:
    deployer = RedeployedAfterAFix()
    bot = _start(database_url, deployer=deployer)
    try:
        bot.cast()
        bot.run(MANAGER, "start v1.4.0")
        bot.wait_said("*v1.4.0* is on staging")
        bot.run(QA, f"regression v1.4.0 fail <{REPORT}>")  # tested build 1
        bot.wait_said("Regression *failed*")
        bot.run(QA, f"regression v1.4.0 pass <{REPORT}>")  # tested build 2, after the fix
        review = bot.wait_review("v1.4.0")
        for reviewer in REVIEWERS:
            bot.approve(reviewer, review)
            bot.wait_told(reviewer, "Recorded your approval")
        bot.run(MANAGER, "promote v1.4.0")
        rocket = bot.wait_said(":rocket:").text
        assert "the staging deployment `dpl_build2` that passed regression" in rocket
        bot.wait_said(":tada: *v1.4.0* is released")
        assert deployer.promoted == ["dpl_build2"]
        outcomes = bot.rows(
            "SELECT outcome, details FROM artefacts WHERE kind = 'regression_report' ORDER BY id"
        )
        assert [o for o, _ in outcomes] == ["fail", "pass"]
        assert "dpl_build1" in str(outcomes[0][1]) and "dpl_build2" in str(outcomes[1][1])
    finally:
        bot.stop()


class LockReclaimedMidDeploy(DryRunDeployer):
    """While this deploy runs, another instance reclaims the lock (this one looked dead)."""

    def __init__(self) -> None:
        self.store: object = None

    def promote(self, staging: Deployment) -> None:
        from storage.unit_of_work import Store

        assert isinstance(self.store, Store)
        with self.store.transaction() as uow:
            uow.release_deploy_lock()
            uow.acquire_deploy_lock("other-instance", "v1.4.0", "UOTHER", timedelta(minutes=5))
        super().promote(staging)


def test_an_instance_that_lost_the_lock_stops_instead_of_claiming_success(
    database_url: str,
) -> None:
    deployer = LockReclaimedMidDeploy()
    bot = _start(database_url, deployer=deployer)
    deployer.store = bot.local.runtime.services.store
    try:
        bot.approved()
        bot.run(MANAGER, "promote v1.4.0")
        said = bot.wait_said("The promotion of *v1.4.0* lost the production deploy lock").text
        assert "it is now `failed`" in said and "stopped before marking it `deployed`" in said
        # What the deployer did is a fact all the same: production serves it.
        assert bot.rows("SELECT outcome FROM deployments")[0][0] == "succeeded"
        bot.fake.wait_quiet(quiet=0.3)
        assert not [t for t in bot.said() if ":tada:" in t or "is live" in t]
        assert bot.rows("SELECT holder FROM deploy_locks")[0][0] == "other-instance"
    finally:
        bot.stop()


def test_dry_run_announcements_say_nothing_was_deployed(bot: Harness) -> None:
    bot.released("v1.4.0")
    for fragment in ("is on staging", "is live", "is released"):
        assert "_(dry run: nothing was deployed)_" in bot.wait_said(fragment).text


def test_slack_rate_limiting_is_retried_and_nothing_is_lost(bot: Harness) -> None:
    bot.fake.fail_next("chat.postMessage")  # 429 with Retry-After: 1, as Slack does
    bot.run("UADMIN", "role add <@UBOB> qa")
    said = bot.wait_said("granted <@UBOB> the QA role", timeout=15)
    assert said.text.count("granted") == 1
    assert sum("granted <@UBOB>" in t for t in bot.said()) == 1
    attempts = [m for m, _ in bot.fake.calls if m == "chat.postMessage"]
    assert len(attempts) == 2  # the refused call and its retry


def test_a_failed_release_still_counts_as_what_production_runs(database_url: str) -> None:
    bot = _start(database_url, smoke=ShareViewBroken(()))
    try:
        bot.approved()
        bot.run(MANAGER, "promote v1.4.0")
        bot.wait_said(":rotating_light: *v1.4.0* failed")
        bot.run(MANAGER, "start v1.3.9")
        assert (
            "v1.3.9 is not newer than v1.4.0, which reached production"
            in bot.wait_told(MANAGER, "not newer").text
        )
        bot.run(MANAGER, "hotfix v1.4.1 fix the share view")
        bot.wait_said("started hotfix *v1.4.1* on top of v1.4.0")
    finally:
        bot.stop()


def test_a_reply_slack_is_slow_to_take_does_not_hold_up_the_same_persons_next_one(
    bot: Harness,
) -> None:
    """One request's replies keep their order; another request's do not queue behind them."""
    bot.fake.hang_next(RESPONSE_URL, 4.0)  # taken at once, answered 4 s late
    bot.run(NOBODY, "start v1.4.0")
    first = bot.wait_told(NOBODY, "Only a Release Manager may")
    began = time.monotonic()
    bot.run(NOBODY, "start v1.5.0")
    bot.fake.wait_for(lambda: len(bot.fake.ephemerals_for(NOBODY)) == 2, timeout=3.5)
    assert time.monotonic() - began < 2.0
    assert bot.fake.ephemerals_for(NOBODY)[0] == first
    assert bot.fake.ephemerals_for(NOBODY)[1].text.startswith("Only a Release Manager may")
    time.sleep(max(0.0, began + 4.2 - time.monotonic()))  # the held answer is in by now
    bot.fake.wait_quiet(quiet=0.5)
    assert len(bot.fake.ephemerals_for(NOBODY)) == 2  # and neither is sent twice
