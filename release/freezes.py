"""Freeze periods: announced two weeks in advance, shorter only from a Reliability Partner."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from release.refusal import Refusal
from release.windows import local_instant

__all__ = [
    "NOTICE",
    "AcceptedFreeze",
    "Freeze",
    "FreezeRequest",
    "Refusal",
    "check_freeze",
    "describe_notice",
    "freeze_at",
    "freeze_days",
    "freeze_span",
]

NOTICE = timedelta(days=14)
#: How far ahead a freeze may end: anything later is surely a typo.
HORIZON = timedelta(days=2 * 366)

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Freeze:
    id: int
    starts: datetime
    ends: datetime  # exclusive
    reason: str
    short_notice: bool
    created_by: str  # Slack user id
    created_at: datetime

    def covers(self, instant: datetime) -> bool:
        # Compared in UTC: aware datetimes sharing a tzinfo compare by wall clock in Python.
        at = instant.astimezone(UTC)
        return self.starts.astimezone(UTC) <= at < self.ends.astimezone(UTC)

    def overlaps(self, starts: datetime, ends: datetime) -> bool:
        # Half-open spans: a freeze ending at midnight does not touch one starting then.
        return self.starts.astimezone(UTC) < ends.astimezone(UTC) and starts.astimezone(
            UTC
        ) < self.ends.astimezone(UTC)


@dataclass(frozen=True)
class FreezeRequest:
    first_day: date  # inclusive, in the release zone
    last_day: date  # inclusive
    reason: str
    by_reliability: bool  # the requester holds the Reliability Partner role


@dataclass(frozen=True)
class AcceptedFreeze:
    starts: datetime  # 00:00 local on first_day
    ends: datetime  # 00:00 local on the day after last_day
    short_notice: bool


def freeze_span(zone: ZoneInfo, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The instants a freeze of whole local days starts and ends (exclusive)."""
    return (
        local_instant(zone, first_day, time(0, 0)),
        local_instant(zone, last_day + _DAY, time(0, 0)),
    )


def freeze_days(freeze: Freeze, zone: ZoneInfo) -> tuple[date, date]:
    """The first and last (inclusive) local days of `freeze`, as the user typed them."""
    # The last day is the one holding the freeze's last instant; for a freeze ending at
    # local midnight that is ends - 1 day.
    last_instant = freeze.ends.astimezone(UTC) - timedelta(microseconds=1)
    return freeze.starts.astimezone(zone).date(), last_instant.astimezone(zone).date()


def describe_notice(notice: timedelta) -> str:
    """Notice in the words a refusal uses: "13 days 23 hours", "5 hours"."""
    if notice <= timedelta(0):
        return "no notice (it has already started)"
    whole_hours = int(notice.total_seconds() // 3600)
    days, hours = divmod(whole_hours, 24)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    return " ".join(parts) if parts else "less than an hour"


def _earliest_first_day(zone: ZoneInfo, now: datetime) -> date:
    """The first local day a freeze could start on with the full notice."""
    needed = now.astimezone(UTC) + NOTICE
    day = needed.astimezone(zone).date()
    if local_instant(zone, day, time(0, 0)).astimezone(UTC) < needed:
        day += _DAY
    return day


def _name(freeze: Freeze, zone: ZoneInfo) -> str:
    first, last = freeze_days(freeze, zone)
    return f"freeze #{freeze.id} ({first.isoformat()} to {last.isoformat()})"


def check_freeze(
    request: FreezeRequest, now: datetime, zone: ZoneInfo, existing: Sequence[Freeze]
) -> AcceptedFreeze | Refusal:
    """Whether `request` may be scheduled now, and on what terms.

    `existing` is the freezes still in force (cancelled ones left out by the caller).
    """
    first, last = request.first_day.isoformat(), request.last_day.isoformat()
    if not request.reason.strip():
        return Refusal(
            "A freeze needs a reason, so nothing was scheduled. Say why after the dates, "
            f"e.g. `/release freeze add {first} {last} client launch`."
        )
    if request.last_day < request.first_day:
        return Refusal(
            f"That freeze ends ({last}) before it starts ({first}), so nothing was scheduled. "
            "Give the first day, then the last day."
        )
    today = now.astimezone(zone).date()
    if request.first_day < today:
        return Refusal(
            f"A freeze cannot start in the past: {first} is before today ({today.isoformat()}), "
            "so nothing was scheduled. Give a first day from today onwards."
        )
    if request.last_day > today + HORIZON:
        return Refusal(
            f"A freeze ending {last} is more than two years ahead, so nothing was scheduled. "
            "Check the dates."
        )
    starts, ends = freeze_span(zone, request.first_day, request.last_day)
    at = now.astimezone(UTC)
    clashes = sorted(
        (f for f in existing if f.overlaps(starts, ends)),
        key=lambda f: (f.starts.astimezone(UTC), f.id),
    )
    if clashes:
        named = " and ".join(_name(f, zone) for f in clashes)
        ids = ", ".join(f"`/release freeze cancel {f.id}`" for f in clashes)
        return Refusal(
            f"A freeze from {first} to {last} overlaps {named}, so nothing was scheduled. "
            f"Cancel the existing one first ({ids}) or choose other dates."
        )
    # Measured in real time, not wall clock, so a DST change does not grant an extra hour.
    notice = starts.astimezone(UTC) - at
    if notice < NOTICE:
        if not request.by_reliability:
            earliest = _earliest_first_day(zone, now).isoformat()
            return Refusal(
                f"A freeze must be announced at least 14 days before it starts; one from "
                f"{first} gives {describe_notice(notice)}, so nothing was scheduled. "
                "Only a Reliability Partner may schedule a short-notice freeze, with a reason: "
                f"ask one to run this command, or start the freeze on {earliest} or later."
            )
        return AcceptedFreeze(starts=starts, ends=ends, short_notice=True)
    return AcceptedFreeze(starts=starts, ends=ends, short_notice=False)


def freeze_at(freezes: Iterable[Freeze], instant: datetime) -> Freeze | None:
    """The freeze covering `instant`, or None.

    Overlaps are refused when freezes are scheduled, but should two ever cover one instant
    the earliest-starting one (then lowest id) is returned, so every caller agrees.
    """
    covering = [f for f in freezes if f.covers(instant)]
    if not covering:
        return None
    return min(covering, key=lambda f: (f.starts.astimezone(UTC), f.id))
