"""The weekly digest: the week's deploys, the 30-day metrics, overdue flags and a 12-week chart.

The history seeded for the 12-week series (Brisbane time; UNTIL = Mon 30 Nov 2026 09:00,
so the weeks start on Mondays at 09:00, from 7 Sep to 23 Nov):

    week of  release  production deploy                     counted?        a failure?
    (before) v0.9.0   6 Sep 10:00 succeeded                  no: too early
    14 Sep   v1.0.0   15 Sep 10:00 succeeded                 yes             no
    16 Nov   v1.2.0   16 Nov 09:00 succeeded (week's start)  yes             no
    16 Nov   v1.3.0   17 Nov 10:00 succeeded                 yes             incident
             v1.3.0   17 Nov 11:00 rollback                  no: a rollback
             v1.3.5   18 Nov 10:00 FAILED                    no: failed
             v1.3.6   19 Nov 10:00 on staging                no: staging
    23 Nov   v1.4.0   24 Nov 10:00 succeeded                 yes             state failed
    23 Nov   v1.5.0   26 Nov 10:00 unknown                   yes             fixed by v1.5.1
    23 Nov   v1.5.1   27 Nov 10:00 succeeded (hotfix)        yes             no
    (after)  v1.6.0   30 Nov 09:00 succeeded (at UNTIL)      no: window ends
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import commands.scheduled
from bot.console.fake_slack import Message, UploadedFile
from bot.console.local import CHANNEL_ID
from commands.digest import (
    CHART_FILENAME,
    CHART_TITLE,
    WeekPoint,
    chart_png,
    weekly_series,
)
from commands.outcome import MESSAGE_LIMIT
from release.clock import FixedClock
from storage import models
from storage.db import make_engine
from storage.migrate import upgrade
from storage.unit_of_work import Store, UnitOfWork
from tests.harness import BRISBANE, Harness, aest

UNTIL = aest("2026-11-30 09:00")  # a Monday: the weekly post's slot
SPRINT = timedelta(days=14)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WEEKLY = "*Weekly release report*"


class History:
    """Rows written straight into the database, as the bot would have left them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.releases: dict[str, models.Release] = {}

    def release(self, version: str, created: datetime, state: str = "released") -> models.Release:
        row = models.Release(
            version=version,
            kind="hotfix" if version.endswith(".1") else "regular",
            state=state,
            branch=f"release/{version}",
            started_by="UMANAGER",
            created_at=created,
            updated_at=created,
        )
        self.session.add(row)
        self.session.flush()
        self.releases[version] = row
        return row

    def deploy(
        self,
        version: str,
        finished: datetime,
        outcome: str = "succeeded",
        *,
        kind: str = "promotion",
        environment: str = "production",
    ) -> None:
        self.session.add(
            models.Deployment(
                release_id=self.releases[version].id,
                environment=environment,
                started_at=finished - timedelta(minutes=5),
                finished_at=finished,
                outcome=outcome,
                kind=kind,
            )
        )
        self.session.flush()

    def incident(self, version: str, opened: datetime) -> None:
        self.session.add(
            models.Incident(
                release_id=self.releases[version].id,
                summary="down",
                opened_by="UOPS",
                opened_at=opened,
            )
        )
        self.session.flush()

    def flag(self, key: str, launched: datetime | None, remove_by: datetime | None) -> None:
        self.session.add(
            models.Flag(
                key=key,
                scope_kind="tenant",
                scope_value="Admin",
                rollback_plan="turn it off",
                status="scoped" if launched is None else "launched",
                created_by="UMANAGER",
                created_at=(launched or UNTIL) - timedelta(days=3),
                launched_at=launched,
                remove_by=remove_by,
            )
        )
        self.session.flush()


def seed(engine: Engine, write: Callable[[History], None]) -> None:
    with Session(engine) as session, session.begin():
        write(History(session))


def twelve_weeks(h: History) -> None:
    """The history in the module's docstring."""
    h.release("v0.9.0", aest("2026-09-01 09:00"))
    h.deploy("v0.9.0", aest("2026-09-06 10:00"))
    h.release("v1.0.0", aest("2026-09-14 09:00"))
    h.deploy("v1.0.0", aest("2026-09-15 10:00"))
    h.release("v1.2.0", aest("2026-11-13 09:00"))
    h.deploy("v1.2.0", aest("2026-11-16 09:00"))
    h.release("v1.3.0", aest("2026-11-16 12:00"))
    h.deploy("v1.3.0", aest("2026-11-17 10:00"))
    h.incident("v1.3.0", aest("2026-11-17 10:30"))
    h.deploy("v1.3.0", aest("2026-11-17 11:00"), kind="rollback")
    h.release("v1.3.5", aest("2026-11-17 12:00"))
    h.deploy("v1.3.5", aest("2026-11-18 10:00"), "failed")
    h.release("v1.3.6", aest("2026-11-18 12:00"))
    h.deploy("v1.3.6", aest("2026-11-19 10:00"), environment="staging")
    h.release("v1.4.0", aest("2026-11-23 12:00"), state="failed")
    h.deploy("v1.4.0", aest("2026-11-24 10:00"))
    v150 = h.release("v1.5.0", aest("2026-11-25 09:00"))
    h.deploy("v1.5.0", aest("2026-11-26 10:00"), "unknown")
    fix = h.release("v1.5.1", aest("2026-11-26 12:00"))
    fix.fixes_release_id = v150.id
    h.deploy("v1.5.1", aest("2026-11-27 10:00"))
    h.release("v1.6.0", aest("2026-11-29 09:00"))
    h.deploy("v1.6.0", UNTIL)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield Store(engine, FixedClock(UNTIL))
    engine.dispose()


