"""What people type reaches the channel escaped and bounded: no pings, no disguised links."""

from __future__ import annotations

from datetime import timedelta

from commands.text import MAX_TEXT
from tests.harness import MANAGER, QA, TECH_LEAD, Harness, aest

PING = "<!channel> *URGENT* <!here> <!subteam^S0ALL|@everyone-eng>"
DISGUISED = "<https://evil.example/steal|https://ci.example.com/runs/812>"


def _no_live_markup(text: str) -> None:
    for live in ("<!channel>", "<!here>", "<!subteam^", "<https://evil.example"):
        assert live not in text, text


def test_a_cancel_reason_cannot_ping_the_channel(bot: Harness) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.5.0")
    bot.wait_said("*v1.5.0* is on staging")
    bot.run(MANAGER, f"cancel v1.5.0 {PING}")
    said = bot.wait_said("cancelled *v1.5.0*").text
    _no_live_markup(said)
    assert "@channel *URGENT* @here @everyone-eng" in said  # shown as typed, pinging nobody
    assert f"<@{MANAGER}>" in said  # the mention the bot builds stays live


def test_text_slack_escaped_is_shown_as_typed_not_escaped_twice(bot: Harness) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.5.0")
    bot.wait_said("*v1.5.0* is on staging")
    # Slack escapes &, < and > in a slash command's text before it reaches the bot.
    bot.run(MANAGER, "cancel v1.5.0 R&amp;D asked: use &lt;v2&gt; <https://x.example|docs>")
    said = bot.wait_said("cancelled *v1.5.0*").text
    assert "R&amp;D asked: use &lt;v2&gt; docs (https://x.example)" in said  # escaped once
    stored = bot.rows("SELECT details FROM audit_events WHERE action = 'command.cancel'")[0][0]
    assert "R&D asked: use <v2> docs (https://x.example)" in str(stored)


def test_a_rejection_reason_cannot_ping_or_disguise_a_link(bot: Harness) -> None:
    review = bot.to_review()
    bot.reject(TECH_LEAD, review, f"{PING} see {DISGUISED}")
    said = bot.wait_said("rejected *v1.4.0*").text
    _no_live_markup(said)
    assert "&lt;https://evil.example/steal|https://ci.example.com/runs/812&gt;" in said
    bot.fake.wait_for(lambda: any("rejected by" in f for f in bot.review_fields(review)))
    for field in bot.review_fields(review):
        _no_live_markup(field)
    bot.run(MANAGER, "status v1.4.0")
    _no_live_markup(bot.wait_told(MANAGER, "*v1.4.0* is `rejected`").text)


def test_a_freeze_reason_is_escaped_wherever_it_is_shown(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-01 09:00"))
    bot.cast()
    bot.run(MANAGER, f"freeze add 2026-12-20 2026-12-27 {PING}")
    _no_live_markup(bot.wait_said("Freeze #1").text)
    bot.run(QA, "freeze list")
    _no_live_markup(bot.wait_told(QA, "*Freezes").text)
    bot.clock.set(aest("2026-12-13 00:00"))  # 7 days before
    bot.ticker.tick()
    _no_live_markup(bot.wait_said("starts in 7 days").text)


def test_a_hotfix_reason_is_escaped_in_its_announcement_and_review(bot: Harness) -> None:
    bot.released("v1.4.0")
    bot.run(MANAGER, f"hotfix v1.4.1 {DISGUISED}")
    _no_live_markup(bot.wait_said("started hotfix *v1.4.1*").text)
    review = bot.wait_review("v1.4.1", title="Hotfix approval")
    _no_live_markup(review.blocks[1]["text"]["text"])


def test_an_unlock_reason_is_escaped(bot: Harness) -> None:
    bot.cast()
    with bot.local.runtime.services.store.transaction() as uow:
        uow.acquire_deploy_lock("gone", "v1.3.9", MANAGER, timedelta(minutes=5))
    bot.clock.set(aest("2026-11-24 10:40"))
    bot.run(MANAGER, f"unlock {PING}")
    _no_live_markup(bot.wait_said("cleared the production deploy lock").text)


def test_free_text_over_the_limit_is_refused_and_nothing_is_recorded(bot: Harness) -> None:
    bot.released("v1.4.0")
    before = bot.snapshot()
    long = "x" * (MAX_TEXT + 1)
    for command in (
        f"hotfix v1.4.1 {long}",
        f"cancel v1.4.0 {long}",
        f"freeze add 2027-03-01 2027-03-02 {long}",
        f"unlock {long}",
    ):
        response = bot.run(MANAGER, command)
        assert f"keep it to {MAX_TEXT:,}" in response.json()["text"], command
    assert bot.snapshot() == before


def test_a_long_rejection_reason_is_refused_in_the_modal(bot: Harness) -> None:
    review = bot.to_review()
    bot.sim.click(TECH_LEAD, bot.current(review), "review_reject")
    modal = bot.wait_modal(TECH_LEAD)
    response = bot.submit_reason(TECH_LEAD, modal, "y" * (MAX_TEXT + 1))
    assert response.json()["response_action"] == "errors"
    assert f"keep it to {MAX_TEXT:,}" in str(response.json()["errors"])
    assert bot.state("v1.4.0") == "in_review"


def test_a_report_link_that_could_disguise_itself_is_refused(bot: Harness) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")
    response = bot.run(QA, "regression v1.4.0 pass https://evil.example|https://ci.example.com")
    assert "must be an http(s) link" in response.json()["text"]
    assert bot.state("v1.4.0") == "staging"
