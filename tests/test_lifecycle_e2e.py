"""A release from start to released, through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from functools import partial

from tests.harness import (
    CLIENT_SUCCESS,
    MANAGER,
    QA,
    REPORT,
    REVIEWERS,
    SECURITY,
    TECH_LEAD,
    Harness,
)


def test_release_goes_from_start_to_released(bot: Harness) -> None:
    review = bot.to_review("v1.4.0")

    assert bot.state("v1.4.0") == "in_review"
    assert any("started *v1.4.0*: creating `release/v1.4.0` from `main`" in t for t in bot.said())
    assert any("Regression *passed* on staging for *v1.4.0*" in t for t in bot.said())
    assert bot.buttons(review) == ["Approve", "Reject"]
    assert [f.split("\n")[0] for f in bot.review_fields(review)] == [
        "*Technical Lead*",
        "*QA*",
        "*Client Success Lead*",
        "*Security*",
    ]
    assert all("pending" in f for f in bot.review_fields(review))

    for n, reviewer in enumerate(REVIEWERS, start=1):
        bot.approve(reviewer, review)
        bot.wait_told(reviewer, "Recorded your approval of v1.4.0")
        bot.fake.wait_for(
            partial(lambda k: sum("approved by" in f for f in bot.review_fields(review)) == k, n)
        )

    bot.wait_said("*v1.4.0* is approved")
    assert bot.state("v1.4.0") == "approved"
    assert bot.buttons(review) == []  # a closed review offers nothing to press
    assert "Approved." in str(bot.current(review).blocks)

    bot.run(MANAGER, "promote v1.4.0")
    bot.wait_said(":tada: *v1.4.0* is released")
    assert bot.state("v1.4.0") == "released"

    transitions = [
        (r[0], r[1])
        for r in bot.rows(
            "SELECT details FROM audit_events WHERE action = 'transition' ORDER BY id"
        )
        for r in [(_json(r[0])["from_state"], _json(r[0])["to_state"])]
    ]
    assert transitions == [
        ("planned", "staging"),
        ("staging", "in_review"),
        ("in_review", "approved"),
        ("approved", "deploying"),
        ("deploying", "verifying"),
        ("verifying", "released"),
    ]
    sign_offs = bot.rows("SELECT role, user_id, decision FROM sign_offs ORDER BY id")
    assert [tuple(s) for s in sign_offs] == [
        ("tech_lead", TECH_LEAD, "approve"),
        ("qa", QA, "approve"),
        ("client_success", CLIENT_SUCCESS, "approve"),
        ("security", SECURITY, "approve"),
    ]
    kinds = [r[0] for r in bot.rows("SELECT kind FROM artefacts ORDER BY id")]
    assert kinds[:2] == ["staging_deploy", "regression_report"]
    assert kinds.count("approval") == 4
    assert kinds[-2:] == ["production_deploy", "smoke_tests"]
    report = bot.rows("SELECT url, outcome FROM artefacts WHERE kind = 'regression_report'")
    assert tuple(report[0]) == (REPORT, "pass")


def test_status_shows_the_release_and_its_recent_history(bot: Harness) -> None:
    review = bot.to_review("v1.4.0")
    bot.approve(TECH_LEAD, review)
    bot.wait_told(TECH_LEAD, "Recorded your approval")

    bot.run(TECH_LEAD, "status v1.4.0")
    status = bot.wait_told(TECH_LEAD, "*v1.4.0* is `in_review`").text
    assert "Technical Lead: approved by <@UTECHLEAD>" in status
    assert "QA: pending" in status
    assert "*Recent history*" in status
    assert "moved it staging → in_review" in status
    assert "approved as Technical Lead" in status

    bot.run(TECH_LEAD, "status")
    overview = bot.wait_told(TECH_LEAD, "*Open releases*").text
    assert "*v1.4.0* `in_review`: waiting for the readiness review sign-offs" in overview


def test_a_rejection_asks_for_a_reason_and_stops_the_release(bot: Harness) -> None:
    review = bot.to_review("v1.4.0")
    bot.sim.click(SECURITY, bot.current(review), "review_reject")
    modal = bot.wait_modal(SECURITY)
    assert modal.view["title"]["text"] == "Reject v1.4.0"

    blank = bot.submit_reason(SECURITY, modal, "   ")
    assert blank.json() == {
        "response_action": "errors",
        "errors": {"sign_off_reason": "Say why the release is not ready."},
    }
    assert bot.count("sign_offs") == 0

    bot.submit_reason(SECURITY, modal, "CSP header missing on share view")
    bot.wait_said("rejected *v1.4.0* as Security: CSP header missing on share view")
    assert bot.state("v1.4.0") == "rejected"
    assert bot.buttons(review) == []
    assert ":x: rejected by <@USECURITY>: CSP header missing on share view" in str(
        bot.review_fields(review)
    )
    assert tuple(bot.rows("SELECT decision, reason FROM sign_offs")[0]) == (
        "reject",
        "CSP header missing on share view",
    )

    bot.run(MANAGER, "promote v1.4.0")
    refusal = bot.wait_told(MANAGER, "cannot be promoted").text
    assert "not approved: v1.4.0 is `rejected`" in refusal
    assert bot.state("v1.4.0") == "rejected"


def test_a_fresh_review_supersedes_the_rejected_one(bot: Harness) -> None:
    first = bot.to_review("v1.4.0")
    bot.reject(QA, first, "flaky upload test")
    bot.wait_said("rejected *v1.4.0*")

    bot.run(MANAGER, "review v1.4.0")
    second = bot.wait_review("v1.4.0", nth=2)
    assert bot.state("v1.4.0") == "in_review"
    assert bot.buttons(second) == ["Approve", "Reject"]
    assert all("pending" in f for f in bot.review_fields(second))

    bot.approve(QA, second)  # the earlier rejection does not count on the fresh review
    bot.wait_told(QA, "Recorded your approval of v1.4.0 as QA")


def test_a_failing_regression_voids_the_open_review(bot: Harness) -> None:
    review = bot.to_review("v1.4.0")
    bot.run(QA, "regression v1.4.0 fail <https://ci.example.com/runs/813>")
    bot.wait_said("Regression *failed* on staging for *v1.4.0*")
    assert bot.state("v1.4.0") == "regression_failed"
    bot.fake.wait_for(lambda: bot.buttons(review) == [])
    assert "Voided" in str(bot.current(review).blocks)

    bot.run(QA, f"regression v1.4.0 pass <{REPORT}>")
    bot.wait_review("v1.4.0", nth=2)
    assert bot.state("v1.4.0") == "in_review"


def test_cancel_closes_the_review_and_says_why(bot: Harness) -> None:
    review = bot.to_review("v1.4.0")
    as_seen_before = copy.deepcopy(bot.current(review))  # a phone that has not refreshed
    bot.run(MANAGER, "cancel v1.4.0 superseded by v1.5.0")
    bot.wait_said("cancelled *v1.4.0*: superseded by v1.5.0")
    assert bot.state("v1.4.0") == "cancelled"
    bot.fake.wait_for(lambda: bot.buttons(review) == [])

    bot.sim.click(TECH_LEAD, as_seen_before, "review_approve")
    bot.wait_told(TECH_LEAD, "This review of v1.4.0 is closed")
    assert bot.count("sign_offs") == 0


def _json(value: object) -> dict[str, str]:
    import json

    return value if isinstance(value, dict) else json.loads(str(value))


def test_a_review_cancelled_while_it_is_posted_gets_one_message_without_buttons(
    bot: Harness,
) -> None:
    bot.cast()
    versions = ["v1.4.0", "v1.5.0", "v1.6.0"]
    for version in versions:
        bot.run(MANAGER, f"start {version}")
        bot.wait_said(f"*{version}* is on staging")
    for version in versions:
        bot.run(QA, f"regression {version} pass <{REPORT}>")
        bot.run(MANAGER, f"cancel {version} changed plans")  # no waiting in between
    for version in versions:
        bot.wait_said(f"cancelled *{version}*")
    bot.fake.wait_quiet(quiet=0.5)
    for version in versions:
        messages = [
            m
            for m in bot.fake.channel_messages("C0PORTALREL")
            if m.text.startswith(f"Readiness review of {version}")
        ]
        # The cancel may also win outright (then the regression is refused and nothing is
        # posted); what must never happen is a second message, or buttons left to press.
        assert len(messages) <= 1, [m.text for m in messages]
        assert all(bot.buttons(m) == [] for m in messages)
