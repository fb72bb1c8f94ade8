"""`/release hotfix`: a patch to what is in production, approved by two roles, any time."""

from __future__ import annotations

from commands.context import Context, refusal_for_role
from commands.lifecycle import refused_as_started, stage
from commands.parser import Hotfix
from release.lifecycle import State
from release.roles import Role
from release.versions import parse_version
from storage.unit_of_work import Conflict


def hotfix(ctx: Context, command: Hotfix) -> None:
    version = str(command.version)
    try:
        with ctx.store.transaction() as uow:
            if Role.RELEASE_MANAGER not in ctx.roles(uow):
                ctx.conversation.reply(refusal_for_role(Role.RELEASE_MANAGER, "start a hotfix"))
                return
            if refused_as_started(uow, ctx, version):
                return
            released = [
                (v, r)
                for r in uow.releases()
                if r.state is State.RELEASED and (v := parse_version(r.version)) is not None
            ]
            if not released:
                ctx.conversation.reply(
                    "Nothing has been released to production yet, so there is nothing to "
                    "hotfix. Start a regular release with `/release start`."
                )
                return
            in_production, production = max(released, key=lambda pair: pair[0])
            if not command.version.is_patch_bump_of(in_production):
                expected = f"v{in_production.major}.{in_production.minor}.{in_production.patch + 1}"
                ctx.conversation.reply(
                    f"A hotfix must be a patch bump of {production.version}, which is in "
                    f"production: use `/release hotfix {expected} <reason>`."
                )
                return
            release = uow.add_release(
                version,
                kind="hotfix",
                branch=f"hotfix/{version}",
                started_by=ctx.actor,
                reason=command.reason,
            )
            review = uow.open_review(release.id, opened_by=ctx.actor, kind="hotfix")
            uow.audit(
                ctx.actor,
                "command.hotfix",
                release.id,
                reason=command.reason,
                base=production.version,
            )
    except Conflict:
        ctx.conversation.reply(f"{version} was started by someone else a moment ago.")
        return
    ctx.conversation.announce(
        f":ambulance: <@{ctx.actor}> started hotfix *{version}* on top of {production.version}: "
        f"{command.reason}\nIt needs a Reliability Partner and a Client Success Lead to approve "
        "it below; it still goes through staging and its regression before production."
    )
    ctx.conversation.post_review(review.id)
    stage(ctx, release, base=production.version)
