"""`/release rollback`: production goes back to what served before, or a clear refusal."""

from __future__ import annotations

import threading
from datetime import timedelta

from integrations import Integrations
from integrations.dryrun import DryRunDeployer, DryRunSmokeTests, DryRunSourceControl
from integrations.ports import Deployment, Email, Waiting
from release.clock import FixedClock
from tests.harness import IN_TUESDAY_WINDOW, MANAGER, QA, REPORT, REVIEWERS, Harness


class HeldRollback(DryRunDeployer):
    """Production takes its time to serve the deployment a rollback restores."""

    def __init__(self) -> None:
        self.rolled_back_to: list[str] = []
        self.entered = threading.Event()
        self.go = threading.Event()
        self.go.set()

    def rollback(self, to: Deployment) -> None:
        self.rolled_back_to.append(to.id)
        super().rollback(to)

    def await_production(self, deployment: Deployment) -> Deployment:
        if self.rolled_back_to:
            self.entered.set()
            assert self.go.wait(30)
        return super().await_production(deployment)


def _start(database_url: str, deployer: DryRunDeployer | None = None) -> Harness:
    integrations = Integrations(
        DryRunSourceControl(), deployer or DryRunDeployer(), DryRunSmokeTests(("asset upload",))
    )
    return Harness.start(database_url, integrations=integrations)


def test_rolling_back_a_release_restores_the_one_before_it(database_url: str) -> None:
    deployer = HeldRollback()
    bot = _start(database_url, deployer)
    try:
        bot.released("v1.4.0")
        bot.fake.wait_quiet()
        bot.released("v1.5.0")
        v140 = bot.rows("SELECT production_deployment_id FROM releases WHERE version = 'v1.4.0'")
        deployer.go.clear()
        bot.run(MANAGER, "rollback v1.5.0")
        started = bot.wait_said(f"<@{MANAGER}> is rolling back *v1.5.0*").text
        assert f"production goes back to *v1.4.0* (`{v140[0][0]}`)" in started
        assert deployer.entered.wait(10)
        bot.run(MANAGER, "promote v1.5.0")  # nothing else deploys while it runs
        bot.wait_told(MANAGER, "v1.5.0 is already released")
        bot.run(MANAGER, "rollback v1.5.0")
        bot.wait_told(MANAGER, "holds the deploy lock, so nothing was rolled back")
        deployer.go.set()
        said = bot.wait_said(":rewind: *v1.5.0* is rolled back", timeout=20).text
        assert "production serves *v1.4.0* again" in said
        assert deployer.rolled_back_to == [v140[0][0]]
        assert bot.state("v1.5.0") == "rolled_back"
        assert bot.rows("SELECT holder FROM deploy_locks")[0][0] is None
        bot.run(MANAGER, "start v1.5.0")  # a version names one release, even rolled back
        bot.wait_told(MANAGER, "v1.5.0 was already started")
        bot.run(MANAGER, "hotfix v1.4.1 the share view leaks drafts")  # on what is live
        bot.wait_said("*v1.4.1* is on staging")
        audit = bot.rows("SELECT action FROM audit_events WHERE action = 'command.rollback'")
        assert len(audit) == 1
    finally:
        deployer.go.set()
        bot.stop()


def test_rollback_refuses_what_it_cannot_roll_back_and_changes_nothing(
    database_url: str,
) -> None:
    bot = _start(database_url)
    try:
        bot.cast()
        bot.run(MANAGER, "rollback")
        bot.wait_told(MANAGER, "No release the bot promoted is in production")
        bot.run(MANAGER, "start v1.4.0")
        bot.wait_said("*v1.4.0* is on staging")
        bot.run(MANAGER, "rollback v1.4.0")
        bot.wait_told(MANAGER, "v1.4.0 is not what production serves: a rollback restores")
        bot.run(MANAGER, "rollback v9.9.9")
        bot.wait_told(MANAGER, "There is no release v9.9.9.")
        bot.run(QA, f"regression v1.4.0 pass <{REPORT}>")
        review = bot.wait_review("v1.4.0")
        for reviewer in REVIEWERS:
            bot.approve(reviewer, review)
        bot.wait_said("*v1.4.0* is approved")
        bot.run(MANAGER, "promote v1.4.0")
        bot.wait_said(":tada: *v1.4.0* is released")
        before = bot.snapshot()
        bot.run(MANAGER, "rollback v1.4.0")  # the first release: nothing known before it
        bot.wait_told(MANAGER, "no record of what production served before v1.4.0")
        assert bot.snapshot() == before
        response = bot.run(MANAGER, "rollback v1.4.0 now please")
        assert "`rollback` takes at most one version." in response.json()["text"]
    finally:
        bot.stop()


