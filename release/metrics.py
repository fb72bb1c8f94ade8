"""Delivery metrics (DORA-style) over a window, their targets, and a verdict on each.

Definitions — storage computes them with SQL aggregates; this module holds only the result
and the judgement:

- **Window**: the half-open interval `[since, until)`. `/release metrics 30d|90d` takes
  `until` from the bot's clock and `since = until − 30 (or 90) days`. Every instant comes
  from these arguments, never from the database's `now()`.
- **Production deploy** (a change): a `deployments` row with environment `production`,
  kind `promotion` and outcome `succeeded` or `unknown`, whose `finished_at` (or
  `started_at` when `finished_at` is null) lies in the window. A deploy that definitely
  failed, a pending one, a rollback and a staging deploy are not changes.
- **Deployment frequency** = production deploys in the window ÷ (window days ÷ 7), a
  rate per week. Target: ≥ 2 a week.
- **Change failure**: a production deploy whose release is in state `failed` or
  `rolled_back`, or has an incident (`incidents.release_id`), or was fixed by a hotfix
  (another release whose `fixes_release_id` is it).
  **Change failure rate** = change failures ÷ production deploys (None when there were no
  deploys). Target: < 15 %.
- **Time to restore**, per change failure in the window: to the `finished_at` of the first
  production deployment (kind `promotion` or `rollback`, outcome `succeeded`) that finished
  after the failing deploy and either is of another release than the failing one or
  explicitly answers (`deployments.answers_incident_id`) one of the failing release's
  incidents; from the earliest incident `opened_at` for its release when that came before
  the restore, else from the failing deploy's `finished_at` (its `started_at` when that is
  null). A failure
  with no such deployment yet is not restored; a restore is found even when it finished
  after `until` (it belongs to a failure inside the window).
  **Mean time to restore** = the mean over the restored failures (None when none was
  restored). Target: ≤ 1 hour.
- **Lead time** = the mean of (deploy `finished_at` − `releases.created_at`) over the
  window's production deploys that have a `finished_at` (None when there are none). No
  target: it is reported only.
- **Flag lifetime** = the mean of (`removed_at` − `launched_at`) over flags whose
  `removed_at` lies in the window and that were launched (None when there are none).
  **Overdue flags** = flags in status `launched` whose `remove_by` is before `until`.
  Target: a lifetime ≤ two sprints (28 days with 14-day sprints; the sprint is a
  parameter), and no overdue flag.

Durations are measured to the millisecond (each difference rounded to whole milliseconds
in the database, on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

#: Deployment frequency: at least this many production deploys a week.
DEPLOYS_PER_WEEK_TARGET = 2.0
#: Change failure rate: below this share of production deploys.
CHANGE_FAILURE_RATE_TARGET = 0.15
#: Mean time to restore: at most this long.
TIME_TO_RESTORE_TARGET = timedelta(hours=1)
#: Flag lifetime: at most this many sprints from global launch to removal.
FLAG_LIFETIME_SPRINTS = 2


@dataclass(frozen=True)
class DeliveryMetrics:
    """The delivery metrics of one window, as defined in this module's docstring."""

    window_days: float
    deploys: int
    deploys_per_week: float
    change_failures: int
    change_failure_rate: float | None  # None: no deploys
    mean_time_to_restore: timedelta | None  # None: no failure restored
    restored: int  # change failures with a restore
    lead_time: timedelta | None  # None: no finished deploy
    flag_lifetime: timedelta | None  # None: no launched flag removed in the window
    overdue_flags: int
    sprint: timedelta = timedelta(days=14)

    @classmethod
    def of(
        cls,
        window: timedelta,
        *,
        deploys: int,
        change_failures: int,
        restored: int,
        mean_time_to_restore: timedelta | None,
        lead_time: timedelta | None,
        flag_lifetime: timedelta | None,
        overdue_flags: int,
        sprint: timedelta,
    ) -> DeliveryMetrics:
        """The metrics from what was counted and averaged: the rates follow from the counts."""
        if window <= timedelta(0):
            raise ValueError("a metrics window must be longer than nothing")
        days = window / timedelta(days=1)
        return cls(
            window_days=days,
            deploys=deploys,
            deploys_per_week=deploys / (days / 7),
            change_failures=change_failures,
            change_failure_rate=change_failures / deploys if deploys else None,
            mean_time_to_restore=mean_time_to_restore if restored else None,
            restored=restored,
            lead_time=lead_time,
            flag_lifetime=flag_lifetime,
            overdue_flags=overdue_flags,
            sprint=sprint,
        )

    @property
    def unrestored(self) -> int:
        return self.change_failures - self.restored

    @property
    def flag_lifetime_target(self) -> timedelta:
        return FLAG_LIFETIME_SPRINTS * self.sprint


