"""Slack failing at the wrong moment loses nothing, does nothing twice, and never lies."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.console.fake_slack import Message
from bot.console.local import LocalBot
from bot.views.review import ReviewAction
from integrations import Integrations
from integrations.dryrun import DryRunDeployer, DryRunSmokeTests, DryRunSourceControl
from integrations.ports import (
    CheckResult,
    Deployment,
    IntegrationError,
    MergedPulls,
    PullRequest,
    TransientError,
)
from storage.unit_of_work import UnitOfWork
from tests.harness import (
    CLIENT_SUCCESS,
    MANAGER,
    QA,
    REPORT,
    REVIEWERS,
    SECURITY,
    TECH_LEAD,
    Harness,
    aest,
)

PRE_WINDOW = ":alarm_clock: The release window opens"


def _start(database_url: str, **options: Any) -> Harness:
    parts = {k: options.pop(k) for k in ("source", "deployer") if k in options}
    integrations = Integrations(
        parts.get("source", DryRunSourceControl()),
        parts.get("deployer", DryRunDeployer()),
        DryRunSmokeTests(("asset upload",)),
    )
    return Harness.start(database_url, integrations=integrations, **options)


@pytest.fixture
def bot(database_url: str) -> Iterator[Harness]:
    harness = _start(database_url)
    try:
        yield harness
    finally:
        harness.stop()


def _once(bot: Harness, fragment: str) -> str:
    found = [t for t in bot.said() if fragment in t]
    assert len(found) == 1, found
    return found[0]


def _outbox(bot: Harness) -> list[tuple[str, str, int]]:
    return [tuple(r) for r in bot.rows("SELECT kind, status, attempts FROM outbox ORDER BY id")]


# -- announcements -----------------------------------------------------------------------------


def test_slack_failing_the_promotion_announcement_still_releases_and_says_it_all_once(
    bot: Harness,
) -> None:
    bot.approved()
    bot.fake.fail_next("chat.postMessage", status=500, times=3)  # more than the SDK would retry
    bot.run(MANAGER, "promote v1.4.0")
    bot.wait_said(":tada: *v1.4.0* is released", timeout=30)
    assert bot.state("v1.4.0") == "released"
    said = bot.said()
    rocket, live, tada = (
        next(i for i, t in enumerate(said) if f in t)
        for f in (":rocket:", "*v1.4.0* is live", ":tada:")
    )
    assert rocket < live < tada  # in the order they were decided
    for fragment in (":rocket:", "*v1.4.0* is live", ":tada:"):
        _once(bot, fragment)
    assert bot.count("deployments") == 1


def test_a_rate_limited_start_reaches_staging_and_keeps_its_version(bot: Harness) -> None:
    bot.cast()
    bot.fake.fail_next("chat.postMessage", status=429, headers={"Retry-After": "1"}, times=4)
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging", timeout=30)
    assert bot.state("v1.4.0") == "staging"
    _once(bot, "started *v1.4.0*")
    assert bot.fake.count("chat.postMessage") >= 4 + 2


def test_a_regression_pass_during_a_slack_outage_posts_the_review_once_slack_is_back(
    bot: Harness,
) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")
    bot.fake.fail_always("chat.postMessage", 500)
    bot.run(QA, f"regression v1.4.0 pass <{REPORT}>")
    bot.wait_state("v1.4.0", "in_review")
    deadline = time.monotonic() + 10
    while not any(attempts for kind, _, attempts in _outbox(bot) if kind == "announce"):
        assert time.monotonic() < deadline, "the bot never tried to post"
        time.sleep(0.05)
    bot.fake.heal()
    review = bot.wait_review("v1.4.0", timeout=30)
    assert bot.buttons(review) == ["Approve", "Reject"]
    _once(bot, "Regression *passed* on staging for *v1.4.0*")
    said = bot.said()
    assert said.index(_once(bot, "Regression *passed*")) < said.index(review.text)


# -- the review message -------------------------------------------------------------------------


def test_the_last_approval_with_chat_update_failing_approves_announces_and_drops_the_buttons(
    bot: Harness,
) -> None:
    review = bot.to_review()
    for reviewer in (TECH_LEAD, QA, CLIENT_SUCCESS):
        bot.approve(reviewer, review)
        bot.wait_told(reviewer, "Recorded your approval")
    bot.fake.wait_quiet()
    bot.fake.fail_next("chat.update", status=500, times=3)
    bot.approve(SECURITY, review)
    bot.wait_said("*v1.4.0* is approved", timeout=30)
    bot.fake.wait_for(lambda: bot.buttons(review) == [], timeout=30)
    assert bot.state("v1.4.0") == "approved"
    told = bot.told(SECURITY)
    assert any("Recorded your approval of v1.4.0 as Security" in t for t in told)
    assert not any("nothing else was done" in t for t in told)


def test_a_review_update_that_hangs_past_the_client_timeout_is_retried(database_url: str) -> None:
    bot = _start(database_url, slack_timeout_seconds=1)
    try:
        review = bot.to_review()
        bot.fake.hang_next("chat.update", 2)
        bot.approve(TECH_LEAD, review)
        bot.wait_told(TECH_LEAD, "Recorded your approval")
        # Slack did the update but answered too late: the outbox cannot know, so it retries.
        deadline = time.monotonic() + 20
        renders = "SELECT status, attempts FROM outbox WHERE kind = 'review' ORDER BY id"
        while bot.rows(renders)[-1] != ("sent", 2):
            assert time.monotonic() < deadline, _outbox(bot)
            time.sleep(0.05)
        assert bot.fake.count("chat.update") == 2
        assert any("approved by <@UTECHLEAD>" in f for f in bot.review_fields(review))
    finally:
        bot.stop()


def test_a_review_message_deleted_in_slack_is_posted_again(bot: Harness) -> None:
    review = bot.to_review()
    bot.fake.delete_message(review.channel, review.ts)
    bot.sim.click(TECH_LEAD, review, ReviewAction.APPROVE.value)  # from a client still showing it
    bot.wait_told(TECH_LEAD, "Recorded your approval")
    again: Message = bot.fake.wait_for(
        lambda: next(
            (
                m
                for m in bot.fake.channel_messages(review.channel)
                if m.text.startswith("Readiness")
            ),
            None,
        ),
        timeout=20,
    )
    assert again.ts != review.ts
    assert any("approved by <@UTECHLEAD>" in f for f in bot.review_fields(again))
    deadline = time.monotonic() + 10
    while bot.rows("SELECT message_ts FROM reviews")[0][0] != again.ts:  # recorded after the post
        assert time.monotonic() < deadline
        time.sleep(0.02)
    bot.approve(QA, again)
    bot.wait_told(QA, "Recorded your approval")
    bot.fake.wait_for(lambda: any("approved by <@UQA>" in f for f in bot.review_fields(again)))


class LongNotes(DryRunSourceControl):
    def merged_pulls(self, since: str | None, until: str) -> MergedPulls:
        return MergedPulls(
            tuple(
                PullRequest(
                    n,
                    f"a change with a fairly long title {'x' * 40}",
                    f"https://github.test/acme/portal/pull/{n}",
                    "dev",
                )
                for n in range(1, 201)
            ),
            "https://github.test/acme/portal/pulls?q=is%3Amerged",
        )


def test_release_notes_longer_than_slack_allows_are_cut_with_a_pointer(database_url: str) -> None:
    bot = _start(database_url, source=LongNotes())
    try:
        review = bot.to_review()
        section = bot.current(review).blocks[1]["text"]["text"]
        full_list = "<https://github.test/acme/portal/pulls?q=is%3Amerged|the full list>"
        assert len(section) <= 3000
        assert "more: see " + full_list in section
        announced = _once(bot, "Regression *passed*")
        assert len(announced) <= 4000 and "more: see " + full_list in announced
        for reviewer in REVIEWERS:
            bot.approve(reviewer, review)
        bot.wait_said("*v1.4.0* is approved")
        bot.run(MANAGER, "promote v1.4.0")
        bot.wait_said(":tada: *v1.4.0* is released")  # nothing wedged
    finally:
        bot.stop()


# -- undeliverable -------------------------------------------------------------------------------


def test_a_message_slack_refuses_for_good_is_given_up_logged_and_shown_in_status(
    bot: Harness,
) -> None:
    bot.cast()
    bot.fake.wait_quiet()
    bot.fake.fail_with("chat.postMessage", "not_in_channel")
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")  # the next message is not held up behind it
    assert ("announce", "undeliverable", 1) in _outbox(bot)
    assert bot.state("v1.4.0") == "staging"
    reference = bot.rows("SELECT reference FROM outbox WHERE status = 'undeliverable'")[0][0]
    bot.run(MANAGER, "status")
    status = bot.wait_told(MANAGER, "could not be delivered").text
    assert reference in status and "not_in_channel" in status


# -- integrations: retried, or failed truthfully without burning the version ----------------


class FlakyStaging(DryRunDeployer):
    def __init__(self, failures: int) -> None:
        self.failures = failures

    def staging_build(self, branch: str, sha: str) -> Deployment:
        if self.failures > 0:
            self.failures -= 1
            raise TransientError("Vercel answered 503", retry_after=0)
        return super().staging_build(branch, sha)


def test_a_transient_staging_failure_is_retried_until_it_works(database_url: str) -> None:
    bot = _start(database_url, deployer=FlakyStaging(2))
    try:
        bot.cast()
        bot.run(MANAGER, "start v1.4.0")
        bot.wait_said("*v1.4.0* is on staging", timeout=30)
        retried = bot.rows("SELECT COUNT(*) FROM audit_events WHERE action = 'step.retried'")
        assert retried[0][0] == 2
        assert bot.count("artefacts") == 1
    finally:
        bot.stop()


class BrokenStaging(DryRunDeployer):
    broken = True

    def staging_build(self, branch: str, sha: str) -> Deployment:
        if self.broken:
            raise IntegrationError("Vercel answered 403: the token cannot deploy this project")
        return super().staging_build(branch, sha)


def test_a_failed_staging_keeps_the_version_and_start_retries_it(database_url: str) -> None:
    deployer = BrokenStaging()
    bot = _start(database_url, deployer=deployer)
    try:
        bot.cast()
        bot.run(MANAGER, "start v1.4.0")
        said = bot.wait_said(":x: *v1.4.0* could not reach staging").text
        assert "Vercel answered 403" in said and "`/release start v1.4.0` retries" in said
        assert bot.state("v1.4.0") == "planned"
        deployer.broken = False
        bot.run(MANAGER, "start v1.4.0")
        bot.wait_said(f"<@{MANAGER}> is retrying *v1.4.0*")
        bot.wait_said("*v1.4.0* is on staging")
        assert bot.state("v1.4.0") == "staging"
    finally:
        bot.stop()


# -- the deploy lock and production ---------------------------------------------------------------


def _two_approved(bot: Harness) -> None:
    """v1.3.9 and v1.4.0 both approved, nothing in production yet."""
    bot.approved("v1.3.9")
    bot.fake.wait_quiet()
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")
    bot.run(QA, f"regression v1.4.0 pass <{REPORT}>")
    review = bot.wait_review("v1.4.0")
    for reviewer in REVIEWERS:
        bot.approve(reviewer, review)
    bot.wait_said("*v1.4.0* is approved")


class HeldPromotion(DryRunDeployer):
    """The promotion is asked for, and production takes its time to serve it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.go = threading.Event()

    def await_production(self, deployment: Deployment) -> Deployment:
        self.entered.set()
        assert self.go.wait(30)
        return super().await_production(deployment)


