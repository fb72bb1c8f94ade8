"""The bot's answers say what is true: zone, freezes, superseded and released versions."""

from __future__ import annotations

from tests.harness import MANAGER, QA, RELIABILITY, REPORT, Harness, aest


def test_status_shows_every_date_in_the_release_zone(bot: Harness) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")
    bot.run(MANAGER, "status v1.4.0")
    status = bot.wait_told(MANAGER, "*v1.4.0* is `staging`").text
    assert "Tue 24 Nov 2026 10:30 AEST" in status  # started, in the channel's zone
    assert "2026-11-24 10:30:00 AEST" in status  # its history too
    assert " UTC" not in status


def test_status_during_a_freeze_says_the_window_is_frozen_and_by_what(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-01 09:00"))
    bot.cast()
    bot.run(MANAGER, "freeze add 2026-12-01 2026-12-01 board demo")
    bot.wait_said("Freeze #1")
    bot.clock.set(aest("2026-12-01 10:30"))  # a Tuesday, inside the window, inside the freeze
    bot.run(QA, "status")
    status = bot.wait_told(QA, "A release window is open now").text
    assert "it is frozen by freeze #1 2026-12-01: board demo" in status
    assert "only an approved hotfix may be promoted" in status


def test_a_version_older_than_production_is_called_superseded(bot: Harness) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.3.9")
    bot.wait_said("*v1.3.9* is on staging")
    bot.released("v1.4.0")
    bot.run(QA, "status")
    status = bot.wait_told(QA, "*Open releases*").text
    assert "*v1.3.9* `staging`: superseded: v1.4.0, which is newer, is in production" in status
    assert "`/release cancel v1.3.9 <reason>`" in status


def test_promoting_a_released_version_says_it_is_already_released(bot: Harness) -> None:
    bot.released("v1.4.0")
    bot.run(MANAGER, "promote v1.4.0")
    refusal = bot.wait_told(MANAGER, "v1.4.0 is already released").text
    assert "backwards" not in refusal and "Nothing was changed" in refusal


def test_a_failed_regression_says_how_a_fix_reaches_staging(bot: Harness) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")
    bot.run(QA, f"regression v1.4.0 fail <{REPORT}>")
    said = bot.wait_said("Regression *failed*").text
    assert "push it to `release/v1.4.0`: staging redeploys from that branch" in said
    assert "`/release regression v1.4.0 pass|fail <report-url>`" in said


def test_freeze_dates_in_the_past_or_absurdly_far_get_a_clear_refusal(bot: Harness) -> None:
    bot.cast()
    before = bot.snapshot()
    for dates, expected in (
        ("2026-11-23 2026-11-30", "cannot start in the past"),
        ("0001-01-01 0001-01-02", "cannot start in the past"),
        ("2027-01-04 9999-12-31", "more than two years ahead"),
    ):
        bot.run(RELIABILITY, f"freeze add {dates} outage follow-up")
        assert expected in bot.wait_told(RELIABILITY, expected).text
    assert not any("Something went wrong" in t for t in bot.told(RELIABILITY))
    assert bot.snapshot() == before
