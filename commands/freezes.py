"""`/release freeze add|list|cancel`: freeze periods, announced two weeks ahead."""

from __future__ import annotations

from datetime import UTC

from commands.context import Context
from commands.parser import FreezeAdd, FreezeCancel, FreezeList
from commands.text import escape
from release.audit import AuditAction
from release.freezes import Freeze, FreezeRequest, check_freeze, describe_notice, freeze_days
from release.permissions import Action, permitted
from release.refusal import Refusal


def describe(freeze: Freeze, ctx: Context) -> str:
    first, last = freeze_days(freeze, ctx.zone)
    span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    marker = " (short notice)" if freeze.short_notice else ""
    return f"#{freeze.id} {span}{marker}: {escape(freeze.reason)}"


def add(ctx: Context, command: FreezeAdd) -> None:
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.FREEZE_SCHEDULE):
            return
        held = ctx.roles(uow)
        uow.lock_freezes()  # two freezes scheduled at once cannot both pass the overlap check
        now = ctx.clock.now()
        accepted = check_freeze(
            FreezeRequest(
                command.first_day,
                command.last_day,
                command.reason,
                by_reliability=permitted(Action.FREEZE_SCHEDULE_SHORT_NOTICE, held),
            ),
            now,
            ctx.zone,
            uow.freezes(ending_after=now),
        )
        if isinstance(accepted, Refusal):
            ctx.conversation.reply(accepted.reason)
            return
        freeze = uow.add_freeze(
            accepted.starts,
            accepted.ends,
            command.reason,
            short_notice=accepted.short_notice,
            by=ctx.actor,
        )
        notice = describe_notice(freeze.starts.astimezone(UTC) - now.astimezone(UTC))
        uow.audit(
            ctx.actor,
            AuditAction.FREEZE_SCHEDULED,
            None,
            freeze_id=freeze.id,
            starts=freeze.starts.isoformat(),
            ends=freeze.ends.isoformat(),
            reason=command.reason,
            short_notice=freeze.short_notice,
            notice=notice,
        )
        if freeze.short_notice:
            uow.audit(
                ctx.actor,
                AuditAction.BYPASS_SHORT_NOTICE_FREEZE,
                None,
                freeze_id=freeze.id,
                notice=notice,
            )
        ctx.conversation.announce(
            f":snowflake: Freeze {describe(freeze, ctx)}, scheduled by <@{ctx.actor}>. From "
            f"{ctx.when(freeze.starts)} until {ctx.when(freeze.ends)} no regular release is "
            "promoted; approved hotfixes still may be."
        )
        if freeze.short_notice:
            ctx.conversation.announce(
                f":warning: *Bypass*: freeze #{freeze.id} was scheduled at short notice ({notice}; "
                f"the policy asks for two weeks) by <@{ctx.actor}> as Reliability Partner: "
                f"{escape(command.reason)}"
            )


def list_freezes(ctx: Context, _command: FreezeList) -> None:
    with ctx.transaction() as uow:
        now = ctx.clock.now()
        freezes = uow.freezes(ending_after=now)
    if not freezes:
        ctx.conversation.reply("No freeze is scheduled.")
        return
    lines = ["*Freezes in force or ahead*"]
    for freeze in freezes:
        state = "in force now" if freeze.covers(now) else f"starts {ctx.when(freeze.starts)}"
        lines.append(f"• {describe(freeze, ctx)} ({state})")
    ctx.conversation.reply("\n".join(lines))


def cancel(ctx: Context, command: FreezeCancel) -> None:
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.FREEZE_CANCEL):
            return
        existing = uow.freeze(command.freeze_id)
        if existing is None or existing.ends <= ctx.clock.now():
            ctx.conversation.reply(
                f"There is no freeze #{command.freeze_id} in force or ahead; see "
                "`/release freeze list`."
            )
            return
        freeze = uow.cancel_freeze(command.freeze_id, by=ctx.actor)
        assert freeze is not None
        uow.audit(
            ctx.actor, AuditAction.FREEZE_CANCELLED, None, freeze_id=freeze.id, reason=freeze.reason
        )
        ctx.conversation.announce(
            f":sunny: <@{ctx.actor}> cancelled freeze {describe(freeze, ctx)}. Its announcements "
            "will not be posted."
        )
