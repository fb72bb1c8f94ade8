"""A whole release with every integration real: GitHub, Vercel, the smoke checks and e-mail.

The bot is configured the way an operator configures it (the settings' variables), and its
real clients talk to fakes of each API on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.outside import RECIPIENTS, SENDER, SUPPORT_CHANNEL, Outside, outside
from tests.harness import MANAGER, QA, REVIEWERS, Harness

TITLES = {
    "milestone": "Milestone analytics for agencies <!channel>",
    "asset": "Faster asset uploads",
    "share": "Share links expire after 30 days <https://evil.example|https://ci.example.com>",
    "none": "Tidy the footer",
}


def _settings(world: Outside) -> dict[str, Any]:
    return {name.lower(): value for name, value in world.env().items()}


@pytest.fixture
def world() -> Iterator[Outside]:
    with outside() as world:
        world.github.merge_pull("Before the previous release", labels=("task",))
        yield world


def _start(database_url: str, world: Outside) -> Harness:
    bot = Harness.start(database_url, **_settings(world))
    bot.local.runtime.jobs.first_backoff = 0.05
    return bot


def _merge_the_changes(world: Outside) -> None:
    world.github.merge_pull(TITLES["milestone"], labels=("milestone",), author="mia")
    world.github.merge_pull(TITLES["asset"], labels=("asset-updates",), author="ari")
    world.github.merge_pull(TITLES["share"], labels=("share-link",), author="sam")
    world.github.merge_pull(TITLES["none"], author="tom")


def _to_approved(bot: Harness, world: Outside) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.4.0")
    staged = bot.wait_said("*v1.4.0* is on staging", timeout=20).text
    assert "The regression workflow is starting" in staged
    passed = bot.wait_said("Regression *passed*", timeout=20).text
    assert "recorded by the regression workflow" in passed
    review = bot.wait_review("v1.4.0")
    for reviewer in REVIEWERS:
        bot.approve(reviewer, review)
    bot.wait_said("*v1.4.0* is approved")


def test_a_release_makes_the_right_calls_in_the_right_order(
    database_url: str, world: Outside
) -> None:
    _merge_the_changes(world)
    main_before = world.github.head("main")
    bot = _start(database_url, world)
    try:
        _to_approved(bot, world)
        github = world.github

        # Policy steps 1 and 3: the branch from main's head, the bump on the branch only.
        assert github.commits[github.head("release/v1.4.0")].parent == main_before
        assert json.loads(github.file("package.json", "release/v1.4.0") or "")["version"] == (
            "1.4.0"
        )
        assert json.loads(github.file("package.json", "main") or "")["version"] == "1.3.0"
        bump = github.head("release/v1.4.0")
        staging = world.builds[bump]

        # Step 2: the workflow ran once, on the branch, and its run is the report.
        assert [(r.head_sha, r.conclusion) for r in github.runs()] == [(bump, "success")]
        artefact = bot.rows(
            "SELECT outcome, url, recorded_by FROM artefacts WHERE kind = 'regression_report'"
        )
        [(outcome, run_url, by)] = artefact
        assert (outcome, by) == ("pass", "release-bot")
        assert run_url.endswith(f"/actions/runs/{github.runs()[0].id}")
        assert bot.rows("SELECT staging_deployment_id FROM releases")[0][0] == staging

        # Step 4: the notes, under the policy's headings, escaped, before the review.
        said = "\n".join(bot.said())
        notes = bot.wait_said("Regression *passed*").text
        for heading in ("*Milestones*", "*Asset updates*", "*Share link changes*", "*Other"):
            assert heading in notes
        assert "The first release the bot knows of" in notes  # so everything merged counts
        assert "&lt;!channel&gt;" in notes and "<!channel>" not in said
        assert "<https://evil.example|" not in said
        review_text = bot.current(bot.wait_review("v1.4.0")).blocks[1]["text"]["text"]
        assert "Milestone analytics for agencies" in review_text

        # Step 6: exactly the staging build that passed is promoted, once.
        bot.run(MANAGER, "promote v1.4.0")
        released = bot.wait_said(":tada: *v1.4.0* is released", timeout=20).text
        assert world.vercel.promotions == [staging]
        assert world.vercel.production_id == staging
        live = bot.wait_said("*v1.4.0* is live").text
        assert "https://portal.vercel.app" in live

        # Step 7: every configured check ran against production, each result kept.
        assert sorted(world.site.requests) == [
            ("GET", "/share"),
            ("GET", "/upload"),
            ("POST", "/notify"),
        ]
        for name in ("asset upload", "share view", "notification trigger"):
            assert name in released
        checks = bot.rows("SELECT outcome, details FROM artefacts WHERE kind = 'smoke_tests'")
        assert checks[0][0] == "pass" and "notification trigger" in str(checks[0][1])

        # Step 8: the change log on main, the e-mail, the support bulletin.
        follow_up = bot.wait_said("*v1.4.0* follow-up", timeout=20).text
        assert "the change log is updated" in follow_up
        assert "the release notes are e-mailed" in follow_up
        assert f"the support bulletin is posted in <#{SUPPORT_CHANNEL}>" in follow_up
        changelog = github.file("CHANGELOG.md", "main") or ""
        assert changelog.index("## v1.4.0") < changelog.index("## v1.3.0")
        assert "Milestone analytics for agencies \\<!channel\\>" in changelog
        assert json.loads(github.file("package.json", "main") or "")["version"] == "1.3.0"

        [mail] = world.mailbox.received
        assert world.mailbox.envelopes == [(SENDER, list(RECIPIENTS))]
        assert mail["Subject"] == "Released: the portal v1.4.0"
        text = mail.get_body(("plain",))
        html = mail.get_body(("html",))
        assert text is not None and html is not None
        assert TITLES["milestone"] in text.get_content()
        assert "&lt;!channel&gt;" in html.get_content()

        bulletin = bot.fake.wait_for(lambda: bot.fake.channel_messages(SUPPORT_CHANNEL))
        assert "Support bulletin: v1.4.0 is live" in bulletin[0].text

        # GitHub's Environments page agrees with Slack.
        deployments = {(d.environment, d.sha): d.states for d in github.deployments()}
        assert deployments[("staging", bump)] == ("success",)
        assert deployments[("production", bump)] == ("in_progress", "success")

        # In that order: branch, bump, staging recorded, workflow, notes, promotion, change log.
        steps: list[str] = []
        for method, path, _query, body in github.calls:
            step = {
                ("POST", "/git/refs"): "branch",
                ("PUT", "/contents/package.json"): "bump",
                ("POST", "/dispatches"): "workflow",
                ("GET", "/search/issues"): "notes",
                ("PUT", "/contents/CHANGELOG.md"): "change log",
            }.get(
                (
                    method,
                    next(
                        (
                            e
                            for e in (
                                "/git/refs",
                                "/contents/package.json",
                                "/dispatches",
                                "/search/issues",
                                "/contents/CHANGELOG.md",
                            )
                            if path.endswith(e)
                        ),
                        "",
                    ),
                )
            )
            if method == "POST" and path.endswith("/deployments"):
                step = f"{body['environment']} recorded"
            if step and (not steps or steps[-1] != step):
                steps.append(step)
        assert steps == [
            "branch",
            "bump",
            "staging recorded",
            "workflow",
            "notes",
            "production recorded",
            "change log",
        ]
        assert bot.state("v1.4.0") == "released"
    finally:
        bot.stop()


def test_a_failed_smoke_check_fails_the_release_and_a_rollback_restores_production(
    database_url: str, world: Outside
) -> None:
    world.site.answer("/share", 503)
    bot = _start(database_url, world)
    try:
        _to_approved(bot, world)
        bot.run(MANAGER, "promote v1.4.0")
        failed = bot.wait_said(":rotating_light: *v1.4.0* failed", timeout=20).text
        assert "smoke tests failed: share view (expected 200, got 503)" in failed
        assert "`/release rollback v1.4.0`" in failed
        assert bot.state("v1.4.0") == "failed"
        [production] = [d for d in world.github.deployments() if d.environment == "production"]
        assert production.states == ("in_progress", "success", "failure")
        assert bot.rows("SELECT holder FROM deploy_locks")[0][0] is None

        bot.run(QA, "rollback v1.4.0")
        bot.wait_told(QA, "Only a Release Manager may roll back production")
        bot.run(MANAGER, "rollback")  # no version: the release production serves
        bot.wait_said(f"<@{MANAGER}> is rolling back *v1.4.0*")
        rolled = bot.wait_said(":rewind: *v1.4.0* is rolled back", timeout=20).text
        assert world.previous_production in rolled
        assert world.vercel.rollbacks == [world.previous_production]
        assert world.vercel.production_id == world.previous_production
        assert bot.state("v1.4.0") == "rolled_back"
        assert bot.rows("SELECT holder FROM deploy_locks")[0][0] is None
        actions = [r[0] for r in bot.rows("SELECT action FROM audit_events ORDER BY id")]
        assert "command.rollback" in actions
    finally:
        bot.stop()


def test_a_flaky_vercel_and_github_are_retried_and_nothing_is_done_twice(
    database_url: str, world: Outside
) -> None:
    world.vercel.fail_next("/promote/", status=500)
    world.vercel.fail_next("GET /v9/projects", status=429, headers={"Retry-After": "1"})
    world.github.reset_next("POST /repos/acme/portal/git/refs")
    world.github.fail_next("PUT /repos/acme/portal/contents/CHANGELOG.md", status=502)
    bot = _start(database_url, world)
    try:
        _to_approved(bot, world)
        bot.run(MANAGER, "promote v1.4.0")
        bot.wait_said(":tada: *v1.4.0* is released", timeout=30)
        follow_up = bot.wait_said("*v1.4.0* follow-up", timeout=30).text
        assert "the change log is updated" in follow_up
        staging = bot.rows("SELECT staging_deployment_id FROM releases")[0][0]
        assert world.vercel.promotions == [staging]
        changelog = world.github.file("CHANGELOG.md", "main") or ""
        assert changelog.count("## v1.4.0") == 1
        retried = bot.rows("SELECT COUNT(*) FROM audit_events WHERE action = 'step.retried'")
        assert retried[0][0] >= 3
        assert len([t for t in bot.said() if "is released" in t]) == 1
    finally:
        bot.stop()


def test_a_failed_staging_build_keeps_the_version_and_says_why(
    database_url: str,
) -> None:
    with outside(build_ready=False) as world:
        bot = _start(database_url, world)
        try:
            bot.cast()
            bot.run(MANAGER, "start v1.4.0")
            github = world.github

            def bump_build() -> str | None:  # (not the build of the branch point)
                head = github.branches.get("release/v1.4.0")
                bumped = head and "1.4.0" in (github.file("package.json", head) or "")
                return world.builds.get(head) if head and bumped else None

            build = bot.fake.wait_for(bump_build, timeout=20)
            world.vercel.finish_build(build, "ERROR")
            said = bot.wait_said(":x: *v1.4.0* could not reach staging", timeout=20).text
            assert "failed on Vercel" in said
            assert bot.state("v1.4.0") == "planned"
            assert world.github.runs() == []  # nothing tested a build that does not exist
        finally:
            bot.stop()


def test_a_hotfix_branches_from_the_commit_production_serves(
    database_url: str, world: Outside
) -> None:
    bot = _start(database_url, world)
    try:
        _to_approved(bot, world)
        bot.run(MANAGER, "promote v1.4.0")
        bot.wait_said("*v1.4.0* follow-up", timeout=20)
        released = world.github.head("release/v1.4.0")
        world.github.merge_pull("Unrelated work on main", labels=("task",))
        bot.run(MANAGER, "hotfix v1.4.1 the share view leaks drafts")
        bot.wait_said("*v1.4.1* is on staging", timeout=20)
        hotfix = world.github.commits[world.github.head("hotfix/v1.4.1")]
        assert hotfix.parent == released  # not main's head
        assert '"version": "1.4.1"' in hotfix.files["package.json"]
    finally:
        bot.stop()


def test_github_down_after_the_deploy_never_undoes_a_release_and_the_email_still_goes(
    database_url: str, world: Outside
) -> None:
    bot = _start(database_url, world)
    try:
        _to_approved(bot, world)
        world.github.fail_always("/deployments", 503)
        world.github.fail_always("PUT /repos/acme/portal/contents/CHANGELOG.md", 502)
        bot.run(MANAGER, "promote v1.4.0")
        live = bot.wait_said("*v1.4.0* is live", timeout=20).text
        assert "GitHub's Environments page was not updated" in live
        bot.wait_said(":tada: *v1.4.0* is released", timeout=20)
        follow_up = bot.wait_said("*v1.4.0* follow-up", timeout=60).text
        assert "*the change log was not updated* (GitHub answered 502" in follow_up
        assert "the release notes are e-mailed" in follow_up
        assert len(world.mailbox.received) == 1
        assert bot.state("v1.4.0") == "released"
        assert not [t for t in bot.said() if ":rotating_light:" in t]
    finally:
        bot.stop()


def test_vercel_refusing_the_promotion_fails_the_release_and_production_is_untouched(
    database_url: str, world: Outside
) -> None:
    bot = _start(database_url, world)
    try:
        _to_approved(bot, world)
        world.vercel.fail_next("/promote/", status=400)
        bot.run(MANAGER, "promote v1.4.0")
        failed = bot.wait_said(":rotating_light: *v1.4.0* failed", timeout=20).text
        assert "the production deploy failed: Vercel answered 400" in failed
        assert "production still serves what it served before" in failed
        assert "rollback" not in failed  # nothing to roll back
        assert world.vercel.production_id == world.previous_production
        assert bot.rows("SELECT outcome FROM deployments") == [("failed",)]
        [production] = [d for d in world.github.deployments() if d.environment == "production"]
        assert production.states == ("in_progress", "failure")
        assert bot.rows("SELECT holder FROM deploy_locks")[0][0] is None
    finally:
        bot.stop()


def test_a_promotion_refused_after_a_lost_answer_may_be_live_so_rollback_is_offered(
    database_url: str, world: Outside
) -> None:
    bot = _start(database_url, world)
    try:
        _to_approved(bot, world)
        world.vercel.fail_next("/promote/", status=500)  # (Vercel may have acted on it)
        world.vercel.fail_next("/promote/", status=409)  # then the retry is refused
        bot.run(MANAGER, "promote v1.4.0")
        failed = bot.wait_said(":rotating_light: *v1.4.0* failed", timeout=30).text
        assert "`/release rollback v1.4.0`" in failed
        assert bot.rows("SELECT outcome FROM deployments") == [("unknown",)]
    finally:
        bot.stop()
