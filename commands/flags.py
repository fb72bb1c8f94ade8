"""`/release flag add|launch|remove|list`: the feature-flag registry, and LaunchDarkly.

The registry decides (in the command's transaction); the flag provider, when one is
configured, is told afterwards by a durable job, so an outage delays it and loses nothing.
"""

from __future__ import annotations

from commands.context import Context
from commands.jobs import Procedure, Result, Step, begin
from commands.parser import FlagAdd, FlagLaunch, FlagList, FlagRemove
from commands.text import escape
from commands.timefmt import in_zone
from release.audit import AuditAction
from release.flags import FlagStatus, is_overdue, removal_deadline
from release.permissions import Action
from release.records import FlagRecord
from storage.jobs import JobRecord
from storage.unit_of_work import Conflict, UnitOfWork

BOT = "release-bot"
PLAN_SHOWN = 200  # of a rollback plan, in the list
#: The list fits one message (4,000 characters): whole lines up to the budget, then keys.
LIST_BUDGET, LIST_LIMIT = 3000, 3900


def add(ctx: Context, command: FlagAdd) -> None:
    try:
        _add(ctx, command)
    except Conflict:  # the same key, added by someone else at the same moment
        ctx.conversation.reply(
            f"The flag `{command.key}` was added by someone else a moment ago. Nothing was changed."
        )


def _add(ctx: Context, command: FlagAdd) -> None:
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.FLAG_CHANGE):
            return
        existing = uow.flag(command.key, lock=True)
        if existing is not None:
            ctx.conversation.reply(
                f"The flag `{command.key}` was removed already: a key names one flag, so "
                "pick a new one. Nothing was changed."
                if existing.status is FlagStatus.REMOVED
                else f"There is already a flag `{command.key}` (see `/release flag list`). "
                "Nothing was changed."
            )
            return
        flag = uow.add_flag(command.key, command.scope, command.rollback_plan, by=ctx.actor)
        uow.audit(
            ctx.actor,
            AuditAction.FLAG_ADDED,
            None,
            key=flag.key,
            scope=str(flag.scope),
            rollback_plan=flag.rollback_plan,
        )
        ctx.conversation.announce(
            f":triangular_flag_on_post: <@{ctx.actor}> added the flag `{flag.key}`, on for "
            f"{_scope(flag)} only. Rollback plan: {escape(flag.rollback_plan)}\nOnce it is "
            "launched for everyone it must be removed within two sprints." + _provider_note(ctx)
        )
        _tell_provider(uow, ctx, "add", flag)


def launch(ctx: Context, command: FlagLaunch) -> None:
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.FLAG_CHANGE):
            return
        flag = _known(uow, ctx, command.key)
        if flag is None:
            return
        if flag.status is not FlagStatus.SCOPED:
            ctx.conversation.reply(
                f"`{flag.key}` is `{flag.status}` already: only a scoped flag is launched. "
                "Nothing was changed."
            )
            return
        deadline = removal_deadline(ctx.clock.now(), ctx.policy.sprint)
        flag = uow.launch_flag(flag.key, deadline)
        uow.audit(
            ctx.actor, AuditAction.FLAG_LAUNCHED, None, key=flag.key, remove_by=deadline.isoformat()
        )
        ctx.conversation.announce(
            f":rocket: <@{ctx.actor}> launched `{flag.key}` for everyone. Remove it by "
            f"{in_zone(deadline, ctx.zone)} (two sprints). Rollback plan: "
            f"{escape(flag.rollback_plan)}" + _provider_note(ctx)
        )
        _tell_provider(uow, ctx, "launch", flag)


def remove(ctx: Context, command: FlagRemove) -> None:
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.FLAG_CHANGE):
            return
        flag = _known(uow, ctx, command.key)
        if flag is None:
            return
        if flag.status is FlagStatus.REMOVED:
            ctx.conversation.reply(f"`{flag.key}` was removed already. Nothing was changed.")
            return
        flag = uow.remove_flag(flag.key, by=ctx.actor)
        uow.audit(ctx.actor, AuditAction.FLAG_REMOVED, None, key=flag.key)
        lived = ""
        if flag.launched_at is not None and flag.removed_at is not None:
            days = (flag.removed_at - flag.launched_at).days
            lived = f" It lived {days} day{'s' if days != 1 else ''} after its launch."
        ctx.conversation.announce(
            f":white_check_mark: <@{ctx.actor}> removed the flag `{flag.key}`.{lived}"
            + _provider_note(ctx)
        )
        _tell_provider(uow, ctx, "remove", flag)


