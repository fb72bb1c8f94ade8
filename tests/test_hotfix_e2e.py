"""Hotfixes: a patch of production, two approvals, any time, announced as a bypass."""

from __future__ import annotations

from bot.console.fake_slack import Message
from tests.harness import (
    ADMIN,
    CLIENT_SUCCESS,
    MANAGER,
    QA,
    RELIABILITY,
    REPORT,
    TECH_LEAD,
    Harness,
    aest,
)


def _hotfix_review(bot: Harness, version: str = "v1.4.1", nth: int = 1) -> Message:
    return bot.wait_review(version, nth=nth, title="Hotfix approval")


def test_a_hotfix_at_3am_on_a_sunday_in_a_freeze_goes_out_and_is_announced(
    bot: Harness,
) -> None:
    bot.released("v1.4.0")  # Tuesday, in the window
    bot.run(RELIABILITY, "freeze add 2026-11-27 2026-12-04 agency showcase")
    bot.wait_said("Freeze #1")

    bot.clock.set(aest("2026-11-29 03:00"))  # Sunday 03:00, inside the freeze
    bot.run(MANAGER, "hotfix v1.4.1 CVE-2026-1234 in share links")
    started = bot.wait_said("started hotfix *v1.4.1* on top of v1.4.0").text
    assert "CVE-2026-1234 in share links" in started
    review = _hotfix_review(bot)
    assert bot.buttons(review) == ["Approve", "Reject"]
    assert [f.split("\n")[0] for f in bot.review_fields(review)] == [
        "*Reliability Partner*",
        "*Client Success Lead*",
    ]
    bot.wait_said("*v1.4.1* is on staging")
    assert bot.rows("SELECT branch, kind FROM releases WHERE version = 'v1.4.1'")[0] == (
        "hotfix/v1.4.1",
        "hotfix",
    )

    bot.approve(RELIABILITY, review)
    bot.wait_told(RELIABILITY, "Recorded your approval of v1.4.1 as Reliability Partner")
    bot.approve(CLIENT_SUCCESS, review)
    approved = bot.wait_said("Hotfix *v1.4.1* is approved by").text
    assert "once its staging regression passes it may be promoted at any time" in approved
    assert bot.state("v1.4.1") == "staging"  # staging and its regression still come first

    bot.run(MANAGER, "promote v1.4.1")
    refusal = bot.wait_told(MANAGER, "cannot be promoted now").text
    assert "regression not passed on staging" in refusal
    assert "outside the release window" not in refusal  # a hotfix may skip the window
    assert "freeze #1" not in refusal  # and the freeze

    bot.run(QA, f"regression v1.4.1 pass <{REPORT}>")
    bot.wait_said("Hotfix *v1.4.1* was already approved, so it may be promoted now")
    assert bot.state("v1.4.1") == "approved"

    bot.run(MANAGER, "promote v1.4.1")
    bypass = bot.wait_said("*Bypass*: hotfix *v1.4.1* is promoted").text
    assert "outside the release window, allowed for a hotfix" in bypass
    assert "freeze #1 (agency showcase)" in bypass
    assert (
        f"<@{RELIABILITY}> (Reliability Partner) and <@{CLIENT_SUCCESS}> (Client Success Lead)"
        in (bypass)
    )
    bot.wait_said(":tada: *v1.4.1* is released")
    audit = bot.rows("SELECT actor, details FROM audit_events WHERE action = 'bypass.hotfix'")
    assert len(audit) == 1 and audit[0][0] == MANAGER
    assert "agency showcase" in str(audit[0][1])


def test_a_hotfix_must_be_a_patch_bump_of_what_is_in_production(bot: Harness) -> None:
    bot.cast()
    bot.run(MANAGER, "hotfix v1.4.1 urgent")
    bot.wait_told(MANAGER, "Nothing has been released to production yet")
    bot.released("v1.4.0")
    before = bot.snapshot()
    for wrong in ("v1.4.2", "v1.5.0", "v1.4.0"):
        bot.run(MANAGER, f"hotfix {wrong} urgent")
    bot.fake.wait_for(
        lambda: len([t for t in bot.told(MANAGER) if "next patch" in t or "already" in t]) == 3
    )
    refusals = [t for t in bot.told(MANAGER) if "next patch" in t or "already" in t]
    assert sum("use `/release hotfix v1.4.1 <reason>`" in t for t in refusals) == 2
    assert bot.snapshot() == before


def test_a_cancelled_hotfix_does_not_block_the_next_one(bot: Harness) -> None:
    bot.released("v1.4.0")
    bot.run(MANAGER, "hotfix v1.4.1 first attempt")
    bot.wait_said("*v1.4.1* is on staging")
    bot.run(MANAGER, "cancel v1.4.1 wrong base commit")
    bot.wait_said("cancelled *v1.4.1*")
    bot.run(MANAGER, "hotfix v1.4.3 skipping ahead")
    assert "use `/release hotfix v1.4.2 <reason>`" in bot.wait_told(MANAGER, "next patch").text
    bot.run(MANAGER, "hotfix v1.4.2 second attempt")
    bot.wait_said("started hotfix *v1.4.2* on top of v1.4.0")


