"""What the App Home tab shows: open releases and what each needs, the next window, freezes
ahead, overdue flags and the delivery metrics against their targets. Read from the database
when the tab is published, so it is never stale for long and never lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.live import in_production
from release.flags import FlagStatus, is_overdue
from release.freezes import Freeze
from release.lifecycle import WAITING_FOR
from release.metrics import Verdict, verdicts
from release.policy import Policy
from release.records import FlagRecord
from release.windows import ReleaseWindow, next_window, window_at
from storage.unit_of_work import UnitOfWork

#: A home tab lists at most this many open releases; `/release status` has them all.
RELEASES_SHOWN = 15
#: Freezes ahead and overdue flags: at most this many each (`/release freeze list` and
#: `/release flag list` have them all).
LISTED = 10


@dataclass(frozen=True)
class OpenRelease:
    version: str
    state: str
    hotfix: bool
    needs: str


@dataclass(frozen=True)
class HomeFacts:
    now: datetime
    live: str | None
    releases: tuple[OpenRelease, ...]
    more_releases: int
    window_open: ReleaseWindow | None
    next_window: ReleaseWindow
    freezes: tuple[Freeze, ...]
    more_freezes: int
    overdue: tuple[FlagRecord, ...]
    more_overdue: int
    metrics: tuple[Verdict, ...]


def home_facts(uow: UnitOfWork, policy: Policy, now: datetime) -> HomeFacts:
    releases = uow.releases(open_only=True)
    windows = policy.schedule.windows
    flags = [f for f in uow.flags() if f.status is FlagStatus.LAUNCHED]
    overdue = [f for f in flags if is_overdue(f.remove_by, False, now)]
    freezes = uow.freezes(ending_after=now)
    measured = uow.delivery_metrics(now - timedelta(days=30), now, sprint=policy.sprint)
    return HomeFacts(
        now=now,
        live=in_production(uow),
        releases=tuple(
            OpenRelease(
                r.version,
                str(r.state),
                r.kind == "hotfix",
                WAITING_FOR[r.state].replace("<version>", r.version),
            )
            for r in releases[:RELEASES_SHOWN]
        ),
        more_releases=max(0, len(releases) - RELEASES_SHOWN),
        window_open=window_at(windows, now),
        next_window=next_window(windows, now),
        freezes=tuple(freezes[:LISTED]),
        more_freezes=max(0, len(freezes) - LISTED),
        overdue=tuple(overdue[:LISTED]),
        more_overdue=max(0, len(overdue) - LISTED),
        metrics=verdicts(measured),
    )
