"""The weekly digest: the week's deploys, the 30-day metrics, overdue flags, a 12-week chart.

The text is the weekly post (`commands.scheduled`); the chart is a PNG shared right after
it, recorded in the same transaction. The chart is drawn with matplotlib's object-oriented
`Figure` API on the Agg canvas: no pyplot, no global figure state, safe on the ticker's
thread.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from commands.context import Context
from commands.metrics import report
from commands.outcome import MESSAGE_LIMIT
from commands.timefmt import in_zone
from release.flags import FlagStatus, is_overdue
from release.metrics import CHANGE_FAILURE_RATE_TARGET, DEPLOYS_PER_WEEK_TARGET
from release.records import FlagRecord
from storage.unit_of_work import UnitOfWork

#: How many weeks the chart shows.
WEEKS = 12
#: The 30-day metrics report in the digest.
METRICS_DAYS = 30
CHART_FILENAME = "delivery-12-weeks.png"
CHART_TITLE = "Deploys and change failure rate, last 12 weeks"
#: 8 × 4 inches at 100 dpi: an 800 × 400 PNG.
CHART_SIZE, CHART_DPI = (8.0, 4.0), 100
#: Room kept in the post for what is put before it (the "posted late" note).
_HEADROOM = 300
#: Room for the "…and N more" line after the overdue flags shown.
_TAIL = 80
_WEEK = timedelta(days=7)
_BARS, _BARS_TARGET, _RATE = "#4a90d9", "#1b3f66", "#d0021b"


class WeekPoint(NamedTuple):
    """One week of the chart: `[start, start + 7 days)`."""

    start: datetime
    deploys: int
    change_failure_rate: float | None  # None: no deploys that week


def weekly_series(
    uow: UnitOfWork, until: datetime, weeks: int = WEEKS, *, sprint: timedelta
) -> list[WeekPoint]:
    """Production deploys and change failure rate of each of the `weeks` weeks before `until`.

    Consecutive 7-day windows, oldest first, the last one ending at `until`; each counted
    with `uow.delivery_metrics` (so by the definitions in `release.metrics`).
    """
    if weeks < 1:
        raise ValueError("a series has at least one week")
    series = []
    for back in range(weeks, 0, -1):
        start = until - back * _WEEK
        measured = uow.delivery_metrics(start, start + _WEEK, sprint=sprint)
        series.append(WeekPoint(start, measured.deploys, measured.change_failure_rate))
    return series


def chart_png(series: list[WeekPoint], zone: ZoneInfo) -> bytes:
    """Bars of deploys a week (left axis), a line of change failure rate in % (right axis).

    Both targets are drawn as dashed lines; a week without deploys has no rate, and the
    line has a gap there. Each week is labelled with the date it starts, in `zone`.
    """
    # Imported here: matplotlib costs half a second at start-up, and only Mondays need it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=CHART_SIZE, dpi=CHART_DPI)
    FigureCanvasAgg(figure)
    deploys_axis = figure.add_subplot()
    rate_axis = deploys_axis.twinx()
    x = list(range(len(series)))
    counts = [point.deploys for point in series]
    rates = [
        float("nan") if point.change_failure_rate is None else point.change_failure_rate * 100
        for point in series
    ]

    deploys_axis.bar(x, counts, width=0.6, color=_BARS, zorder=2)
    deploys_axis.axhline(
        DEPLOYS_PER_WEEK_TARGET, color=_BARS_TARGET, linestyle="--", linewidth=1.2, zorder=3
    )
    deploys_axis.set_ylim(0, max([DEPLOYS_PER_WEEK_TARGET * 2, *counts]) + 1)
    deploys_axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    deploys_axis.set_ylabel("Production deploys")
    deploys_axis.set_xticks(x)
    deploys_axis.set_xticklabels(
        [f"{point.start.astimezone(zone):%d %b}" for point in series], fontsize=8
    )
    deploys_axis.set_xlabel(f"Week starting ({zone.key})")
    deploys_axis.grid(axis="y", color="#e4e4e4", zorder=0)

    rate_axis.plot(x, rates, color=_RATE, marker="o", linewidth=2, zorder=3)
    rate_axis.axhline(CHANGE_FAILURE_RATE_TARGET * 100, color=_RATE, linestyle=":", linewidth=1.2)
    rate_axis.set_ylim(0, 104)  # room for a marker at 100 %
    rate_axis.set_ylabel("Change failure rate (%)")

    deploys_axis.set_title(CHART_TITLE, pad=22)
    deploys_axis.legend(
        handles=[
            Patch(color=_BARS, label="Deploys"),
            Line2D([], [], color=_BARS_TARGET, linestyle="--", label="Target: ≥ 2 a week"),
            Line2D([], [], color=_RATE, marker="o", label="Change failure rate"),
            Line2D([], [], color=_RATE, linestyle=":", label="Target: < 15 %"),
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        fontsize=7,
        ncols=4,
        frameon=False,
    )
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return out.getvalue()


def digest_text(uow: UnitOfWork, ctx: Context, head: str, now: datetime) -> str:
    """The weekly post: `head` (the week's deploys), the 30-day metrics and overdue flags.

    Kept within Slack's message limit: when many flags are overdue, the last are left out
    with a pointer to `/release flag list`.
    """
    measured = uow.delivery_metrics(
        now - timedelta(days=METRICS_DAYS), now, sprint=ctx.policy.sprint
    )
    text = head + "\n" + report(measured, METRICS_DAYS)
    overdue = [
        f
        for f in uow.flags()
        if f.status is FlagStatus.LAUNCHED and is_overdue(f.remove_by, False, now)
    ]
    if not overdue:
        return text  # the report's "Overdue flags: 0" says so
    text += f"\n*Overdue feature flags* ({len(overdue)})"
    lines = [_overdue_line(flag, ctx) for flag in overdue]
    budget, used, kept = MESSAGE_LIMIT - _HEADROOM, len(text), 0
    for shown, line in enumerate(lines, start=1):
        # Room for this line, and for the "and N more" after it unless it is the last.
        if used + 1 + len(line) + (0 if shown == len(lines) else _TAIL) > budget:
            break
        used, kept = used + 1 + len(line), shown
    text += "".join("\n" + line for line in lines[:kept])
    if kept < len(lines):
        text += f"\n…and {len(lines) - kept} more: `/release flag list` shows them all."
    return text


def _overdue_line(flag: FlagRecord, ctx: Context) -> str:
    assert flag.remove_by is not None
    return (
        f"• :warning: `{flag.key}`: remove by {in_zone(flag.remove_by, ctx.zone)}; remove it "
        f"from the code, then `/release flag remove {flag.key}`."
    )
