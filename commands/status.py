"""`/release status`: where each release stands and what it waits for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from commands.context import Context
from commands.freezes import describe as describe_freeze
from commands.live import in_production
from commands.parser import Status
from commands.text import escape
from commands.timefmt import in_zone
from release.freezes import Freeze, freeze_at
from release.lifecycle import BEFORE_DEPLOYING, WAITING_FOR
from release.records import AuditEntry, DeployLockRecord, ReleaseRecord, ReviewRecord
from release.versions import is_newer
from release.windows import next_window, window_at
from storage.jobs import CANCELLED, FAILED, PENDING, JobRecord
from storage.outbox import OutboxRecord
from storage.unit_of_work import UnitOfWork

HISTORY_LENGTH = 10
#: Open releases that something newer in production makes pointless.
SUPERSEDABLE = frozenset(BEFORE_DEPLOYING)


def status(ctx: Context, command: Status) -> None:
    with ctx.transaction() as uow:
        if command.version is None:
            now = ctx.clock.now()
            facts = uow.cached("status", partial(_facts, read_at=now))
            if facts.read_at > now:  # kept from a later instant (a clock set back): read now
                facts = _facts(uow, now)
            freezes = [f for f in facts.freezes if f.ends > now]
            lines = [
                _cadence(ctx, now, freezes, facts.lock),
                _overview(list(facts.releases), facts.live),
            ]
            lines += _undelivered(uow.undelivered(limit=5))
            ctx.conversation.reply("\n".join(lines))
            return
        version = str(command.version)
        release = uow.release(version)
        if release is None:
            ctx.conversation.reply(
                f"There is no release {version}. Start one with `/release start {version}`."
            )
            return
        reviews = uow.reviews_of(release.id)
        history = uow.history(release.id, HISTORY_LENGTH)
        steps = _steps(uow.jobs_of(release.id))
    ctx.conversation.reply(
        "\n".join([_detail(ctx, release, reviews[-1] if reviews else None, history), *steps])
    )


@dataclass(frozen=True)
class _Facts:
    """What the overview is made of, as read at `read_at` (kept by the readers' cache:
    only from storage.read_cache.SOURCES, and the freezes that had not ended by then)."""

    read_at: datetime
    releases: tuple[ReleaseRecord, ...]  # the open ones
    freezes: tuple[Freeze, ...]
    lock: DeployLockRecord | None
    live: str | None


def _facts(uow: UnitOfWork, read_at: datetime) -> _Facts:
    return _Facts(
        read_at,
        tuple(uow.releases(open_only=True)),
        tuple(uow.freezes(ending_after=read_at)),
        uow.deploy_lock(),
        in_production(uow),
    )


def _undelivered(messages: list[OutboxRecord]) -> list[str]:
    """Messages the bot decided but Slack has not taken (yet, or for good)."""
    lines = []
    waiting = [m for m in messages if not m.reference]
    lost = [m for m in messages if m.reference]
    if waiting:
        lines.append(
            f":hourglass: {len(waiting)} message(s) are waiting for Slack and are being retried "
            f"(last error: {waiting[0].last_error or 'none yet'})."
        )
    for message in lost:
        lines.append(
            f":warning: A {message.kind} message could not be delivered ({message.last_error}; "
            f"ref `{message.reference}` in the bot's log): "
            + (f"“{message.payload['text'][:200]}”" if "text" in message.payload else "")
        )
    return lines


def _steps(jobs: list[JobRecord]) -> list[str]:
    """Where the release's slow work stands, when something is under way or went wrong."""
    lines = []
    for job in jobs:
        if job.status == PENDING:
            retry = f", retrying after: {job.last_error}" if job.last_error else ""
            lines.append(f":gear: {job.kind}: at step `{job.step}`{retry}.")
        elif job.status in (FAILED, CANCELLED):
            lines.append(f":x: {job.kind} {job.status} at step `{job.step}`: {job.last_error}")
    return lines