@dataclass(frozen=True)
class Verdict:
    """One metric against its target: `met` is None when there is nothing to judge."""

    name: str
    shown: str  # the value, in words
    target: str  # the target, in words
    met: bool | None


def verdicts(metrics: DeliveryMetrics) -> tuple[Verdict, ...]:
    """Each metric with its target, in the order a report lists them."""
    m = metrics
    rate = m.change_failure_rate
    restore = m.mean_time_to_restore
    failed_of = f"{m.change_failures} of {m.deploys}"
    not_yet = f", {m.unrestored} not restored" if m.unrestored else ""
    lifetime_target = m.flag_lifetime_target
    return (
        Verdict(
            "Deployment frequency",
            f"{m.deploys_per_week:.1f} a week ({_count(m.deploys, 'deploy')} in "
            f"{_days(m.window_days)})",
            f"≥ {DEPLOYS_PER_WEEK_TARGET:g} a week",
            m.deploys_per_week >= DEPLOYS_PER_WEEK_TARGET,
        ),
        Verdict(
            "Change failure rate",
            "no deploys" if rate is None else f"{_percent(rate)} ({failed_of})",
            f"< {_percent(CHANGE_FAILURE_RATE_TARGET)}",
            None if rate is None else rate < CHANGE_FAILURE_RATE_TARGET,
        ),
        Verdict(
            "Mean time to restore",
            (
                f"none restored{not_yet}"
                if restore is None
                else f"{duration(restore)} ({m.restored} restored{not_yet})"
            ),
            f"≤ {duration(TIME_TO_RESTORE_TARGET)}",
            None if restore is None else restore <= TIME_TO_RESTORE_TARGET,
        ),
        Verdict(
            "Lead time",
            "no deploys" if m.lead_time is None else duration(m.lead_time),
            "no target",
            None,
        ),
        Verdict(
            "Flag lifetime",
            "no flag removed" if m.flag_lifetime is None else duration(m.flag_lifetime),
            f"≤ {duration(lifetime_target)} ({FLAG_LIFETIME_SPRINTS} sprints)",
            None if m.flag_lifetime is None else m.flag_lifetime <= lifetime_target,
        ),
        Verdict(
            "Overdue flags",
            str(m.overdue_flags),
            "0",
            m.overdue_flags == 0,
        ),
    )


def duration(value: timedelta) -> str:
    """A duration the way a person says it: `28 d`, `1 d 2 h`, `1 h 45 min`, `40 s`."""
    seconds = round(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    if seconds >= 86_400:
        days, hours = divmod(round(seconds / 3600), 24)
        return sign + (f"{days} d {hours} h" if hours else f"{days} d")
    if seconds >= 3600:
        hours, minutes = divmod(round(seconds / 60), 60)
        if hours == 24:
            return sign + "1 d"
        return sign + (f"{hours} h {minutes} min" if minutes else f"{hours} h")
    if seconds >= 60:
        minutes = round(seconds / 60)
        return sign + ("1 h" if minutes == 60 else f"{minutes} min")
    return sign + f"{seconds} s"


def _percent(share: float) -> str:
    return f"{share * 100:.1f}".removesuffix(".0") + " %"


def _days(days: float) -> str:
    shown = f"{days:g}" if days == int(days) else f"{days:.1f}"
    return f"{shown} day" if shown == "1" else f"{shown} days"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
