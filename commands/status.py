"""`/release status`: where each release stands and what it waits for."""

from __future__ import annotations

from commands.context import Context
from commands.parser import Status
from release.lifecycle import WAITING_FOR
from release.records import AuditEntry, ReleaseRecord, ReviewRecord

HISTORY_LENGTH = 10


def status(ctx: Context, command: Status) -> None:
    with ctx.store.transaction() as uow:
        if command.version is None:
            releases = uow.releases(open_only=True)
            ctx.conversation.reply(_overview(releases))
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
    ctx.conversation.reply(_detail(release, reviews[-1] if reviews else None, history))


def _waiting(release: ReleaseRecord) -> str:
    return WAITING_FOR[release.state].replace("<version>", release.version)


def _overview(releases: list[ReleaseRecord]) -> str:
    if not releases:
        return "No release is open. Start one with `/release start vX.Y.Z`."
    lines = ["*Open releases*"]
    lines += [f"• *{r.version}* `{r.state}`: waiting for {_waiting(r)}" for r in releases]
    return "\n".join(lines)


def _detail(release: ReleaseRecord, review: ReviewRecord | None, history: list[AuditEntry]) -> str:
    lines = [
        f"*{release.version}* is `{release.state}` (started by <@{release.started_by}> "
        f"{release.created_at:%Y-%m-%d %H:%M} UTC, branch `{release.branch}`).",
        f"Waiting for: {_waiting(release)}.",
        "Staging regression: " + ("passed" if release.regression_passed else "not passed"),
    ]
    if release.reason:
        lines.append(f"Reason: {release.reason}")
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
        lines += [f"• {e.at:%Y-%m-%d %H:%M:%S} {_who(e.actor)} {_describe(e)}" for e in history]
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
        reason = f" ({d['reason']})" if d.get("reason") else ""
        return f"{verb} as {d.get('role_title', d.get('role'))}{reason}"
    if entry.action.startswith("command."):
        return "ran `" + entry.action.removeprefix("command.") + "`"
    return entry.action.replace("_", " ").replace(".", " ")
