"""Feature flags and incidents through signed requests, as the channel sees them."""

from __future__ import annotations

from datetime import timedelta

from release.clock import FixedClock
from tests.fakes.launchdarkly import FakeLaunchDarkly
from tests.harness import IN_TUESDAY_WINDOW, MANAGER, QA, RELIABILITY, Harness


def test_a_flag_is_scoped_launched_overdue_and_removed(database_url: str) -> None:
    clock = FixedClock(IN_TUESDAY_WINDOW)
    bot = Harness.start(database_url, clock=clock)
    try:
        bot.cast()
        bot.run(QA, "flag add milestone-analytics Agency turn it off")
        bot.wait_told(QA, "Only a Release Manager may add, launch or remove a feature flag")
        response = bot.run(MANAGER, "flag add milestone-analytics Agency")
        assert "Every flag needs a rollback plan" in response.json()["text"]
        bot.run(MANAGER, "flag add milestone-analytics Agency turn it off <!channel> at once")
        added = bot.wait_said("added the flag `milestone-analytics`").text
        assert "on for tenant Agency only" in added
        assert "turn it off @channel at once" in added and "<!channel>" not in added
        assert "No flag provider is configured" in added
        bot.run(MANAGER, "flag add milestone-analytics 10% again")
        bot.wait_told(MANAGER, "There is already a flag `milestone-analytics`")

        bot.run(MANAGER, "flag launch milestone-analytics")
        launched = bot.wait_said("launched `milestone-analytics` for everyone").text
        assert "Remove it by Tue 22 Dec 2026 10:30 AEST (two sprints)" in launched
        bot.run(MANAGER, "flag launch milestone-analytics")
        bot.wait_told(MANAGER, "`milestone-analytics` is `launched` already")

        clock.advance(timedelta(days=29))
        bot.run(QA, "flag list")
        listed = bot.wait_told(QA, "*Feature flags*").text
        assert ":warning: *overdue*, remove by Tue 22 Dec 2026 10:30 AEST" in listed
        assert "1 flag(s) are past their removal deadline" in listed

        bot.run(MANAGER, "flag remove milestone-analytics")
        removed = bot.wait_said("removed the flag `milestone-analytics`").text
        assert "It lived 29 days after its launch." in removed
        bot.run(QA, "flag list")
        bot.wait_told(QA, "No feature flags are live.")
        actions = [
            r[0] for r in bot.rows("SELECT action FROM audit_events WHERE action LIKE 'flag.%'")
        ]
        assert actions == ["flag.added", "flag.launched", "flag.removed"]
    finally:
        bot.stop()


def test_an_incident_ties_a_failure_to_its_release_and_a_rollback_answers_it(
    database_url: str,
) -> None:
    bot = Harness.start(database_url)
    try:
        bot.released("v1.4.0")
        bot.fake.wait_quiet()
        bot.run(MANAGER, "start v1.5.0")
        bot.wait_said("*v1.5.0* is on staging")
        bot.run(RELIABILITY, "incident open v1.5.0 uploads fail")
        bot.wait_told(RELIABILITY, "v1.5.0 is `staging`: it never reached production")
        bot.run(QA, "incident open v1.4.0 uploads fail")
        bot.wait_told(QA, "Only a Release Manager or a Reliability Partner may open or resolve")
        bot.run(MANAGER, "cancel v1.5.0 not needed")
        bot.wait_said("cancelled *v1.5.0*")
        bot.approved("v1.6.0")
        bot.run(MANAGER, "promote v1.6.0")
        bot.wait_said(":tada: *v1.6.0* is released")
        bot.run(RELIABILITY, "incident open v1.6.0 share links 404 for <!here>")
        opened = bot.wait_said("opened incident #1 against *v1.6.0*").text
        assert "share links 404 for @here" in opened and "<!here>" not in opened
        bot.run(MANAGER, "rollback")
        started = bot.wait_said(f"<@{MANAGER}> is rolling back *v1.6.0*").text
        assert "It answers incident #1." in started
        bot.wait_said(":rewind: *v1.6.0* is rolled back")
        rows = bot.rows(
            "SELECT kind, answers_incident_id, outcome FROM deployments ORDER BY id DESC"
        )
        assert rows[0] == ("rollback", 1, "succeeded")
        bot.run(RELIABILITY, "incident resolve 1")
        resolved = bot.wait_said("resolved incident #1").text
        assert "(*v1.6.0*: share links 404 for @here) after 0 min" in resolved
        bot.run(RELIABILITY, "incident resolve 1")
        bot.wait_told(RELIABILITY, "Incident #1 was resolved already")
        bot.run(RELIABILITY, "incident resolve 9")
        bot.wait_told(RELIABILITY, "There is no incident #9.")
    finally:
        bot.stop()