def _cadence(
    ctx: Context, now: datetime, freezes: list[Freeze], lock: DeployLockRecord | None
) -> str:
    windows = ctx.policy.schedule.windows
    open_now = window_at(windows, now)
    frozen = freeze_at(freezes, now)
    if open_now is not None and frozen is not None:
        lines = [
            f":snowflake: A release window is open now, but it is frozen by freeze "
            f"{describe_freeze(frozen, ctx)} until {ctx.when(frozen.ends)}: only an approved "
            "hotfix may be promoted."
        ]
    elif open_now is not None:
        lines = [f":calendar: A release window is open now, until {ctx.when(open_now.closes)}."]
    else:
        lines = [f":calendar: Next release window: {ctx.when(next_window(windows, now).opens)}."]
    if freezes:
        lines.append("*Freezes*")
        for freeze in freezes:
            when = "in force now" if freeze.covers(now) else f"from {ctx.when(freeze.starts)}"
            lines.append(f"• {describe_freeze(freeze, ctx)} ({when})")
    else:
        lines.append("No freeze ahead.")
    if lock is not None and lock.is_live(now):
        lines.append(
            f":lock: Production deploy in flight: {lock.version}, promoted by <@{lock.actor}>."
        )
    return "\n".join(lines)


def _waiting(release: ReleaseRecord) -> str:
    return WAITING_FOR[release.state].replace("<version>", release.version)


def _overview(releases: list[ReleaseRecord], live: str | None) -> str:
    if not releases:
        return "No release is open. Start one with `/release start vX.Y.Z`."
    lines = ["*Open releases*"]
    for r in releases:
        name = f"• *{r.version}*{' (hotfix)' if r.kind == 'hotfix' else ''} `{r.state}`: "
        if r.state in SUPERSEDABLE and not is_newer(r.version, live):
            lines.append(
                f"{name}superseded: {live}, which is newer, is in production (or being "
                f"deployed), so it can never ship. Cancel it with "
                f"`/release cancel {r.version} <reason>`."
            )
        else:
            lines.append(f"{name}waiting for {_waiting(r)}")
    return "\n".join(lines)


def _detail(
    ctx: Context, release: ReleaseRecord, review: ReviewRecord | None, history: list[AuditEntry]
) -> str:
    lines = [
        f"*{release.version}* is `{release.state}` (started by <@{release.started_by}> "
        f"{in_zone(release.created_at, ctx.zone)}, branch `{release.branch}`).",
        f"Waiting for: {_waiting(release)}.",
        "Staging regression: " + ("passed" if release.regression_passed else "not passed"),
    ]
    if release.reason:
        lines.append(f"Reason: {escape(release.reason)}")
    if review is not None:
        signed = {s.role: s for s in review.sign_offs}
        parts = []
        for role in review.required_roles:
            s = signed.get(role)
            parts.append(
                f"{role.label}: " + (f"{s.decision.value}d by <@{s.user_id}>" if s else "pending")
            )
        lines.append(f"Review #{review.id} ({review.status}): " + "; ".join(parts))
    if history:
        lines.append("*Recent history*")
        lines += [
            f"• {e.at.astimezone(ctx.zone):%Y-%m-%d %H:%M:%S %Z} {_who(e.actor)} {_describe(e)}"
            for e in history
        ]
    return "\n".join(lines)


def _who(actor: str) -> str:
    """A Slack user is mentioned; the bot itself is named."""
    return f"<@{actor}>" if actor[:1] in ("U", "W") else actor


def _describe(entry: AuditEntry) -> str:
    d = entry.details
    if entry.action == "transition":
        return f"moved it {d.get('from_state')} → {d.get('to_state')}"
    if entry.action == "sign_off":
        verb = "approved" if d.get("decision") == "approve" else "rejected"
        reason = f" ({escape(str(d['reason']))})" if d.get("reason") else ""
        return f"{verb} as {d.get('role_title', d.get('role'))}{reason}"
    if entry.action.startswith("command."):
        return "ran `" + entry.action.removeprefix("command.") + "`"
    return entry.action.replace("_", " ").replace(".", " ")