def list_flags(ctx: Context, _command: FlagList) -> None:
    with ctx.transaction() as uow:
        flags = [f for f in uow.flags() if f.status is not FlagStatus.REMOVED]
    if not flags:
        ctx.conversation.reply("No feature flags are live. `/release flag add` registers one.")
        return
    now = ctx.clock.now()
    overdue = [f for f in flags if is_overdue(f.remove_by, False, now)]
    flags = overdue + [f for f in flags if f not in overdue]  # what needs doing first
    lines = ["*Feature flags*"]
    if overdue:
        lines.append(
            f":warning: {len(overdue)} flag(s) are past their removal deadline: remove them "
            "from the code, then `/release flag remove <key>`."
        )
    size = sum(len(line) + 1 for line in lines)
    for shown, flag in enumerate(flags):
        if flag.status is FlagStatus.LAUNCHED and flag.remove_by is not None:
            mark = ":warning: *overdue*, " if flag in overdue else ""
            state = f"launched; {mark}remove by {in_zone(flag.remove_by, ctx.zone)}"
        else:
            state = f"on for {_scope(flag)}"
        plan = flag.rollback_plan
        plan = plan if len(plan) <= PLAN_SHOWN else plan[: PLAN_SHOWN - 1] + "…"
        line = f"• `{flag.key}`: {state}. Rollback: {escape(plan)}"
        if size + len(line) > LIST_BUDGET:  # keys only for the rest, then a count
            keys = ", ".join(f"`{f.key}`" for f in flags[shown:])
            rest = f"…and {len(flags) - shown} more: {keys}"
            lines.append(
                rest if size + len(rest) <= LIST_LIMIT else rest[: LIST_LIMIT - size - 1] + "…"
            )
            break
        lines.append(line)
        size += len(line) + 1
    ctx.conversation.reply("\n".join(lines))


def _known(uow: UnitOfWork, ctx: Context, key: str) -> FlagRecord | None:
    flag = uow.flag(key, lock=True)
    if flag is None:
        ctx.conversation.reply(f"There is no flag `{key}`. `/release flag list` shows them.")
    return flag


def _scope(flag: FlagRecord) -> str:
    return str(flag.scope)


def _provider_note(ctx: Context) -> str:
    if ctx.integrations.flags is None:
        return "\n_(No flag provider is configured: set it in LaunchDarkly by hand.)_"
    return ""


def _tell_provider(uow: UnitOfWork, ctx: Context, change: str, flag: FlagRecord) -> None:
    if ctx.integrations.flags is not None:
        begin(uow, FLAG, None, ctx.actor, change=change, key=flag.key)


# -- the provider, after commit -----------------------------------------------------------------


def _apply(ctx: Context, job: JobRecord) -> Result:
    """Make LaunchDarkly match the registry as it is now, whichever change asked.

    Jobs of one flag may run in any order (one waits on an outage while a later one runs),
    so none applies "its" change: each applies the registry's current state, idempotently.
    """
    provider = ctx.integrations.flags
    assert provider is not None
    key = str(job.data["key"])
    with ctx.store.transaction() as uow:
        flag = uow.flag(key)
    if flag is None:
        return {"applied": "gone"}
    if flag.status is FlagStatus.REMOVED:
        provider.remove(key)
        return {"applied": "removed"}
    provider.create(key, f"Rollback plan: {flag.rollback_plan}"[:1000])
    if flag.status is FlagStatus.LAUNCHED:
        provider.launch(key)
        return {"applied": "launched"}
    provider.scope(key, flag.scope.kind.value, flag.scope.value)
    return {"applied": f"on for {flag.scope} only"}


def _applied(uow: UnitOfWork, ctx: Context, job: JobRecord, result: Result) -> None:
    said = {
        "removed": "is archived",
        "launched": "is on for everyone",
        "gone": "is not in the registry",
    }.get(str(result["applied"]), f"is {result['applied']}")
    ctx.conversation.announce(f"LaunchDarkly: `{job.data['key']}` {said}.")


def _not_applied(uow: UnitOfWork, ctx: Context, job: JobRecord, what: str, _definite: bool) -> None:
    uow.audit(BOT, AuditAction.FLAG_PROVIDER_FAILED, None, key=job.data["key"], error=what)
    ctx.conversation.announce(
        f":warning: LaunchDarkly did not take the change to `{job.data['key']}` "
        f"({job.data['change']}): {escape(what)}. The registry has it; make the same change "
        "in LaunchDarkly by hand."
    )


FLAG = Procedure(
    kind="flag",
    first="apply",
    steps={"apply": Step(_apply, _applied)},
    failed=_not_applied,
)