def test_unlock_refuses_a_live_deploy_and_a_forced_unlock_never_lets_production_go_back(
    database_url: str,
) -> None:
    deployer = HeldPromotion()
    bot = _start(database_url, deployer=deployer)
    try:
        _two_approved(bot)

        bot.run(MANAGER, "promote v1.4.0")
        assert deployer.entered.wait(10)
        bot.run(MANAGER, "unlock it looks stuck")
        bot.wait_told(MANAGER, "is still running and renewed its lock")
        assert bot.rows("SELECT holder FROM deploy_locks")[0][0] is not None

        bot.run(MANAGER, "unlock --force Vercel dashboard shows nothing")
        bot.wait_said(":warning: *Forced*")
        assert bot.state("v1.4.0") == "failed"
        bot.run(MANAGER, "promote v1.3.9")  # older than what may now be serving
        refusal = bot.wait_told(MANAGER, "v1.3.9 cannot be promoted now").text
        assert "v1.4.0 is in production, and v1.3.9 is not newer" in refusal

        deployer.go.set()  # the deploy the unlock abandoned comes back: it did go out
        bot.wait_said("The promotion of *v1.4.0* finished after its deploy lock was cleared")
        rows = bot.rows("SELECT outcome, deployment_id FROM deployments")
        assert len(rows) == 1 and rows[0][0] == "succeeded" and rows[0][1]
        assert bot.rows("SELECT production_deployment_id FROM releases WHERE version = 'v1.4.0'")[
            0
        ][0]
        assert (
            bot.rows(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'deploy_lock.force_cleared'"
            )[0][0]
            == 1
        )
    finally:
        deployer.go.set()
        bot.stop()


