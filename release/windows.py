"""Tuesday and Thursday release windows from 10:00 AEST, two hours by default."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "ReleaseWindow",
    "WindowPolicy",
    "local_instant",
    "next_window",
    "parse_days",
    "window_at",
    "windows_between",
]

_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)

_DAY_NAMES: dict[str, int] = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "weds": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}


def local_instant(zone: ZoneInfo, day: date, at: time) -> datetime:
    """The instant the wall clocks in `zone` show `at` on `day`.

    Round-tripped through UTC so a wall time skipped by a DST change comes back as the
    real instant (02:30 on a spring-forward day reads 03:30), never a time no clock showed.
    """
    wall = datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone)
    return wall.astimezone(UTC).astimezone(zone)


@dataclass(frozen=True)
class WindowPolicy:
    # Brisbane keeps AEST (UTC+10) all year; Sydney would move the windows an hour in summer.
    zone: ZoneInfo = ZoneInfo("Australia/Brisbane")
    days: frozenset[int] = frozenset({1, 3})  # date.weekday(): Monday=0, so Tue and Thu
    start: time = time(10, 0)
    length: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        # An empty week would make next_window search forever; a week-long window never closes.
        if not self.days:
            raise ValueError("A release window policy needs at least one day of the week.")
        if not all(isinstance(d, int) and 0 <= d <= 6 for d in self.days):
            raise ValueError(
                f"Release days must be weekday numbers 0 (Monday) to 6 (Sunday), "
                f"not {sorted(self.days)}."
            )
        if not timedelta(0) < self.length < _WEEK:
            raise ValueError(
                f"A release window must last more than nothing and less than a week, "
                f"not {self.length}."
            )

    def zone_label(self, instant: datetime) -> str:
        """The zone's abbreviation at `instant`, e.g. AEST or AEDT."""
        local = instant.astimezone(self.zone)
        # zoneinfo always names its offsets; the fallback only keeps the type honest.
        return local.tzname() or local.strftime("UTC%z")


@dataclass(frozen=True)
class ReleaseWindow:
    opens: datetime
    closes: datetime

    def contains(self, instant: datetime) -> bool:
        # Compared in UTC: aware datetimes sharing a tzinfo compare by wall clock in Python,
        # which is wrong across a DST change.
        at = instant.astimezone(UTC)
        return self.opens.astimezone(UTC) <= at < self.closes.astimezone(UTC)


def _window_on(policy: WindowPolicy, day: date) -> ReleaseWindow:
    opens = local_instant(policy.zone, day, policy.start)
    # The length is real time, so a window across a DST change still lasts `length`.
    closes = (opens.astimezone(UTC) + policy.length).astimezone(policy.zone)
    return ReleaseWindow(opens=opens, closes=closes)


def _local_day(policy: WindowPolicy, instant: datetime) -> date:
    return instant.astimezone(policy.zone).date()


def window_at(policy: WindowPolicy, instant: datetime) -> ReleaseWindow | None:
    """The window open at `instant`, or None.

    A window that starts late or lasts long may have opened on an earlier local day, so the
    days before are searched too. Were windows to overlap, the one opened last is returned.
    """
    today = _local_day(policy, instant)
    look_back = math.ceil(policy.length / _DAY) + 1
    for back in range(look_back + 1):
        day = today - timedelta(days=back)
        if day.weekday() in policy.days:
            window = _window_on(policy, day)
            if window.contains(instant):
                return window
    return None


def next_window(policy: WindowPolicy, instant: datetime) -> ReleaseWindow:
    """The first window that opens strictly after `instant`."""
    at = instant.astimezone(UTC)
    today = _local_day(policy, instant)
    # Any window on a later local day opens after `instant`, and every weekday recurs
    # within a week, so eight days always hold one (days is never empty).
    for ahead in range(8):
        day = today + timedelta(days=ahead)
        if day.weekday() in policy.days:
            window = _window_on(policy, day)
            if window.opens.astimezone(UTC) > at:
                return window
    raise AssertionError("unreachable: a non-empty week always has a next window")


def windows_between(policy: WindowPolicy, start: datetime, end: datetime) -> list[ReleaseWindow]:
    """Every window whose opening is in [start, end), earliest first."""
    lo, hi = start.astimezone(UTC), end.astimezone(UTC)
    if hi <= lo:
        return []
    found: list[ReleaseWindow] = []
    # One day either side: a window's opening can sit on a neighbouring local date
    # when the start time is near midnight and a DST change shifts it.
    day = _local_day(policy, start) - _DAY
    last = _local_day(policy, end) + _DAY
    while day <= last:
        if day.weekday() in policy.days:
            window = _window_on(policy, day)
            if lo <= window.opens.astimezone(UTC) < hi:
                found.append(window)
        day += _DAY
    return found


def parse_days(text: str) -> frozenset[int]:
    """Weekday numbers from a list such as "tue,thu" or "Tuesday, Thursday"."""
    names = [n for n in re.split(r"[\s,]+", text.strip().lower()) if n]
    if not names:
        raise ValueError("No release days given: list at least one day, e.g. `tue,thu`.")
    unknown = [n for n in names if n not in _DAY_NAMES]
    if unknown:
        raise ValueError(
            f"Unknown day name(s): {', '.join(repr(n) for n in unknown)}. "
            "Use mon, tue, wed, thu, fri, sat, sun (or the full names), separated by commas, "
            "e.g. `tue,thu`."
        )
    return frozenset(_DAY_NAMES[n] for n in names)
