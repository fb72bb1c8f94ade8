"""Who may press Approve and Reject, and what happens when people press at once."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from functools import partial
from urllib.parse import parse_qs, urlencode

import pytest

from bot.console.local import CHANNEL_ID
from bot.views.review import ReviewAction
from tests.harness import (
    ADMIN,
    CLIENT_SUCCESS,
    MANAGER,
    NOBODY,
    QA,
    REVIEWERS,
    SECURITY,
    TECH_LEAD,
    Harness,
)


def _at_once(actions: list[Callable[[], object]]) -> None:
    """Fire every action from its own thread at the same instant."""
    barrier = threading.Barrier(len(actions))

    def go(action: Callable[[], object]) -> None:
        barrier.wait()
        action()

    threads = [threading.Thread(target=go, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)


def test_both_buttons_ask_for_confirmation_first(bot: Harness) -> None:
    review = bot.to_review()
    buttons = [
        e for b in review.blocks for e in b.get("elements") or [] if e.get("type") == "button"
    ]
    assert [b["confirm"]["confirm"]["text"] for b in buttons] == ["Approve", "Reject"]
    assert all("v1.4.0" in b["confirm"]["text"]["text"] for b in buttons)


def test_a_clicker_with_no_review_role_is_refused(bot: Harness) -> None:
    review = bot.to_review()
    before = bot.snapshot()
    bot.approve(NOBODY, review)
    refusal = bot.wait_told(NOBODY, "You hold none of the roles this review needs").text
    assert "Technical Lead, QA, Client Success Lead, Security" in refusal
    bot.approve(MANAGER, review)  # a release manager is not a reviewer
    bot.wait_told(MANAGER, "You hold none of the roles")
    assert bot.snapshot() == before


def test_the_same_button_twice_records_once(bot: Harness) -> None:
    review = bot.to_review()
    bot.approve(QA, review)
    bot.wait_told(QA, "Recorded your approval")
    bot.approve(QA, review)
    bot.wait_told(QA, "You already signed off v1.4.0 as QA")
    assert bot.count("sign_offs") == 1


def test_a_refused_click_is_answered_from_a_read_and_records_nothing(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A click that would change nothing is refused after a read-only check: no signature,
    no outbox row, told straight through the response URL (which no log line names)."""
    caplog.set_level(logging.INFO)  # the level the bot logs at (bot/cli.py)
    review = bot.to_review()
    bot.approve(QA, review)
    bot.wait_told(QA, "Recorded your approval")
    bot.settle()
    recorded = {t: bot.count(t) for t in ("seen_requests", "outbox", "audit_events")}
    bot.approve(QA, review)
    bot.wait_told(QA, "You already signed off v1.4.0 as QA")
    bot.settle()
    assert {t: bot.count(t) for t in recorded} == recorded
    assert bot.count("sign_offs") == 1
    assert not [r for r in caplog.records if "/response/" in r.getMessage()]


def test_a_refusal_whose_response_url_cannot_be_reached_is_told_in_the_channel(
    bot: Harness,
) -> None:
    """No connection to the response URL: nothing was sent, so the refusal goes as an
    ephemeral message in the release channel instead."""
    review = bot.to_review()
    bot.approve(QA, review)
    bot.wait_told(QA, "Recorded your approval")
    bot.settle()
    body = bot.sim.click_body(QA, bot.current(review), ReviewAction.APPROVE.value)
    payload = json.loads(parse_qs(body)["payload"][0])
    with socket.socket() as nowhere:  # bound, never listening: every connection is refused
        nowhere.bind(("127.0.0.1", 0))
        payload["response_url"] = f"http://127.0.0.1:{nowhere.getsockname()[1]}/response/x"
        assert bot.sim.signed_post(urlencode({"payload": json.dumps(payload)})).status_code == 200
        told = bot.wait_told(QA, "You already signed off v1.4.0 as QA")
    assert told.channel == CHANNEL_ID
    assert any(
        method == "chat.postEphemeral" and "already signed off" in args.get("text", "")
        for method, args in bot.fake.calls
    )


def test_a_role_granted_a_moment_ago_lets_the_next_click_through(bot: Harness) -> None:
    """What the read-only check reads is never older than the grant that changed it."""
    review = bot.to_review()
    bot.approve(NOBODY, review)
    bot.wait_told(NOBODY, "You hold none of the roles this review needs")
    bot.run_and_wait(ADMIN, f"role add <@{NOBODY}> security")
    bot.approve(NOBODY, review)
    bot.wait_told(NOBODY, "Recorded your approval of v1.4.0 as Security")
    assert bot.count("sign_offs") == 1


