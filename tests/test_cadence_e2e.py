"""Windows, freezes, gates and the deploy lock, through the real app, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from release.lifecycle import State
from tests.harness import (
    MANAGER,
    QA,
    RELIABILITY,
    REPORT,
    Harness,
    aest,
)


def _epoch(text: str) -> int:
    return int(aest(text).timestamp())


def test_promote_outside_a_window_names_the_next_window_in_both_zones(bot: Harness) -> None:
    bot.approved()
    bot.clock.set(aest("2026-11-24 12:00"))
    bot.run(MANAGER, "promote v1.4.0")
    refusal = bot.wait_told(MANAGER, "cannot be promoted now").text
    next_window = (
        "outside the release window: the next window opens Thu 26 Nov 2026 10:00 AEST "
        f"(<!date^{_epoch('2026-11-26 10:00')}^{{date_short_pretty}} {{time}}|"
        "Thu 26 Nov 2026 10:00 AEST> your time)"
    )
    assert next_window in refusal
    assert "`/release check v1.4.0` shows every gate" in refusal
    assert bot.state("v1.4.0") == "approved"
    assert bot.rows("SELECT holder FROM deploy_locks")[0][0] is None


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        ("2026-11-26 09:59:59", False),
        ("2026-11-26 10:00:00", True),
        ("2026-11-26 11:59:59", True),
        ("2026-11-26 12:00:00", False),
    ],
)
def test_window_edges_on_a_thursday(bot: Harness, moment: str, allowed: bool) -> None:
    bot.approved()
    bot.clock.set(aest(moment))
    bot.run(MANAGER, "promote v1.4.0")
    if allowed:
        bot.wait_said(":tada: *v1.4.0* is released")
    else:
        assert "outside the release window" in bot.wait_told(MANAGER, "cannot be promoted").text
        assert bot.state("v1.4.0") == "approved"


def test_the_approval_announcement_says_when_the_next_window_opens(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-25 09:00"))  # a Wednesday
    bot.approved()
    said = bot.wait_said("*v1.4.0* is approved").text
    assert "The next release window opens Thu 26 Nov 2026 10:00 AEST" in said


def test_a_window_on_a_freeze_day_is_refused_naming_the_freeze(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-01 09:00"))
    bot.cast()
    bot.run(MANAGER, "freeze add 2026-11-24 2026-11-27 agency showcase week")
    bot.wait_said("Freeze #1 2026-11-24 to 2026-11-27: agency showcase week")
    bot.clock.set(aest("2026-11-24 10:30"))
    review = bot.to_review()
    del review
    bot.approved("v1.5.0")
    bot.run(MANAGER, "promote v1.5.0")
    refusal = bot.wait_told(MANAGER, "cannot be promoted now").text
    assert "freeze #1 (agency showcase week) until Sat 28 Nov 2026 00:00 AEST" in refusal
    assert "outside the release window" not in refusal
    assert bot.state("v1.5.0") == "approved"


def test_every_failing_gate_is_named_in_one_refusal(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-01 09:00"))
    bot.cast()
    bot.run(MANAGER, "freeze add 2026-11-20 2026-11-30 end-of-year client event")
    bot.wait_said("Freeze #1")
    bot.clock.set(aest("2026-11-25 15:00"))
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")
    with bot.local.runtime.services.store.transaction() as uow:
        uow.acquire_deploy_lock("other-instance", "v1.3.9", "UOTHER", timedelta(minutes=5))
    bot.run(MANAGER, "promote v1.4.0")
    refusal = bot.wait_told(MANAGER, "cannot be promoted now").text
    assert [line for line in refusal.splitlines() if line.startswith("• ")] == [
        "• not approved: v1.4.0 is `staging` and needs all four readiness sign-offs",
        "• regression not passed on staging: QA records it with "
        "`/release regression v1.4.0 pass <report-url>`",
        "• outside the release window: the next window opens Thu 26 Nov 2026 10:00 AEST "
        f"(<!date^{_epoch('2026-11-26 10:00')}^{{date_short_pretty}} {{time}}|"
        "Thu 26 Nov 2026 10:00 AEST> your time)",
        "• freeze #1 (end-of-year client event) until Tue 01 Dec 2026 00:00 AEST "
        f"(<!date^{_epoch('2026-12-01 00:00')}^{{date_short_pretty}} {{time}}|"
        "Tue 01 Dec 2026 00:00 AEST> your time)",
        "• another production deploy is in flight (v1.3.9, promoted by <@UOTHER> at "
        "Wed 25 Nov 2026 15:00 AEST); wait for it, or a release manager clears a stuck lock "
        "with `/release unlock <reason>`",
    ]
    assert bot.state("v1.4.0") == "staging"


def test_check_reports_every_gate_and_changes_nothing(bot: Harness) -> None:
    bot.approved()
    before = bot.snapshot()
    bot.run(QA, "check v1.4.0")  # anyone may read the gates
    report = bot.wait_told(QA, "*Promotion gates for v1.4.0*").text
    assert report.count(":white_check_mark:") == 6
    assert "*v1.4.0 may be promoted now* with `/release promote v1.4.0`" in report
    bot.clock.set(aest("2026-11-24 12:30"))
    bot.run(QA, "check v1.4.0")
    report = bot.wait_told(QA, "may not be promoted now").text
    assert ":x: outside the release window" in report
    assert bot.snapshot() == before


def test_the_sydney_zone_follows_daylight_saving(database_url: str) -> None:
    # Sydney moves to AEDT (UTC+11) on Sunday 4 October 2026.
    bot = Harness.start(
        database_url,
        clock=_clock(datetime(2026, 10, 5, 23, 30, tzinfo=UTC)),  # Tue 6 Oct 10:30 AEDT
        release_timezone="Australia/Sydney",
    )
    try:
        bot.approved()
        bot.clock.set(datetime(2026, 10, 6, 1, 30, tzinfo=UTC))  # 12:30 AEDT, 11:30 AEST
        bot.run(MANAGER, "promote v1.4.0")
        refusal = bot.wait_told(MANAGER, "cannot be promoted now").text
        assert "the next window opens Thu 08 Oct 2026 10:00 AEDT" in refusal
        bot.clock.set(datetime(2026, 10, 7, 23, 0, tzinfo=UTC))  # Thu 10:00 AEDT
        bot.run(MANAGER, "promote v1.4.0")
        bot.wait_said(":tada: *v1.4.0* is released")
    finally:
        bot.stop()


def _clock(start: datetime):  # type: ignore[no-untyped-def]
    from release.clock import FixedClock

    return FixedClock(start)


def test_status_shows_the_next_window_freezes_and_open_releases(bot: Harness) -> None:
    bot.clock.set(aest("2026-11-01 09:00"))
    bot.cast()
    bot.run(MANAGER, "freeze add 2026-12-20 2026-12-27 holiday shutdown")
    bot.wait_said("Freeze #1")
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")
    bot.run(QA, "status")
    overview = bot.wait_told(QA, "Next release window").text
    assert "Next release window: Tue 03 Nov 2026 10:00 AEST" in overview
    assert "• #1 2026-12-20 to 2026-12-27: holiday shutdown (from Sun 20 Dec 2026 00:00 AEST" in (
        overview
    )
    assert "• *v1.4.0* `staging`: waiting for QA to record the staging regression" in overview


def test_freeze_notice_of_13_days_23_hours_needs_a_reliability_partner(bot: Harness) -> None:
    bot.cast()
    bot.clock.set(aest("2026-12-06 01:00"))  # 13 days 23 hours before 20 Dec 00:00
    before = bot.snapshot()
    bot.run(MANAGER, "freeze add 2026-12-20 2026-12-27 client launch")
    refusal = bot.wait_told(MANAGER, "13 days 23 hours").text
    assert "Reliability Partner" in refusal
    assert bot.snapshot() == before

    bot.run(RELIABILITY, "freeze add 2026-12-20 2026-12-27 client launch")
    bot.wait_said("Freeze #1 2026-12-20 to 2026-12-27 (short notice): client launch")
    bypass = bot.wait_said("*Bypass*: freeze #1 was scheduled at short notice").text
    assert "13 days 23 hours" in bypass
    assert f"<@{RELIABILITY}> as Reliability Partner" in bypass
    actions = [r[0] for r in bot.rows("SELECT action FROM audit_events ORDER BY id")]
    assert actions[-2:] == ["freeze.scheduled", "bypass.short_notice_freeze"]
    assert bot.rows("SELECT short_notice FROM freezes")[0][0] in (True, 1)


def test_fourteen_days_notice_is_enough_and_bad_freezes_are_refused(bot: Harness) -> None:
    bot.cast()
    bot.clock.set(aest("2026-12-06 00:00"))
    bot.run(MANAGER, "freeze add 2026-12-20 2026-12-27 client launch")
    bot.wait_said("Freeze #1 2026-12-20 to 2026-12-27: client launch")
    before = bot.snapshot()
    bot.run(MANAGER, "freeze add 2026-12-27 2027-01-03 overlap")
    assert "freeze #1 (2026-12-20 to 2026-12-27)" in bot.wait_told(MANAGER, "overlap").text
    bot.run(MANAGER, "freeze add 2027-02-10 2027-02-01 backwards")
    assert (
        "That freeze ends (2027-02-01) before it starts (2027-02-10)"
        in bot.wait_told(MANAGER, "before it starts").text
    )
    bot.run(QA, "freeze add 2027-03-01 2027-03-02 qa wants a break")
    bot.wait_told(QA, "Only a Release Manager or a Reliability Partner may schedule a freeze")
    assert bot.snapshot() == before

    bot.run(QA, "freeze list")
    assert "#1 2026-12-20 to 2026-12-27: client launch" in bot.wait_told(QA, "*Freezes").text
    bot.run(MANAGER, "freeze cancel 1")
    bot.wait_said(f"<@{MANAGER}> cancelled freeze #1")
    bot.run(QA, "freeze list")
    bot.wait_told(QA, "No freeze is scheduled.")


def test_a_live_deploy_lock_refuses_a_second_deploy_and_unlock_clears_it(bot: Harness) -> None:
    bot.approved()
    with bot.local.runtime.services.store.transaction() as uow:
        uow.acquire_deploy_lock("other-instance", "v1.3.9", "UOTHER", timedelta(minutes=5))
    bot.run(MANAGER, "promote v1.4.0")
    assert (
        "another production deploy is in flight (v1.3.9"
        in bot.wait_told(MANAGER, "cannot be promoted now").text
    )

    bot.run(QA, "unlock I think it is stuck")
    bot.wait_told(QA, "Only a Release Manager may clear the deploy lock")
    bot.run(MANAGER, "unlock instance was redeployed mid-deploy")
    refusal = bot.wait_told(MANAGER, "is still running and renewed its lock").text
    assert "`/release unlock --force <reason>`" in refusal and "Nothing was changed" in refusal
    assert bot.rows("SELECT holder FROM deploy_locks")[0][0] == "other-instance"
    bot.run(MANAGER, "unlock --force instance was redeployed mid-deploy")
    said = bot.wait_said("cleared the production deploy lock held for v1.3.9").text
    assert said.startswith(":warning: *Forced*")
    assert "instance was redeployed mid-deploy" in said
    assert (
        bot.rows("SELECT COUNT(*) FROM audit_events WHERE action = 'deploy_lock.force_cleared'")[0][
            0
        ]
        == 1
    )
    bot.run(MANAGER, "promote v1.4.0")
    bot.wait_said(":tada: *v1.4.0* is released")
    assert bot.rows("SELECT holder FROM deploy_locks")[0][0] is None  # released after the deploy


def test_a_lock_left_by_a_dead_instance_is_reclaimed_and_announced(bot: Harness) -> None:
    bot.approved()
    store = bot.local.runtime.services.store
    with store.transaction() as uow:
        uow.acquire_deploy_lock("dead-instance", "v1.4.0", MANAGER, timedelta(minutes=5))
        uow.move_release("v1.4.0", State.DEPLOYING)
    bot.clock.set(aest("2026-11-24 10:36"))  # the lease ran out a minute ago
    bot.ticker.tick()
    said = bot.wait_said("The production deploy lock for v1.4.0").text
    assert "held by a deploy that is no longer running, so it was cleared" in said
    assert "v1.4.0 was `deploying` with no deploy left to finish it; it is now `failed`" in said
    assert bot.state("v1.4.0") == "failed"
    assert bot.rows("SELECT holder FROM deploy_locks")[0][0] is None


def test_a_regression_re_run_is_recorded_against_the_staging_deployment(bot: Harness) -> None:
    bot.cast()
    bot.run(MANAGER, "start v1.4.0")
    bot.wait_said("*v1.4.0* is on staging")
    bot.run(QA, f"regression v1.4.0 pass <{REPORT}>")
    bot.wait_review("v1.4.0")
    staging = bot.rows("SELECT staging_deployment_id FROM releases")[0][0]
    details = bot.rows("SELECT details FROM artefacts WHERE kind = 'regression_report'")[0][0]
    assert staging and staging in str(details)


def test_unlock_fails_the_deploy_nobody_owns_any_more(bot: Harness) -> None:
    bot.approved()
    with bot.local.runtime.services.store.transaction() as uow:
        uow.acquire_deploy_lock("dead-instance:1", "v1.4.0", MANAGER, timedelta(minutes=5))
        uow.move_release("v1.4.0", State.DEPLOYING)
    bot.clock.set(aest("2026-11-24 10:36"))  # nobody renewed it: its holder is gone
    bot.run(MANAGER, "unlock the instance was killed mid-deploy")
    said = bot.wait_said("cleared the production deploy lock held for v1.4.0").text
    assert "v1.4.0 was `deploying`; it is now `failed`" in said
    assert bot.state("v1.4.0") == "failed"


def test_an_expired_lock_met_by_a_promotion_is_reaped_and_announced(bot: Harness) -> None:
    bot.approved("v1.5.0")
    with bot.local.runtime.services.store.transaction() as uow:
        uow.acquire_deploy_lock("dead-instance:2", "v1.4.0", MANAGER, timedelta(minutes=5))
    bot.clock.set(aest("2026-11-24 10:40"))  # its lease ran out at 10:35
    bot.run(MANAGER, "promote v1.5.0")
    bot.wait_said("The production deploy lock for v1.4.0")
    bot.wait_said(":tada: *v1.5.0* is released")