def test_a_hotfix_is_never_promoted_over_a_newer_release(bot: Harness) -> None:
    bot.released("v1.4.0")
    bot.run(MANAGER, "hotfix v1.4.1 slow fix")
    review = _hotfix_review(bot)
    bot.wait_said("*v1.4.1* is on staging")
    bot.released("v1.5.0")
    bot.approve(RELIABILITY, review)
    bot.approve(CLIENT_SUCCESS, review)
    bot.wait_said("Hotfix *v1.4.1* is approved")
    bot.run(QA, f"regression v1.4.1 pass <{REPORT}>")
    bot.wait_said("Hotfix *v1.4.1* was already approved")
    bot.run(MANAGER, "promote v1.4.1")
    refusal = bot.wait_told(MANAGER, "cannot be promoted now").text
    assert "v1.5.0 is in production, and v1.4.1 is not newer" in refusal
    assert bot.state("v1.4.1") == "approved"


def test_a_hotfix_review_reopened_by_command_still_needs_the_hotfix_roles(bot: Harness) -> None:
    bot.released("v1.4.0")
    bot.run(MANAGER, "hotfix v1.4.1 broken uploads")
    first = _hotfix_review(bot)
    bot.wait_said("*v1.4.1* is on staging")
    bot.run(QA, f"regression v1.4.1 pass <{REPORT}>")
    bot.wait_said("Regression *passed* on staging for *v1.4.1*")
    bot.run(MANAGER, "review v1.4.1")
    bot.wait_said("opened a fresh hotfix approval of *v1.4.1*")
    fresh = _hotfix_review(bot, nth=2)
    assert fresh.ts != first.ts
    assert [f.split("\n")[0] for f in bot.review_fields(fresh)] == [
        "*Reliability Partner*",
        "*Client Success Lead*",
    ]
    bot.approve(TECH_LEAD, fresh)
    bot.wait_told(TECH_LEAD, "You hold none of the roles this review needs")


def test_one_person_cannot_give_both_hotfix_approvals(bot: Harness) -> None:
    bot.released("v1.4.0")
    bot.run(ADMIN, f"role add <@{RELIABILITY}> client_success")
    bot.wait_said(f"<@{RELIABILITY}> the Client Success Lead role")
    bot.run(MANAGER, "hotfix v1.4.1 broken uploads")
    review = _hotfix_review(bot)
    bot.approve(RELIABILITY, review)
    modal = bot.wait_modal(RELIABILITY)  # holds both roles: asked which
    options = modal.view["blocks"][0]["element"]["options"]
    bot.sim.submit(
        RELIABILITY,
        modal,
        {"sign_off_role": {"role": {"type": "static_select", "selected_option": options[0]}}},
    )
    bot.wait_told(RELIABILITY, "Recorded your approval of v1.4.1 as Reliability Partner")
    bot.approve(RELIABILITY, review)
    bot.wait_told(RELIABILITY, "four-eyes")
    bot.approve(TECH_LEAD, review)
    bot.wait_told(TECH_LEAD, "You hold none of the roles this review needs")
    assert bot.count("sign_offs") == 4 + 1  # v1.4.0's four, and one for the hotfix


def test_a_rejected_hotfix_stops_until_a_fixed_build_passes_again(bot: Harness) -> None:
    bot.released("v1.4.0")
    bot.run(MANAGER, "hotfix v1.4.1 broken uploads")
    review = _hotfix_review(bot)
    bot.wait_said("*v1.4.1* is on staging")
    bot.reject(CLIENT_SUCCESS, review, "agencies mid-upload; wait an hour")
    bot.wait_said("rejected *v1.4.1* as Client Success Lead")
    assert bot.state("v1.4.1") == "rejected"
    bot.run(QA, f"regression v1.4.1 pass <{REPORT}>")
    second = _hotfix_review(bot, nth=2)
    assert bot.buttons(second) == ["Approve", "Reject"]


def test_a_hotfix_needs_two_people_even_with_four_eyes_switched_off(database_url: str) -> None:
    bot = Harness.start(database_url, four_eyes=False)
    try:
        bot.released("v1.4.0")
        bot.run(ADMIN, f"role add <@{RELIABILITY}> client_success")
        bot.wait_said(f"<@{RELIABILITY}> the Client Success Lead role")
        bot.run(MANAGER, "hotfix v1.4.1 broken uploads")
        review = _hotfix_review(bot)
        bot.approve(RELIABILITY, review)
        modal = bot.wait_modal(RELIABILITY)
        options = modal.view["blocks"][0]["element"]["options"]
        bot.sim.submit(
            RELIABILITY,
            modal,
            {"sign_off_role": {"role": {"type": "static_select", "selected_option": options[0]}}},
        )
        bot.wait_told(RELIABILITY, "Recorded your approval of v1.4.1")
        bot.approve(RELIABILITY, review)
        bot.wait_told(RELIABILITY, "four-eyes")
        assert bot.rows("SELECT COUNT(*) FROM sign_offs WHERE role = 'client_success'")[0][0] == 1
    finally:
        bot.stop()


def test_no_fresh_review_without_a_passing_regression(bot: Harness) -> None:
    bot.released("v1.4.0")
    bot.run(MANAGER, "hotfix v1.4.1 broken uploads")
    review = _hotfix_review(bot)
    bot.wait_said("*v1.4.1* is on staging")
    bot.reject(CLIENT_SUCCESS, review, "not this build")
    bot.wait_said("rejected *v1.4.1*")
    bot.run(MANAGER, "review v1.4.1")
    refusal = bot.wait_told(MANAGER, "no passing regression").text
    assert "`/release regression v1.4.1 pass <report-url>`" in refusal
    assert bot.state("v1.4.1") == "rejected"
