"""What each scheduled post says: pre-window, freeze milestones, weekly and monthly."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from commands.context import Context
from commands.digest import CHART_FILENAME, CHART_TITLE, chart_png, digest_text, weekly_series
from commands.freezes import describe as describe_freeze
from commands.timefmt import in_zone
from release.freezes import freeze_at
from release.lifecycle import State
from release.records import ReleaseRecord
from release.review_status import ReviewStatus
from release.schedule import DuePost, PostKind
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def compose(uow: UnitOfWork, ctx: Context, post: DuePost, now: datetime, *, late: bool) -> str:
    text = {
        PostKind.PRE_WINDOW: _pre_window,
        PostKind.FREEZE_7_DAYS: _freeze_milestone,
        PostKind.FREEZE_1_DAY: _freeze_milestone,
        PostKind.FREEZE_START: _freeze_milestone,
        PostKind.FREEZE_END: _freeze_milestone,
        PostKind.WEEKLY: _weekly,
        PostKind.MONTHLY: _monthly,
    }[post.kind](uow, ctx, post, now)
    if late:
        text = (
            f"_(Posted late: this was due {in_zone(post.due, ctx.zone)}, when the bot was not "
            "running.)_\n" + text
        )
    return text


def attach(uow: UnitOfWork, ctx: Context, post: DuePost, now: datetime) -> None:
    """Share what goes with the post, just after it and in its transaction: the weekly chart.

    A chart that cannot be drawn does not hold back the post (it would be retried, and
    fail, every tick until the post expires): the post goes out and says so.
    """
    if post.kind is not PostKind.WEEKLY:
        return
    series = weekly_series(uow, now, sprint=ctx.policy.sprint)
    try:
        png = chart_png(series, ctx.zone)
        ctx.conversation.upload(CHART_FILENAME, binary=png, title=CHART_TITLE, comment="")
    except Exception:
        log.exception("could not draw the weekly chart")
        ctx.conversation.announce(
            "_(The 12-week chart could not be drawn this week; `/release metrics 90d` has "
            "the numbers.)_"
        )


def _needs(uow: UnitOfWork, release: ReleaseRecord) -> str:
    if release.state is State.APPROVED:
        return f"ready: `/release promote {release.version}`"
    if release.state is State.IN_REVIEW:
        open_reviews = uow.reviews_of(release.id, status=ReviewStatus.OPEN)
        pending = open_reviews[-1].rules().pending_roles() if open_reviews else ()
        return "needs sign-off from " + (", ".join(r.label for r in pending) or "nobody")
    return {
        State.PLANNED: "waiting for its staging deploy",
        State.STAGING: "needs its regression result from QA",
        State.REGRESSION_FAILED: "needs a fix and a passing regression re-run",
        State.REJECTED: "needs a fix and a fresh review",
    }.get(release.state, f"is `{release.state}`")


def _pre_window(uow: UnitOfWork, ctx: Context, post: DuePost, _now: datetime) -> str:
    window = post.window
    assert window is not None
    hours = (window.closes - window.opens) / timedelta(hours=1)
    head = f":alarm_clock: The release window opens {ctx.when(window.opens)}, for {hours:g} hours."
    freeze = freeze_at(uow.freezes(ending_after=window.opens), window.opens)
    if freeze is not None:
        return (
            f":snowflake: *No release in this window*: freeze {describe_freeze(freeze, ctx)} is "
            f"in force until {ctx.when(freeze.ends)}. Only a hotfix approved by a Reliability "
            "Partner and a Client Success Lead may go to production."
        )
    candidates = [
        r
        for r in uow.releases(open_only=True)
        if r.state not in (State.DEPLOYING, State.VERIFYING, State.FAILED)
    ]
    lines = [head]
    if candidates:
        lines.append("*Candidates*")
        lines += [
            f"• *{r.version}*{' (hotfix)' if r.kind == 'hotfix' else ''} `{r.state}`: "
            f"{_needs(uow, r)}"
            for r in candidates
        ]
    else:
        lines.append("No release is open; nothing is queued for this window.")
    upcoming = uow.freezes(ending_after=window.closes)
    if upcoming:
        lines.append("*Freezes ahead*: " + "; ".join(describe_freeze(f, ctx) for f in upcoming))
    return "\n".join(lines)


def _freeze_milestone(_uow: UnitOfWork, ctx: Context, post: DuePost, _now: datetime) -> str:
    freeze = post.freeze
    assert freeze is not None
    name = describe_freeze(freeze, ctx)
    if post.kind is PostKind.FREEZE_7_DAYS:
        return (
            f":snowflake: Freeze {name} starts in 7 days, {ctx.when(freeze.starts)}. Get "
            "regular releases out in the windows before it."
        )
    if post.kind is PostKind.FREEZE_1_DAY:
        return f":snowflake: Freeze {name} starts tomorrow, {ctx.when(freeze.starts)}."
    if post.kind is PostKind.FREEZE_START:
        return (
            f":snowflake: Freeze {name} is in force until {ctx.when(freeze.ends)}: no regular "
            "release is promoted. Hotfixes still need a Reliability Partner and a Client "
            "Success Lead."
        )
    return f":sunny: Freeze {name} has ended; regular releases resume at the next window."


def _weekly(uow: UnitOfWork, ctx: Context, post: DuePost, now: datetime) -> str:
    since = now - timedelta(days=7)
    # The deploys the metrics count (promotions that went out), not rollbacks.
    versions = {r.id: r.version for r in uow.releases()}
    deployed = [
        versions[d.release_id]
        for d in uow.deployments("production")
        if d.kind == "promotion"
        and d.outcome in ("succeeded", "unknown")
        and d.finished_at is not None
        and since <= d.finished_at <= now
    ]
    head = (
        ":bar_chart: *Weekly release report*\n"
        f"Production deploys in the last 7 days: {len(deployed)} (target: at least 2 a week)"
        + (f": {', '.join(deployed)}" if deployed else "")
        + "."
    )
    return digest_text(uow, ctx, head, now)


def _monthly(_uow: UnitOfWork, ctx: Context, _post: DuePost, _now: datetime) -> str:
    upgrades = ", ".join(ctx.policy.dependency_upgrades)
    return (
        f":wrench: *Monthly dependency upgrades are due*: {upgrades}. Schedule them into a "
        "release and flag them in its release notes as a testing focus."
    )