class NeverBuilt(DryRunDeployer):
    def staging_build(self, branch: str, sha: str) -> Deployment:
        raise Waiting("Vercel has not started the staging build yet", retry_after=0.05)


def test_a_staging_build_that_never_comes_fails_the_step_after_its_wait_limit(
    database_url: str,
) -> None:
    clock = FixedClock(IN_TUESDAY_WINDOW)
    integrations = Integrations(DryRunSourceControl(), NeverBuilt(), DryRunSmokeTests(("x",)))
    bot = Harness.start(database_url, integrations=integrations, clock=clock)
    try:
        bot.cast()
        bot.run(MANAGER, "start v1.4.0")
        bot.fake.wait_for(
            lambda: bot.rows("SELECT last_error FROM jobs WHERE last_error LIKE 'Vercel%'")
        )
        assert bot.rows("SELECT attempts FROM jobs") == [(0,)]  # waiting is not failing
        clock.advance(timedelta(minutes=46))
        said = bot.wait_said(":x: *v1.4.0* could not reach staging", timeout=20).text
        assert "Vercel has not started the staging build yet (gave up after 45 min)" in said
        assert bot.state("v1.4.0") == "planned"
    finally:
        bot.stop()


def test_rollback_only_ever_steps_back_from_what_production_serves(database_url: str) -> None:
    bot = _start(database_url)
    try:
        for version in ("v1.4.0", "v1.5.0", "v1.6.0"):
            bot.released(version)
            bot.fake.wait_quiet()
        deployment = {
            version: bot.rows(
                f"SELECT production_deployment_id FROM releases WHERE version = '{version}'"
            )[0][0]
            for version in ("v1.4.0", "v1.5.0")
        }
        before = bot.snapshot()
        bot.run(MANAGER, "rollback v1.5.0")  # not live: production must not skip back past v1.6.0
        bot.wait_told(MANAGER, "v1.5.0 is not what production serves (v1.6.0 is)")
        assert bot.snapshot() == before
        bot.run(MANAGER, "rollback")
        bot.wait_said(":rewind: *v1.6.0* is rolled back")
        bot.run(MANAGER, "rollback")  # again: from v1.5.0 to v1.4.0, never back to v1.6.0
        started = bot.wait_said(f"<@{MANAGER}> is rolling back *v1.5.0*").text
        assert f"production goes back to *v1.4.0* (`{deployment['v1.4.0']}`)" in started
        bot.wait_said(":rewind: *v1.5.0* is rolled back")
        assert [bot.state(v) for v in ("v1.4.0", "v1.5.0", "v1.6.0")] == [
            "released",
            "rolled_back",
            "rolled_back",
        ]
        assert deployment["v1.5.0"] not in bot.said()[-1]
    finally:
        bot.stop()


class HeldChangelog(DryRunSourceControl):
    def __init__(self) -> None:
        self.entered = threading.Event()
        self.go = threading.Event()

    def update_changelog(self, version: str, entry: str) -> None:
        if version == "v1.5.0":
            self.entered.set()
            assert self.go.wait(30)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        self.sent.append(email)


def test_a_release_rolled_back_during_its_follow_up_is_not_mailed_or_bulletined(
    database_url: str,
) -> None:
    source, mail = HeldChangelog(), Outbox()
    integrations = Integrations(
        source,
        DryRunDeployer(),
        DryRunSmokeTests(("asset upload",)),
        mailer=mail,
        support_channel="CSUPPORT",
    )
    bot = Harness.start(database_url, integrations=integrations)
    try:
        bot.released("v1.4.0")
        bot.wait_said("*v1.4.0* follow-up")
        bot.approved("v1.5.0")
        bot.run(MANAGER, "promote v1.5.0")
        bot.wait_said(":tada: *v1.5.0* is released")
        assert source.entered.wait(10)  # the change log is being written
        bot.run(MANAGER, "rollback")
        bot.wait_said(":rewind: *v1.5.0* is rolled back", timeout=20)
        source.go.set()
        follow_up = bot.wait_said("*v1.5.0* follow-up", timeout=20).text
        assert "the release notes e-mail is not sent (it is `rolled_back` now)" in follow_up
        assert "the support bulletin is not posted (it is `rolled_back` now)" in follow_up
        assert [m.subject for m in mail.sent] == ["Released: the portal v1.4.0"]
        bulletins = bot.fake.channel_messages("CSUPPORT")
        assert len(bulletins) == 1 and "v1.4.0 is live" in bulletins[0].text
    finally:
        source.go.set()
        bot.stop()
