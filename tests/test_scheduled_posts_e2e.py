"""Scheduled posts go out once, late rather than never, and not when they no longer matter."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

from bot.scheduler import Ticker
from tests.harness import MANAGER, QA, REPORT, Harness, aest

PRE_WINDOW = ":alarm_clock: The release window opens"


def _posts(bot: Harness, fragment: str) -> list[str]:
    return [t for t in bot.said() if fragment in t]


def _other_instance(bot: Harness, name: str) -> Ticker:
    services = dataclasses.replace(bot.local.runtime.services, instance=name)
    return Ticker(services, 30)


def test_the_pre_window_post_lists_candidates_and_what_each_needs(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-23 15:00"))
    bot.cast()
    bot.run(MANAGER, "start v1.4.0")
    bot.run(MANAGER, "start v1.5.0")
    bot.wait_said("*v1.5.0* is on staging")
    bot.wait_said("*v1.4.0* is on staging")
    bot.run(QA, f"regression v1.4.0 pass <{REPORT}>")
    bot.wait_review("v1.4.0")

    bot.clock.set(aest("2026-11-24 09:00"))
    bot.ticker.tick()
    post = bot.wait_said(PRE_WINDOW).text
    assert post.startswith(":alarm_clock: The release window opens Tue 24 Nov 2026 10:00 AEST")
    assert "for 2 hours" in post
    assert (
        "• *v1.4.0* `in_review`: needs sign-off from Technical Lead, QA, Client Success Lead, "
        "Security" in post
    )
    assert "• *v1.5.0* `staging`: needs its regression result from QA" in post
    assert "Posted late" not in post


def test_a_due_post_goes_out_once_however_many_instances_tick(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-24 09:00"))
    tickers = [bot.ticker] + [_other_instance(bot, f"instance-{n}") for n in range(3)]
    barrier = threading.Barrier(len(tickers))

    def tick(ticker: Ticker) -> None:
        barrier.wait()
        ticker.tick()

    for _ in range(3):
        threads = [threading.Thread(target=tick, args=(t,)) for t in tickers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        bot.clock.advance(timedelta(seconds=30))
    bot.fake.wait_quiet(quiet=0.2)
    assert len(_posts(bot, PRE_WINDOW)) == 1
    rows = bot.rows("SELECT kind, status, late FROM scheduled_posts")
    assert [(r[0], r[1], bool(r[2])) for r in rows] == [("pre_window", "sent", False)]


def test_a_post_missed_while_the_bot_was_down_is_sent_late_and_marked(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-24 08:30"))  # running at 08:30...
    assert bot.ticker.tick() == []
    bot.clock.set(aest("2026-11-24 09:25"))  # ...down, and back at 09:25: the 09:00 post
    bot.ticker.tick()
    post = bot.wait_said(PRE_WINDOW).text
    assert post.startswith(
        "_(Posted late: this was due Tue 24 Nov 2026 09:00 AEST, when the bot was not running.)_"
    )
    assert bool(bot.rows("SELECT late FROM scheduled_posts")[0][0]) is True

    restarted = _other_instance(bot, "after-restart")  # a restart: another process
    bot.clock.set(aest("2026-11-24 09:40"))
    restarted.tick()
    bot.fake.wait_quiet(quiet=0.2)
    assert len(_posts(bot, PRE_WINDOW)) == 1  # not doubled


def test_the_very_first_start_posts_nothing_late_for_a_window_it_never_knew(
    bot: Harness,
) -> None:
    bot.clock.set(aest("2026-11-24 09:25"))  # installed at 09:25; the post was due at 09:00
    assert bot.ticker.tick() == []
    bot.clock.set(aest("2026-11-24 09:26"))
    assert bot.ticker.tick() == []
    bot.fake.wait_quiet(quiet=0.2)
    assert _posts(bot, PRE_WINDOW) == []


def test_a_post_is_dropped_once_it_no_longer_matters(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-24 12:00"))  # the window it announced has closed
    assert bot.ticker.tick() == []
    bot.fake.wait_quiet(quiet=0.2)
    assert _posts(bot, PRE_WINDOW) == []


def test_a_frozen_window_day_says_no_release_happens(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-01 09:00"))
    bot.cast()
    bot.run(MANAGER, "freeze add 2026-11-20 2026-11-27 agency showcase")
    bot.wait_said("Freeze #1")
    bot.clock.set(aest("2026-11-24 09:00"))
    bot.ticker.tick()
    post = bot.wait_said("No release in this window").text
    assert "freeze #1 2026-11-20 to 2026-11-27: agency showcase is in force until" in post.lower()


def test_freeze_announcements_at_7_days_1_day_start_and_end(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-01 09:00"))
    bot.cast()
    bot.run(MANAGER, "freeze add 2026-11-20 2026-11-27 agency showcase")
    scheduled = bot.wait_said("Freeze #1 2026-11-20 to 2026-11-27: agency showcase").text
    assert "scheduled by" in scheduled
    for moment, fragment in [
        ("2026-11-13 00:00", "starts in 7 days"),
        ("2026-11-19 00:00", "starts tomorrow"),
        ("2026-11-20 00:00", "is in force until Sat 28 Nov 2026 00:00 AEST"),
        ("2026-11-28 00:00", "has ended; regular releases resume"),
    ]:
        bot.clock.set(aest(moment))
        bot.ticker.tick()
        bot.ticker.tick()
        bot.wait_said(fragment)
        assert len(_posts(bot, fragment)) == 1


def test_a_cancelled_freeze_is_not_announced_again(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-01 09:00"))
    bot.cast()
    bot.run(MANAGER, "freeze add 2026-11-20 2026-11-27 agency showcase")
    bot.wait_said("Freeze #1")
    bot.run(MANAGER, "freeze cancel 1")
    bot.wait_said("cancelled freeze #1")
    bot.clock.set(aest("2026-11-13 00:00"))
    bot.ticker.tick()
    bot.fake.wait_quiet(quiet=0.2)
    assert _posts(bot, "starts in 7 days") == []


def test_the_weekly_and_monthly_slots(bot: Harness) -> None:
    bot.released("v1.4.0")  # Tue 24 Nov
    bot.clock.set(aest("2026-11-30 09:00"))  # Monday
    bot.ticker.tick()
    weekly = bot.wait_said("*Weekly release report*").text
    assert "Production deploys in the last 7 days: 1 (target: at least 2 a week): v1.4.0" in weekly
    bot.clock.set(aest("2026-12-01 09:00"))
    bot.ticker.tick()
    monthly = bot.wait_said("*Monthly dependency upgrades are due*").text
    assert "Next.js, Drizzle, Mux SDK" in monthly


def test_a_claim_left_by_a_dead_sender_is_taken_over_after_its_lease(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-24 08:59"))
    assert bot.ticker.tick() == []  # the bot has been running since before the post was due
    bot.clock.set(aest("2026-11-24 09:00"))
    with bot.local.runtime.services.store.transaction() as uow:
        assert uow.claim_post(
            "pre_window",
            aest("2026-11-24 10:00").isoformat(),
            aest("2026-11-24 09:00"),
            instance="died-after-claiming",
            lease=timedelta(minutes=2),
        )
    bot.clock.set(aest("2026-11-24 09:01"))
    assert bot.ticker.tick() == []  # the claim's lease has not run out
    bot.clock.set(aest("2026-11-24 09:03"))
    assert len(bot.ticker.tick()) == 1
    bot.wait_said(PRE_WINDOW)
    bot.fake.wait_quiet()
    assert len(_posts(bot, PRE_WINDOW)) == 1


def test_a_post_slack_refused_is_retried_not_lost(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-24 09:00"))
    bot.fake.fail_next("chat.postMessage", status=503, error="service_unavailable", times=3)
    assert len(bot.ticker.tick()) == 1  # handed to the outbox, which retries it
    bot.wait_said(PRE_WINDOW, timeout=20)
    bot.clock.set(aest("2026-11-24 09:03"))
    assert bot.ticker.tick() == []  # already handed over: never a second copy
    bot.fake.wait_quiet()
    assert len(_posts(bot, PRE_WINDOW)) == 1
    assert bot.rows("SELECT status, attempts FROM outbox") == [("sent", 4)]
