"""Delivery metrics on both engines, against a spelled-out history counted by hand.

The history (all times UTC, 2026; UNTIL = 1 Dec 00:00):

    release  created      production deploys (promotions unless said)     what went wrong
    v1.0.0   30 Oct 09:00  2 Nov 10:00 succeeded                           —
    v1.1.0   16 Nov 10:00  17 Nov 00:00 succeeded                          rolled_back; incident
                           17 Nov 01:30 rollback to v1.0.0 (answers I1)    I1 17 Nov 01:00
    v1.2.0   18 Nov 08:00  19 Nov 12:00 FAILED, 19 Nov 14:00 unknown        —
    v1.3.0   20 Nov 09:00  21 Nov 10:00 succeeded                          incident I2 21 Nov 12:00
    v1.3.1   21 Nov 12:30  21 Nov 14:00 succeeded  (hotfix of v1.3.0 answering I2)
    v1.4.0   24 Nov 09:00  25 Nov 10:00 succeeded                          failed; I3 25 Nov 10:30
                           25 Nov 10:40 rollback of v1.4.0 FAILED
                           25 Nov 10:45 rollback of v1.4.0 succeeded, answers nothing
                           25 Nov 11:00 rollback of v1.4.0 succeeded, answers I3
    v1.5.0   25 Nov 08:00  (staging 25 Nov 10:50) 27 Nov 08:00 succeeded   fixed by hotfix v1.5.1
    v1.5.1   27 Nov 09:00  27 Nov 12:00 succeeded  (hotfix of v1.5.0, no incident)
    v1.6.0   28 Nov 09:00  29 Nov 10:00 succeeded                          I4 29 Nov 11:00, open
                           29 Nov 12:00 rollback of v1.6.0, answers I3 (not its own)
                           30 Nov 09:00 pending
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from release.clock import FixedClock
from release.metrics import DeliveryMetrics, Verdict, duration, verdicts
from storage import models
from storage.db import make_engine
from storage.migrate import upgrade
from storage.unit_of_work import Store

UNTIL = datetime(2026, 12, 1, tzinfo=UTC)
SPRINT = timedelta(days=14)


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = make_engine(database_url)
    upgrade(engine)
    store = Store(engine, FixedClock(UNTIL))
    with Session(engine) as session, session.begin():
        seed(session)
    yield store
    engine.dispose()


def seed(session: Session) -> None:
    releases: dict[str, models.Release] = {}

    def release(version: str, created: datetime, state: str = "released") -> models.Release:
        row = models.Release(
            version=version,
            kind="hotfix" if version.endswith(".1") else "regular",
            state=state,
            branch=f"release/{version}",
            started_by="UALICE",
            created_at=created,
            updated_at=created,
        )
        session.add(row)
        session.flush()
        releases[version] = row
        return row

    def deploy(
        version: str,
        finished: datetime | None,
        outcome: str = "succeeded",
        *,
        kind: str = "promotion",
        environment: str = "production",
        started: datetime | None = None,
        answers: models.Incident | None = None,
    ) -> None:
        session.add(
            models.Deployment(
                release_id=releases[version].id,
                environment=environment,
                started_at=started or (finished or UNTIL) - timedelta(minutes=5),
                finished_at=finished,
                outcome=outcome,
                kind=kind,
                answers_incident_id=answers.id if answers else None,
            )
        )

    def incident(version: str, opened: datetime) -> models.Incident:
        row = models.Incident(
            release_id=releases[version].id, summary="down", opened_by="UOPS", opened_at=opened
        )
        session.add(row)
        session.flush()
        return row

    release("v1.0.0", at(10, 30, 9))
    deploy("v1.0.0", at(11, 2, 10))  # before every window but the 30-day one

    release("v1.1.0", at(11, 16, 10), state="rolled_back")
    deploy("v1.1.0", at(11, 17))  # exactly at the 14-day window's start: inside it
    i1 = incident("v1.1.0", at(11, 17, 1))
    deploy("v1.0.0", at(11, 17, 1, 30), kind="rollback", answers=i1)  # restores v1.1.0

    release("v1.2.0", at(11, 18, 8))
    deploy("v1.2.0", at(11, 19, 12), "failed")  # definitely failed: not a change
    deploy("v1.2.0", at(11, 19, 14), "unknown")  # outcome never learned: a change

    v130 = release("v1.3.0", at(11, 20, 9))
    deploy("v1.3.0", at(11, 21, 10))
    i2 = incident("v1.3.0", at(11, 21, 12))
    hotfix = release("v1.3.1", at(11, 21, 12, 30))
    hotfix.fixes_release_id, hotfix.answers_incident_id = v130.id, i2.id
    deploy("v1.3.1", at(11, 21, 14))  # restores v1.3.0

    release("v1.4.0", at(11, 24, 9), state="failed")
    deploy("v1.4.0", at(11, 25, 10))
    i3 = incident("v1.4.0", at(11, 25, 10, 30))
    deploy("v1.4.0", at(11, 25, 10, 40), "failed", kind="rollback", answers=i3)  # failed
    deploy("v1.4.0", at(11, 25, 10, 45), kind="rollback")  # its own release, answers nothing
    deploy("v1.4.0", at(11, 25, 11), kind="rollback", answers=i3)  # restores v1.4.0

    v150 = release("v1.5.0", at(11, 25, 8))
    deploy("v1.5.0", at(11, 25, 10, 50), environment="staging")  # staging restores nothing
    deploy("v1.5.0", at(11, 27, 8))
    fix = release("v1.5.1", at(11, 27, 9))
    fix.fixes_release_id = v150.id  # a hotfix without an incident still marks a failure
    deploy("v1.5.1", at(11, 27, 12))  # restores v1.5.0

    release("v1.6.0", at(11, 28, 9))
    deploy("v1.6.0", at(11, 29, 10))
    incident("v1.6.0", at(11, 29, 11))  # still open: never restored
    # A redeploy of v1.6.0 answering another release's incident does not restore it.
    deploy("v1.6.0", at(11, 29, 12), kind="rollback", answers=i3)
    deploy("v1.6.0", None, "pending", started=at(11, 30, 9))  # pending: not a change

    def flag(
        key: str,
        status: str,
        launched: datetime | None = None,
        remove_by: datetime | None = None,
        removed: datetime | None = None,
    ) -> None:
        session.add(
            models.Flag(
                key=key,
                scope_kind="tenant",
                scope_value="Admin",
                rollback_plan="turn it off",
                status=status,
                created_by="UALICE",
                created_at=at(10, 1),
                launched_at=launched,
                remove_by=remove_by,
                removed_at=removed,
            )
        )

    flag("f1", "removed", at(10, 20), at(11, 17), at(11, 3))  # 14 days, removed 3 Nov
    flag("f2", "removed", at(11, 1), at(11, 29), at(11, 21))  # 20 days
    flag("f3", "removed", at(10, 25), at(11, 22), at(11, 30))  # 36 days
    flag("f4", "launched", at(11, 1), at(11, 29))  # overdue since 29 Nov
    flag("f5", "launched", at(11, 20), at(12, 18))  # not due yet
    flag("f6", "scoped")  # never launched
    flag("f7", "launched", at(11, 3), UNTIL)  # due exactly at UNTIL: not yet overdue
    flag("f8", "removed", at(11, 5), at(12, 3), UNTIL)  # removed exactly at UNTIL: outside
    flag("f9", "removed", None, None, at(11, 20))  # removed while scoped: no lifetime


def metrics(store: Store, since: datetime, until: datetime = UNTIL) -> DeliveryMetrics:
    with store.transaction() as uow:
        return uow.delivery_metrics(since, until, sprint=SPRINT)


def test_fourteen_days_of_history(store: Store) -> None:
    m = metrics(store, UNTIL - timedelta(days=14))  # [17 Nov 00:00, 1 Dec 00:00)
    assert m.window_days == 14
    # Changes: v1.1.0, v1.2.0 (unknown), v1.3.0, v1.3.1, v1.4.0, v1.5.0, v1.5.1, v1.6.0 = 8.
    # Not: v1.0.0 (2 Nov, before), v1.2.0's failed deploy, the rollbacks, staging, pending.
    assert m.deploys == 8
    assert m.deploys_per_week == 4.0  # 8 deploys in 14 days = 8 / 2 weeks
    # Failures: v1.1.0 (rolled_back, I1), v1.3.0 (I2, hotfixed), v1.4.0 (failed, I3),
    # v1.5.0 (hotfixed), v1.6.0 (I4) = 5 of 8.
    assert m.change_failures == 5
    assert m.change_failure_rate == 5 / 8  # 62.5 %
    # Restores: v1.1.0 I1 01:00 → rollback to v1.0.0 01:30 = 30 min;
    # v1.3.0 I2 12:00 → hotfix v1.3.1 14:00 = 2 h;
    # v1.4.0 I3 10:30 → (10:40 failed, 10:45 its own release unanswering, 10:50 staging)
    #   → 11:00 the rollback answering I3 = 30 min;
    # v1.5.0 deploy 27 Nov 08:00 (no incident) → hotfix v1.5.1 12:00 = 4 h;
    # v1.6.0: nothing after I4 = not restored.
    assert m.restored == 4
    assert m.unrestored == 1
    assert m.mean_time_to_restore == timedelta(hours=7) / 4  # (0.5+2+0.5+4) h / 4 = 1 h 45
    # Lead times: v1.1.0 14 h, v1.2.0 30 h, v1.3.0 25 h, v1.3.1 1.5 h, v1.4.0 25 h,
    # v1.5.0 48 h, v1.5.1 3 h, v1.6.0 25 h = 171.5 h / 8 = 21.4375 h = 21 h 26 min 15 s.
    assert m.lead_time == timedelta(hours=21, minutes=26, seconds=15)
    # Flags removed in the window: f2 20 d, f3 36 d → 28 d (f1 before, f8 at UNTIL, f9 scoped).
    assert m.flag_lifetime == timedelta(days=28)
    assert m.overdue_flags == 1  # f4 (f7 is due exactly at UNTIL, f5 later)

    assert verdicts(m) == (
        Verdict("Deployment frequency", "4.0 a week (8 deploys in 14 days)", "≥ 2 a week", True),
        Verdict("Change failure rate", "62.5 % (5 of 8)", "< 15 %", False),
        Verdict("Mean time to restore", "1 h 45 min (4 restored, 1 not restored)", "≤ 1 h", False),
        Verdict("Lead time", "21 h 26 min", "no target", None),
        Verdict("Flag lifetime", "28 d", "≤ 28 d (2 sprints)", True),  # at the limit: met
        Verdict("Overdue flags", "1", "0", False),
    )


def test_thirty_days_as_the_command_asks(store: Store) -> None:
    m = metrics(store, UNTIL - timedelta(days=30))  # [1 Nov, 1 Dec): v1.0.0 joins
    assert m.deploys == 9
    assert m.deploys_per_week == 9 / (30 / 7)  # = 2.1 a week
    assert m.change_failures == 5  # v1.0.0 had no trouble
    assert m.change_failure_rate == 5 / 9
    assert m.mean_time_to_restore == timedelta(minutes=105)  # the same four restores
    # v1.0.0: 30 Oct 09:00 → 2 Nov 10:00 = 73 h; (171.5 + 73) h / 9 = 27 h 10 min.
    assert m.lead_time == timedelta(hours=27, minutes=10)
    # f1 14 d, f2 20 d, f3 36 d → 70 d / 3 = 23 d 8 h.
    assert m.flag_lifetime == timedelta(days=23, hours=8)
    assert m.overdue_flags == 1


def test_a_window_with_no_deploys(store: Store) -> None:
    m = metrics(store, at(11, 10), at(11, 17))  # v1.1.0 at 17 Nov 00:00 is at its end: out
    assert (m.window_days, m.deploys, m.deploys_per_week) == (7, 0, 0.0)
    assert m.change_failures == 0
    assert m.change_failure_rate is None
    assert m.mean_time_to_restore is None and m.restored == 0
    assert m.lead_time is None
    assert m.flag_lifetime is None  # nothing removed 10–17 Nov
    assert m.overdue_flags == 0  # as of 17 Nov, f4 was due on 29 Nov
    assert [v.met for v in verdicts(m)] == [False, None, None, None, None, True]
    assert verdicts(m)[1].shown == "no deploys"


def test_a_window_with_deploys_and_no_failures(store: Store) -> None:
    m = metrics(store, at(11, 19), at(11, 21))  # only v1.2.0's unknown deploy (and its failure)
    assert m.deploys == 1
    assert m.deploys_per_week == 3.5  # 1 deploy in 2 days = 1 / (2/7)
    assert m.change_failures == 0
    assert m.change_failure_rate == 0.0
    assert m.mean_time_to_restore is None and m.restored == 0
    assert m.lead_time == timedelta(hours=30)  # 18 Nov 08:00 → 19 Nov 14:00
    assert m.flag_lifetime is None  # f2 was removed on 21 Nov, at this window's end
    rate, restore = verdicts(m)[1:3]
    assert (rate.shown, rate.met) == ("0 % (0 of 1)", True)
    assert (restore.shown, restore.met) == ("none restored", None)


def test_a_failure_is_restored_after_the_window_that_holds_it(store: Store) -> None:
    """The restore belongs to the failure: v1.4.0 failing inside, rolled back after."""
    m = metrics(store, at(11, 25), at(11, 25, 10, 30))  # v1.4.0's deploy at 10:00 only
    assert (m.deploys, m.change_failures, m.restored) == (1, 1, 1)
    assert m.mean_time_to_restore == timedelta(minutes=30)  # I3 10:30 → 11:00


def test_the_flag_target_is_two_sprints(store: Store) -> None:
    with store.transaction() as uow:
        m = uow.delivery_metrics(UNTIL - timedelta(days=14), UNTIL, sprint=timedelta(days=7))
    lifetime = verdicts(m)[4]
    assert (lifetime.shown, lifetime.target, lifetime.met) == ("28 d", "≤ 14 d (2 sprints)", False)


def test_a_window_must_not_be_empty(store: Store) -> None:
    with pytest.raises(ValueError), store.transaction() as uow:
        uow.delivery_metrics(UNTIL, UNTIL, sprint=SPRINT)


def test_durations_read_like_speech() -> None:
    assert duration(timedelta(seconds=40)) == "40 s"
    assert duration(timedelta(minutes=59, seconds=50)) == "1 h"
    assert duration(timedelta(hours=1, minutes=45)) == "1 h 45 min"
    assert duration(timedelta(hours=23, minutes=59, seconds=59)) == "1 d"
    assert duration(timedelta(days=1, hours=2, minutes=10)) == "1 d 2 h"
    assert duration(timedelta(days=28)) == "28 d"