def series_of(store: Store, until: datetime = UNTIL, weeks: int = 12) -> list[WeekPoint]:
    uow: UnitOfWork
    with store.transaction() as uow:
        return weekly_series(uow, until, weeks, sprint=SPRINT)


def week(day: str) -> datetime:
    return aest(f"{day} 09:00")


def weekly_post(bot: Harness, at: datetime = UNTIL) -> Message:
    bot.clock.set(at)
    bot.ticker.tick()
    return bot.wait_said(WEEKLY)


def chart(bot: Harness) -> UploadedFile:
    return bot.fake.wait_for(
        lambda: next(
            (f for f in bot.fake.files_in(CHANNEL_ID) if f.filename == CHART_FILENAME), None
        )
    )


def assert_chart(png: bytes) -> None:
    import matplotlib.image  # here, not at collection: every worker would import matplotlib

    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 10_000  # axes, bars, labels: not a blank image
    assert matplotlib.image.imread(io.BytesIO(png), format="png").shape[:2] == (400, 800)


# -- the 12-week series, counted by hand ------------------------------------------------


def test_the_series_counts_each_weeks_deploys_and_change_failure_rate(store: Store) -> None:
    seed(store.engine, twelve_weeks)
    series = series_of(store)
    assert [p.start for p in series] == [UNTIL - timedelta(weeks=12 - n) for n in range(12)]
    assert series[0].start == week("2026-09-07")
    by_week = {p.start: (p.deploys, p.change_failure_rate) for p in series}
    assert by_week[week("2026-09-07")] == (0, None)  # v0.9.0 was the week before
    assert by_week[week("2026-09-14")] == (1, 0.0)
    assert by_week[week("2026-11-09")] == (0, None)
    assert by_week[week("2026-11-16")] == (2, 0.5)  # v1.2.0 at its very start; v1.3.0 failed
    deploys, rate = by_week[week("2026-11-23")]  # v1.6.0 at UNTIL is not in it
    assert deploys == 3
    assert rate == pytest.approx(2 / 3)
    quiet = [p for p in series if p.start not in (week("2026-09-14"), *list(by_week)[-2:])]
    assert len(quiet) == 9
    assert all(p.deploys == 0 and p.change_failure_rate is None for p in quiet)


def test_the_series_is_as_long_as_asked_and_empty_weeks_have_no_rate(store: Store) -> None:
    assert series_of(store) == [
        WeekPoint(UNTIL - timedelta(weeks=12 - n), 0, None) for n in range(12)
    ]
    seed(store.engine, twelve_weeks)
    assert [(p.deploys, p.change_failure_rate) for p in series_of(store, weeks=2)] == [
        (2, 0.5),
        (3, pytest.approx(2 / 3)),
    ]
    with pytest.raises(ValueError, match="at least one week"):
        series_of(store, weeks=0)


# -- the chart ----------------------------------------------------------------------------


def test_the_chart_is_an_800_by_400_png_and_the_same_for_the_same_series() -> None:
    series = [
        WeekPoint(UNTIL - timedelta(weeks=12 - n), n % 4, None if n % 4 == 0 else 1 / (n % 4))
        for n in range(12)
    ]
    png = chart_png(series, BRISBANE)
    assert_chart(png)
    assert chart_png(series, BRISBANE) == png
    assert chart_png(series[:3], BRISBANE).startswith(PNG_SIGNATURE)


def test_a_chart_of_weeks_without_deploys_is_still_drawn() -> None:
    empty = [WeekPoint(UNTIL - timedelta(weeks=12 - n), 0, None) for n in range(12)]
    assert_chart(chart_png(empty, BRISBANE))


# -- the weekly post ----------------------------------------------------------------------