def test_every_production_deploy_is_a_fact_in_the_deployments_table(bot: Harness) -> None:
    bot.released("v1.4.0")
    rows = bot.rows(
        "SELECT environment, deployment_id, outcome, replaced, finished_at FROM deployments"
    )
    assert len(rows) == 1
    environment, deployment_id, outcome, replaced, finished = rows[0]
    assert (environment, outcome, replaced) == ("production", "succeeded", None)
    assert deployment_id and finished is not None


# -- scheduled posts -----------------------------------------------------------------------------


def test_a_rate_limited_scheduled_post_goes_out_once_with_two_live_instances(
    database_url: str,
) -> None:
    """Slack holds the sender off with Retry-After; the other instance must not post it too."""
    first = _start(database_url)
    second = Harness(LocalBot.start(database_url, clock=first.clock, fake=first.fake))
    try:
        first.clock.set(aest("2026-11-24 09:00"))
        first.fake.fail_next("chat.postMessage", status=429, headers={"Retry-After": "2"}, times=3)
        deadline = time.monotonic() + 30
        while not [t for t in first.said() if PRE_WINDOW in t]:
            assert time.monotonic() < deadline, "the post never went out"
            first.ticker.tick()  # both instances keep ticking while Slack holds the post off
            second.ticker.tick()
            time.sleep(0.2)
        first.fake.wait_quiet(quiet=1)
        assert len([t for t in first.said() if PRE_WINDOW in t]) == 1
        assert first.rows("SELECT status, attempts FROM outbox WHERE kind = 'announce'") == [
            ("sent", 4)
        ]
        assert first.count("scheduled_posts") == 1
    finally:
        second.local.stop()
        first.stop()