def test_a_hotfix_started_during_an_incident_answers_it(database_url: str) -> None:
    bot = Harness.start(database_url)
    try:
        bot.released("v1.4.0")
        bot.run(MANAGER, "incident open v1.4.0 drafts leak")
        bot.wait_said("opened incident #1")
        bot.run(MANAGER, "hotfix v1.4.1 drafts leak")
        bot.wait_said("*v1.4.1* is on staging")
        rows = bot.rows(
            "SELECT r.version, f.version, r.answers_incident_id FROM releases r "
            "JOIN releases f ON f.id = r.fixes_release_id"
        )
        assert rows == [("v1.4.1", "v1.4.0", 1)]
    finally:
        bot.stop()


def test_with_launchdarkly_configured_each_change_takes_effect_there(database_url: str) -> None:
    fake_ld = FakeLaunchDarkly()
    fake_ld.start()
    settings = {
        "launchdarkly_api_token": fake_ld.token,
        "launchdarkly_project_key": "portal",
        "launchdarkly_environment_key": "production",
        "launchdarkly_api_url": fake_ld.base_url,
    }
    bot = Harness.start(database_url, **settings)
    bot.local.runtime.jobs.first_backoff = 0.05
    try:
        bot.cast()
        fake_ld.fail_next("*", status=503)  # an outage is retried, not lost
        bot.run(MANAGER, "flag add share-v2 25% switch the rollout to 0%")
        bot.wait_said("LaunchDarkly: `share-v2` is on for 25% only.", timeout=20)
        assert fake_ld.served_to("share-v2") == "25% true"
        bot.run(MANAGER, "flag launch share-v2")
        bot.wait_said("LaunchDarkly: `share-v2` is on for everyone.", timeout=20)
        assert fake_ld.served_to("share-v2", tenant="Agency") is True
        bot.run(MANAGER, "flag remove share-v2")
        bot.wait_said("LaunchDarkly: `share-v2` is archived.", timeout=20)
        assert fake_ld.served_to("share-v2") == "archived"
        fake_ld.fail_always("*", status=403)
        bot.run(MANAGER, "flag add agency-only Agency turn it off")
        failed = bot.wait_said("LaunchDarkly did not take the change to `agency-only`").text
        assert "check LAUNCHDARKLY_API_TOKEN" in failed and fake_ld.token not in failed
        assert bot.rows("SELECT status FROM flags WHERE key = 'agency-only'") == [("scoped",)]
    finally:
        bot.stop()
        fake_ld.stop()


def test_launchdarkly_ends_as_the_registry_says_whatever_order_the_jobs_run(
    database_url: str,
) -> None:
    fake_ld = FakeLaunchDarkly()
    fake_ld.start()
    bot = Harness.start(
        database_url,
        launchdarkly_api_token=fake_ld.token,
        launchdarkly_project_key="portal",
        launchdarkly_environment_key="production",
        launchdarkly_api_url=fake_ld.base_url,
    )
    bot.local.runtime.jobs.first_backoff = 2.0  # the add's retry comes after the launch
    try:
        bot.cast()
        fake_ld.fail_next("POST /api/v2/flags", status=503)
        bot.run(MANAGER, "flag add share-v2 Agency turn it off")
        bot.wait_said("added the flag `share-v2`")
        bot.run(MANAGER, "flag launch share-v2")
        bot.wait_said("LaunchDarkly: `share-v2` is on for everyone.", timeout=20)

        def both() -> list[str] | None:  # the launch's job, then the add's retry
            said = [t for t in bot.said() if t.startswith("LaunchDarkly:")]
            return said if len(said) == 2 else None

        assert (
            bot.fake.wait_for(both, timeout=20)
            == ["LaunchDarkly: `share-v2` is on for everyone."] * 2
        )
        assert fake_ld.served_to("share-v2", tenant="Admin") is True
    finally:
        bot.stop()
        fake_ld.stop()
