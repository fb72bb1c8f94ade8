"""Scheduled posts: which are due, computed from the policy and the time alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from release.freezes import Freeze, freeze_at, freeze_span
from release.schedule import DuePost, PostKind, SchedulePolicy, due_posts, occasions
from release.windows import WindowPolicy

ZONE = ZoneInfo("Australia/Brisbane")
POLICY = SchedulePolicy()


def brisbane(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=ZONE)


def freeze(
    id: int = 7,
    first: date = date(2026, 12, 20),
    last: date = date(2026, 12, 27),
    created_at: datetime | None = None,
) -> Freeze:
    starts, ends = freeze_span(ZONE, first, last)
    return Freeze(
        id=id,
        starts=starts,
        ends=ends,
        reason="client showcase",
        short_notice=False,
        created_by="U0RP",
        created_at=created_at or brisbane(2026, 11, 30, 14),
    )


def kinds(posts: list[DuePost]) -> list[PostKind]:
    return [p.kind for p in posts]


def only(posts: list[DuePost], kind: PostKind) -> DuePost:
    matching = [p for p in posts if p.kind is kind]
    assert len(matching) == 1, posts
    return matching[0]


# Tuesday 2026-11-24 has a window from 10:00 to 12:00 Brisbane time.


def test_the_pre_window_post_is_due_at_0900_local_on_a_window_day() -> None:
    posts = occasions(POLICY, [], brisbane(2026, 11, 24), brisbane(2026, 11, 25))
    post = only(posts, PostKind.PRE_WINDOW)
    assert post.due == brisbane(2026, 11, 24, 9)
    assert post.due == datetime(2026, 11, 23, 23, tzinfo=UTC)
    assert post.window is not None
    assert post.window.opens == brisbane(2026, 11, 24, 10)
    assert post.freeze is None


def test_the_pre_window_post_expires_when_the_window_closes() -> None:
    post = only(due_posts(POLICY, [], brisbane(2026, 11, 24, 9)), PostKind.PRE_WINDOW)
    assert post.expires == brisbane(2026, 11, 24, 12)


def test_due_and_expiry_are_in_utc() -> None:
    post = only(due_posts(POLICY, [], brisbane(2026, 11, 24, 9)), PostKind.PRE_WINDOW)
    assert post.due.tzinfo is UTC
    assert post.expires.tzinfo is UTC


def test_the_pre_window_post_is_not_due_before_0900() -> None:
    assert due_posts(POLICY, [], brisbane(2026, 11, 24, 8, 59, 59)) == []


def test_a_post_due_exactly_now_is_due() -> None:
    assert kinds(due_posts(POLICY, [], brisbane(2026, 11, 24, 9))) == [PostKind.PRE_WINDOW]


def test_a_pre_window_post_missed_while_down_is_still_due_at_0930() -> None:
    post = only(due_posts(POLICY, [], brisbane(2026, 11, 24, 9, 30)), PostKind.PRE_WINDOW)
    assert post.due < brisbane(2026, 11, 24, 9, 30)  # late: the caller marks it so


def test_a_missed_pre_window_post_is_due_until_the_window_closes() -> None:
    assert kinds(due_posts(POLICY, [], brisbane(2026, 11, 24, 11, 59, 59))) == [PostKind.PRE_WINDOW]


def test_a_missed_pre_window_post_is_not_sent_from_1200() -> None:
    assert due_posts(POLICY, [], brisbane(2026, 11, 24, 12)) == []
    assert due_posts(POLICY, [], brisbane(2026, 11, 24, 14)) == []


def test_a_short_grace_expires_the_pre_window_post_before_the_window_closes() -> None:
    policy = SchedulePolicy(grace=timedelta(minutes=30))
    post = only(due_posts(policy, [], brisbane(2026, 11, 24, 9)), PostKind.PRE_WINDOW)
    assert post.expires == brisbane(2026, 11, 24, 9, 30)
    assert due_posts(policy, [], brisbane(2026, 11, 24, 9, 30)) == []


def test_the_lead_before_a_window_is_a_setting() -> None:
    policy = SchedulePolicy(pre_window_lead=timedelta(minutes=15))
    post = only(
        occasions(policy, [], brisbane(2026, 11, 24), brisbane(2026, 11, 25)), PostKind.PRE_WINDOW
    )
    assert post.due == brisbane(2026, 11, 24, 9, 45)


def test_nothing_is_due_on_a_day_without_windows() -> None:
    wednesday = brisbane(2026, 11, 25)
    assert occasions(POLICY, [], wednesday, wednesday + timedelta(days=1)) == []
    for quarter in range(24 * 4):
        assert due_posts(POLICY, [], wednesday + quarter * timedelta(minutes=15)) == []


def test_a_week_has_two_pre_window_posts_and_one_weekly_report() -> None:
    posts = occasions(POLICY, [], brisbane(2026, 11, 16), brisbane(2026, 11, 23))
    assert [(p.kind, p.due) for p in posts] == [
        (PostKind.WEEKLY, brisbane(2026, 11, 16, 9)),
        (PostKind.PRE_WINDOW, brisbane(2026, 11, 17, 9)),
        (PostKind.PRE_WINDOW, brisbane(2026, 11, 19, 9)),
    ]


def test_the_weekly_report_is_due_on_monday_at_0900_local() -> None:
    posts = occasions(POLICY, [], brisbane(2026, 11, 16), brisbane(2026, 11, 30))
    weekly = [p for p in posts if p.kind is PostKind.WEEKLY]
    assert [p.due for p in weekly] == [brisbane(2026, 11, 16, 9), brisbane(2026, 11, 23, 9)]
    assert [p.key for p in weekly] == ["2026-11-16", "2026-11-23"]
    assert all(p.expires == p.due + timedelta(hours=6) for p in weekly)


def test_the_weekly_report_day_and_time_are_settings() -> None:
    policy = SchedulePolicy(weekly_day=4, weekly_time=time(16, 30))
    posts = occasions(policy, [], brisbane(2026, 11, 16), brisbane(2026, 11, 23))
    assert only(posts, PostKind.WEEKLY).due == brisbane(2026, 11, 20, 16, 30)


def test_the_dependency_reminder_is_due_on_the_first_of_the_month() -> None:
    posts = occasions(POLICY, [], brisbane(2026, 11, 15), brisbane(2027, 1, 15))
    monthly = [p for p in posts if p.kind is PostKind.MONTHLY]
    assert [p.due for p in monthly] == [brisbane(2026, 12, 1, 9), brisbane(2027, 1, 1, 9)]
    assert [p.key for p in monthly] == ["2026-12-01", "2027-01-01"]


def test_posts_due_together_are_sorted_by_kind() -> None:
    # Tuesday 2026-12-01 is both a window day and the first of the month.
    posts = due_posts(POLICY, [], brisbane(2026, 12, 1, 9))
    assert kinds(posts) == [PostKind.MONTHLY, PostKind.PRE_WINDOW]


def test_a_weekly_report_missed_while_down_is_due_within_the_grace() -> None:
    assert kinds(due_posts(POLICY, [], brisbane(2026, 11, 23, 14, 59, 59))) == [PostKind.WEEKLY]
    assert due_posts(POLICY, [], brisbane(2026, 11, 23, 15)) == []


def test_keys_are_the_same_however_often_they_are_computed() -> None:
    other = SchedulePolicy(windows=WindowPolicy(zone=ZoneInfo("Australia/Brisbane")))
    first = due_posts(POLICY, [], brisbane(2026, 11, 24, 9, 1))
    second = due_posts(other, [], datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    assert [p.key for p in first] == [p.key for p in second] == ["2026-11-24T10:00:00+10:00"]
    assert first == second


def test_freeze_milestones_are_due_7_days_and_1_day_before_at_start_and_at_end() -> None:
    posts = occasions(POLICY, [freeze()], brisbane(2026, 12, 10), brisbane(2027, 1, 1))
    milestones = [(p.kind, p.due) for p in posts if p.freeze is not None]
    assert milestones == [
        (PostKind.FREEZE_7_DAYS, brisbane(2026, 12, 13)),
        (PostKind.FREEZE_1_DAY, brisbane(2026, 12, 19)),
        (PostKind.FREEZE_START, brisbane(2026, 12, 20)),
        (PostKind.FREEZE_END, brisbane(2026, 12, 28)),
    ]
    assert {p.key for p in posts if p.freeze is not None} == {"freeze-7"}


def test_freeze_milestones_expire_after_the_grace() -> None:
    posts = occasions(POLICY, [freeze()], brisbane(2026, 12, 10), brisbane(2027, 1, 1))
    assert all(p.expires == p.due + timedelta(hours=6) for p in posts if p.freeze is not None)
    late = due_posts(POLICY, [freeze()], brisbane(2026, 12, 13, 5, 59))
    assert kinds(late) == [PostKind.FREEZE_7_DAYS]
    assert due_posts(POLICY, [freeze()], brisbane(2026, 12, 13, 6)) == []


def test_a_freeze_warning_never_outlives_the_start_of_the_freeze() -> None:
    policy = SchedulePolicy(grace=timedelta(days=2))
    posts = occasions(policy, [freeze()], brisbane(2026, 12, 10), brisbane(2027, 1, 1))
    assert only(posts, PostKind.FREEZE_1_DAY).expires == brisbane(2026, 12, 20)
    assert only(posts, PostKind.FREEZE_7_DAYS).expires == brisbane(2026, 12, 15)


def test_a_freeze_start_post_never_outlives_the_freeze() -> None:
    policy = SchedulePolicy(grace=timedelta(days=2))
    one_day = freeze(first=date(2026, 12, 20), last=date(2026, 12, 20))
    posts = occasions(policy, [one_day], brisbane(2026, 12, 10), brisbane(2027, 1, 1))
    assert only(posts, PostKind.FREEZE_START).expires == brisbane(2026, 12, 21)
    assert only(posts, PostKind.FREEZE_END).expires == brisbane(2026, 12, 23)


def test_a_short_notice_freeze_gets_no_late_7_day_warning() -> None:
    short = freeze(created_at=brisbane(2026, 12, 15, 11))
    posts = occasions(POLICY, [short], brisbane(2026, 12, 1), brisbane(2027, 1, 1))
    assert [p.kind for p in posts if p.freeze is not None] == [
        PostKind.FREEZE_1_DAY,
        PostKind.FREEZE_START,
        PostKind.FREEZE_END,
    ]
    now = brisbane(2026, 12, 15, 11)
    assert [p for p in due_posts(POLICY, [short], now) if p.freeze is not None] == []


def test_a_freeze_scheduled_on_its_first_day_only_gets_its_end_post() -> None:
    today = freeze(created_at=brisbane(2026, 12, 20, 14))
    posts = occasions(POLICY, [today], brisbane(2026, 12, 1), brisbane(2027, 1, 1))
    assert [p.kind for p in posts if p.freeze is not None] == [PostKind.FREEZE_END]


def test_a_milestone_due_at_the_moment_of_scheduling_is_kept() -> None:
    exact = freeze(created_at=brisbane(2026, 12, 13))
    posts = occasions(POLICY, [exact], brisbane(2026, 12, 1), brisbane(2027, 1, 1))
    assert PostKind.FREEZE_7_DAYS in kinds(posts)


def test_two_freezes_get_their_own_keys() -> None:
    a = freeze(1, date(2026, 12, 20), date(2026, 12, 21))
    b = freeze(2, date(2026, 12, 22), date(2026, 12, 23))
    # At 2026-12-22 00:00 freeze 1 ends and freeze 2 starts.
    posts = due_posts(POLICY, [b, a], brisbane(2026, 12, 22))
    assert [(p.kind, p.key) for p in posts] == [
        (PostKind.FREEZE_END, "freeze-1"),
        (PostKind.FREEZE_START, "freeze-2"),
    ]


def test_a_window_on_a_freeze_day_still_gets_its_pre_window_post() -> None:
    frozen = freeze()
    # Tuesday 2026-12-22 is inside the freeze.
    posts = due_posts(POLICY, [frozen], brisbane(2026, 12, 22, 9))
    post = only(posts, PostKind.PRE_WINDOW)
    assert post.window is not None
    assert post.window.opens == brisbane(2026, 12, 22, 10)
    assert freeze_at([frozen], post.window.opens) == frozen


def test_occasions_of_an_empty_range_are_empty() -> None:
    instant = brisbane(2026, 11, 24, 9)
    assert occasions(POLICY, [freeze()], instant, instant) == []


def test_occasions_are_half_open() -> None:
    nine = brisbane(2026, 11, 24, 9)
    assert kinds(occasions(POLICY, [], nine, nine + timedelta(microseconds=1))) == [
        PostKind.PRE_WINDOW
    ]
    assert occasions(POLICY, [], nine - timedelta(hours=1), nine) == []


def test_a_sydney_policy_posts_an_hour_earlier_in_utc_in_summer() -> None:
    sydney = ZoneInfo("Australia/Sydney")
    policy = SchedulePolicy(windows=WindowPolicy(zone=sydney))
    posts = occasions(
        policy, [], datetime(2026, 10, 5, tzinfo=sydney), datetime(2026, 10, 7, tzinfo=sydney)
    )
    assert [(p.kind, p.due) for p in posts] == [
        (PostKind.WEEKLY, datetime(2026, 10, 4, 22, tzinfo=UTC)),
        (PostKind.PRE_WINDOW, datetime(2026, 10, 5, 22, tzinfo=UTC)),
    ]
    assert posts[1].key == "2026-10-06T10:00:00+11:00"


@pytest.mark.parametrize(
    "settings",
    [
        {"monthly_day": 29},
        {"monthly_day": 0},
        {"weekly_day": 7},
        {"grace": timedelta(0)},
        {"pre_window_lead": timedelta(hours=-1)},
    ],
    ids=str,
)
def test_impossible_schedule_settings_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SchedulePolicy(**settings)  # type: ignore[arg-type]