def test_the_weekly_post_is_the_digest_and_the_chart_follows_it(bot: Harness) -> None:
    bot.released("v1.4.0")  # Tue 24 Nov, through the whole process

    def history(h: History) -> None:
        h.release("v1.2.0", aest("2026-11-05 09:00"))
        h.deploy("v1.2.0", aest("2026-11-10 10:00"))
        h.release("v1.3.0", aest("2026-11-12 09:00"))
        h.deploy("v1.3.0", aest("2026-11-17 10:00"))
        h.incident("v1.3.0", aest("2026-11-17 10:30"))  # restored by v1.4.0's deploy
        h.flag("new-checkout", aest("2026-10-01 09:00"), aest("2026-10-29 09:00"))
        h.flag("fresh-banner", aest("2026-11-20 09:00"), aest("2026-12-18 09:00"))
        h.flag("agency-beta", None, None)

    seed(bot.engine, history)
    post = weekly_post(bot)
    text = post.text
    # v1.4.0 was created and deployed at 10:30 on 24 Nov (the bot's clock does not move):
    # it restores v1.3.0's failure 7 days after its incident; lead times 5 d 1 h, 5 d 1 h, 0.
    assert text.splitlines() == [
        ":bar_chart: *Weekly release report*",
        "Production deploys in the last 7 days: 1 (target: at least 2 a week): v1.4.0.",
        "*Delivery metrics, last 30 days*",
        ":x: *Deployment frequency*: 0.7 a week (3 deploys in 30 days) (target: ≥ 2 a week)",
        ":x: *Change failure rate*: 33.3 % (1 of 3) (target: < 15 %)",
        ":x: *Mean time to restore*: 7 d (1 restored) (target: ≤ 1 h)",
        ":heavy_minus_sign: *Lead time*: 3 d 9 h (no target)",
        ":heavy_minus_sign: *Flag lifetime*: no flag removed (target: ≤ 28 d (2 sprints))",
        ":x: *Overdue flags*: 1 (target: 0)",
        "*Overdue feature flags* (1)",
        "• :warning: `new-checkout`: remove by Thu 29 Oct 2026 09:00 AEST; remove it from the "
        "code, then `/release flag remove new-checkout`.",
    ]

    shared = chart(bot)
    assert shared.title == CHART_TITLE
    assert shared.comment == ""
    assert_chart(shared.content)
    assert float(shared.ts) > float(post.ts)  # the chart comes after the post
    bot.fake.wait_quiet(quiet=0.2)
    assert len(bot.fake.files_in(CHANNEL_ID)) == 1
    assert len([t for t in bot.said() if WEEKLY in t]) == 1

    bot.clock.advance(timedelta(minutes=1))
    bot.ticker.tick()  # the slot is claimed: neither goes out again
    bot.fake.wait_quiet(quiet=0.2)
    assert len(bot.fake.files_in(CHANNEL_ID)) == 1
    assert len([t for t in bot.said() if WEEKLY in t]) == 1


def test_a_quiet_quarter_is_reported_without_rates_and_still_charted(bot: Harness) -> None:
    text = weekly_post(bot).text
    assert "Production deploys in the last 7 days: 0 (target: at least 2 a week)." in text
    assert ":x: *Deployment frequency*: 0.0 a week (0 deploys in 30 days)" in text
    assert ":heavy_minus_sign: *Change failure rate*: no deploys (target: < 15 %)" in text
    assert ":white_check_mark: *Overdue flags*: 0 (target: 0)" in text
    assert "*Overdue feature flags*" not in text
    assert_chart(chart(bot).content)


def test_the_post_and_its_chart_are_recorded_together_or_not_at_all(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.clock.set(UNTIL - timedelta(minutes=1))
    assert bot.ticker.tick() == []  # the bot was running before the slot

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the process died before the commit")

    with monkeypatch.context() as patched:
        patched.setattr(UnitOfWork, "mark_post_sent", crash)  # after both were recorded
        bot.clock.set(UNTIL)
        assert bot.ticker.tick() == []
        bot.fake.wait_quiet(quiet=0.2)
    assert all(WEEKLY not in t for t in bot.said())
    assert bot.fake.files_in(CHANNEL_ID) == []
    assert bot.count("outbox") == 0

    bot.clock.set(UNTIL + timedelta(seconds=30))
    assert len(bot.ticker.tick()) == 1
    bot.wait_said(WEEKLY)
    chart(bot)
    assert sorted(r[0] for r in bot.rows("SELECT kind FROM outbox")) == ["announce", "upload"]


def test_a_chart_that_cannot_be_drawn_does_not_hold_back_the_post(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> bytes:
        raise RuntimeError("no fonts")

    monkeypatch.setattr(commands.scheduled, "chart_png", broken)
    weekly_post(bot)
    bot.wait_said("The 12-week chart could not be drawn this week")
    bot.fake.wait_quiet(quiet=0.2)
    assert bot.fake.files_in(CHANNEL_ID) == []


def test_many_overdue_flags_are_listed_within_slacks_limit(bot: Harness) -> None:
    def overdue(h: History) -> None:
        for n in range(60):
            h.flag(f"{n:02d}-" + "x" * 61, aest("2026-09-01 09:00"), aest("2026-09-29 09:00"))

    seed(bot.engine, overdue)
    text = weekly_post(bot).text
    assert len(text) <= MESSAGE_LIMIT
    assert "cut to fit Slack" not in text
    assert "*Overdue feature flags* (60)" in text
    assert ":x: *Overdue flags*: 60 (target: 0)" in text
    shown = [line for line in text.splitlines() if line.startswith("• :warning: `")]
    assert 5 <= len(shown) < 60
    assert text.endswith(f"\n…and {60 - len(shown)} more: `/release flag list` shows them all.")