# -- a step that cannot be recorded, or keeps failing ----------------------------------------------


def test_a_step_whose_record_hits_a_database_blip_is_run_again_not_stuck(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = UnitOfWork.set_staging_deployment
    blips = [OperationalError("UPDATE releases", {}, Exception("server closed the connection"))]

    def flaky(self: UnitOfWork, version: str, deployment_id: str, sha: str = "") -> Any:
        if blips:
            raise blips.pop()
        return original(self, version, deployment_id, sha)

    monkeypatch.setattr(UnitOfWork, "set_staging_deployment", flaky)
    bot = _start(database_url)
    try:
        bot.cast()
        bot.run(MANAGER, "start v1.4.0")
        bot.wait_said("*v1.4.0* is on staging", timeout=20)
        assert not blips
        assert bot.state("v1.4.0") == "staging"
        assert bot.rows("SELECT COUNT(*) FROM artefacts WHERE kind = 'staging_deploy'")[0][0] == 1
        assert bot.rows("SELECT status, claimed_by FROM jobs") == [("done", None)]
    finally:
        bot.stop()


class ChangelogDown(DryRunSourceControl):
    def update_changelog(self, version: str, entry: str) -> None:
        raise TransientError("GitHub answered 502 Bad Gateway")


def test_a_change_log_outage_still_releases_a_verified_deploy(database_url: str) -> None:
    bot = _start(database_url, source=ChangelogDown())
    bot.local.runtime.jobs.first_backoff = 0.01
    try:
        bot.approved()
        bot.run(MANAGER, "promote v1.4.0")
        bot.wait_said(":tada: *v1.4.0* is released", timeout=30)
        said = bot.wait_said("*v1.4.0* follow-up", timeout=30).text
        assert "*the change log was not updated* (GitHub answered 502 Bad Gateway" in said
        assert bot.state("v1.4.0") == "released"
        assert not [t for t in bot.said() if ":rotating_light:" in t]
        assert bot.rows("SELECT holder FROM deploy_locks")[0][0] is None
        assert bot.rows("SELECT status FROM jobs WHERE kind = 'promote'") == [("done",)]
    finally:
        bot.stop()


class PromoteTimesOut(DryRunDeployer):
    def promote(self, staging: Deployment) -> None:
        raise TransientError("Vercel did not answer within 30 s")


def test_a_promotion_given_up_on_may_be_live_so_nothing_older_follows_it(
    database_url: str,
) -> None:
    bot = _start(database_url, deployer=PromoteTimesOut())
    bot.local.runtime.jobs.first_backoff = 0.01
    try:
        _two_approved(bot)
        bot.run(MANAGER, "promote v1.4.0")
        said = bot.wait_said(":rotating_light: *v1.4.0* failed", timeout=30).text
        assert "gave up after 8 attempts" in said
        assert bot.rows("SELECT outcome FROM deployments") == [("unknown",)]
        bot.run(MANAGER, "promote v1.3.9")
        refusal = bot.wait_told(MANAGER, "v1.3.9 cannot be promoted now").text
        assert "v1.4.0 is in production, and v1.3.9 is not newer" in refusal
    finally:
        bot.stop()


def test_a_hotfix_reason_longer_than_a_block_allows_cannot_wedge_the_hotfix(bot: Harness) -> None:
    bot.released("v1.4.0")
    before = bot.snapshot()
    reason = "the share view leaks drafts " * 115  # 3,220 characters
    response = bot.run(MANAGER, f"hotfix v1.4.1 {reason}")
    assert "keep it to 1,000" in response.json()["text"]  # refused before anything is recorded
    assert bot.snapshot() == before and bot.state("v1.4.1") is None
    bot.run(MANAGER, f"hotfix v1.4.1 {reason[:1000]}")  # the longest reason still renders
    review = bot.wait_review("v1.4.1", title="Hotfix approval")
    sections = [b for b in review.blocks if b["type"] == "section" and b.get("text")]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    bot.wait_said("*v1.4.1* is on staging")
    assert not bot.rows("SELECT id FROM outbox WHERE status = 'undeliverable'")


def test_a_database_blip_while_a_review_is_rendered_is_retried_not_given_up(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = UnitOfWork.review
    blips = [OperationalError("SELECT reviews", {}, Exception("server closed the connection"))]

    def flaky(self: UnitOfWork, review_id: int) -> Any:
        if blips and threading.current_thread().name.startswith("delivery"):
            raise blips.pop()
        return original(self, review_id)

    monkeypatch.setattr(UnitOfWork, "review", flaky)
    bot = _start(database_url)
    try:
        review = bot.to_review()
        assert not blips
        assert bot.buttons(review) == ["Approve", "Reject"]
        assert not bot.rows("SELECT id FROM outbox WHERE status = 'undeliverable'")
    finally:
        bot.stop()


class SlowToPromote(DryRunDeployer):
    def __init__(self) -> None:
        self.failures = 7  # one short of giving up

    def promote(self, staging: Deployment) -> None:
        if self.failures:
            self.failures -= 1
            raise TransientError("Vercel answered 503")
        super().promote(staging)


class SmokeOnceTimedOut(DryRunSmokeTests):
    def __init__(self) -> None:
        super().__init__(("asset upload",))
        self.timed_out = False

    def run(self, production: Deployment) -> list[CheckResult]:
        if not self.timed_out:
            self.timed_out = True
            raise TransientError("the smoke target did not answer in 10 s")
        return super().run(production)


def test_retries_are_counted_per_step_not_carried_into_the_next(database_url: str) -> None:
    integrations = Integrations(DryRunSourceControl(), SlowToPromote(), SmokeOnceTimedOut())
    bot = Harness.start(database_url, integrations=integrations)
    bot.local.runtime.jobs.first_backoff = 0.01
    try:
        bot.approved()
        bot.run(MANAGER, "promote v1.4.0")
        bot.wait_said(":tada: *v1.4.0* is released", timeout=30)
        retried = bot.rows("SELECT COUNT(*) FROM audit_events WHERE action = 'step.retried'")
        assert retried[0][0] == 8
    finally:
        bot.stop()
