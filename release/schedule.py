"""Which scheduled posts are due, computed from the policy and the time alone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from release.freezes import Freeze
from release.windows import ReleaseWindow, WindowPolicy, local_instant, windows_between

__all__ = ["DuePost", "PostKind", "SchedulePolicy", "due_posts", "occasions"]

_DAY = timedelta(days=1)
# The smallest step past `now`, so a post due exactly now is included in [start, end).
_TINY = timedelta(microseconds=1)


class PostKind(StrEnum):
    PRE_WINDOW = "pre_window"
    FREEZE_7_DAYS = "freeze_7_days"
    FREEZE_1_DAY = "freeze_1_day"
    FREEZE_START = "freeze_start"
    FREEZE_END = "freeze_end"
    WEEKLY = "weekly_report"
    MONTHLY = "dependency_reminder"


@dataclass(frozen=True)
class SchedulePolicy:
    windows: WindowPolicy = WindowPolicy()
    pre_window_lead: timedelta = timedelta(hours=1)
    weekly_day: int = 0  # date.weekday(): Monday
    weekly_time: time = time(9, 0)  # local, in windows.zone
    monthly_day: int = 1  # every month has days 1..28
    monthly_time: time = time(9, 0)
    grace: timedelta = timedelta(hours=6)

    def __post_init__(self) -> None:
        if not 0 <= self.weekly_day <= 6:
            raise ValueError(
                f"The weekly post's day must be 0 (Monday) to 6 (Sunday), not {self.weekly_day}."
            )
        if not 1 <= self.monthly_day <= 28:
            # 29..31 would silently skip the short months.
            raise ValueError(
                f"The monthly post's day must be 1 to 28, so every month has one, "
                f"not {self.monthly_day}."
            )
        if self.pre_window_lead < timedelta(0):
            raise ValueError("The pre-window post cannot be due after its window opens.")
        if self.grace <= timedelta(0):
            # With no grace a post would expire the instant it fell due.
            raise ValueError("The grace period for late posts must be longer than nothing.")


@dataclass(frozen=True)
class DuePost:
    kind: PostKind
    key: str  # the occasion's identity, the same on every instance that computes it
    due: datetime  # UTC
    expires: datetime  # UTC: after this the post is pointless and must not be sent
    window: ReleaseWindow | None = None  # set for PRE_WINDOW
    freeze: Freeze | None = None  # set for freeze posts


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def _pre_window(policy: SchedulePolicy, lo: datetime, hi: datetime) -> Iterator[DuePost]:
    lead = policy.pre_window_lead
    for window in windows_between(policy.windows, lo + lead, hi + lead):
        due = _utc(window.opens) - lead
        yield DuePost(
            kind=PostKind.PRE_WINDOW,
            key=window.opens.isoformat(),
            due=due,
            # Once the window has closed, a post about it would only mislead.
            expires=min(due + policy.grace, _utc(window.closes)),
            window=window,
        )


def _freeze_posts(
    policy: SchedulePolicy, freeze: Freeze, lo: datetime, hi: datetime
) -> Iterator[DuePost]:
    zone = policy.windows.zone
    # "7 days before" is counted on the release zone's calendar, so the post keeps the
    # freeze's local time of day across a DST change.
    local_start = freeze.starts.astimezone(zone)
    starts, ends = _utc(freeze.starts), _utc(freeze.ends)
    milestones = (
        (PostKind.FREEZE_7_DAYS, _utc(local_start - 7 * _DAY), starts),
        (PostKind.FREEZE_1_DAY, _utc(local_start - _DAY), starts),
        (PostKind.FREEZE_START, starts, ends),
        (PostKind.FREEZE_END, ends, None),
    )
    created = _utc(freeze.created_at)
    for kind, due, latest in milestones:
        # A freeze scheduled at short notice was announced when scheduled; a milestone that
        # fell due before then would arrive late and out of order.
        if due < created or not lo <= due < hi:
            continue
        expires = due + policy.grace
        if latest is not None:
            expires = min(expires, latest)
        yield DuePost(kind=kind, key=f"freeze-{freeze.id}", due=due, expires=expires, freeze=freeze)


def _local_days(policy: SchedulePolicy, lo: datetime, hi: datetime) -> Iterator[date]:
    # A day either side, for a post time near midnight moved by a DST change.
    zone = policy.windows.zone
    day = lo.astimezone(zone).date() - _DAY
    last = hi.astimezone(zone).date() + _DAY
    while day <= last:
        yield day
        day += _DAY


def _calendar_posts(policy: SchedulePolicy, lo: datetime, hi: datetime) -> Iterator[DuePost]:
    zone = policy.windows.zone
    for day in _local_days(policy, lo, hi):
        if day.weekday() == policy.weekly_day:
            due = _utc(local_instant(zone, day, policy.weekly_time))
            if lo <= due < hi:
                yield DuePost(PostKind.WEEKLY, day.isoformat(), due, due + policy.grace)
        if day.day == policy.monthly_day:
            due = _utc(local_instant(zone, day, policy.monthly_time))
            if lo <= due < hi:
                yield DuePost(PostKind.MONTHLY, day.isoformat(), due, due + policy.grace)


def occasions(
    policy: SchedulePolicy, freezes: Sequence[Freeze], start: datetime, end: datetime
) -> list[DuePost]:
    """Every post due in [start, end), by due time then kind.

    `freezes` is the freezes in force; a cancelled freeze left out gets no more posts.
    """
    lo, hi = _utc(start), _utc(end)
    if hi <= lo:
        return []
    posts = [*_pre_window(policy, lo, hi), *_calendar_posts(policy, lo, hi)]
    for freeze in freezes:
        posts.extend(_freeze_posts(policy, freeze, lo, hi))
    return sorted(posts, key=lambda p: (p.due, p.kind, p.key))


def due_posts(policy: SchedulePolicy, freezes: Sequence[Freeze], now: datetime) -> list[DuePost]:
    """The posts to send at `now`: due already and not yet expired (late ones included).

    No post expires later than its due time plus the grace, so looking back by the grace
    finds every post still worth sending.
    """
    at = _utc(now)
    return [p for p in occasions(policy, freezes, at - policy.grace, at + _TINY) if p.expires > at]