def test_four_eyes_one_person_signs_one_role(bot: Harness) -> None:
    review = bot.to_review()
    bot.run(ADMIN, f"role add <@{QA}> security")
    bot.wait_said(f"<@{QA}> the Security role")

    bot.approve(QA, review)  # holds QA and Security: asked which
    modal = bot.wait_modal(QA)
    options = modal.view["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == ["qa", "security"]
    bot.sim.submit(
        QA,
        modal,
        {"sign_off_role": {"role": {"type": "static_select", "selected_option": options[1]}}},
    )
    bot.wait_told(QA, "Recorded your approval of v1.4.0 as Security")

    before = bot.snapshot()
    bot.approve(QA, review)
    refusal = bot.wait_told(QA, "four-eyes").text
    assert "You already signed off v1.4.0 as Security" in refusal
    assert bot.snapshot() == before


def test_a_role_signed_by_someone_else_is_refused(bot: Harness) -> None:
    review = bot.to_review()
    bot.run(ADMIN, "role add <@USECOND> qa")
    bot.wait_said("<@USECOND> the QA role")
    bot.approve(QA, review)
    bot.wait_told(QA, "Recorded your approval")
    bot.approve("USECOND", review)
    assert "QA by <@UQA>" in bot.wait_told("USECOND", "already signed off").text
    assert bot.count("sign_offs") == 1


def test_simultaneous_clicks_by_four_reviewers_all_count_once(bot: Harness) -> None:
    review = bot.to_review()
    _at_once([partial(bot.approve, u, review) for u in REVIEWERS])
    bot.wait_said("*v1.4.0* is approved")
    bot.settle()
    assert bot.count("sign_offs") == 4
    approvals = bot.rows(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'transition' "
        'AND CAST(details AS TEXT) LIKE \'%"to_state": "approved"%\''
    )
    assert approvals[0][0] == 1
    assert sum("is approved" in t for t in bot.said()) == 1
    # whatever order the renders reached Slack in, the message shows the final state
    assert sum("approved by" in f for f in bot.review_fields(review)) == 4
    assert bot.buttons(review) == []


def test_a_burst_of_double_clicks_records_one_sign_off(bot: Harness) -> None:
    review = bot.to_review()
    _at_once([lambda: bot.approve(TECH_LEAD, review) for _ in range(6)])
    bot.wait_told(TECH_LEAD, "Recorded your approval")
    bot.settle()
    assert bot.count("sign_offs") == 1
    assert sum("Recorded your approval" in t for t in bot.told(TECH_LEAD)) == 1
    assert sum("already signed off" in t for t in bot.told(TECH_LEAD)) == 5


def test_approve_and_reject_at_once_leave_one_consistent_outcome(bot: Harness) -> None:
    review = bot.to_review()
    for user in (TECH_LEAD, QA, CLIENT_SUCCESS):
        bot.approve(user, review)
        bot.wait_told(user, "Recorded your approval")
    bot.run(ADMIN, f"role add <@{CLIENT_SUCCESS}> security")
    bot.sim.click(SECURITY, bot.current(review), "review_reject")
    modal = bot.wait_modal(SECURITY)
    _at_once(
        [
            lambda: bot.approve(SECURITY, review),
            lambda: bot.submit_reason(SECURITY, modal, "late finding"),
        ]
    )
    bot.settle()
    assert bot.count("sign_offs") == 4
    assert bot.state("v1.4.0") in ("approved", "rejected")


def test_a_major_release_needs_every_compliance_item_ticked(bot: Harness) -> None:
    review = bot.to_review("v2.0.0")
    checklist = next(
        e for b in review.blocks for e in b.get("elements") or [] if e["type"] == "checkboxes"
    )
    assert len(checklist["options"]) == 3
    for user in (TECH_LEAD, QA, CLIENT_SUCCESS):
        bot.approve(user, review)
        bot.wait_told(user, "Recorded your approval")

    bot.approve(SECURITY, review)
    refusal = bot.wait_told(SECURITY, "every compliance item must be ticked first").text
    assert "HighLevel.Final is current" in refusal
    assert bot.count("sign_offs") == 3

    bot.sim.tick(NOBODY, bot.current(review), "review_compliance", ["0", "1", "2"])
    bot.wait_told(NOBODY, "Only a reviewer or a release manager may tick")
    assert bot.count("compliance_ticks") == 0

    bot.sim.tick(MANAGER, bot.current(review), "review_compliance", ["0", "1", "2"])
    bot.fake.wait_for(lambda: bot.count("compliance_ticks") == 3)
    bot.fake.wait_for(
        lambda: (
            len(
                next(
                    e
                    for b in bot.current(review).blocks
                    for e in b.get("elements") or []
                    if e["type"] == "checkboxes"
                ).get("initial_options")
                or []
            )
            == 3
        )
    )
    bot.approve(SECURITY, review)
    bot.wait_said("*v2.0.0* is approved")
