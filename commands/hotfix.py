"""`/release hotfix`: a patch to what is in production, approved by two roles, any time."""

from __future__ import annotations

from commands.context import Context
from commands.jobs import begin
from commands.lifecycle import refused_as_started
from commands.live import in_production
from commands.parser import Hotfix
from commands.staging import STAGE
from commands.text import escape
from release.audit import AuditAction
from release.hotfixes import next_hotfix
from release.permissions import Action
from storage.unit_of_work import Conflict


def hotfix(ctx: Context, command: Hotfix) -> None:
    version = str(command.version)
    try:
        with ctx.transaction() as uow:
            if ctx.refused(uow, Action.HOTFIX):
                return
            if refused_as_started(uow, ctx, version):
                return
            live = in_production(uow)
            if live is None:
                ctx.conversation.reply(
                    "Nothing has been released to production yet, so there is nothing to "
                    "hotfix. Start a regular release with `/release start`."
                )
                return
            expected = next_hotfix(live, {r.version for r in uow.releases()})
            if command.version != expected:
                ctx.conversation.reply(
                    f"A hotfix must be the next patch of {live}, which is in production: use "
                    f"`/release hotfix {expected} <reason>`."
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
                ctx.actor, AuditAction.COMMAND_HOTFIX, release.id, reason=command.reason, base=live
            )
            ctx.conversation.announce(
                f":ambulance: <@{ctx.actor}> started hotfix *{version}* on top of {live}: "
                f"{escape(command.reason)}\nIt needs a Reliability Partner and a Client Success "
                "Lead to approve it below; it still goes through staging and its regression before "
                "production."
            )
            ctx.conversation.post_review(review.id)
            # From exactly what production serves: the commit its staging build was made from
            # (or, for a release recorded before that was kept, its branch).
            serving = uow.release(live)
            base = (serving.staging_sha or serving.branch) if serving else "main"
            # It fixes the release of the incident still open (which a rollback may have
            # taken out of production already), or else the one production serves.
            incidents = uow.open_incidents()
            if incidents:
                uow.link_hotfix(
                    release.id, fixes=incidents[-1].release_id, answers=incidents[-1].id
                )
            elif serving is not None:
                uow.link_hotfix(release.id, fixes=serving.id, answers=None)
            begin(uow, STAGE, release.id, ctx.actor, base=base)
    except Conflict:
        ctx.conversation.reply(f"{version} was started by someone else a moment ago.")
